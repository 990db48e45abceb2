// Padding modes (issue 13): bucket lengths and packed rows change the work, never the
// mathematics. Layout rules piece by piece (first-fit-decreasing packing, never splitting an
// example, bucket choice, group-by-length), then the whole Trainer: 20 AdamW steps with
// `fixed`, `bucket` and `pack` padding (replicas and K steps per call) against a PyTorch loop
// that pads every example to the full length, for a sequence task (BERT, RoBERTa) and token
// classification (BERT); and the logits of `Predictor` in each mode against transformers'.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { readSafetensors, toFloat32 } from '../lib/io/index.js';
import { loadModelDir } from '../lib/pretrained/index.js';
import { parseTrainerConfig } from '../lib/train/config.js';
import { GROUP_BY_LENGTH_BATCHES, SlabBatcher, exampleLengths, groupedByLength } from '../lib/train/data-batches.js';
import { tokenizeExamples, tokenizeWords } from '../lib/train/data.js';
import { type FixedSlab, checkBuckets, defaultBuckets, packRows, planRun, planShapes, rowBuckets, sameShapeRun, sameShapeSlab, shapeCall, stepNeed, stepShapes } from '../lib/train/padding.js';
import { Predictor } from '../lib/train/predictor.js';
import { IGNORED } from '../lib/train/task.js';
import { Trainer } from '../lib/train/trainer.js';
import { assertNearPyTorch } from './helpers/parameter-distance.js';
import { generatedTweets } from './reference/generated-tweets.js';
import { runPythonJson } from './reference/python.js';

t.test('buckets: defaults, checks and the row buckets of packing', async (t) => {
  t.same(defaultBuckets(128), [16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128]);
  t.same(defaultBuckets(512).slice(14), [128, 144, 160, 176, 192, 216, 240, 264, 296, 328, 368, 408, 456, 512], 'past 128, steps of an eighth in multiples of 8');
  t.same(defaultBuckets(100), [16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 100]);
  for (const S of [64, 128, 384, 512]) {
    const buckets = defaultBuckets(S);
    t.ok(buckets.every((length, i) => i === 0 || length - buckets[i - 1]! <= Math.max(8, buckets[i - 1]! / 8)), `${S}: each bucket at most 8 tokens or an eighth above the one before`);
  }
  t.same(defaultBuckets(12), [12], 'a length under 16 is its own bucket');
  t.doesNotThrow(() => checkBuckets([8, 16, 24], 24));
  t.throws(() => checkBuckets([8, 16], 24), /must be increasing integers of at least 2 ending at --seq-len 24/, 'a list that does not end at --seq-len');
  t.throws(() => checkBuckets([16, 8, 24], 24), /\[16, 8, 24\]/, 'a list that does not increase');
  t.same(rowBuckets(32), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 27, 30, 32]);
  t.same(rowBuckets(8), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.same(rowBuckets(1), [1]);
  t.throws(() => parseTrainerConfig({ model: 'tiny', padding: 'tight' }), /padding: .*"fixed"\|"bucket"\|"pack".*\(got "tight"\)/s, 'an unknown padding mode names the field, the modes and the value');
});

t.test('packRows: first-fit decreasing, never splitting an example', async (t) => {
  const lengths = [5, 9, 3, 7, 2, 0, 4];
  const packing = packRows(lengths, 10);
  const used = new Array<number>(packing.rows).fill(0);
  const cells = new Set<string>();
  lengths.forEach((length, i) => {
    if (length === 0) return;
    t.ok(packing.offset[i]! + length <= 10, `example ${i} (${length} tokens) fits its row whole`);
    used[packing.row[i]!]! += length;
    for (let p = 0; p < length; p++) cells.add(`${packing.row[i]}:${packing.offset[i]! + p}`);
  });
  t.equal(cells.size, 30, 'no two examples share a position');
  // longest first, each into the first row with room: 9 | 7 | 5, then 4 -> row 2, 3 -> row 1, 2 -> a new row
  t.equal(packing.rows, 4);
  t.same(used, [9, 10, 9, 2]);
  t.same([packing.row[3], packing.offset[3], packing.row[2], packing.offset[2]], [1, 0, 1, 7], 'the 3 fills the row of the 7');
  t.throws(() => packRows([11], 10), /an example of 11 tokens does not fit a row of 10: truncate it first/);
});

