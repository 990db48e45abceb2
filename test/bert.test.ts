// BERT parity with Hugging Face transformers: logits of random tiny configs and of the
// pretrained MiniLM checkpoint (model.safetensors and a torch.save'd pytorch_model.bin),
// gradients of the mean cross-entropy for every parameter, save -> from_pretrained -> same
// logits (an mlp head through its modeling file and trust_remote_code), dropout and bf16
// behaviour, and the loader's errors.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { BertTokenizer } from '../lib/data/index.js';
import { readSafetensors, toFloat32, writeSafetensors } from '../lib/io/index.js';
import { type BertSpec, BertPredictor, MODELING_FILE, bertForward, bertLoss, bertParamShapes, bertPresetConfig, initBertParams, loadBertParams, putBertParams, saveBertModel } from '../lib/models/index.js';
import type { DeviceArray } from '../lib/runtime/index.js';
import { splitKey } from '../lib/nn/index.js';
import { jit, ops, trace, valueAndGrad, type Tensor } from '../lib/trace/index.js';
import { miniLmDir } from './reference/corpora.js';
import { runPythonJson } from './reference/python.js';
import { openTestRuntime } from './helpers/runtime.js';

const rt = await openTestRuntime();
const work = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-model-'));

interface Batch {
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
}

/** A batch of `rows` x `seqLen` ids below `vocab` with padding after `lengths[i]` tokens and segment B in row 0. */
function makeBatch(vocab: number, seqLen: number, lengths: number[]): Batch {
  let state = 12345;
  const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31), state);
  const batch: Batch = { input_ids: [], token_type_ids: [], attention_mask: [] };
  lengths.forEach((length, row) => {
    batch.input_ids.push(Array.from({ length: seqLen }, (_, i) => (i < length ? 1 + (next() % (vocab - 1)) : 0)));
    batch.token_type_ids.push(Array.from({ length: seqLen }, (_, i) => (row === 0 && i >= length / 2 && i < length ? 1 : 0)));
    batch.attention_mask.push(Array.from({ length: seqLen }, (_, i) => (i < length ? 1 : 0)));
  });
  return batch;
}

async function putBatch(batch: Batch): Promise<DeviceArray[]> {
  const shape = [batch.input_ids.length, batch.input_ids[0]!.length];
  return Promise.all([batch.input_ids, batch.token_type_ids, batch.attention_mask].map((rows) => rt.put(Int32Array.from(rows.flat()), shape)));
}

/** Our logits for host params and a batch, as rows. */
async function ourLogits(spec: BertSpec, params: Parameters<typeof putBertParams>[1], batch: Batch): Promise<number[][]> {
  const forward = jit((p: Record<string, Tensor>, inputIds: Tensor, tokenTypeIds: Tensor, attentionMask: Tensor) => bertForward(spec, p, { inputIds, tokenTypeIds, attentionMask }, { train: false }), { runtime: rt });
  const out = (await forward(await putBertParams(rt, params), ...(await putBatch(batch)))) as DeviceArray;
  const flat = Array.from((await out.toHost()) as Float32Array);
  forward.dispose();
  const labels = out.shape[1]!;
  return Array.from({ length: out.shape[0]! }, (_, r) => flat.slice(r * labels, (r + 1) * labels));
}

/** max |a - b| / max |b|. */
function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

const randomConfigs = [
  { vocab_size: 50, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16, num_labels: 2 },
  { vocab_size: 41, hidden_size: 24, num_hidden_layers: 1, num_attention_heads: 3, intermediate_size: 40, max_position_embeddings: 12, num_labels: 3, type_vocab_size: 3, layer_norm_eps: 1e-7 },
];
const randomCases = randomConfigs.map((config, index) => ({
  config,
  dir: path.join(work, `random-${index}`),
  batch: makeBatch(config.vocab_size, 8, [8, 5, 3]),
  labels: [1, 0, config.num_labels - 1],
}));

const minilm = await miniLmDir();
const minilmTokenizer = await BertTokenizer.fromPretrained(minilm);
const texts = ['The quick brown fox jumps over the lazy dog.', 'Hello world!', 'Καλημέρα, a mixed-language sentence with émojis 😀'];
const encoded = minilmTokenizer.encodeBatch(texts, { maxLength: 16 });
const rowsOf = (slab: Int32Array) => Array.from({ length: 3 }, (_, r) => Array.from(slab.subarray(r * 16, (r + 1) * 16)));
const minilmBatch: Batch = { input_ids: rowsOf(encoded.inputIds), token_type_ids: rowsOf(encoded.tokenTypeIds), attention_mask: rowsOf(encoded.attentionMask) };
const stDir = path.join(work, 'minilm-st');
const binDir = path.join(work, 'minilm-bin');

