// The Trainer on the CPU plugin with 8 devices: replicas, steps per execution, gradient
// accumulation and resume change nothing but float rounding; one program is compiled per job;
// bad input is a clear error and leaves no half-written checkpoint.
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BertTokenizer } from '../lib/data/bert-tokenizer.js';
import type { Tensor } from '../lib/io/tensor.js';
import { loadModelDir } from '../lib/pretrained/index.js';
import { microModel as writeMicroModel } from './helpers/micro-model.js';
import { ConfigError } from '../lib/train/config.js';
import { generateDemoDataset } from '../lib/train/demo-data.js';
import { Trainer, type TrainerOptions } from '../lib/train/trainer.js';
import { testPlugin } from './helpers/runtime.js';
import { readSafetensors } from '../lib/io/safetensors.js';
import { toFloat32 } from '../lib/io/index.js';
import { tokenizeExamples } from '../lib/train/data.js';
import { runPythonJson } from './reference/python.js';
import { assertNearPyTorch } from './helpers/parameter-distance.js';

const data = generateDemoDataset(96, 3);
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-trainer-'));

/** A 1-layer, hidden-32 BERT directory with fresh weights: compiles in seconds. */
const microModel = (labels: string[] = ['negative', 'neutral', 'positive']) => writeMicroModel(data.vocab, labels, { dir: path.join(tmp(), 'model') });

const common = { seqLen: 12, batchSize: 16, epochs: 1, learningRate: 3e-3, optimizer: 'adamw', weightDecay: 0.01, dropout: 0, progress: 'none', compileCache: false, cpuDevices: 8 } as const;

async function train(model: string, options: Partial<TrainerOptions> = {}, fit: { validationSplit?: number } = {}) {
  using trainer = await Trainer.create({ model, ...common, ...options } as TrainerOptions);
  const history = await trainer.fit({ texts: data.texts, labels: data.labels }, fit);
  return { params: trainer.model!.params, history, stats: { ...trainer.runtime.compileStats } };
}

/**
 * Largest |a - b| over every tensor, relative to how far that tensor moved from `initial`, with
 * a floor of 1e-3 on the movement: a tensor whose exact gradient is zero (the attention key
 * bias: softmax ignores a shift shared by all keys) only moves by rounding noise.
 */
function relativeDifference(a: Record<string, Tensor>, b: Record<string, Tensor>, initial: Record<string, Tensor>): number {
  let worst = 0;
  for (const name of Object.keys(a)) {
    const x = a[name]!.data as Float32Array;
    const y = b[name]!.data as Float32Array;
    const x0 = initial[name]!.data as Float32Array;
    let moved = 0;
    let diff = 0;
    for (let i = 0; i < x.length; i++) {
      moved = Math.max(moved, Math.abs(x[i]! - x0[i]!));
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    }
    worst = Math.max(worst, diff / Math.max(moved, 1e-3));
  }
  return worst;
}

t.test('1, 2, 4 and 8 replicas give the same parameters', { skip: testPlugin !== 'cpu' && 'needs 8 CPU devices' }, async (t) => {
  const model = await microModel();
  const initial = (await loadModelDir(model, { labels: ['negative', 'neutral', 'positive'] })).params;
  const one = await train(model, { replicas: 1 });
  for (const replicas of [2, 4, 8]) {
    const many = await train(model, { replicas });
    const difference = relativeDifference(one.params, many.params, initial);
    // The all-reduce sums shards in another order than one device does; Adam's normalisation
    // (m / sqrt(v)) then amplifies last-bit differences of small gradients a little.
    t.ok(difference < 5e-4, `${replicas} replicas: max difference ${difference.toExponential(2)} of the distance moved (rounding of the summation order)`);
  }
  t.ok(relativeDifference(one.params, initial, initial) > 0.5, 'training moved the parameters');
});

t.test('K = 1 and K = 8 steps per execution give the same parameters; one program per job', async (t) => {
  const model = await microModel();
  const initial = (await loadModelDir(model, { labels: ['negative', 'neutral', 'positive'] })).params;
  const k1 = await train(model, { stepsPerExecution: 1 }, { validationSplit: 0.25 });
  const k8 = await train(model, { stepsPerExecution: 8 }, { validationSplit: 0.25 });
  const difference = relativeDifference(k1.params, k8.params, initial);
  // One step per call and eight per call are different programs: XLA fuses the loop body
  // differently, and Adam's m / sqrt(v) amplifies the last-bit differences (9e-6 measured).
  t.ok(difference < 1e-4, `max difference ${difference.toExponential(2)} of the distance moved`);
  t.same(k8.stats, { compiled: 3, cacheHits: 0 }, 'one train, one eval and one optimizer-init program, the last partial batch included');
  t.equal(k1.history[0]!.val_loss?.toFixed(5), k8.history[0]!.val_loss?.toFixed(5), 'same validation loss');
});

