// ModernBERT piece by piece against transformers (the whole model is in families.test.ts): the
// rotary tables at long positions, the global and sliding-window masks, the gradient of a token
// head (the padding row of the embeddings gets none, as torch's padding_idx), the config's two
// spellings and its refusals, config.json floats, HF's truncated-normal initialisation, the head
// names, and dropout in training.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { readSafetensors, toFloat32 } from '../lib/io/index.js';
import { type ModernBertConfig, configJsonText, crossEntropyLoss, formatHead, initModelParams, modelForward, modelSpec, modernbert, modernBertInitStds, parseHead } from '../lib/models/index.js';
import { attentionBias, rotaryTables } from '../lib/nn/index.js';
import { loadModelDir } from '../lib/pretrained/index.js';
import type { DeviceArray } from '../lib/runtime/index.js';
import { jit, ops, valueAndGrad, type Tensor } from '../lib/trace/index.js';
import { putParams } from '../lib/train/model-state.js';
import { relativeDiff } from './helpers/family-parity.js';
import { openTestRuntime } from './helpers/runtime.js';
import { runPythonJson } from './reference/python.js';

const rt = await openTestRuntime();
const work = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-modernbert-'));

const TINY = { model_type: 'modernbert', vocab_size: 50, hidden_size: 32, num_hidden_layers: 3, num_attention_heads: 4, intermediate_size: 48, max_position_embeddings: 64, local_attention: 8, pad_token_id: 0 };
const parse = (json: Record<string, unknown>): ModernBertConfig => modernbert.parseConfig(json, 'test/config.json');

t.test('rotary tables equal transformers float32 cos/sin up to position 8191', async (t) => {
  // Exact (double) angles differ from torch's float32 ones by up to 4e-4 here; ours round as torch does.
  const positions = [...Array.from({ length: 64 }, (_, i) => i), ...Array.from({ length: 64 }, (_, i) => 1000 + i), ...Array.from({ length: 64 }, (_, i) => 8128 + i)];
  const headDims = [8, 64];
  const kinds = [['full_attention', 160000], ['sliding_attention', 10000]] as const;
  const want = await runPythonJson<Record<string, Record<string, { cos: number[][]; sin: number[][] }>>>('modernbert_reference.py', ['rotary'], { head_dims: headDims, global_rope_theta: 160000, local_rope_theta: 10000, positions });
  const tables = jit((ids: Tensor) => headDims.flatMap((d) => kinds.flatMap(([, theta]) => {
    const { cos, sin } = rotaryTables(ids, d, theta, 8192); // [1, P, 1, d] each
    return [cos, sin];
  })), { runtime: rt });
  const got = (await tables(await rt.put(Int32Array.from(positions), [1, positions.length]))) as DeviceArray[];
  tables.dispose();
  const worst = async (ours: DeviceArray, rows: number[][]) => {
    const flat = rows.flat();
    return ((await ours.toHost()) as Float32Array).reduce((max, value, i) => Math.max(max, Math.abs(value - flat[i]!)), 0);
  };
  let index = 0;
  for (const d of headDims) {
    for (const [kind] of kinds) {
      const cosDiff = await worst(got[index++]!, want[d]![kind]!.cos);
      const sinDiff = await worst(got[index++]!, want[d]![kind]!.sin);
      // torch's float32 cos/sin are within an ulp or two of correctly rounded (1.2e-7 near 1)
      t.ok(cosDiff <= 2.5e-7 && sinDiff <= 2.5e-7, `d=${d} ${kind}: max |cos| difference ${cosDiff.toExponential(2)}, |sin| ${sinDiff.toExponential(2)} (bound 2.5e-7)`);
    }
  }
});

t.test('global and sliding-window masks are the ones transformers builds (even and odd windows, padding)', async (t) => {
  const seqLen = 20;
  const attentionMask = [Array<number>(seqLen).fill(1), Array.from({ length: seqLen }, (_, i) => (i < 11 ? 1 : 0)), Array.from({ length: seqLen }, (_, i) => (i < 3 ? 1 : 0))];
  const windows = [8, 7, 64];
  const want = await runPythonJson<Record<string, Record<string, number[][][]>>>('modernbert_reference.py', ['masks'], { local_attentions: windows, attention_mask: attentionMask });
  const batch = attentionMask.length;
  const biases = jit((mask: Tensor) => [
    ops.broadcastTo(attentionBias({ attentionMask: mask }, batch, seqLen)!, [batch, 1, seqLen, seqLen]), // from [B, 1, 1, S]
    ...windows.map((window) => attentionBias({ attentionMask: mask, window }, batch, seqLen)!), // [B, 1, S, S]
  ], { runtime: rt });
  const [full, ...sliding] = (await biases(await rt.put(Int32Array.from(attentionMask.flat()), [batch, seqLen]))) as DeviceArray[];
  biases.dispose();
  const allowed = async (bias: DeviceArray) => Array.from((await bias.toHost()) as Float32Array, (value) => (value === 0 ? 1 : 0));
  for (const [i, window] of windows.entries()) {
    t.same(await allowed(full!), want[window]!.full_attention!.flat(2), `local_attention ${window}: global layers`);
    t.same(await allowed(sliding[i]!), want[window]!.sliding_attention!.flat(2), `local_attention ${window}: sliding layers see |query - key| <= ${Math.floor(window / 2)}`);
  }
});