// One Python process for every reference computed up front (importing torch is slow).
const references = runPythonJson<Array<{ logits: number[][]; loss?: number }>>('bert_reference.py', ['jobs'], [
  ...randomCases.map(({ config, dir, batch, labels }, index) => ({ command: 'random', args: [dir], request: { config, seed: 7 + index, labels, ...batch } })),
  { command: 'minilm', args: [stDir, binDir], request: { num_labels: 3, seed: 3, ...minilmBatch } },
]);
references.catch(() => undefined); // awaited by the tests

for (const [index, { dir, batch, labels, config: hfConfig }] of randomCases.entries()) {
  t.test(`random config ${index}: logits and every gradient match transformers`, async (t) => {
    const reference = (await references)[index]!;
    const loaded = await loadBertParams(dir);
    t.same(loaded.initialized, [], 'nothing initialised fresh');
    t.same(loaded.unused, [], 'every tensor used');
    t.equal(loaded.spec.config.labels?.length, hfConfig.num_labels);
    const logits = await ourLogits(loaded.spec, loaded.params, batch);
    const logitDiff = relativeDiff(logits.flat(), reference.logits.flat());
    t.ok(logitDiff <= 1e-5, `max rel logit diff ${logitDiff.toExponential(2)}`);

    const step = jit(
      valueAndGrad((p: Record<string, Tensor>, inputIds: Tensor, tokenTypeIds: Tensor, attentionMask: Tensor, y: Tensor) =>
        bertLoss(bertForward(loaded.spec, p, { inputIds, tokenTypeIds, attentionMask }, { train: false }), y),
      ),
      { runtime: rt },
    );
    const args = [await putBertParams(rt, loaded.params), ...(await putBatch(batch)), await rt.put(Int32Array.from(labels), [3])];
    const [loss, grads] = (await step(...args)) as [DeviceArray, Record<string, DeviceArray>];
    const ourLoss = ((await loss.toHost()) as Float32Array)[0]!;
    t.ok(Math.abs(ourLoss - reference.loss!) <= 1e-5 * Math.abs(reference.loss!), `loss ${ourLoss} vs ${reference.loss}`);
    const expected = (await readSafetensors(path.join(dir, 'grads.safetensors'))).tensors;
    t.equal(Object.keys(grads).length, expected.size, 'one gradient per parameter');
    const ours = new Map<string, Float32Array>();
    for (const name of expected.keys()) ours.set(name, (await grads[name]!.toHost()) as Float32Array);
    const globalScale = Math.max(...[...expected.values()].map((g) => Math.max(...Array.from(toFloat32(g), Math.abs))));
    let worst = 0;
    let worstName = '';
    for (const [name, tensor] of expected) {
      const reference = toFloat32(tensor);
      if (name.endsWith('attention.self.key.bias')) {
        // softmax over keys ignores a bias shared by all keys: this gradient is zero up to rounding on both sides
        const noise = Math.max(...Array.from(ours.get(name)!, Math.abs), ...Array.from(reference, Math.abs));
        t.ok(noise <= 1e-5 * globalScale, `${name}: zero up to rounding (${noise.toExponential(2)})`);
        continue;
      }
      const diff = relativeDiff(ours.get(name)!, reference);
      if (diff > worst) [worst, worstName] = [diff, name];
    }
    t.ok(worst <= 1e-4, `max grad rel error ${worst.toExponential(2)} (${worstName})`);
    step.dispose();
  });
}

const savedChecks: Array<{ dir: string; logits: number[][]; batch: Batch }> = [];

