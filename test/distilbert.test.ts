// DistilBERT beyond the family parity row (families.test.ts): config.json fields and their HF
// defaults, the sinusoidal position table bit for bit against transformers, a checkpoint
// without that table or without the `distilbert.` prefix, the token head against
// DistilBertForTokenClassification, the mlp:N head, and which dropout each head takes.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { readSafetensors, toFloat32, writeSafetensors } from '../lib/io/index.js';
import { type DistilBertConfig, type HostParam, type ModelParams, classifierDropoutOf, distilbert, initModelParams, modelForward, modelSpec, sinusoidalPositionTable } from '../lib/models/index.js';
import { loadModelDir, saveModelDir } from '../lib/pretrained/index.js';
import type { DeviceArray } from '../lib/runtime/index.js';
import { jit, type Tensor } from '../lib/trace/index.js';
import { putParams } from '../lib/train/model-state.js';
import { type FamilyCase, makeBatch, ourLogits, relativeDiff } from './helpers/family-parity.js';
import { openTestRuntime } from './helpers/runtime.js';
import { runPythonJson } from './reference/python.js';

const rt = await openTestRuntime();
const POSITIONS = 'distilbert.embeddings.position_embeddings.weight';
const noTokenizer = { writeTokenizer: async () => undefined };

const tiny = { vocab_size: 50, dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, max_position_embeddings: 16, num_labels: 3 };
const tokenCase: FamilyCase = { name: 'distilbert-token', modelType: 'distilbert', config: tiny, seqLen: 8, lengths: [8, 5, 3], tokenTypes: false, architecture: 'DistilBertForTokenClassification' };
const tokenBatch = makeBatch(tokenCase, 0);
// a label per token; -100 (ignored by the loss) on padding
const tokenLabels = tokenBatch.attention_mask.map((row, r) => row.map((m, i) => (m ? (r + i) % 3 : -100)));

// transformers builds three random models in one process: two with sinusoidal position tables
// (bert-base's size and an odd width) and a token classifier.
const work = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-distilbert-'));
const sinusoidalSizes = [
  { dim: 768, n_heads: 12, max_position_embeddings: 512 },
  { dim: 33, n_heads: 3, max_position_embeddings: 40 },
];
const sequenceRequest = (config: Record<string, unknown>) => {
  const familyCase: FamilyCase = { name: 'sinusoidal', modelType: 'distilbert', config, seqLen: 8, lengths: [8, 5, 3], tokenTypes: false, architecture: '' };
  return { model_type: 'distilbert', config, seed: 3, task: 'sequence', labels: [0, 1, 0], ...makeBatch(familyCase, 0) };
};
const references = await runPythonJson<{ logits: number[][] }[]>('family_reference.py', ['jobs'], [
  ...sinusoidalSizes.map((size, i) => ({ command: 'random', args: [path.join(work, `sinusoidal-${i}`)], request: sequenceRequest({ vocab_size: 50, n_layers: 1, hidden_dim: 16, sinusoidal_pos_embds: true, ...size }) })),
  { command: 'random', args: [path.join(work, 'token')], request: { model_type: 'distilbert', config: tiny, seed: 5, task: 'token', labels: tokenLabels, ...tokenBatch } },
]);