t.test('gradient accumulation of 4 x 8 equals one batch of 32', async (t) => {
  const model = await microModel();
  const initial = (await loadModelDir(model, { labels: ['negative', 'neutral', 'positive'] })).params;
  const whole = await train(model, { batchSize: 32, gradientAccumulationSteps: 1 });
  const accumulated = await train(model, { batchSize: 32, gradientAccumulationSteps: 4 });
  const difference = relativeDifference(whole.params, accumulated.params, initial);
  t.ok(difference < 5e-4, `max difference ${difference.toExponential(2)} of the distance moved (rounding of the summation order)`);
});

t.test('stop after one epoch and resume gives the same parameters as two epochs straight (dropout on)', async (t) => {
  const model = await microModel();
  const settings = { epochs: 2, dropout: 0.1, replicas: 2, stepsPerExecution: 4 } as const;
  const initial = (await loadModelDir(model, { labels: ['negative', 'neutral', 'positive'] })).params;
  const straight = await train(model, settings);
  const out = path.join(tmp(), 'run');
  const first = await train(model, { ...settings, out, callbacks: { onEpochEnd: () => false } });
  t.equal(first.history.length, 1, 'stopped after epoch 1');
  t.ok(readdirSync(path.join(out, 'trainer_state')).some((name) => existsSync(path.join(out, 'trainer_state', name, 'COMPLETE'))), 'a complete checkpoint written');
  const resumed = await train(model, { ...settings, out });
  t.same(resumed.history.map((h) => h.epoch), [1, 2], 'history continues from the checkpoint');
  const difference = relativeDifference(straight.params, resumed.params, initial);
  t.ok(difference < 1e-5, `max difference ${difference.toExponential(2)} of the distance moved`);
  await t.rejects(train(model, { ...settings, out, batchSize: 32 }), { message: /other settings \(batchSize: 16 there, 32 now\)/ });
});

