/**
 * The Trainer's data pipeline: label mapping, the Keras validation split, the seeded
 * per-epoch shuffle, K x R slabs with weight-0 padding, resume positions, and the errors.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { BertTokenizer } from '../lib/data/index.js';
import { DataError, loadTrainingData, mapLabels, tokenizeExamples, validationCut, type TokenizedExamples } from '../lib/train/data.js';
import { SlabBatcher, SplitMix64, shuffledOrder, type Slab } from '../lib/train/data-batches.js';

const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad', 'movie', 'very', 'not', 'ok'];
const tokenizer = new BertTokenizer(vocab);

/** N synthetic examples whose rows are recognisable: inputIds of row i are [i, i, ...], label i % 3. */
function numbered(count: number, seqLen = 3): TokenizedExamples {
  const ids = Int32Array.from({ length: count * seqLen }, (_, k) => Math.floor(k / seqLen));
  return {
    count,
    seqLen,
    inputIds: ids,
    attentionMask: new Int32Array(count * seqLen).fill(1),
    tokenTypeIds: new Int32Array(count * seqLen),
    targets: Int32Array.from({ length: count }, (_, i) => i % 3),
    targetWidth: 1,
  };
}

/** Per step of a slab: the row ids (first token) of every global-batch slot and their weights. */
function rowsOf(slab: Slab, batcher: SlabBatcher): { rows: number[][]; weights: number[][] } {
  const { stepsPerCall: K, shardSize: b, examples } = batcher;
  const rows: number[][] = [];
  const weights: number[][] = [];
  for (let k = 0; k < K; k++) {
    rows.push(slab.replicas.flatMap((r) => Array.from({ length: b }, (_, j) => r.inputIds[(k * b + j) * examples.seqLen]!)));
    weights.push(slab.replicas.flatMap((r) => Array.from(r.weights.subarray(k * b, (k + 1) * b))));
  }
  return { rows, weights };
}

t.test('labels: the model label2id when it covers the data, else sorted unique labels', async (t) => {
  const data = ['pos', 'neg', 'neutral', 'neg'];
  const model = mapLabels(data, { label2id: { neg: 0, neutral: 1, pos: 2 } });
  t.equal(model.mapping.source, 'model');
  t.same(Array.from(model.ids), [2, 0, 1, 0]);
  t.same(model.mapping.id2label, ['neg', 'neutral', 'pos']);
  const reordered = mapLabels(data, { label2id: { pos: 0, neg: 1, neutral: 2 } });
  t.same(Array.from(reordered.ids), [0, 1, 2, 1], 'the model order wins over sorting');
  const fallback = mapLabels(data, { label2id: { LABEL_0: 0, LABEL_1: 1 } });
  t.equal(fallback.mapping.source, 'data');
  t.same(fallback.mapping.id2label, ['neg', 'neutral', 'pos']);
  t.throws(() => mapLabels(data, { label2id: { neg: 0, LABEL_1: 1 }, requireLabel2id: true }), {
    name: 'DataError',
    message: /labels "neutral", "pos" of the data are not in the model's label2id \("neg", "LABEL_1"\)/,
  });
  t.throws(() => mapLabels(data, { label2id: { neg: 0, neutral: 2, pos: 3 } }), { name: 'DataError', message: /0\.\.2 once each/ });
  t.same(mapLabels(['b', 'a', 'B', '\u{1F600}', '\uFF5E']).mapping.id2label, ['B', 'a', 'b', '\uFF5E', '\u{1F600}'], 'code point order, as Python sorted');
  t.throws(() => mapLabels([]), DataError);
});

