// Dropout that does not depend on how a global batch is cut: each example's masks come from a
// key of (seed, global step, position in the global batch), so replicas, gradient accumulation
// and steps per execution change nothing but float rounding with dropout on, as without it.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BertTokenizer } from '../lib/data/bert-tokenizer.js';
import { type HostParam, bert, bertPresetConfig, initModelParams, modelSpec } from '../lib/models/index.js';
import { saveModelDir, tokenizerWriter } from '../lib/pretrained/index.js';
import type { TokenizedExamples } from '../lib/train/data.js';
import { SlabBatcher, exampleDropoutKey } from '../lib/train/data-batches.js';
import { generateDemoDataset } from '../lib/train/demo-data.js';
import { Trainer, type TrainerOptions } from '../lib/train/trainer.js';
import { testPlugin } from './helpers/runtime.js';

const examples = (count: number): TokenizedExamples => ({
  count,
  seqLen: 2,
  inputIds: new Int32Array(count * 2),
  attentionMask: new Int32Array(count * 2).fill(1),
  tokenTypeIds: new Int32Array(count * 2),
  targets: new Int32Array(count),
  targetWidth: 1,
});

t.test('dropout keys: one per example of the global batch, the same however the batch is split', async (t) => {
  const B = 8;
  const K = 3;
  const one = new SlabBatcher(examples(40), { globalBatchSize: B, stepsPerCall: K, seed: 5 });
  const keys = one.dropoutKeys(6, 0); // steps 6, 7, 8
  t.equal(keys.length, K * B * 2);
  const pairs = Array.from({ length: K * B }, (_, i) => `${keys[2 * i]},${keys[2 * i + 1]}`);
  t.equal(new Set(pairs).size, K * B, 'every example of every step gets its own key');
  t.same([keys[2 * (2 * B + 5)], keys[2 * (2 * B + 5) + 1]], exampleDropoutKey(5, 8, 5), 'row (k, j) holds the key of step firstStep + k, position j');
  const next = one.dropoutKeys(9, 0);
  t.ok(pairs.every((pair) => !new Set(Array.from({ length: K * B }, (_, i) => `${next[2 * i]},${next[2 * i + 1]}`)).has(pair)), 'the next call gets new keys');
  for (const replicas of [2, 4]) {
    const split = new SlabBatcher(examples(40), { globalBatchSize: B, replicas, stepsPerCall: K, seed: 5 });
    const b = B / replicas;
    const joined: number[] = [];
    for (let k = 0; k < K; k++) for (let r = 0; r < replicas; r++) joined.push(...split.dropoutKeys(6, r).subarray(2 * k * b, 2 * (k + 1) * b));
    t.same(joined, Array.from(keys), `${replicas} replicas: the keys of 1 replica, shard by shard`);
  }
  t.notSame(Array.from(new SlabBatcher(examples(40), { globalBatchSize: B, stepsPerCall: K, seed: 6 }).dropoutKeys(6, 0)), Array.from(keys), 'another seed, other keys');
  t.throws(() => one.dropoutKeys(0, 1), { name: 'RangeError', message: 'replica must be an integer in [0, 1), got 1' });
  t.throws(() => exampleDropoutKey(1, -1, 0), { name: 'RangeError', message: 'exampleDropoutKey: step must be a non-negative safe integer, got -1' });
});

const data = generateDemoDataset(64, 3);
const labels = ['negative', 'neutral', 'positive'];

/** The `tiny` preset (2 layers, hidden 128) with fresh weights and the demo vocabulary. */
async function tinyModel(): Promise<{ dir: string; initial: Record<string, HostParam> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-dropout-'));
  const spec = modelSpec(bert, { ...bertPresetConfig('tiny', { vocabSize: data.vocab.length, labels }), maxPositionEmbeddings: 64 }, 'linear');
  const initial = initModelParams(spec, 5);
  await saveModelDir(dir, spec, initial, { writeTokenizer: tokenizerWriter(new BertTokenizer(data.vocab)) });
  return { dir, initial };
}

// 64 rows, global batch 16: 4 optimizer steps
const common = { seqLen: 16, batchSize: 16, epochs: 1, learningRate: 3e-3, optimizer: 'adamw', weightDecay: 0.01, dropout: 0.1, stepsPerExecution: 1, progress: 'none', compileCache: false, cpuDevices: 8 } as const;

async function train(model: string, options: Partial<TrainerOptions> = {}): Promise<Record<string, HostParam>> {
  using trainer = await Trainer.create({ model, ...common, ...options } as TrainerOptions);
  await trainer.fit({ texts: data.texts, labels: data.labels });
  return trainer.model!.params;
}

/**
 * ||a - b|| / ||a - initial|| over all parameters together. Float rounding of a different
 * summation order stays far below 1e-4 of the distance moved (Adam amplifies it in the few
 * elements whose gradient is near zero, which is why a per-element maximum is no good here);
 * other dropout masks move the parameters a distance comparable to training itself.
 */
function relativeDistance(a: Record<string, HostParam>, b: Record<string, HostParam>, initial: Record<string, HostParam>): number {
  let apart = 0;
  let moved = 0;
  for (const name of Object.keys(a)) {
    const [x, y, x0] = [a[name]!.data, b[name]!.data, initial[name]!.data] as Float32Array[];
    for (let i = 0; i < x!.length; i++) {
      apart += (x![i]! - y![i]!) ** 2;
      moved += (x![i]! - x0![i]!) ** 2;
    }
  }
  return Math.sqrt(apart / moved);
}

t.test('with dropout 0.1, replicas, accumulation and steps per call give the parameters of one plain run', { skip: testPlugin !== 'cpu' && 'needs 4 CPU devices' }, async (t) => {
  const { dir, initial } = await tinyModel();
  const reference = await train(dir);
  const withoutDropout = await train(dir, { dropout: 0 });
  const dropoutEffect = relativeDistance(reference, withoutDropout, initial);
  t.ok(dropoutEffect > 0.1, `dropout changes the result: ${dropoutEffect.toExponential(2)} of the distance moved apart from a run without it`);
  const variants: Array<[string, Partial<TrainerOptions>]> = [
    ['2 replicas', { replicas: 2 }],
    ['4 replicas', { replicas: 4 }],
    ['accumulation 2', { gradientAccumulationSteps: 2 }],
    ['2 replicas x accumulation 2', { replicas: 2, gradientAccumulationSteps: 2 }],
    ['4 steps per execution', { stepsPerExecution: 4 }],
  ];
  for (const [name, options] of variants) {
    const difference = relativeDistance(reference, await train(dir, options), initial);
    t.ok(difference < 1e-4, `${name}: ${difference.toExponential(2)} of the distance moved apart (float rounding)`);
  }
});