t.test('a token head: loss and every gradient match transformers (the padding row gets none)', async (t) => {
  const dir = path.join(work, 'token');
  const seqLen = 12;
  const lengths = [12, 7, 4];
  const input_ids = lengths.map((length, row) => Array.from({ length: seqLen }, (_, i) => (i < length ? 3 + ((row * 17 + i * 5) % 47) : 0)));
  const attention_mask = lengths.map((length) => Array.from({ length: seqLen }, (_, i) => (i < length ? 1 : 0)));
  // labels at padded positions too: the loss reaches the padding row's embedding, which torch leaves without gradient
  const labels = input_ids.map((row) => row.map((id) => id % 3));
  const { model_type: _, ...config } = { ...TINY, num_labels: 3, bos_token_id: 1, cls_token_id: 1, eos_token_id: 2, sep_token_id: 2 };
  const reference = await runPythonJson<{ loss: number; class: string }>('family_reference.py', ['random', dir], { model_type: 'modernbert', config, seed: 3, task: 'token', labels, input_ids, attention_mask });
  t.equal(reference.class, 'ModernBertForTokenClassification');
  const loaded = await loadModelDir(dir, { head: 'token' });
  t.same(loaded.spec.head, { kind: 'modernbert-token' });
  const step = jit(valueAndGrad((p: Record<string, Tensor>, ids: Tensor, mask: Tensor, y: Tensor) => crossEntropyLoss(modelForward(loaded.spec, p, { inputIds: ids, attentionMask: mask }, { train: false }), y)), { runtime: rt });
  const put = (rows: number[][]) => rt.put(Int32Array.from(rows.flat()), [rows.length, seqLen]);
  const [loss, grads] = (await step(await putParams(rt, loaded.params), await put(input_ids), await put(attention_mask), await put(labels))) as [DeviceArray, Record<string, DeviceArray>];
  step.dispose();
  const ourLoss = ((await loss.toHost()) as Float32Array)[0]!;
  t.ok(Math.abs(ourLoss - reference.loss) <= 1e-5 * reference.loss, `loss ${ourLoss} vs ${reference.loss}`);
  const expected = (await readSafetensors(path.join(dir, 'grads.safetensors'))).tensors;
  let worst = 0;
  let worstName = '';
  for (const [name, tensor] of expected) {
    const diff = relativeDiff((await grads[name]!.toHost()) as Float32Array, toFloat32(tensor));
    if (diff > worst) [worst, worstName] = [diff, name];
  }
  t.equal(Object.keys(grads).length, expected.size, 'a gradient for every parameter');
  t.ok(worst <= 1e-4, `max gradient relative error ${worst.toExponential(2)} (${worstName}; bound 1e-4)`);
  const embeddings = (await grads['model.embeddings.tok_embeddings.weight']!.toHost()) as Float32Array;
  t.ok(embeddings.subarray(0, 32).every((value) => value === 0), 'the padding row has no gradient');
});

// Weights of std 0.3 make attention sharp enough for rotary rounding to show: with exact (double)
// angles the logits are 1.9e-5 off; with torch's float32 rounding, 4.4e-6.
t.test('a long sequence (1000 tokens, window 128, sharp attention): logits match transformers', async (t) => {
  const dir = path.join(work, 'long');
  const seqLen = 1000;
  const lengths = [1000, 700];
  const input_ids = lengths.map((length, row) => Array.from({ length: seqLen }, (_, i) => (i < length ? 3 + ((row * 31 + i * 7) % 47) : 0)));
  const attention_mask = lengths.map((length) => Array.from({ length: seqLen }, (_, i) => (i < length ? 1 : 0)));
  const { model_type: _, ...config } = { ...TINY, hidden_size: 128, num_attention_heads: 2, max_position_embeddings: 1024, local_attention: 128, classifier_pooling: 'mean', initializer_range: 0.3, num_labels: 2, bos_token_id: 1, cls_token_id: 1, eos_token_id: 2, sep_token_id: 2 };
  const reference = await runPythonJson<{ logits: number[][] }>('family_reference.py', ['random', dir], { model_type: 'modernbert', config, seed: 5, task: 'sequence', labels: [0, 1], input_ids, attention_mask });
  const loaded = await loadModelDir(dir);
  const forward = jit((p: Record<string, Tensor>, ids: Tensor, mask: Tensor) => modelForward(loaded.spec, p, { inputIds: ids, attentionMask: mask }, { train: false }), { runtime: rt });
  const put = (rows: number[][]) => rt.put(Int32Array.from(rows.flat()), [rows.length, seqLen]);
  const logits = (await forward(await putParams(rt, loaded.params), await put(input_ids), await put(attention_mask))) as DeviceArray;
  forward.dispose();
  const diff = relativeDiff((await logits.toHost()) as Float32Array, reference.logits.flat());
  t.ok(diff <= 1e-5, `max relative logit difference ${diff.toExponential(2)} (bound 1e-5)`);
});