t.test('validation split: the last fraction of the rows in file order, as Keras', async (t) => {
  t.equal(validationCut(1640, 0.2), 1312, 'the tutorial: 1312 train, 328 validation');
  t.equal(validationCut(10, 0.25), 7, 'floor(10 * 0.75)');
  t.equal(validationCut(10, 0), 10);
  t.throws(() => validationCut(1, 0.5), { name: 'DataError', message: /1 rows are not enough/ });
  t.throws(() => validationCut(10, 1), RangeError);
  t.throws(() => validationCut(10, -0.1), RangeError);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'train-data-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const csv = path.join(dir, 'reviews.csv');
  const rows = ['good movie', 'bad movie', 'very good', 'not ok', 'ok', 'very bad movie indeed', 'good', 'bad'];
  const labels = ['pos', 'neg', 'pos', 'neg', 'neutral', 'neg', 'pos', 'neg'];
  await writeFile(csv, `text,label\n${rows.map((r, i) => `"${r}",${labels[i]}`).join('\n')}\n`);
  const data = await loadTrainingData(csv, { textColumn: 'text', labelColumn: 'label', tokenizer, seqLen: 4, validationSplit: 0.25 });
  t.equal(data.train.count, 6);
  t.equal(data.validation.count, 2);
  t.same(data.labels.id2label, ['neg', 'neutral', 'pos'], 'labels over the whole file, sorted');
  t.same(Array.from(data.validation.targets), [2, 0], 'the last two rows of the file validate');
  t.same(Array.from(data.validation.inputIds), [2, 5, 3, 0, 2, 6, 3, 0], '[CLS] good [SEP] [PAD], [CLS] bad [SEP] [PAD]');
  t.same(Array.from(data.train.inputIds.subarray(20, 24)), [2, 8, 6, 3], 'row 5 truncated to seqLen 4');
  t.same(Array.from(data.train.attentionMask.subarray(16, 24)), [1, 1, 1, 0, 1, 1, 1, 1], '[CLS] ok [SEP] [PAD], then a full row');

  await t.rejects(loadTrainingData(csv, { textColumn: 'text', labelColumn: 'polarity', tokenizer, seqLen: 4 }), {
    name: 'FileFormatError',
    message: /no label column "polarity"; the columns are "text", "label"/,
  });
  await t.rejects(loadTrainingData(csv, { textColumn: 'text', labelColumn: 'label', tokenizer, seqLen: 1 }), { name: 'RangeError', message: /seqLen must be an integer of at least 2/ });
  const empty = path.join(dir, 'empty.csv');
  await writeFile(empty, 'text,label\n');
  await t.rejects(loadTrainingData(empty, { textColumn: 'text', labelColumn: 'label', tokenizer, seqLen: 4 }), { name: 'DataError', message: /no data rows/ });
  await t.rejects(tokenizeExamples(tokenizer, ['a'], 2.5), RangeError);
});

t.test('shuffle: SplitMix64 from (seed, epoch), a permutation, reproducible', async (t) => {
  const reference = new SplitMix64(0n);
  t.equal(reference.next(), 0xe220a8397b1dcdafn, 'SplitMix64 from state 0 gives the published first output');
  t.equal(reference.next(), 0x6e789e6aa1b965f4n);
  const a = shuffledOrder(100, 42, 0);
  t.same(a, shuffledOrder(100, 42, 0), 'same seed and epoch, same order');
  t.notSame(a, shuffledOrder(100, 42, 1), 'another epoch, another order');
  t.notSame(a, shuffledOrder(100, 43, 0), 'another seed, another order');
  t.same([...a].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i), 'a permutation');
  t.same(Array.from(shuffledOrder(8, 7, 3)), Array.from(shuffledOrder(8, 7, 3)));
  t.same(Array.from(shuffledOrder(10, 0, 0)), [6, 3, 2, 9, 8, 1, 4, 7, 0, 5], 'pinned (checked with a Python transcription of the documented algorithm)');
  t.throws(() => shuffledOrder(3, -1, 0), RangeError);
  t.throws(() => shuffledOrder(3, 0, 1.5), RangeError);
});