/** A fixed slab of `lengths` examples (micro 1), token ids 100 + example * 10 + position. */
function fixedSlab(lengths: readonly number[], seqLen: number, token: boolean): FixedSlab {
  const m = lengths.length;
  const slab: FixedSlab = {
    inputIds: new Int32Array(m * seqLen),
    attentionMask: new Int32Array(m * seqLen),
    tokenTypeIds: new Int32Array(m * seqLen),
    targets: token ? new Int32Array(m * seqLen).fill(IGNORED) : Int32Array.from(lengths, (_, i) => i % 3),
    weights: Float32Array.from(lengths, (length) => (length > 0 ? 1 : 0)),
  };
  lengths.forEach((length, i) => {
    for (let p = 0; p < length; p++) {
      slab.inputIds[i * seqLen + p] = 100 + i * 10 + p;
      slab.attentionMask[i * seqLen + p] = 1;
      if (token) (slab.targets as Int32Array)[i * seqLen + p] = p === 0 ? IGNORED : p % 2;
    }
  });
  return slab;
}

t.test('shapeCall: bucket cuts rows; pack lays examples out whole with segments, positions and starts', async (t) => {
  const lengths = [6, 2, 5, 3];
  const S = 8;
  const bucket = shapeCall([fixedSlab(lengths, S, false)], { mode: 'bucket', micro: 1, m: 4, seqLen: S, buckets: [4, 6, 8], tokenTask: false, realMicro: 1 });
  t.equal(bucket.seqLen, 6, 'the smallest bucket holding the longest example (6)');
  t.equal(bucket.rows, 4);
  t.same(Array.from(bucket.replicas[0]!.inputIds.subarray(6, 12)), [110, 111, 0, 0, 0, 0], 'row 1 cut to 6 tokens');
  t.equal(bucket.realTokens, 16);
  t.equal(bucket.slots, 24);

  const token = fixedSlab(lengths, S, true);
  const pack = shapeCall([token], { mode: 'pack', micro: 1, m: 4, seqLen: S, buckets: [S], tokenTask: true, realMicro: 1 });
  t.equal(pack.seqLen, S);
  t.equal(pack.rows, 2, '16 tokens in rows of 8: 6+2 and 5+3');
  const part = pack.replicas[0]!;
  lengths.forEach((length, i) => {
    const start = part.exampleStarts![i]!;
    const row = Math.floor(start / S);
    const ids = Array.from(part.inputIds.subarray(start, start + length));
    t.same(ids, Array.from({ length }, (_, p) => 100 + i * 10 + p), `example ${i}'s tokens whole and in order at row ${row}`);
    t.same(Array.from(part.positionIds!.subarray(start, start + length)), Array.from({ length }, (_, p) => p), `example ${i}'s positions restart at 0`);
    const segment = part.segmentIds![start]!;
    t.ok(segment > 0 && Array.from(part.segmentIds!.subarray(start, start + length)).every((s) => s === segment), `example ${i} has one segment id`);
    t.same(Array.from((part.targets as Int32Array).subarray(start, start + length)), Array.from({ length }, (_, p) => (p === 0 ? IGNORED : p % 2)), `example ${i}'s tags travel with its tokens`);
  });
  t.equal(part.attentionMask.reduce((a, b) => a + b, 0), 16, 'one mask bit per real token');
  t.same(Array.from(part.weights), [1, 1], 'a packed token task weighs rows (its tags carry the weights)');
  t.equal(1 - pack.realTokens / pack.slots, 0, 'these four fill two rows exactly');
});