t.test('config.json: HF defaults, aliases and bad fields', async (t) => {
  const hf = await loadModelDir(path.join(work, 'token'), { head: 'token' });
  const ours = distilbert.parseConfig({ model_type: 'distilbert', ...tiny, id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' } }, 'ours');
  // HF's config.json spells out every default: ours must agree with each
  const { extra: hfExtra, ...hfFields } = hf.spec.config as DistilBertConfig;
  const { extra: ourExtra, ...ourFields } = ours;
  t.same(ourFields, hfFields, 'every field of the table has transformers.DistilBertConfig\'s default');
  t.same(Object.keys(hfExtra).sort(), ['bos_token_id', 'eos_token_id', 'tie_word_embeddings'], 'HF fields outside the table are kept');
  t.same(ourExtra, {});
  t.equal(ours.layerNormEps, 1e-12);
  t.equal(ours.seqClassifDropout, 0.2);
  t.equal(classifierDropoutOf(ours), 0.1, 'the token head drops at `dropout`, as DistilBertForTokenClassification');
  const json = distilbert.configToJson(hf.spec.config as DistilBertConfig);
  for (const key of ['dim', 'n_layers', 'n_heads', 'hidden_dim', 'dropout', 'attention_dropout', 'activation', 'seq_classif_dropout', 'qa_dropout', 'sinusoidal_pos_embds', 'max_position_embeddings', 'pad_token_id']) {
    t.ok(key in json, `${key} written back`);
  }
  t.notOk('hidden_size' in json || 'layer_norm_eps' in json, 'no BERT names written');

  const aliased = distilbert.parseConfig({ model_type: 'distilbert', hidden_size: 64, num_attention_heads: 8, num_hidden_layers: 3 }, 'a.json');
  t.same([aliased.hiddenSize, aliased.numAttentionHeads, aliased.numHiddenLayers], [64, 8, 3], 'hidden_size, num_attention_heads, num_hidden_layers stand for dim, n_heads, n_layers');
  t.equal(distilbert.configToJson(aliased).dim, 64);
  t.throws(() => distilbert.parseConfig({ hidden_size: 64, dim: 32 }, 'c.json'), /c\.json.*hidden_size \(64\) and dim \(32\) disagree: they are the same DistilBERT field, keep dim/);
  t.throws(() => distilbert.parseConfig({ activation: 'mish' }, 'c.json'), /c\.json.*activation "mish" is not supported/);
  t.throws(() => distilbert.parseConfig({ dim: 30, n_heads: 4 }, 'c.json'), /c\.json.*hidden size 30 is not a multiple of the 4 attention heads/);
  t.throws(() => distilbert.parseConfig({ vocab_size: 10, pad_token_id: 10 }, 'c.json'), /c\.json.*pad_token_id 10 is not below vocab_size 10/);
  t.throws(() => distilbert.parseConfig({ model_type: 'bert' }, 'c.json'), /not one of DistilBERT's/);

  const noPad = distilbert.parseConfig({ ...tiny, pad_token_id: null }, 'p.json');
  t.equal(noPad.paddingIdx, null);
  t.equal(distilbert.configToJson(noPad).pad_token_id, null, 'a null pad_token_id is written back as null');
  const words = initModelParams(modelSpec(distilbert, noPad), 1, ['distilbert.embeddings.word_embeddings.weight'])['distilbert.embeddings.word_embeddings.weight']!.data;
  t.ok(words.subarray(0, 32).some((x) => x !== 0), 'without a padding_idx row 0 is drawn like the others');
  const padded = initModelParams(modelSpec(distilbert, ours), 1, ['distilbert.embeddings.word_embeddings.weight'])['distilbert.embeddings.word_embeddings.weight']!.data;
  t.ok(padded.subarray(0, 32).every((x) => x === 0), 'the padding row is zero, as nn.Embedding(padding_idx=0)');
});

t.test('sinusoidal position tables are transformers\' bit for bit', async (t) => {
  for (const [i, size] of sinusoidalSizes.entries()) {
    const dir = path.join(work, `sinusoidal-${i}`);
    const hf = toFloat32((await readSafetensors(path.join(dir, 'model.safetensors'))).tensors.get(POSITIONS)!);
    const loaded = await loadModelDir(dir);
    t.equal((loaded.spec.config as DistilBertConfig).sinusoidalPosEmbds, true);
    const ours = initModelParams(loaded.spec, 9, [POSITIONS])[POSITIONS]!.data;
    let differing = 0;
    for (let k = 0; k < hf.length; k++) if (ours[k] !== hf[k]) differing++;
    t.equal(differing, 0, `${size.max_position_embeddings} x ${size.dim}: every value equal`);
    t.equal(ours.length, size.max_position_embeddings * size.dim);
    const drawn = initModelParams(modelSpec(distilbert, { ...(loaded.spec.config as DistilBertConfig), sinusoidalPosEmbds: false }), 9, [POSITIONS])[POSITIONS]!.data;
    t.ok(drawn.some((x, k) => x !== hf[k]), 'without the flag the table is drawn at random');
  }
  t.same(Array.from(sinusoidalPositionTable(2, 4)), Array.from(Float32Array.from([0, 1, 0, 1, Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01)])), 'sin/cos of pos / 10000^(2*(j//2)/dim)');
});

t.test('a checkpoint without the sinusoidal table, or without the distilbert. prefix, loads', async (t) => {
  const source = path.join(work, 'sinusoidal-1');
  const tensors = (await readSafetensors(path.join(source, 'model.safetensors'))).tensors;
  const config = await readFile(path.join(source, 'config.json'), 'utf8');
  const batch = makeBatch({ name: '', modelType: 'distilbert', config: { vocab_size: 50 }, seqLen: 8, lengths: [8, 5, 3], tokenTypes: false, architecture: '' }, 0);

  const noTable = path.join(work, 'no-table');
  await mkdir(noTable);
  await writeFile(path.join(noTable, 'config.json'), config);
  await writeSafetensors(path.join(noTable, 'model.safetensors'), new Map([...tensors].filter(([name]) => name !== POSITIONS)), { format: 'pt' });
  const loaded = await loadModelDir(noTable);
  t.same(loaded.initialized, [POSITIONS], 'the table is computed');
  const diff = relativeDiff(await ourLogits(rt, loaded.spec, loaded.params, batch), references[1]!.logits.flat());
  t.ok(diff <= 1e-5, `logits as transformers' with the table: ${diff.toExponential(2)}`);

  const bare = path.join(work, 'bare');
  await mkdir(bare);
  await writeFile(path.join(bare, 'config.json'), config);
  const encoder = [...tensors].filter(([name]) => name.startsWith('distilbert.')).map(([name, tensor]) => [name.slice('distilbert.'.length), tensor] as const);
  await writeSafetensors(path.join(bare, 'model.safetensors'), new Map([...encoder, ['embeddings.position_ids', { dtype: 's64', shape: [1, 40], data: new BigInt64Array(40) }]]), { format: 'pt' });
  const fromBare = await loadModelDir(bare);
  t.same(fromBare.initialized.sort(), ['classifier.bias', 'classifier.weight', 'pre_classifier.bias', 'pre_classifier.weight'], 'only the head is fresh');
  t.same(fromBare.unused, [], 'the position_ids buffer is dropped');
  t.same(fromBare.params['distilbert.transformer.layer.0.attention.q_lin.weight']!.data, loaded.params['distilbert.transformer.layer.0.attention.q_lin.weight']!.data);
  t.equal(distilbert.normalizeName('vocab_projector.weight'), 'vocab_projector.weight', 'an MLM head tensor is kept (reported unused)');
  t.equal(distilbert.normalizeName('distilbert.embeddings.LayerNorm.gamma'), 'distilbert.embeddings.LayerNorm.weight');
});

t.test('token head: DistilBertForTokenClassification\'s logits, and its saved directory loads back in transformers', async (t) => {
  const dir = path.join(work, 'token');
  const loaded = await loadModelDir(dir, { head: 'token' });
  t.same([loaded.initialized, loaded.unused], [[], []], 'dropout + classifier: every tensor used, none fresh');
  const logits = await ourLogits(rt, loaded.spec, loaded.params, tokenBatch);
  const expected = (references[2]!.logits as unknown as number[][][]).flat(2);
  t.equal(logits.length, expected.length, '[B, S, labels]');
  const diff = relativeDiff(logits, expected);
  t.ok(diff <= 1e-5, `max relative logit difference ${diff.toExponential(2)} (bound 1e-5)`);
  const saved = path.join(work, 'token-saved');
  await saveModelDir(saved, loaded.spec, loaded.params, noTokenizer);
  const back = await runPythonJson<{ class: string; logits: number[][][]; missing: string[]; unexpected: string[] }>('family_reference.py', ['logits', saved], { task: 'token', ...tokenBatch });
  t.equal(back.class, 'DistilBertForTokenClassification');
  t.same([back.missing, back.unexpected], [[], []]);
  const savedDiff = relativeDiff(back.logits.flat(2), expected);
  t.ok(savedDiff <= 1e-4, `saved: ${savedDiff.toExponential(2)} (bound 1e-4)`);
});

t.test('mlp:N head on DistilBERT: runs on the first token, saves and loads back with the same logits', async (t) => {
  const config = distilbert.parseConfig({ model_type: 'distilbert', ...tiny }, 'tiny');
  const spec = modelSpec(distilbert, config, 'mlp:16');
  const params = initModelParams(spec, 4);
  const logits = await ourLogits(rt, spec, params, tokenBatch);
  t.equal(logits.length, 3 * 3, '[B, labels]');
  t.ok(logits.every(Number.isFinite));
  const saved = path.join(work, 'mlp');
  await saveModelDir(saved, spec, params, noTokenizer);
  const back = await loadModelDir(saved);
  t.same(back.spec.head, { kind: 'mlp', hidden: 16 });
  t.same(await ourLogits(rt, back.spec, back.params, tokenBatch), logits);
});

t.test('dropout: the sequence head drops at seq_classif_dropout, the encoder at dropout/attention_dropout', async (t) => {
  const ids = await rt.put(Int32Array.from(tokenBatch.input_ids.flat()), [3, 8]);
  const mask = await rt.put(Int32Array.from(tokenBatch.attention_mask.flat()), [3, 8]);
  const key = await rt.put(BigInt64Array.from([7n, 0n]), [2]);
  // logits in training mode (with a dropout key) and in evaluation, for rates given as config.json fields
  const trainVsEval = async (rates: Record<string, number>): Promise<number> => {
    const config = distilbert.parseConfig({ model_type: 'distilbert', ...tiny, ...rates }, 'rates');
    const spec = modelSpec(distilbert, config);
    const params: ModelParams<HostParam> = initModelParams(spec, 2);
    const run = jit((p: Record<string, Tensor>, inputIds: Tensor, attentionMask: Tensor, dropoutKey: Tensor) => [
      modelForward(spec, p, { inputIds, attentionMask }, { train: true, dropoutKey }),
      modelForward(spec, p, { inputIds, attentionMask }, { train: false }),
    ], { runtime: rt });
    const [train, evaluation] = (await run(await putParams(rt, params), ids, mask, key)) as DeviceArray[];
    run.dispose();
    return relativeDiff((await train!.toHost()) as Float32Array, (await evaluation!.toHost()) as Float32Array);
  };
  t.equal(await trainVsEval({ dropout: 0, attention_dropout: 0, seq_classif_dropout: 0 }), 0, 'all rates 0: training mode is evaluation');
  t.ok((await trainVsEval({ dropout: 0, attention_dropout: 0, seq_classif_dropout: 0.5 })) > 0, 'seq_classif_dropout alone changes the logits');
  t.ok((await trainVsEval({ dropout: 0.5, attention_dropout: 0, seq_classif_dropout: 0 })) > 0, 'dropout alone changes them');
  t.ok((await trainVsEval({ dropout: 0, attention_dropout: 0.5, seq_classif_dropout: 0 })) > 0, 'attention_dropout alone changes them');
});
