/**
 * Task parity (issue 12): for one task and one encoder family, transformers builds a tiny random
 * `AutoModelFor<Sequence|Token>Classification` with the task's `problem_type` and a tokenizer of
 * the family's kind trained on the task's generated data set; our Trainer runs 20 AdamW steps
 * (linear warm-up and decay, clipping, dropout off, file order) on 160 generated examples, with
 * replicas, K steps per call and a padding mode of the case, and a PyTorch loop runs the same
 * steps on the same token ids padded to the full length. Checked: the mean loss, every
 * parameter within 1e-4 of the distance it moved, and `evaluate`'s metrics against scikit-learn
 * / scipy / seqeval (test/reference/metrics_reference.py) on the same logits.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

import { readSafetensors, toFloat32 } from '../../lib/io/index.js';
import { loadModelDir } from '../../lib/pretrained/index.js';
import type { PaddingMode } from '../../lib/train/padding.js';
import { IGNORED, type TaskName } from '../../lib/train/task.js';
import { type TaskData, prepareTaskData } from '../../lib/train/task-data.js';
import { generateMultiLabelDataset, generatePairDataset, generateRegressionDataset, generateTokenDataset } from '../../lib/train/task-datasets.js';
import { Trainer } from '../../lib/train/trainer.js';
import { runPythonJson } from '../reference/python.js';
import { assertNearPyTorch } from './parameter-distance.js';

/** An encoder family as the task tests build it. */
export interface TaskFamily {
  readonly name: string;
  readonly modelType: string;
  /** Tiny HF config fields (snake_case); vocab_size is raised to the trained tokenizer's size. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly tokenizer: { readonly kind: 'wordpiece' | 'bpe' | 'unigram'; readonly class: string; readonly vocabSize: number };
}

/** How our run differs from the reference's one device, one step per call, full padding. */
export interface TaskRun {
  readonly padding: PaddingMode;
  readonly replicas: number;
  readonly stepsPerExecution: number;
}

/** The tiny families the task tests use. */
export const TASK_FAMILIES = {
  bert: { name: 'bert', modelType: 'bert', config: { num_hidden_layers: 1, num_attention_heads: 2, hidden_size: 16, intermediate_size: 32, max_position_embeddings: 64 }, tokenizer: { kind: 'wordpiece', class: 'BertTokenizerFast', vocabSize: 200 } },
  roberta: { name: 'roberta', modelType: 'roberta', config: { num_hidden_layers: 1, num_attention_heads: 2, hidden_size: 16, intermediate_size: 32, max_position_embeddings: 66 }, tokenizer: { kind: 'bpe', class: 'RobertaTokenizerFast', vocabSize: 200 } },
  distilbert: { name: 'distilbert', modelType: 'distilbert', config: { n_layers: 1, n_heads: 2, dim: 16, hidden_dim: 32, max_position_embeddings: 64 }, tokenizer: { kind: 'wordpiece', class: 'DistilBertTokenizerFast', vocabSize: 200 } },
} as const satisfies Record<string, TaskFamily>;

const EXAMPLES = 160;
const SETTINGS = { batchSize: 8, epochs: 1, optimizer: 'adamw', weightDecay: 0.01, learningRate: 2e-3, warmupSteps: 4, schedule: 'linear', clipNorm: 1.0, shuffle: false, dropout: 0, progress: 'none', compileCache: false, cpuDevices: 4 } as const;

/** The task's generated data (160 examples), its label names in id order, its length and corpus. */
function taskData(task: TaskName): { data: TaskData; names: string[]; seqLen: number; corpus: string[] } {
  if (task === 'classification') {
    const set = generatePairDataset(EXAMPLES, 3);
    return { data: { texts: set.texts, pairs: set.pairs, labels: set.labels }, names: ['contradiction', 'entailment', 'neutral'], seqLen: 40, corpus: [...set.texts, ...set.pairs] };
  }
  if (task === 'regression') {
    const set = generateRegressionDataset(EXAMPLES, 3);
    return { data: { texts: set.texts, pairs: set.pairs, labels: set.scores }, names: ['LABEL_0'], seqLen: 40, corpus: [...set.texts, ...set.pairs] };
  }
  if (task === 'multi-label') {
    const set = generateMultiLabelDataset(EXAMPLES, 3);
    return { data: { texts: set.texts, labels: set.labels, labelNames: set.names }, names: set.names, seqLen: 48, corpus: set.texts };
  }
  const set = generateTokenDataset(EXAMPLES, 3);
  return { data: { words: set.sentences.map((s) => s.words), tags: set.sentences.map((s) => s.tags) }, names: set.tagNames, seqLen: 24, corpus: set.sentences.map((s) => s.words.join(' ')) };
}

/** Runs the parity checks of `task` on `family` with `run` as one subtest of `t`. Async. */
export async function taskParity(t: Test, task: TaskName, family: TaskFamily, run: TaskRun): Promise<void> {
  await t.test(`${task}, ${family.name}: 20 AdamW steps (${run.padding} padding, ${run.replicas} replica(s), K ${run.stepsPerExecution}) as PyTorch's, metrics as Python's`, async (t) => {
    const work = await mkdtemp(path.join(os.tmpdir(), `pjrt-bert-task-${task}-${family.name}-`));
    const dir = path.join(work, 'model');
    const { data, names, seqLen, corpus } = taskData(task);
    const token = task === 'token-classification';
    const problemType = task === 'regression' ? 'regression' : task === 'multi-label' ? 'multi_label_classification' : task === 'classification' ? 'single_label_classification' : undefined;
    const labelConfig = task === 'regression' ? { num_labels: 1 } : { num_labels: names.length, id2label: Object.fromEntries(names.map((name, i) => [i, name])), label2id: Object.fromEntries(names.map((name, i) => [name, i])) };
    await runPythonJson('family_reference.py', ['random', dir], {
      model_type: family.modelType,
      config: { ...family.config, ...labelConfig, ...(problemType ? { problem_type: problemType } : {}) },
      seed: 5,
      task: token ? 'token' : 'sequence',
      labels: token ? [[0, 0, 0]] : task === 'regression' ? [0.5] : task === 'multi-label' ? [names.map(() => 1)] : [0],
      float_labels: task === 'regression' || task === 'multi-label',
      input_ids: [[5, 6, 7]],
      attention_mask: [[1, 1, 1]],
      tokenizer: { ...family.tokenizer, texts: corpus, vocab_size: family.tokenizer.vocabSize },
    });
    const initial = (await loadModelDir(dir)).params;

    using trainer = await Trainer.create({ model: dir, ...SETTINGS, ...run, seqLen, task });
    t.equal(trainer.task.name, task);
    // the token ids and targets our run trains on, for the reference
    const label2id = task === 'regression' ? undefined : Object.fromEntries(names.map((name, i) => [name, i]));
    const { train } = await prepareTaskData(trainer.task, data, { tokenizer: trainer.tokenizer, seqLen, label2id, requireLabel2id: label2id !== undefined });
    const [epoch] = await trainer.fit(data);
    const rows = (flat: ArrayLike<number>, width: number) => Array.from({ length: train.count }, (_, i) => Array.from(flat as ArrayLike<number>).slice(i * width, (i + 1) * width));
    const targets = train.targetWidth === 1 ? Array.from(train.targets) : rows(train.targets, train.targetWidth);
    const out = path.join(work, 'torch.safetensors');
    const reference = await runPythonJson<{ losses: number[] }>('family_reference.py', ['train', dir], {
      task: token ? 'token' : 'sequence', out, optimizer: 'adamw', lr: SETTINGS.learningRate, weight_decay: SETTINGS.weightDecay, warmup: SETTINGS.warmupSteps, total_steps: EXAMPLES / SETTINGS.batchSize, clip: SETTINGS.clipNorm, batch: SETTINGS.batchSize,
      input_ids: rows(train.inputIds, seqLen), attention_mask: rows(train.attentionMask, seqLen), ...(trainer.tokenizer.hasTokenTypeIds ? { token_type_ids: rows(train.tokenTypeIds, seqLen) } : {}),
      labels: targets, float_labels: train.targets instanceof Float32Array,
    });
    t.equal(reference.losses.length, 20, '20 steps in PyTorch');
    // our epoch loss is the mean over the loss's units (examples, or tagged tokens): weigh PyTorch's per-step means alike
    const units = Array.from({ length: 20 }, (_, step) => (token ? Array.from(train.targets.subarray(step * 8 * seqLen, (step + 1) * 8 * seqLen)).filter((tag) => tag !== IGNORED).length : 8));
    const meanLoss = reference.losses.reduce((sum, loss, step) => sum + loss * units[step]!, 0) / units.reduce((a, b) => a + b, 0);
    t.ok(Math.abs(epoch!.loss - meanLoss) < 1e-4, `mean loss ${epoch!.loss.toFixed(6)} vs PyTorch ${meanLoss.toFixed(6)}`);
    const torch = Object.fromEntries((await readSafetensors(out)).tensors);
    const ours = trainer.model!.params;
    assertNearPyTorch(t, '', ours, Object.fromEntries(Object.keys(ours).map((key) => [key, { data: toFloat32(torch[key]!) }])), initial);

    // evaluate's metrics against Python's on the same logits
    const evaluation = await trainer.evaluate(data);
    t.equal(evaluation.examples, EXAMPLES);
    const python = (await runPythonJson<Record<string, unknown>[]>('metrics_reference.py', [], [pythonCase(task, evaluation.logits, train, names)]))[0]!;
    const expected = expectedMetrics(task, python);
    for (const [metric, value] of Object.entries(expected)) {
      t.ok(Math.abs(evaluation.metrics[metric]! - value) < 1e-9, `${metric} ${evaluation.metrics[metric]} as Python's ${value}`);
    }
    t.ok(evaluation.report.text.length > 0 && Object.keys(evaluation.report.details).length > 0, 'a report with tables');
  });
}

/** The metrics_reference.py case of our logits against the targets. */
function pythonCase(task: TaskName, logits: Float32Array, examples: { count: number; seqLen: number; targets: Int32Array | Float32Array; targetWidth: number }, names: readonly string[]): Record<string, unknown> {
  const classes = names.length;
  const argmax = (row: Float32Array) => row.indexOf(Math.max(...row));
  if (task === 'classification') {
    return { kind: 'classification', numLabels: classes, truth: Array.from(examples.targets), predicted: Array.from({ length: examples.count }, (_, i) => argmax(logits.subarray(i * classes, (i + 1) * classes))) };
  }
  if (task === 'regression') return { kind: 'regression', predictions: Array.from(logits), targets: Array.from(examples.targets) };
  if (task === 'multi-label') {
    const rows = (flat: ArrayLike<number>) => Array.from({ length: examples.count }, (_, i) => Array.from(flat).slice(i * classes, (i + 1) * classes));
    return { kind: 'multilabel', scores: rows(logits), targets: rows(examples.targets), threshold: 0.5, fromLogits: true };
  }
  const truth: string[][] = [];
  const predicted: string[][] = [];
  const S = examples.seqLen;
  for (let e = 0; e < examples.count; e++) {
    truth.push([]);
    predicted.push([]);
    for (let s = 0; s < S; s++) {
      const tag = examples.targets[e * S + s]!;
      if (tag === IGNORED) continue;
      truth[e]!.push(names[tag]!);
      predicted[e]!.push(names[argmax(logits.subarray((e * S + s) * classes, (e * S + s + 1) * classes))]!);
    }
  }
  return { kind: 'entities', truth, predicted };
}

/** Python's values of the metrics `evaluate` reports, by our names. */
function expectedMetrics(task: TaskName, python: Record<string, unknown>): Record<string, number> {
  const number = (key: string) => python[key] as number;
  if (task === 'classification') return { accuracy: number('accuracy'), f1: number('macroF1') };
  if (task === 'regression') return { mse: number('mse'), mae: number('mae'), pearson: number('pearson'), spearman: number('spearman') };
  if (task === 'multi-label') return { micro_f1: number('microF1'), macro_f1: number('macroF1'), exact_match: number('exactMatch') };
  return { precision: number('precision'), recall: number('recall'), f1: number('f1'), accuracy: number('accuracy') };
}