t.test('a call runs only consecutive steps of one shape, so no step is padded for a longer neighbour', async (t) => {
  // 4 steps of 4 examples (2 replicas of 2), rows of 16; the longest per step 5, 5, 9, 4
  const lengths = [3, 5, 2, 4, 5, 1, 1, 1, 9, 9, 9, 1, 4, 4, 4, 4];
  const S = 16;
  const fake = { count: lengths.length, seqLen: S, attentionMask: new Int32Array(lengths.length * S), inputIds: new Int32Array(lengths.length * S), tokenTypeIds: new Int32Array(lengths.length * S), targets: new Int32Array(lengths.length), targetWidth: 1 };
  lengths.forEach((length, i) => fake.attentionMask.fill(1, i * S, i * S + length));
  const batcher = new SlabBatcher(fake as never, { globalBatchSize: 4, replicas: 2, stepsPerCall: 4, shuffle: false });
  const whole = batcher.slab({ epoch: 0, step: 0 });
  const options = { steps: 4, accumulation: 1, m: 2, seqLen: S, buckets: [4, 8, 12, 16] };
  t.same(stepShapes(whole.replicas, { mode: 'bucket', ...options }), [8, 8, 12, 4], 'bucket: the bucket of each step\'s longest example, over both replicas');
  t.same(stepShapes(whole.replicas, { mode: 'pack', ...options }), [1, 1, 2, 1], 'pack: the rows of each step\'s fullest micro-batch (9 and 9 need two)');
  t.same(stepShapes(whole.replicas, { mode: 'fixed', ...options }), [16, 16, 16, 16]);
  t.equal(sameShapeRun([8, 8, 12, 4], 4), 2);
  t.equal(sameShapeRun([8, 8, 12, 4], 1), 1, 'never beyond the real steps');
  t.equal(sameShapeRun([4, 4, 4, 4], 4), 4);

  const cut = batcher.slab({ epoch: 0, step: 0 }, 2);
  t.same([cut.steps, cut.next, cut.examplesPerStep], [2, { epoch: 0, step: 2 }, [4, 4, 0, 0]], 'slab(position, 2): two real steps, the rest padding');
  t.same(Array.from(cut.replicas[1]!.weights), [1, 1, 1, 1, 0, 0, 0, 0]);
  t.throws(() => batcher.slab({ epoch: 0, step: 0 }, 0), /maxSteps must be a positive integer, got 0/);

  const calls: Array<[number, number]> = [];
  for (let position = { epoch: 0, step: 0 }; position.epoch === 0; ) {
    const at = position;
    const slab = sameShapeSlab((maxSteps) => batcher.slab(at, maxSteps), { mode: 'bucket', ...options });
    calls.push([slab.position.step, slab.steps]);
    position = slab.next;
  }
  t.same(calls, [[0, 2], [2, 1], [3, 1]], 'bucket calls: steps 0-1 at 8, step 2 at 12, step 3 at 4');
  t.equal(sameShapeSlab((maxSteps) => batcher.slab({ epoch: 0, step: 0 }, maxSteps), { mode: 'fixed', ...options }).steps, 4, 'fixed: the whole slab');
  const packed = sameShapeSlab((maxSteps) => batcher.slab({ epoch: 0, step: 0 }, maxSteps), { mode: 'pack', ...options });
  const call = shapeCall(packed.replicas, { mode: 'pack', micro: 4, m: 2, seqLen: S, buckets: [S], tokenTask: false, realMicro: packed.steps });
  t.same([packed.steps, call.rows], [2, 1], 'pack: the first two steps fit one row each, the call runs at one row');
});

t.test('the shape plan: a program is compiled only where it saves more than compiling costs', async (t) => {
  // 10 steps need 48 tokens, 2 need 56, 1 needs 64; compiling costs 100 (in token-steps)
  const needs = [...new Array<number>(10).fill(48), 56, 56, 64];
  t.same(planShapes(needs, 100), [48, 64], '56 runs at 64 (2 x 8 wasted < 100); 48 saves 10 x 16 > 100');
  t.same(planShapes(needs, 10), [48, 56, 64], 'compiling cheap: every need its own program');
  t.same(planShapes(needs, 1000), [64], 'compiling dear: one program');
  t.same(planShapes([], 5), []);
  const brute = (costs: number) => {
    // every subset containing the largest need, the cheapest by the stated cost
    const shapes = [48, 56, 64];
    let best = { cost: Infinity, chosen: [] as number[] };
    for (let mask = 0; mask < 4; mask++) {
      const chosen = [...shapes.slice(0, 2).filter((_, i) => mask & (1 << i)), 64];
      const cost = chosen.length * costs + needs.reduce((sum, need) => sum + chosen.find((c) => c >= need)!, 0);
      if (cost < best.cost) best = { cost, chosen };
    }
    return best.chosen;
  };
  for (const cost of [0, 7, 31, 33, 100, 159, 161, 500]) t.same(planShapes(needs, cost), brute(cost), `compile cost ${cost}: the cheapest subset`);

  t.equal(stepNeed([3, 9, 0, 5], { mode: 'bucket', replicas: 2, accumulation: 1, seqLen: 16, candidates: [4, 8, 12, 16] }), 12, 'bucket: the longest example, bucketed');
  t.equal(stepNeed([9, 9, 3, 3], { mode: 'pack', replicas: 2, accumulation: 1, seqLen: 16, candidates: [1, 2] }), 2, 'pack: replica 0 needs two rows for 9 and 9');
  t.equal(stepNeed([9, 3, 9, 3], { mode: 'pack', replicas: 2, accumulation: 1, seqLen: 16, candidates: [1, 2] }), 1, 'pack: 9 + 3 fit one row on each replica');
  t.equal(stepNeed([9, 3, 9, 3], { mode: 'pack', replicas: 1, accumulation: 2, seqLen: 16, candidates: [1, 2, 3, 4] }), 1, 'pack: per micro-batch of accumulation');

  const steps = [[40, 12], [40, 12], [40, 12], [8, 8]].map((lengths) => Int32Array.from(lengths));
  const options = { replicas: 1, accumulation: 1, seqLen: 64, buckets: [16, 32, 48, 64] };
  t.same(planRun(steps, { mode: 'bucket', ...options, plan: true }).buckets, [48, 64], 'one short step runs at 48: a second program costs more; 64 kept last');
  t.same(planRun(steps, { mode: 'bucket', ...options, plan: false }).buckets, [16, 32, 48, 64], 'buckets the user chose are kept');
  t.same(planRun(steps, { mode: 'pack', ...options, plan: true }).rowCounts, [1, 2], 'pack: one row each');
  t.same(planRun(steps, { mode: 'fixed', ...options, plan: true }), { buckets: [16, 32, 48, 64], rowCounts: [1, 2] });

  const lengths = [3, 5, 2, 4, 5, 1];
  const fake = { count: lengths.length, seqLen: 8, attentionMask: new Int32Array(lengths.length * 8), inputIds: new Int32Array(lengths.length * 8), tokenTypeIds: new Int32Array(lengths.length * 8), targets: new Int32Array(lengths.length), targetWidth: 1 };
  lengths.forEach((length, i) => fake.attentionMask.fill(1, i * 8, i * 8 + length));
  const batcher = new SlabBatcher(fake as never, { globalBatchSize: 4, shuffle: false });
  t.same([...batcher.stepLengths(2)].map((step) => Array.from(step)), [[3, 5, 2, 4], [5, 1, 0, 0], [3, 5, 2, 4], [5, 1, 0, 0]], 'every step of two epochs, padding examples 0');
});