t.test('pretrained MiniLM: logits from model.safetensors and pytorch_model.bin match transformers', async (t) => {
  const reference = (await references)[randomCases.length]!;
  for (const dir of [stDir, binDir]) {
    const loaded = await loadBertParams(dir);
    t.ok(loaded.weightsFile.endsWith(dir === stDir ? 'model.safetensors' : 'pytorch_model.bin'));
    t.same(loaded.initialized, []);
    const diff = relativeDiff((await ourLogits(loaded.spec, loaded.params, minilmBatch)).flat(), reference.logits.flat());
    t.ok(diff <= 1e-5, `${path.basename(dir)}: max rel logit diff ${diff.toExponential(2)}`);
  }
  // the bare encoder: the head is initialised fresh and reported; saved for the check below
  const bare = await loadBertParams(minilm, { labels: ['neg', 'neu', 'pos'], seed: 11 });
  t.same(bare.initialized, ['classifier.weight', 'classifier.bias']);
  const saved = path.join(work, 'minilm-saved');
  await saveBertModel(saved, bare.spec, bare.params, { vocab: minilmTokenizer.vocabulary.tokens, tokenizer: minilmTokenizer.settings });
  savedChecks.push({ dir: saved, logits: await ourLogits(bare.spec, bare.params, minilmBatch), batch: minilmBatch });
});

// texts longer and shorter than the training length 6 of the mlp model below
const mlpTexts = ['w1 w2 w3 w4 w5 w6 w7 w8', 'w3', 'W10 w11 w0'];
const mlpPredictions: Array<{ seqLen: number; inputIds: number[][]; logits: number[][] }> = [];

t.test('an mlp head saves with its modeling file and training length, and loads back with the same logits', async (t) => {
  const spec: BertSpec = { config: bertPresetConfig('tiny', { vocabSize: 20, labels: ['a', 'b', 'c'] }), head: { kind: 'mlp', hidden: 8 } };
  const params = initBertParams(spec, 5);
  t.same(Object.keys(params).slice(-4), ['classifier.0.weight', 'classifier.0.bias', 'classifier.3.weight', 'classifier.3.bias']);
  // a head far from its initialisation (as after training), so the logits are O(1) and differ per text
  let state = 7;
  for (const name of Object.keys(params).slice(-4)) params[name]!.data.forEach((_, i, data) => (data[i] = ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 30 - 1) * 0.8));
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: 15 }, (_, i) => `w${i}`)];
  const tokenizer = new BertTokenizer(vocab);
  const dir = path.join(work, 'mlp-model');
  await saveBertModel(dir, spec, params, { vocab, tokenizer: tokenizer.settings, seqLen: 6 });
  const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.same(config.auto_map, { AutoConfig: 'modeling_pjrt_bert.PjrtBertConfig', AutoModelForSequenceClassification: 'modeling_pjrt_bert.PjrtBertForSequenceClassification' });
  t.equal(config.pjrt_bert_seq_len, 6);
  t.ok(existsSync(path.join(dir, MODELING_FILE)), `${MODELING_FILE} beside config.json`);
  const loaded = await loadBertParams(dir);
  t.same(loaded.spec.head, { kind: 'mlp', hidden: 8 });
  t.same(loaded.initialized, []);
  t.equal(loaded.trainedSeqLen, 6);
  const batch = makeBatch(20, 6, [6, 4]);
  t.same(await ourLogits(loaded.spec, loaded.params, batch), await ourLogits(spec, params, batch));
  savedChecks.push({ dir, logits: [], batch });
  using predictor = await BertPredictor.open(rt, dir, { batchSize: mlpTexts.length });
  t.same(predictor.seqLenChoice, { seqLen: 6, source: 'trained', trained: 6, maxPositionEmbeddings: 512 }, 'the predictor runs at the training length');
  const encoded = predictor.tokenizer.encodeBatch(mlpTexts, { maxLength: predictor.seqLen });
  mlpPredictions.push({
    seqLen: predictor.seqLen,
    inputIds: mlpTexts.map((_, r) => Array.from(encoded.inputIds.subarray(r * 6, (r + 1) * 6))),
    logits: (await predictor.predict(mlpTexts)).map((prediction) => prediction.logits),
  });
});