t.test('slabs: K steps x R replicas, the last batch padded with weight-0 rows, calls within one epoch', async (t) => {
  // N=10, B=4, R=2, K=2: 3 steps per epoch (4 + 4 + 2 real), 2 calls per epoch (2 steps, then 1)
  const examples = numbered(10);
  const batcher = new SlabBatcher(examples, { globalBatchSize: 4, replicas: 2, stepsPerCall: 2, shuffle: false });
  t.equal(batcher.stepsPerEpoch, 3);
  t.equal(batcher.callsPerEpoch, 2);
  const first = batcher.slab({ epoch: 0, step: 0 });
  t.equal(first.replicas.length, 2);
  t.equal(first.replicas[0]!.inputIds.length, 2 * 2 * 3, '[K, B/R, S]');
  t.equal(first.replicas[0]!.targets.length, 4, '[K, B/R, 1]');
  t.same(rowsOf(first, batcher).rows, [[0, 1, 2, 3], [4, 5, 6, 7]], 'file order; replica 0 takes the first half of each batch');
  t.same(Array.from(first.replicas[1]!.targets), [2, 0, 0, 1], 'targets travel with their rows: rows 2, 3 then 6, 7');
  t.same(first.next, { epoch: 0, step: 2 });
  const last = batcher.slab(first.next);
  t.equal(last.steps, 1, 'one real step left in the epoch');
  t.same(last.examplesPerStep, [2, 0]);
  const { rows, weights } = rowsOf(last, batcher);
  t.same(rows, [[8, 9, 0, 0], [0, 0, 0, 0]], 'padding rows repeat the epoch\'s first example');
  t.same(weights, [[1, 1, 0, 0], [0, 0, 0, 0]]);
  t.same(Array.from(last.replicas[1]!.attentionMask.subarray(0, 3)), [1, 1, 1], 'padding rows are valid inputs');
  t.same(last.next, { epoch: 1, step: 0 }, 'the next call starts the next epoch');

  const shuffled = new SlabBatcher(examples, { globalBatchSize: 4, replicas: 2, stepsPerCall: 2, seed: 5 });
  for (const epoch of [0, 1]) {
    const seen = [...shuffled.slabs(epoch + 1, { epoch, step: 0 })].flatMap((slab) => {
      const { rows: r, weights: w } = rowsOf(slab, shuffled);
      return r.flat().filter((_, i) => w.flat()[i] === 1);
    });
    t.same(seen, Array.from(shuffledOrder(10, 5, epoch)), `epoch ${epoch}: every row once, in the (seed, epoch) order`);
  }
  t.notSame(rowsOf(shuffled.slab({ epoch: 0, step: 0 }), shuffled).rows, rowsOf(shuffled.slab({ epoch: 1, step: 0 }), shuffled).rows);
});

t.test('resume: a slab depends only on its position; global steps and positions convert both ways', async (t) => {
  const batcher = new SlabBatcher(numbered(23), { globalBatchSize: 4, replicas: 1, stepsPerCall: 4, seed: 9 });
  t.equal(batcher.stepsPerEpoch, 6);
  const all = [...batcher.slabs(3)];
  t.equal(all.length, 3 * 2, 'two calls per epoch (4 + 2 steps)');
  t.same(all.map((s) => s.steps), [4, 2, 4, 2, 4, 2]);
  // a fresh batcher resuming from the saved position of call 3 reproduces the rest exactly
  const resumed = [...new SlabBatcher(numbered(23), { globalBatchSize: 4, replicas: 1, stepsPerCall: 4, seed: 9 }).slabs(3, all[3]!.position)];
  t.same(resumed, all.slice(3));
  const stepsDone = all.slice(0, 3).reduce((n, s) => n + s.steps, 0);
  t.equal(stepsDone, 10);
  t.same(batcher.positionAt(stepsDone), all[3]!.position, 'the optimizer step count alone gives the position');
  t.equal(batcher.globalStep(all[3]!.position), 10);
  t.same(batcher.positionAt(12), { epoch: 2, step: 0 });
  t.throws(() => batcher.slab({ epoch: 0, step: 6 }), { name: 'RangeError', message: /steps 0\.\.5/ });
  t.throws(() => batcher.slab({ epoch: -1, step: 0 }), RangeError);
});

t.test('batching errors', async (t) => {
  t.throws(() => new SlabBatcher(numbered(10), { globalBatchSize: 30, replicas: 8 }), {
    name: 'RangeError',
    message: 'the global batch size 30 is not divisible by 8 replicas (each replica takes an equal share of every batch)',
  });
  t.throws(() => new SlabBatcher(numbered(0), { globalBatchSize: 4 }), { name: 'DataError', message: 'no examples to batch' });
  t.throws(() => new SlabBatcher(numbered(4), { globalBatchSize: 4, stepsPerCall: 0 }), RangeError);
  t.throws(() => new SlabBatcher(numbered(4), { globalBatchSize: 0 }), RangeError);
  t.throws(() => new SlabBatcher(numbered(4), { globalBatchSize: 4, seed: -3 }), RangeError);
});
