// BERT with real weights and pjrt-bert's own head: logits of the pretrained MiniLM checkpoint
// (model.safetensors and a torch.save'd pytorch_model.bin), save -> from_pretrained -> same
// logits (an mlp head through its modeling file and trust_remote_code), HF's initialisation,
// dropout and bf16 behaviour. Random tiny configs of every family (BERT's included) are in
// test/families.test.ts.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { BertTokenizer } from '../lib/data/index.js';
import { readSafetensors, toFloat32, writeSafetensors } from '../lib/io/index.js';
import { type HostParam, type ModelParams, type ModelSpec, FAMILIES, bertPresetConfig, crossEntropyLoss, initModelParams, modelForward, modelParamShapes, modelSpec } from '../lib/models/index.js';
import { MODELING_FILE, loadModelDir, saveModelDir, tokenizerWriter } from '../lib/pretrained/index.js';
import { putParams } from '../lib/train/model-state.js';
import type { ClassPrediction } from '../lib/train/predictions.js';
import { Predictor } from '../lib/train/predictor.js';
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
async function ourLogits(spec: ModelSpec, params: ModelParams<HostParam>, batch: Batch): Promise<number[][]> {
  const forward = jit((p: Record<string, Tensor>, inputIds: Tensor, tokenTypeIds: Tensor, attentionMask: Tensor) => modelForward(spec, p, { inputIds, tokenTypeIds, attentionMask }, { train: false }), { runtime: rt });
  const out = (await forward(await putParams(rt, params), ...(await putBatch(batch)))) as DeviceArray;
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

const minilm = await miniLmDir();
const minilmTokenizer = await BertTokenizer.fromPretrained(minilm);
const texts = ['The quick brown fox jumps over the lazy dog.', 'Hello world!', 'Καλημέρα, a mixed-language sentence with émojis 😀'];
const encoded = await minilmTokenizer.encodeBatch(texts, { maxLength: 16 });
const rowsOf = (slab: Int32Array) => Array.from({ length: 3 }, (_, r) => Array.from(slab.subarray(r * 16, (r + 1) * 16)));
const minilmBatch: Batch = { input_ids: rowsOf(encoded.inputIds), token_type_ids: rowsOf(encoded.tokenTypeIds), attention_mask: rowsOf(encoded.attentionMask) };
const stDir = path.join(work, 'minilm-st');
const binDir = path.join(work, 'minilm-bin');

// One Python process for every reference computed up front (importing torch is slow).
const references = runPythonJson<Array<{ logits: number[][]; loss?: number }>>('bert_reference.py', ['jobs'], [
  { command: 'minilm', args: [stDir, binDir], request: { num_labels: 3, seed: 3, ...minilmBatch } },
]);
references.catch(() => undefined); // awaited by the tests

const savedChecks: Array<{ dir: string; logits: number[][]; batch: Batch }> = [];

t.test('pretrained MiniLM: logits from model.safetensors and pytorch_model.bin match transformers', async (t) => {
  const reference = (await references)[0]!;
  for (const dir of [stDir, binDir]) {
    const loaded = await loadModelDir(dir);
    t.ok(loaded.weightsFile.endsWith(dir === stDir ? 'model.safetensors' : 'pytorch_model.bin'));
    t.same(loaded.initialized, []);
    const diff = relativeDiff((await ourLogits(loaded.spec, loaded.params, minilmBatch)).flat(), reference.logits.flat());
    t.ok(diff <= 1e-5, `${path.basename(dir)}: max rel logit diff ${diff.toExponential(2)}`);
  }
  // the bare encoder: the head is initialised fresh and reported; saved for the check below
  const bare = await loadModelDir(minilm, { labels: ['neg', 'neu', 'pos'], seed: 11 });
  t.same(bare.initialized, ['classifier.weight', 'classifier.bias']);
  const saved = path.join(work, 'minilm-saved');
  await saveModelDir(saved, bare.spec, bare.params, { writeTokenizer: tokenizerWriter(minilmTokenizer) });
  savedChecks.push({ dir: saved, logits: await ourLogits(bare.spec, bare.params, minilmBatch), batch: minilmBatch });
});

// texts longer and shorter than the training length 6 of the mlp model below
const mlpTexts = ['w1 w2 w3 w4 w5 w6 w7 w8', 'w3', 'W10 w11 w0'];
const mlpPredictions: Array<{ seqLen: number; inputIds: number[][]; logits: number[][] }> = [];

t.test('an mlp head saves with its modeling file and training length, and loads back with the same logits', async (t) => {
  const spec = modelSpec(FAMILIES.bert, bertPresetConfig('tiny', { vocabSize: 20, labels: ['a', 'b', 'c'] }), 'mlp:8');
  const params = initModelParams(spec, 5);
  t.same(Object.keys(params).slice(-4), ['classifier.0.weight', 'classifier.0.bias', 'classifier.3.weight', 'classifier.3.bias']);
  // a head far from its initialisation (as after training), so the logits are O(1) and differ per text
  let state = 7;
  for (const name of Object.keys(params).slice(-4)) params[name]!.data.forEach((_, i, data) => (data[i] = ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 30 - 1) * 0.8));
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: 15 }, (_, i) => `w${i}`)];
  const tokenizer = new BertTokenizer(vocab);
  const dir = path.join(work, 'mlp-model');
  await saveModelDir(dir, spec, params, { writeTokenizer: tokenizerWriter(tokenizer), seqLen: 6 });
  const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.same(config.auto_map, { AutoConfig: 'modeling_pjrt_bert.PjrtBertConfig', AutoModelForSequenceClassification: 'modeling_pjrt_bert.PjrtBertForSequenceClassification' });
  t.equal(config.pjrt_bert_seq_len, 6);
  t.ok(existsSync(path.join(dir, MODELING_FILE)), `${MODELING_FILE} beside config.json`);
  const loaded = await loadModelDir(dir);
  t.same(loaded.spec.head, { kind: 'mlp', hidden: 8 });
  t.same(loaded.initialized, []);
  t.equal(loaded.trainedSeqLen, 6);
  const batch = makeBatch(20, 6, [6, 4]);
  t.same(await ourLogits(loaded.spec, loaded.params, batch), await ourLogits(spec, params, batch));
  savedChecks.push({ dir, logits: [], batch });
  using predictor = await Predictor.open(dir, { runtime: rt, batchSize: mlpTexts.length });
  t.same(predictor.seqLenChoice, { seqLen: 6, source: 'trained', trained: 6, maxPositionEmbeddings: 512 }, 'the predictor runs at the training length');
  const encoded = await predictor.tokenizer.encodeBatch(mlpTexts, { maxLength: predictor.seqLenChoice.seqLen });
  mlpPredictions.push({
    seqLen: predictor.seqLenChoice.seqLen,
    inputIds: mlpTexts.map((_, r) => Array.from(encoded.inputIds.subarray(r * 6, (r + 1) * 6))),
    logits: (await predictor.predict(mlpTexts)).map((prediction) => (prediction as ClassPrediction).logits),
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
  t.ok(maxDiff <= 1e-4, `AutoModelForSequenceClassification vs Predictor: max logit diff ${maxDiff.toExponential(2)}`);
  t.ok(Math.max(...ours.logits.flat().map(Math.abs)) > 0.1, 'logits large enough for the comparison to mean something');
});