t.test('config: the legacy and the HF 5 spellings, defaults, refusals', async (t) => {
  const legacy = parse({ ...TINY, num_hidden_layers: 7, global_attn_every_n_layers: 3, global_rope_theta: 5000, local_rope_theta: 20 });
  t.same(legacy.layerTypes, ['full_attention', 'sliding_attention', 'sliding_attention', 'full_attention', 'sliding_attention', 'sliding_attention', 'full_attention']);
  t.same([legacy.globalRopeTheta, legacy.localRopeTheta], [5000, 20]);
  t.same(legacy.ropeParameters, { full_attention: { rope_type: 'default', rope_theta: 5000 }, sliding_attention: { rope_type: 'default', rope_theta: 20 } });
  const modern = parse({ ...TINY, layer_types: ['sliding_attention', 'sliding_attention', 'full_attention'], rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 7 }, sliding_attention: { rope_theta: 3 } }, global_rope_theta: 5000 });
  t.same(modern.layerTypes, ['sliding_attention', 'sliding_attention', 'full_attention']);
  t.same([modern.globalRopeTheta, modern.localRopeTheta], [7, 3], 'rope_parameters wins over global_rope_theta');
  const defaults = parse({ model_type: 'modernbert' });
  t.match(defaults, { vocabSize: 50368, hiddenSize: 768, intermediateSize: 1152, numHiddenLayers: 22, maxPositionEmbeddings: 8192, layerNormEps: 1e-5, padTokenId: 50283, localAttention: 128, globalRopeTheta: 160000, localRopeTheta: 10000, classifierPooling: 'cls', initializerCutoffFactor: 2, normBias: false, attentionBias: false, mlpBias: false, classifierBias: false, hiddenAct: 'gelu', classifierActivation: 'gelu' });
  t.equal(defaults.layerTypes.filter((type) => type === 'full_attention').length, 8, 'every third of 22 layers is global');
  t.equal(modernbert.maxSequenceLength(defaults), 8192);
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ rope_parameters: { full_attention: { rope_type: 'linear', factor: 2 } } }, /rope_parameters\.full_attention\.rope_type "linear" is not supported/],
    [{ rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling .* is not supported/],
    [{ layer_types: ['full_attention'] }, /layer_types has 1 entries but num_hidden_layers is 3/],
    [{ layer_types: ['full_attention', 'local', 'full_attention'] }, /layer_types/],
    [{ pad_token_id: 50 }, /pad_token_id 50 is not below vocab_size 50/],
    [{ hidden_size: 12, num_attention_heads: 4 }, /head size 3 .* must be even/],
    [{ classifier_pooling: 'max' }, /classifier_pooling/],
  ];
  for (const [fields, message] of refused) t.throws(() => parse({ ...TINY, ...fields }), message, JSON.stringify(fields));
});

t.test('config.json: floats are written as floats, and the file reads back as the same config', async (t) => {
  const config = parse({ ...TINY, initializer_cutoff_factor: 3, norm_eps: 1, embedding_dropout: 0 });
  const text = configJsonText(modernbert.configToJson(config), modernbert.floatFields ?? []);
  t.match(text, /"initializer_cutoff_factor": 3\.0,/);
  t.match(text, /"norm_eps": 1\.0,/);
  t.match(text, /"embedding_dropout": 0\.0,/);
  t.match(text, /"vocab_size": 50,/, 'integer fields stay integers');
  t.same(parse(JSON.parse(text) as Record<string, unknown>), config);
});

