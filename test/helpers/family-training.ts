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
import { assertNearPyTorch, relativeToMovement } from './parameter-distance.js';

/** One family's training case. */
export interface TrainingCase {
  readonly name: string;
  readonly modelType: string;
  /** HF config fields (snake_case), tiny; vocab_size is raised to the trained tokenizer's size. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The tokenizer trained for it: kind and the transformers class that saves it. */
  readonly tokenizer: { readonly kind: 'wordpiece' | 'bpe' | 'unigram'; readonly class: string; readonly vocabSize: number };
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
