/**
 * Training parity of an encoder family (issue 11): transformers builds a tiny random model with
 * a tokenizer of the family's kind trained on generated tweets; our Trainer runs 20 AdamW steps
 * (linear warmup and decay, clipping, dropout off, file order) and a PyTorch loop runs the same
 * steps on the same token ids; the parameters must agree within 1e-4 of the distance they
 * moved. The same job on 4 replicas must give 1 replica's parameters up to rounding.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

import { readSafetensors, toFloat32 } from '../../lib/io/index.js';
import type { HostParam } from '../../lib/models/index.js';
import { loadModelDir } from '../../lib/pretrained/index.js';
import { tokenizeExamples } from '../../lib/train/data.js';
import { Trainer } from '../../lib/train/trainer.js';
import { generatedTweets } from '../reference/generated-tweets.js';
import { runPythonJson } from '../reference/python.js';

/** One family's training case. */
export interface TrainingCase {
  readonly name: string;
  readonly modelType: string;
  /** HF config fields (snake_case), tiny; vocab_size is raised to the trained tokenizer's size. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The tokenizer trained for it: kind and the transformers class that saves it. */
  readonly tokenizer: { readonly kind: 'wordpiece' | 'bpe' | 'unigram'; readonly class: string; readonly vocabSize: number };
}

/**
 * Attention key biases: softmax ignores a shift shared by all keys of a query, so their exact
 * gradient is zero and both sides see only rounding noise, which Adam scales up to steps of
 * about the learning rate in directions that differ between implementations. Not comparable.
 */
const ZERO_GRADIENT = /(attention\.self\.key|attention\.k_lin)\.bias$/;

/** How far two parameter sets are apart, relative to how far training moved them (see relativeToMovement). */
export interface Movement {
  /** ||a - b|| / ||b - initial|| over all parameters (Euclidean norms of the whole parameter vector). */
  readonly overall: number;
  /** The largest per-tensor value of max |a - b| / max(max |a - initial|, floor), and its tensor. */
  readonly worst: number;
  readonly name: string;
}

/**
 * How far `a` is from `b` relative to the distance training moved them from `initial`: over the
 * whole parameter vector (`overall`, the measure of "within 1e-4 of the distance moved"), and
 * per tensor (`worst`: the largest elementwise difference relative to that tensor's largest move;
 * a tensor that moved less than a tenth of the farthest-moving tensor is measured against that
 * tenth). Per tensor, Adam shows rounding at its worst: a gradient made of cancelling terms (a
 * query bias) has a relative rounding error far above float epsilon, and Adam's normalisation
 * turns it into steps of about the learning rate; so `worst` gets a looser bound than
 * `overall`, still tight enough to catch a tensor trained wrongly. Attention key biases (exact
 * gradient zero, see ZERO_GRADIENT) are left out.
 */
export function relativeToMovement(a: Record<string, HostParam>, b: Record<string, { data: ArrayLike<number> }>, initial: Record<string, HostParam>): Movement {
  const names = Object.keys(a).filter((name) => !ZERO_GRADIENT.test(name));
  const moved = new Map<string, number>();
  const differs = new Map<string, number>();
  let differSquares = 0;
  let moveSquares = 0;
  for (const name of names) {
    const x = a[name]!.data;
    const y = b[name]!.data;
    const x0 = initial[name]!.data;
    let move = 0;
    let diff = 0;
    for (let i = 0; i < x.length; i++) {
      move = Math.max(move, Math.abs(x[i]! - x0[i]!));
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      differSquares += (x[i]! - y[i]!) ** 2;
      moveSquares += (y[i]! - x0[i]!) ** 2;
    }
    moved.set(name, move);
    differs.set(name, diff);
  }
  const floor = Math.max(0.1 * Math.max(0, ...moved.values()), 1e-6);
  let worst = 0;
  let worstName = '';
  for (const name of names) {
    const relative = differs.get(name)! / Math.max(moved.get(name)!, floor);
    if (relative > worst) [worst, worstName] = [relative, name];
  }
  return { overall: Math.sqrt(differSquares / Math.max(moveSquares, 1e-30)), worst, name: worstName };
}

/**
 * Asserts that `ours` is within 1e-4 of the distance moved from PyTorch's parameters `torch`
 * over the whole model, and within 1e-3 in every tensor (see relativeToMovement). Sync.
 */