t.test('group by length: each chunk of 50 batches sorted longest first, the same examples per chunk', async (t) => {
  const order = Int32Array.from([3, 0, 4, 1, 2, 5]);
  const lengths = Int32Array.from([5, 1, 7, 2, 2, 9]);
  t.same(Array.from(groupedByLength(order, lengths, 3)), [0, 3, 4, 5, 2, 1], 'chunks [3,0,4] and [1,2,5] each sorted by length, ties in order');
  const texts = generatedTweets(300, 4);
  const fake = { count: texts.length, seqLen: 40, attentionMask: new Int32Array(texts.length * 40), inputIds: new Int32Array(texts.length * 40), tokenTypeIds: new Int32Array(texts.length * 40), targets: new Int32Array(texts.length), targetWidth: 1 };
  texts.forEach((text, i) => fake.attentionMask.fill(1, i * 40, i * 40 + Math.min(40, text.split(' ').length)));
  const batcher = new SlabBatcher(fake as never, { globalBatchSize: 4, groupByLength: true, seed: 3 });
  const plain = new SlabBatcher(fake as never, { globalBatchSize: 4, seed: 3 });
  const chunk = GROUP_BY_LENGTH_BATCHES * 4;
  const grouped = batcher.order(0);
  const shuffled = plain.order(0);
  const lengthsOf = exampleLengths(fake as never);
  for (let start = 0; start < texts.length; start += chunk) {
    const a = Array.from(grouped.subarray(start, start + chunk));
    t.same([...a].sort((x, y) => x - y), Array.from(shuffled.subarray(start, start + chunk)).sort((x, y) => x - y), `chunk at ${start}: the same examples as the shuffle`);
    t.ok(a.every((e, i) => i === 0 || lengthsOf[a[i - 1]!]! >= lengthsOf[e]!), `chunk at ${start}: longest first`);
  }
});

// --- the whole Trainer against PyTorch --------------------------------------------------------

const LABELS = ['negative', 'neutral', 'positive'];
const TAGS = ['O', 'B-X', 'I-X'];
const SEQ_LEN = 64;
const settings = { seqLen: SEQ_LEN, batchSize: 8, epochs: 1, optimizer: 'adamw', weightDecay: 0.01, learningRate: 2e-3, warmupSteps: 4, schedule: 'linear', clipNorm: 1.0, shuffle: false, dropout: 0, progress: 'none', compileCache: false, cpuDevices: 4 } as const;
/** The runs compared: each mode, with replicas and K steps per call varied. */
const RUNS = [
  { padding: 'fixed', replicas: 1, stepsPerExecution: 5 },
  { padding: 'bucket', replicas: 2, stepsPerExecution: 5, buckets: [16, 32, 48, 64] as number[] },
  { padding: 'pack', replicas: 2, stepsPerExecution: 4 },
] as const;