t.test('initialisation follows HF: seeded, normal(0, 0.02) weights, zero biases and pad row, unit LayerNorm', async (t) => {
  const spec = modelSpec(FAMILIES.bert, bertPresetConfig('tiny', { vocabSize: 100 }));
  const a = initModelParams(spec, 1);
  const b = initModelParams(spec, 1);
  const c = initModelParams(spec, 2);
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
  t.same([...modelParamShapes(spec).keys()], Object.keys(a), 'params in modelParamShapes order');
  t.equal(modelParamShapes(modelSpec(FAMILIES.bert, bertPresetConfig('base'))).size, 5 + 12 * 16 + 2 + 2);
});

t.test('dropout: keyed, deterministic, identity at rate 0 or in eval; bf16 close to f32', async (t) => {
  const spec = modelSpec(FAMILIES.bert, bertPresetConfig('tiny', { vocabSize: 30 }), 'mlp:16');
  const params = await putParams(rt, initModelParams(spec, 9));
  const batch = await putBatch(makeBatch(30, 8, [8, 6, 2, 1]));
  const run = jit(
    (p: Record<string, Tensor>, inputIds: Tensor, tokenTypeIds: Tensor, attentionMask: Tensor, key: Tensor) => {
      const inputs = { inputIds, tokenTypeIds, attentionMask };
      const noDropout = { ...spec, config: { ...spec.config, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, classifierDropout: 0 } };
      return [
        modelForward(spec, p, inputs, { train: false }),
        modelForward(spec, p, inputs, { train: true, dropoutKey: key }),
        modelForward(noDropout, p, inputs, { train: true, dropoutKey: key }),
        modelForward(spec, p, inputs, { train: false, computeDtype: 'bf16' }),
        crossEntropyLoss(modelForward(spec, p, inputs, { train: false }), ops.constant([0, 1, 0, 1], [4], 's32'), ops.constant([1, 1, 1, 0], [4], 'f32')),
        ops.crossEntropy(modelForward(spec, p, inputs, { train: false }), ops.constant([0, 1, 0, 1], [4], 's32'), { reduction: 'none' }),
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
  const spec = modelSpec(FAMILIES.bert, bertPresetConfig('tiny', { vocabSize: 30 }), 'mlp:16');
  const params = await putParams(rt, initModelParams(spec, 9));
  const run = jit(
    (p: Record<string, Tensor>, inputIds: Tensor, tokenTypeIds: Tensor, attentionMask: Tensor, keys: Tensor) => [
      modelForward(spec, p, { inputIds, tokenTypeIds, attentionMask }, { train: true, dropoutKey: keys }),
      modelForward(spec, p, { inputIds, tokenTypeIds, attentionMask }, { train: false }),
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
  const spec = modelSpec(FAMILIES.bert, { ...bertPresetConfig('tiny', { vocabSize: 50 }), hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64, maxPositionEmbeddings: 16 });
  await saveModelDir(source, spec, initModelParams(spec, 3), { writeTokenizer: async () => undefined });
  const bad = path.join(work, 'bad');
  await mkdir(bad, { recursive: true });
  const config = JSON.parse(await readFile(path.join(source, 'config.json'), 'utf8'));
  await writeFile(path.join(bad, 'config.json'), JSON.stringify({ ...config, intermediate_size: 65 }));
  await copyFile(path.join(source, 'model.safetensors'), path.join(bad, 'model.safetensors'));
  await t.rejects(loadModelDir(bad), { name: 'FileFormatError', message: /model\.safetensors: tensor bert\.encoder\.layer\.0\.intermediate\.dense\.weight has shape \[64, 32\] but the config expects \[65, 32\]/ });
  await writeFile(path.join(bad, 'config.json'), JSON.stringify({ ...config, id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 } }));
  await t.rejects(loadModelDir(bad), { message: /tensor classifier\.weight has shape \[2, 32\] but the config expects \[3, 32\] \(the head was saved for another class count/ });
  await writeFile(path.join(bad, 'config.json'), JSON.stringify(config));
  const tensors = (await readSafetensors(path.join(source, 'model.safetensors'))).tensors;
  tensors.delete('bert.encoder.layer.1.attention.self.key.weight');
  tensors.delete('bert.embeddings.LayerNorm.bias');
  await writeSafetensors(path.join(bad, 'model.safetensors'), tensors);
  await t.rejects(loadModelDir(bad), { message: /missing bert parameters bert\.embeddings\.LayerNorm\.bias, bert\.encoder\.layer\.1\.attention\.self\.key\.weight/ });
  await t.rejects(loadModelDir(path.join(work, 'nowhere')), { name: 'FileFormatError', message: /nowhere: no such model directory/ });
});

t.test('a BERT-base bf16 train step traces (its time is printed)', async (t) => {
  const spec = modelSpec(FAMILIES.bert, bertPresetConfig('base', { labels: ['a', 'b', 'c'] }), 'mlp:32');
  const paramSpecs = Object.fromEntries([...modelParamShapes(spec)].map(([name, shape]) => [name, { dtype: 'f32' as const, shape }]));
  const ids = { dtype: 's32' as const, shape: [32, 128] };
  const started = performance.now();
  const program = trace(
    (p: Record<string, Tensor>, inputIds: Tensor, attentionMask: Tensor, labels: Tensor, key: Tensor) =>
      valueAndGrad((q: Record<string, Tensor>) => crossEntropyLoss(modelForward(spec, q, { inputIds, attentionMask }, { train: true, dropoutKey: key, computeDtype: 'bf16' }), labels))(p),
    [paramSpecs, ids, ids, { dtype: 's32', shape: [32] }, { dtype: 's64', shape: [2] }],
  );
  const text = program.text;
  const seconds = (performance.now() - started) / 1000;
  // printed, not asserted (timings are the bench's job): about 1 s on an idle 2-core machine
  t.comment(`BERT-base bf16 train step (B=32, S=128): traced and printed in ${seconds.toFixed(2)} s, ${(text.length / 1e6).toFixed(2)} MB of StableHLO`);
  t.ok(text.includes('stablehlo.dot_general'), 'a whole train step was printed');
});