export function assertNearPyTorch(t: Test, tag: string, ours: Record<string, HostParam>, torch: Record<string, { data: ArrayLike<number> }>, initial: Record<string, HostParam>): void {
  const { overall, worst, name } = relativeToMovement(ours, torch, initial);
  t.ok(overall < 1e-4, `${tag}parameters after 20 steps within ${overall.toExponential(2)} of the distance moved (bound 1e-4)`);
  t.ok(worst < 1e-3, `${tag}every tensor within ${worst.toExponential(2)} of its own move (${name}; bound 1e-3)`);
}

const LABELS = ['negative', 'neutral', 'positive'];

/** Runs the training checks of `trainingCase` as subtests of `t`. Async. */
export async function familyTraining(t: Test, trainingCase: TrainingCase): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), `pjrt-bert-train-${trainingCase.name}-`));
  const dir = path.join(work, 'model');
  const texts = generatedTweets(160, 5);
  const labels = texts.map((text) => LABELS[[...text].reduce((sum, ch) => sum + ch.codePointAt(0)!, 0) % 3]!);
  // transformers builds the model and its tokenizer (the batch only feeds the reference's loss)
  await runPythonJson('family_reference.py', ['random', dir], {
    model_type: trainingCase.modelType,
    config: { ...trainingCase.config, num_labels: 3, id2label: { 0: LABELS[0], 1: LABELS[1], 2: LABELS[2] }, label2id: { negative: 0, neutral: 1, positive: 2 } },
    seed: 3,
    task: 'sequence',
    labels: [0],
    input_ids: [[5, 6, 7]],
    attention_mask: [[1, 1, 1]],
    tokenizer: { kind: trainingCase.tokenizer.kind, class: trainingCase.tokenizer.class, texts: generatedTweets(600, 9), vocab_size: trainingCase.tokenizer.vocabSize },
  });
  const initial = (await loadModelDir(dir)).params;
  const settings = { seqLen: 12, batchSize: 8, epochs: 1, stepsPerExecution: 5, optimizer: 'adamw', weightDecay: 0.01, learningRate: 2e-3, warmupSteps: 4, schedule: 'linear', clipNorm: 1.0, shuffle: false, dropout: 0, progress: 'none', compileCache: false, cpuDevices: 4 } as const;

  let ours: Record<string, HostParam> | undefined;
  await t.test(`${trainingCase.name}: 20 AdamW steps equal a PyTorch loop on the same tokens`, async (t) => {
    using trainer = await Trainer.create({ model: dir, ...settings });
    t.equal(trainer.tokenizer.kind, trainingCase.tokenizer.kind, `a ${trainer.tokenizer.kind} tokenizer from the directory`);
    const [epoch] = await trainer.fit({ texts, labels });
    ours = trainer.model!.params;
    const tokens = await tokenizeExamples(trainer.tokenizer, texts, settings.seqLen, Int32Array.from(labels, (label) => LABELS.indexOf(label)));
    const rows = (flat: Int32Array) => Array.from({ length: tokens.count }, (_, i) => Array.from(flat.subarray(i * settings.seqLen, (i + 1) * settings.seqLen)));
    const out = path.join(work, 'torch.safetensors');
    const reference = await runPythonJson<{ losses: number[] }>('family_reference.py', ['train', dir], {
      task: 'sequence', out, optimizer: 'adamw', lr: settings.learningRate, weight_decay: settings.weightDecay, warmup: settings.warmupSteps, total_steps: 20, clip: settings.clipNorm, batch: settings.batchSize,
      input_ids: rows(tokens.inputIds), attention_mask: rows(tokens.attentionMask), ...(trainer.tokenizer.hasTokenTypeIds ? { token_type_ids: rows(tokens.tokenTypeIds) } : {}), labels: Array.from(tokens.targets),
    });
    t.equal(reference.losses.length, 20, '20 steps in PyTorch');
    const meanLoss = reference.losses.reduce((a, b) => a + b, 0) / 20;
    t.ok(Math.abs(epoch!.loss - meanLoss) < 1e-4, `mean loss ${epoch!.loss.toFixed(6)} vs PyTorch ${meanLoss.toFixed(6)}`);
    const torch = Object.fromEntries((await readSafetensors(out)).tensors);
    assertNearPyTorch(t, '', ours, Object.fromEntries(Object.keys(ours).map((key) => [key, { data: toFloat32(torch[key]!) }])), initial);
  });

  await t.test(`${trainingCase.name}: 4 replicas give 1 replica's parameters up to rounding`, async (t) => {
    using trainer = await Trainer.create({ model: dir, ...settings, replicas: 4 });
    await trainer.fit({ texts, labels });
    const { worst, name } = relativeToMovement(ours!, trainer.model!.params, initial);
    t.ok(worst < 5e-4, `max difference ${worst.toExponential(2)} of the distance moved (${name}; the all-reduce sums in another order)`);
  });
}