/** Words tagged by a rule: a word starting a run of long words is B-X, a long word after one is I-X. */
function taggedWords(texts: readonly string[]): { words: string[][]; tags: string[][] } {
  const words = texts.map((text) => text.split(/\s+/).filter(Boolean).slice(0, 12));
  const tags = words.map((sentence) => sentence.map((word, i) => (word.length < 5 ? 'O' : i > 0 && sentence[i - 1]!.length >= 5 ? 'I-X' : 'B-X')));
  return { words, tags };
}

interface ParityCase {
  name: string;
  modelType: string;
  config: Record<string, unknown>;
  tokenizer: { kind: string; class: string; vocabSize: number };
  task: 'sequence' | 'token';
}

const PARITY: ParityCase[] = [
  { name: 'bert', modelType: 'bert', config: { num_hidden_layers: 1, num_attention_heads: 2, hidden_size: 16, intermediate_size: 32, max_position_embeddings: 64 }, tokenizer: { kind: 'wordpiece', class: 'BertTokenizerFast', vocabSize: 150 }, task: 'sequence' },
  { name: 'roberta', modelType: 'roberta', config: { num_hidden_layers: 1, num_attention_heads: 2, hidden_size: 16, intermediate_size: 32, max_position_embeddings: 72 }, tokenizer: { kind: 'bpe', class: 'RobertaTokenizerFast', vocabSize: 150 }, task: 'sequence' },
  { name: 'bert token classification', modelType: 'bert', config: { num_hidden_layers: 1, num_attention_heads: 2, hidden_size: 16, intermediate_size: 32, max_position_embeddings: 64 }, tokenizer: { kind: 'wordpiece', class: 'BertTokenizerFast', vocabSize: 150 }, task: 'token' },
];