t.test('saved directories load in transformers: a linear head plainly, an mlp head with trust_remote_code', async (t) => {
  t.equal(savedChecks.length, 2, 'both directories were saved');
  t.equal(mlpPredictions.length, 1, 'the mlp model was run');
  const [minilmDir, mlpDir] = savedChecks.map(({ dir }) => dir) as [string, string];
  const minilmConfig = JSON.parse(await readFile(path.join(minilmDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.notOk('auto_map' in minilmConfig || existsSync(path.join(minilmDir, MODELING_FILE)), 'a linear head needs no remote code');
  type Result = { logits: number[][]; missing: string[]; unexpected: string[]; id2label: Record<string, string>; class: string; input_ids: number[][]; model_max_length: number };
  const results = await runPythonJson<Result[]>('bert_reference.py', ['jobs'], [
    ...savedChecks.map(({ dir, batch }) => ({ command: 'logits', args: [dir], request: batch })),
    { command: 'auto', args: [mlpDir], request: { texts: mlpTexts } },
  ]);
  const [minilmBack, mlpPlain, mlpAuto] = results as [Result, Result, Result];
  t.same(minilmBack.missing, []);
  t.same(minilmBack.unexpected, []);
  t.same(minilmBack.id2label, { 0: 'neg', 1: 'neu', 2: 'pos' });
  const diff = relativeDiff(savedChecks[0]!.logits.flat(), minilmBack.logits.flat());
  t.ok(diff <= 1e-5, `saved -> from_pretrained: max rel logit diff ${diff.toExponential(2)}`);
  // BertForSequenceClassification itself has a linear head: the mlp one is reported, not loaded
  t.same(mlpPlain.missing, ['classifier.bias', 'classifier.weight'], 'plain BertForSequenceClassification initialises its own linear classifier');
  t.same(mlpPlain.unexpected, ['classifier.0.bias', 'classifier.0.weight', 'classifier.3.bias', 'classifier.3.weight']);
  // AutoModelForSequenceClassification with trust_remote_code loads the trained mlp head
  t.equal(mlpAuto.class, 'PjrtBertForSequenceClassification');
  t.same(mlpAuto.missing, [], 'nothing initialised fresh');
  t.same(mlpAuto.unexpected, [], 'every tensor used');
  const ours = mlpPredictions[0]!;
  t.equal(mlpAuto.model_max_length, ours.seqLen, "AutoTokenizer's default length is the training length");
  t.same(mlpAuto.input_ids, ours.inputIds, 'same ids, truncated and padded alike');
  const maxDiff = Math.max(...ours.logits.flat().map((z, i) => Math.abs(z - mlpAuto.logits.flat()[i]!)));
  t.ok(maxDiff <= 1e-4, `AutoModelForSequenceClassification vs BertPredictor: max logit diff ${maxDiff.toExponential(2)}`);
  t.ok(Math.max(...ours.logits.flat().map(Math.abs)) > 0.1, 'logits large enough for the comparison to mean something');
});

t.test('initialisation follows HF: seeded, normal(0, 0.02) weights, zero biases and pad row, unit LayerNorm', async (t) => {
  const spec: BertSpec = { config: bertPresetConfig('tiny', { vocabSize: 100 }), head: { kind: 'linear' } };
  const a = initBertParams(spec, 1);
  const b = initBertParams(spec, 1);
  const c = initBertParams(spec, 2);
  t.same(a['bert.encoder.layer.1.attention.self.query.weight']!.data, b['bert.encoder.layer.1.attention.self.query.weight']!.data);
  t.not(a['bert.encoder.layer.1.attention.self.query.weight']!.data[0], c['bert.encoder.layer.1.attention.self.query.weight']!.data[0]);
  const word = a['bert.embeddings.word_embeddings.weight']!.data;
  t.ok(word.subarray(0, 128).every((v) => v === 0), 'padding row is zero');
  const sample = word.subarray(128);
  const mean = sample.reduce((s, v) => s + v, 0) / sample.length;
  const std = Math.sqrt(sample.reduce((s, v) => s + (v - mean) ** 2, 0) / sample.length);
  t.ok(Math.abs(mean) < 1e-3 && Math.abs(std - 0.02) < 1e-3, `mean ${mean}, std ${std}`);
  t.ok(a['bert.encoder.layer.0.output.LayerNorm.weight']!.data.every((v) => v === 1));
  t.ok(a['bert.pooler.dense.bias']!.data.every((v) => v === 0));
  t.same([...bertParamShapes(spec).keys()], Object.keys(a), 'params in bertParamShapes order');
  t.equal(bertParamShapes({ config: bertPresetConfig('base'), head: { kind: 'linear' } }).size, 5 + 12 * 16 + 2 + 2);
});

t.test('dropout: keyed, deterministic, identity at rate 0 or in eval; bf16 close to f32', async (t) => {
  const spec: BertSpec = { config: bertPresetConfig('tiny', { vocabSize: 30 }), head: { kind: 'mlp', hidden: 16 } };
  const params = await putBertParams(rt, initBertParams(spec, 9));
  const batch = await putBatch(makeBatch(30, 8, [8, 6, 2, 1]));
  const run = jit(
    (p: Record<string, Tensor>, inputIds: Tensor, tokenTypeIds: Tensor, attentionMask: Tensor, key: Tensor) => {
      const inputs = { inputIds, tokenTypeIds, attentionMask };
      const noDropout = { config: { ...spec.config, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, classifierDropout: 0 }, head: spec.head };
      return [
        bertForward(spec, p, inputs, { train: false }),
        bertForward(spec, p, inputs, { train: true, dropoutKey: key }),
        bertForward(noDropout, p, inputs, { train: true, dropoutKey: key }),
        bertForward(spec, p, inputs, { train: false, computeDtype: 'bf16' }),
        bertLoss(bertForward(spec, p, inputs, { train: false }), ops.constant([0, 1, 0, 1], [4], 's32'), ops.constant([1, 1, 1, 0], [4], 'f32')),
        ops.crossEntropy(bertForward(spec, p, inputs, { train: false }), ops.constant([0, 1, 0, 1], [4], 's32'), { reduction: 'none' }),
      ];
    },
    { runtime: rt },
  );
  const host = async (key: number[]) => {
    const outs = (await run(params, ...batch, await rt.put(BigInt64Array.from(key.map(BigInt)), [2]))) as DeviceArray[];
    return Promise.all(outs.map(async (o) => Array.from((await o.toHost()) as Float32Array)));
  };
  const [evalLogits, trainA, noDrop, bf16, maskedLoss, perExample] = await host([1, 2]);
  const [, trainA2] = await host([1, 2]);
  const [, trainB] = await host([3, 4]);
  t.same(trainA, trainA2, 'same key, same masks');
  t.notSame(trainA, trainB, 'another key, other masks');
  t.notSame(trainA, evalLogits, 'dropout changes the logits in training');
  t.same(noDrop, evalLogits, 'rate 0 is the identity');
  const bf16Diff = relativeDiff(bf16!, evalLogits!);
  t.ok(bf16Diff < 5e-2, `bf16 rel diff ${bf16Diff.toExponential(2)}`);
  const expected = (perExample![0]! + perExample![1]! + perExample![2]!) / 3;
  t.ok(Math.abs(maskedLoss![0]! - expected) < 1e-6, 'the padded example counts zero');
});

t.test('per-example dropout keys: the masks of an example follow its key, not its batch', async (t) => {
  const spec: BertSpec = { config: bertPresetConfig('tiny', { vocabSize: 30 }), head: { kind: 'mlp', hidden: 16 } };
  const params = await putBertParams(rt, initBertParams(spec, 9));
  const run = jit(
    (p: Record<string, Tensor>, inputIds: Tensor, tokenTypeIds: Tensor, attentionMask: Tensor, keys: Tensor) => [
      bertForward(spec, p, { inputIds, tokenTypeIds, attentionMask }, { train: true, dropoutKey: keys }),
      bertForward(spec, p, { inputIds, tokenTypeIds, attentionMask }, { train: false }),
    ],
    { runtime: rt },
  );
  const full = makeBatch(30, 8, [8, 6, 2, 8]);
  const rows = (picks: number[]): Batch => ({
    input_ids: picks.map((r) => full.input_ids[r]!),
    token_type_ids: picks.map((r) => full.token_type_ids[r]!),
    attention_mask: picks.map((r) => full.attention_mask[r]!),
  });
  const keys = [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
  ];
  const logits = async (picks: number[], keyOf: (r: number, i: number) => number[]) => {
    const outs = (await run(params, ...(await putBatch(rows(picks))), await rt.put(Uint32Array.from(picks.flatMap(keyOf)), [picks.length, 2]))) as DeviceArray[];
    const [train, evaluation] = await Promise.all(outs.map(async (o) => Array.from((await o.toHost()) as Float32Array)));
    return { train: train!, evaluation: evaluation! };
  };
  const batch = await logits([0, 1, 2, 3], (r) => keys[r]!);
  const labels = batch.train.length / 4;
  const row = (values: number[], i: number) => values.slice(i * labels, (i + 1) * labels);
  const subset = await logits([2, 0], (r) => keys[r]!);
  const diff = relativeDiff([...row(subset.train, 0), ...row(subset.train, 1)], [...row(batch.train, 2), ...row(batch.train, 0)]);
  t.ok(diff < 1e-5, `rows 2 and 0 with their keys, alone in a batch of 2: the logits of the batch of 4 (rel diff ${diff.toExponential(2)})`);
  t.notSame(row(batch.train, 0), row(batch.evaluation, 0), 'dropout is on');
  const twins = await logits([0, 0], (_, i) => keys[i]!);
  t.notSame(row(twins.train, 0), row(twins.train, 1), 'one example under two keys: two masks');
  const sameKey = await logits([0, 0], () => keys[0]!);
  t.same(row(sameKey.train, 0), row(sameKey.train, 1), 'one example under one key twice: one mask');
  run.dispose();
});

t.test('splitKey derives distinct, reproducible keys', async (t) => {
  const split = jit((key: Tensor) => splitKey(key, 3), { runtime: rt });
  const run = async (seed: bigint) => {
    const [next, keys] = (await split(await rt.put(BigInt64Array.from([seed, 0n]), [2]))) as [DeviceArray, DeviceArray[]];
    return [next, ...keys].map(async (k) => Array.from((await k.toHost()) as BigInt64Array, String).join(','));
  };
  const a = await Promise.all(await run(1n));
  t.equal(new Set(a).size, 4, 'next and three keys all differ');
  t.same(await Promise.all(await run(1n)), a, 'same key, same split');
  t.notSame(await Promise.all(await run(2n)), a);
  split.dispose();
});

t.test('loading errors name the tensor and both shapes, or the missing ones', async (t) => {
  const source = path.join(work, 'random-0');
  const bad = path.join(work, 'bad');
  await mkdir(bad, { recursive: true });
  const config = JSON.parse(await readFile(path.join(source, 'config.json'), 'utf8'));
  await writeFile(path.join(bad, 'config.json'), JSON.stringify({ ...config, intermediate_size: 65 }));
  await copyFile(path.join(source, 'model.safetensors'), path.join(bad, 'model.safetensors'));
  await t.rejects(loadBertParams(bad), { name: 'FileFormatError', message: /model\.safetensors: tensor bert\.encoder\.layer\.0\.intermediate\.dense\.weight has shape \[64, 32\] but the config expects \[65, 32\]/ });
  await writeFile(path.join(bad, 'config.json'), JSON.stringify({ ...config, id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 } }));
  await t.rejects(loadBertParams(bad), { message: /tensor classifier\.weight has shape \[2, 32\] but the config expects \[3, 32\] \(the head was saved for another class count/ });
  await writeFile(path.join(bad, 'config.json'), JSON.stringify(config));
  const tensors = (await readSafetensors(path.join(source, 'model.safetensors'))).tensors;
  tensors.delete('bert.encoder.layer.1.attention.self.key.weight');
  tensors.delete('bert.embeddings.LayerNorm.bias');
  await writeSafetensors(path.join(bad, 'model.safetensors'), tensors);
  await t.rejects(loadBertParams(bad), { message: /missing BERT parameters bert\.embeddings\.LayerNorm\.bias, bert\.encoder\.layer\.1\.attention\.self\.key\.weight/ });
  await t.rejects(loadBertParams(path.join(work, 'nowhere')), { name: 'FileFormatError', message: /config\.json: file not found/ });
});

t.test('a BERT-base train step traces quickly', async (t) => {
  const spec: BertSpec = { config: bertPresetConfig('base', { labels: ['a', 'b', 'c'] }), head: { kind: 'mlp', hidden: 32 } };
  const paramSpecs = Object.fromEntries([...bertParamShapes(spec)].map(([name, shape]) => [name, { dtype: 'f32' as const, shape }]));
  const ids = { dtype: 's32' as const, shape: [32, 128] };
  const started = performance.now();
  const program = trace(
    (p: Record<string, Tensor>, inputIds: Tensor, attentionMask: Tensor, labels: Tensor, key: Tensor) =>
      valueAndGrad((q: Record<string, Tensor>) => bertLoss(bertForward(spec, q, { inputIds, attentionMask }, { train: true, dropoutKey: key, computeDtype: 'bf16' }), labels))(p),
    [paramSpecs, ids, ids, { dtype: 's32', shape: [32] }, { dtype: 's64', shape: [2] }],
  );
  const text = program.text;
  const seconds = (performance.now() - started) / 1000;
  t.comment(`BERT-base bf16 train step (B=32, S=128): traced and printed in ${seconds.toFixed(2)} s, ${(text.length / 1e6).toFixed(2)} MB of StableHLO`);
  t.ok(seconds < 10, `traced in ${seconds.toFixed(2)} s`);
});