t.test('initialisation: HF truncated normals with per-module stds, unit norms, no zero padding row', async (t) => {
  const config = parse({ ...TINY, vocab_size: 2000, hidden_size: 64, num_hidden_layers: 4, intermediate_size: 128, attention_bias: true, num_labels: 3 });
  const params = initModelParams(modelSpec(modernbert, { ...config, labels: ['a', 'b', 'c'] }), 5);
  const stds = modernBertInitStds(config);
  t.same([stds.in, stds.out, stds.finalOut, stds.cutoff], [0.02, 0.02 / Math.sqrt(8), 1 / 8, 2]);
  // the std of a normal truncated at +-2 std is 0.8796 of the normal's
  const truncated = 0.8796;
  const check = (name: string, std: number, tolerance: number) => {
    const data = params[name]!.data;
    const max = data.reduce((most, value) => Math.max(most, Math.abs(value)), 0);
    const measured = Math.sqrt(data.reduce((sum, value) => sum + value * value, 0) / data.length);
    t.ok(max <= 2 * std * (1 + 1e-6), `${name}: |w| ${max.toFixed(5)} within 2 std (${(2 * std).toFixed(5)})`);
    t.ok(Math.abs(measured / (std * truncated) - 1) < tolerance, `${name}: std ${measured.toFixed(5)} vs ${(std * truncated).toFixed(5)}`);
  };
  check('model.embeddings.tok_embeddings.weight', stds.in, 0.02);
  check('model.layers.1.attn.Wqkv.weight', stds.in, 0.03);
  check('model.layers.1.attn.Wo.weight', stds.out, 0.05);
  check('model.layers.2.mlp.Wi.weight', stds.in, 0.03);
  check('model.layers.2.mlp.Wo.weight', stds.out, 0.05);
  check('head.dense.weight', stds.out, 0.05);
  check('classifier.weight', stds.finalOut, 0.25);
  t.ok(params['model.embeddings.tok_embeddings.weight']!.data.subarray(0, 64).some((value) => value !== 0), 'the padding row is drawn too (HF overwrites the zeroed row)');
  t.ok(params['model.layers.3.attn_norm.weight']!.data.every((value) => value === 1), 'norm weights 1');
  t.ok(params['model.layers.0.attn.Wqkv.bias']!.data.every((value) => value === 0), 'biases 0');
  t.equal(params['model.layers.0.attn_norm.weight'], undefined, 'layer 0 has no attention norm');
  t.equal(params['model.final_norm.bias'], undefined, 'no norm biases without norm_bias');
});

t.test('heads: linear and token name ModernBERT heads; names of checkpoints', async (t) => {
  t.same(parseHead('linear', modernbert), { kind: 'modernbert' });
  t.same(parseHead('token', modernbert), { kind: 'modernbert-token' });
  t.equal(formatHead({ kind: 'modernbert-token' }, modernbert), 'token');
  t.equal(formatHead({ kind: 'modernbert' }, modernbert), 'linear');
  t.same(parseHead('mlp:8', modernbert), { kind: 'mlp', hidden: 8 });
  t.equal(modernbert.normalizeName('layers.2.attn.Wo.weight'), 'model.layers.2.attn.Wo.weight', 'a bare ModernBertModel checkpoint');
  t.equal(modernbert.normalizeName('final_norm.weight'), 'model.final_norm.weight');
  t.equal(modernbert.normalizeName('head.dense.weight'), 'head.dense.weight', "an MLM checkpoint's head is the classifier's head");
  t.equal(modernbert.normalizeName('model.rotary_emb.global_inv_freq'), undefined, 'rotary buffers are dropped');
});

t.test('training mode: dropout draws at every rate above 0, and nothing with all rates 0', async (t) => {
  for (const rates of [0.2, 0]) {
    const config = parse({ ...TINY, embedding_dropout: rates, attention_dropout: rates, mlp_dropout: rates, classifier_dropout: rates });
    const spec = modelSpec(modernbert, { ...config, labels: ['a', 'b'] }, 'linear');
    const params = initModelParams(spec, 1);
    const forward = jit((p: Record<string, Tensor>, ids: Tensor, key: Tensor) => [modelForward(spec, p, { inputIds: ids }, { train: false }), modelForward(spec, p, { inputIds: ids }, { train: true, dropoutKey: key })], { runtime: rt });
    const ids = await rt.put(Int32Array.from({ length: 2 * 20 }, (_, i) => 3 + (i % 40)), [2, 20]);
    const [evaluated, trained] = (await forward(await putParams(rt, params), ids, await rt.put(BigInt64Array.from([1n, 2n]), [2]))) as DeviceArray[];
    forward.dispose();
    const a = (await evaluated!.toHost()) as Float32Array;
    const b = (await trained!.toHost()) as Float32Array;
    t.ok(b.every(Number.isFinite), `rate ${rates}: finite`);
    if (rates > 0) t.ok(relativeDiff(b, a) > 1e-3, `rate ${rates}: training differs from evaluation`);
    else t.same(b, a, 'rate 0: training equals evaluation');
  }
});