for (const parity of PARITY) {
  t.test(`${parity.name}: fixed, bucket and pack train as PyTorch does on fully padded rows`, async (t) => {
    const work = await mkdtemp(path.join(os.tmpdir(), `pjrt-bert-padding-${parity.modelType}-`));
    const dir = path.join(work, 'model');
    // tweets cut to 1, 4, 7 or 10 words by quarter (each call of 40 examples), so calls differ in
    // length and rows have padding to save
    const texts = generatedTweets(160, 11).map((text, i) => text.split(' ').slice(0, 1 + 3 * Math.floor(i / 40)).join(' '));
    const names = parity.task === 'token' ? TAGS : LABELS;
    await runPythonJson('family_reference.py', ['random', dir], {
      model_type: parity.modelType,
      config: { ...parity.config, num_labels: 3, id2label: Object.fromEntries(names.map((name, i) => [i, name])), label2id: Object.fromEntries(names.map((name, i) => [name, i])) },
      seed: 5,
      task: parity.task,
      labels: parity.task === 'token' ? [[0, 0, 0]] : [0],
      input_ids: [[5, 6, 7]],
      attention_mask: [[1, 1, 1]],
      tokenizer: { ...parity.tokenizer, texts: generatedTweets(600, 9), vocab_size: parity.tokenizer.vocabSize },
    });
    const initial = (await loadModelDir(dir)).params;
    const labels = texts.map((text) => LABELS[[...text].reduce((sum, ch) => sum + ch.codePointAt(0)!, 0) % 3]!);
    const words = taggedWords(texts);
    const data = parity.task === 'token' ? words : { texts, labels };

    // the reference: every example padded to the full length, in file order
    const predictor = await Predictor.open(dir, { seqLen: SEQ_LEN, padding: 'fixed', compileCache: false });
    const tokenizer = predictor.tokenizer;
    predictor.dispose();
    const tokens =
      parity.task === 'token'
        ? await tokenizeWords(tokenizer, words.words, SEQ_LEN, words.tags.map((tags) => tags.map((tag) => TAGS.indexOf(tag))))
        : await tokenizeExamples(tokenizer, texts, SEQ_LEN, Int32Array.from(labels, (label) => LABELS.indexOf(label)));
    const lengths = exampleLengths(tokens);
    const padding = 1 - lengths.reduce((a, b) => a + b, 0) / (tokens.count * SEQ_LEN);
    t.ok(padding > 0.25, `the data leaves ${(padding * 100).toFixed(0)}% of fixed rows as padding (so the modes differ)`);
    const rows = (flat: Int32Array, width = SEQ_LEN) => Array.from({ length: tokens.count }, (_, i) => Array.from(flat.subarray(i * width, (i + 1) * width)));
    const out = path.join(work, 'torch.safetensors');
    const reference = await runPythonJson<{ losses: number[] }>('family_reference.py', ['train', dir], {
      task: parity.task, out, optimizer: 'adamw', lr: settings.learningRate, weight_decay: settings.weightDecay, warmup: settings.warmupSteps, total_steps: 20, clip: settings.clipNorm, batch: settings.batchSize,
      input_ids: rows(tokens.inputIds), attention_mask: rows(tokens.attentionMask), ...(tokenizer.hasTokenTypeIds ? { token_type_ids: rows(tokens.tokenTypeIds) } : {}),
      labels: parity.task === 'token' ? rows(tokens.targets as Int32Array) : Array.from(tokens.targets),
    });
    const torch = Object.fromEntries((await readSafetensors(out)).tensors);
    const torchParams = Object.fromEntries(Object.keys(initial).map((key) => [key, { data: toFloat32(torch[key]!) }]));
    // our epoch loss is the mean over the loss's units (examples, or tagged tokens): weigh PyTorch's per-step means alike
    const batch = settings.batchSize;
    const units = reference.losses.map((_, step) =>
      parity.task === 'token' ? Array.from(tokens.targets.subarray(step * batch * SEQ_LEN, (step + 1) * batch * SEQ_LEN)).filter((tag) => tag >= 0).length : batch,
    );
    const meanLoss = reference.losses.reduce((sum, loss, step) => sum + loss * units[step]!, 0) / units.reduce((a, b) => a + b, 0);

    for (const run of RUNS) {
      using trainer = await Trainer.create({ model: dir, ...settings, ...run, ...(parity.task === 'token' ? { task: 'token-classification' } : {}) });
      const [epoch] = await trainer.fit(data);
      const tag = `${run.padding} (${run.replicas} replica(s), K ${run.stepsPerExecution})`;
      t.ok(Math.abs(epoch!.loss - meanLoss) < 1e-4, `${tag}: mean loss ${epoch!.loss.toFixed(6)} vs PyTorch ${meanLoss.toFixed(6)}`);
      assertNearPyTorch(t, `${tag}: `, trainer.model!.params, torchParams, initial);
      if (run.padding === 'fixed') t.equal(epoch!.paddingFraction.toFixed(6), padding.toFixed(6), 'fixed: the padding fraction is that of the data');
      else t.ok(epoch!.paddingFraction < padding - 0.1, `${tag}: padding ${(epoch!.paddingFraction * 100).toFixed(1)}% of slots, against ${(padding * 100).toFixed(1)}% fixed`);
      t.ok(epoch!.programsCompiled >= 1 && epoch!.programsCompiled <= (run.padding === 'fixed' ? 1 : 8), `${tag}: ${epoch!.programsCompiled} program(s) compiled`);
    }

    // prediction: the same logits in every mode, and transformers' on the full rows
    const torchLogits = await runPythonJson<{ logits: number[] }>('family_reference.py', ['logits', dir], {
      task: parity.task, input_ids: rows(tokens.inputIds), attention_mask: rows(tokens.attentionMask), ...(tokenizer.hasTokenTypeIds ? { token_type_ids: rows(tokens.tokenTypeIds) } : {}),
    });
    const expected = Float32Array.from((torchLogits.logits as unknown as number[]).flat(3) as number[]);
    for (const mode of ['fixed', 'bucket', 'pack'] as const) {
      using predictor = await Predictor.open(dir, { seqLen: SEQ_LEN, padding: mode, batchSize: 16, replicas: 2, compileCache: false });
      const logits = parity.task === 'token' ? await predictor.examplesLogits(tokens) : await predictor.logits(texts);
      let worst = 0;
      for (let i = 0; i < tokens.count; i++) {
        const width = parity.task === 'token' ? lengths[i]! * 3 : 3; // real positions only (padding positions are 0 here)
        const stride = parity.task === 'token' ? SEQ_LEN * 3 : 3;
        for (let j = 0; j < width; j++) worst = Math.max(worst, Math.abs(logits[i * stride + j]! - expected[i * stride + j]!));
      }
      t.ok(worst <= 1e-5, `${mode}: logits within ${worst.toExponential(2)} of transformers' (bound 1e-5)`);
    }
  });
}