t.test('bad input is a clear error, and no checkpoint is half-written', async (t) => {
  const model = await microModel();
  await t.rejects(Trainer.create({ model, ...common, replicas: 3 }), ConfigError);
  await t.rejects(Trainer.create({ model, ...common, replicas: 3 }), { message: /batchSize: batch size 16 must be divisible by replicas x gradientAccumulationSteps = 3 x 1 = 3/ });
  await t.rejects(Trainer.create({ model, ...common, optimizer: 'sgd' as 'adam' }), { message: /optimizer: Invalid option: expected one of "adam"\|"adamw" \(got "sgd"\)/ });
  await t.rejects(train(model, { seqLen: 100 }), { name: 'DataError', message: /seqLen 100 is over the model's max_position_embeddings 64/ });
  await t.rejects(Trainer.create({ model: 'tiny', ...common }), { message: /preset, which has no vocabulary/ });

  const labelled = await microModel(['negative', 'positive']);
  await t.rejects(train(labelled), { name: 'DataError', message: /neutral/ }, 'a label missing from the model\'s label2id is named');

  const out = path.join(tmp(), 'nan');
  await t.rejects(train(model, { learningRate: 1e30, clipNorm: 0, optimizer: 'adam', out }), { message: /training loss became (NaN|Infinity).*lower the learning rate/s });
  t.notOk(existsSync(path.join(out, 'trainer_state')), 'no checkpoint for the diverged epoch');
  t.notOk(existsSync(`${out}.partial`), 'no staging left');

  using trainer = await Trainer.create({ model, ...common });
  await t.rejects(trainer.fit({ texts: [], labels: [] }), { name: 'DataError' });
  await t.rejects(trainer.fit({ texts: ['a'], labels: [] }), { name: 'DataError', message: /1 texts but 0 labels/ });
  t.same(readdirSync(path.dirname(out)).filter((f) => f.includes('partial')), []);
});

t.test('a saved model records the length it was trained at, and a Trainer on it defaults to that length', async (t) => {
  const model = await microModel();
  const { seqLen: _, ...unsized } = common;
  const recorded = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>).pjrt_bert_seq_len;
  {
    using fresh = await Trainer.create({ model, ...unsized });
    t.same(fresh.seqLenChoice, { seqLen: 64, source: 'default', trained: undefined, maxPositionEmbeddings: 64 }, 'no record: 128 capped at max_position_embeddings 64');
    t.equal(fresh.config.seqLen, 64);
    const untrained = path.join(tmp(), 'untrained');
    await fresh.save(untrained);
    t.equal(recorded(untrained), undefined, 'an untrained save records no training length');
  }
  const trained = path.join(tmp(), 'trained');
  {
    using trainer = await Trainer.create({ model, ...unsized, seqLen: 10 });
    t.same(trainer.seqLenChoice, { seqLen: 10, source: 'asked', trained: undefined, maxPositionEmbeddings: 64 });
    await trainer.fit({ texts: data.texts, labels: data.labels });
    await trainer.save(trained);
  }
  t.equal(recorded(trained), 10, 'config.json pjrt_bert_seq_len');
  using again = await Trainer.create({ model: trained, ...unsized });
  t.same(again.seqLenChoice, { seqLen: 10, source: 'trained', trained: 10, maxPositionEmbeddings: 64 });
  t.equal(again.config.seqLen, 10, 'evaluate and predict run at 10');
  using asked = await Trainer.create({ model: trained, ...unsized, seqLen: 12 });
  t.same(asked.seqLenChoice, { seqLen: 12, source: 'asked', trained: 10, maxPositionEmbeddings: 64 }, 'a length asked for wins, the training length stays known');
  const evaluation = await again.evaluate({ texts: data.texts, labels: data.labels });
  t.equal(evaluation.examples, data.texts.length);
});

t.test('Adam and AdamW training equal a PyTorch loop with the documented semantics (20 steps)', async (t) => {
  const model = await microModel();
  const initial = (await loadModelDir(model, { labels: ['negative', 'neutral', 'positive'] })).params;
  const rows = generateDemoDataset(160, 11);
  const labelIds = Int32Array.from(rows.labels, (label) => ['negative', 'neutral', 'positive'].indexOf(label));
  const tokens = await tokenizeExamples(new BertTokenizer(rows.vocab), rows.texts, 12, labelIds);
  const toRows = (flat: Int32Array) => Array.from({ length: tokens.count }, (_, i) => Array.from(flat.subarray(i * 12, (i + 1) * 12)));
  for (const [optimizer, weightDecay] of [['adamw', 0.01], ['adam', 0.01]] as const) {
    const settings = { optimizer, weightDecay, learningRate: 2e-3, warmupSteps: 4, schedule: 'linear', clipNorm: 1.0, batchSize: 8, stepsPerExecution: 5, shuffle: false, dropout: 0 } as const;
    using trainer = await Trainer.create({ model, ...common, ...settings });
    const history = await trainer.fit({ texts: rows.texts, labels: rows.labels });
    const out = path.join(tmp(), 'torch.safetensors');
    const reference = await runPythonJson<{ losses: number[] }>('train_reference.py', [], {
      model, out, optimizer, lr: settings.learningRate, weight_decay: weightDecay, warmup: settings.warmupSteps, total_steps: 20, clip: settings.clipNorm, batch: 8,
      input_ids: toRows(tokens.inputIds), attention_mask: toRows(tokens.attentionMask), token_type_ids: toRows(tokens.tokenTypeIds), labels: Array.from(labelIds),
    });
    t.equal(reference.losses.length, 20, '20 steps in PyTorch');
    const meanLoss = reference.losses.reduce((a, b) => a + b, 0) / 20;
    t.ok(Math.abs(history[0]!.loss - meanLoss) < 1e-4, `${optimizer}: mean loss ${history[0]!.loss.toFixed(6)} vs PyTorch ${meanLoss.toFixed(6)}`);
    const torchParams = Object.fromEntries((await readSafetensors(out)).tensors) as Record<string, Tensor>;
    const ours = trainer.model!.params;
    assertNearPyTorch(t, `${optimizer}: `, ours, Object.fromEntries(Object.keys(ours).map((name) => [name, { data: toFloat32(torchParams[name]!) }])), initial);
  }
});

t.test('a second run of the same job compiles nothing (on-disk compile cache)', async (t) => {
  const model = await microModel();
  const compileCache = path.join(tmp(), 'compiled');
  const first = await train(model, { compileCache }, { validationSplit: 0.25 });
  const second = await train(model, { compileCache }, { validationSplit: 0.25 });
  t.same(first.stats, { compiled: 3, cacheHits: 0 });
  t.same(second.stats, { compiled: 0, cacheHits: 3 }, 'train, eval and optimizer-init programs loaded from the cache');
  t.equal(first.history[0]!.loss, second.history[0]!.loss, 'same results');
});
