/**
 * `pjrt-bert train`, `evaluate` and `demo`: the Trainer from the command line.
 */
import { readVocabFile } from '../io/hf-tokenizer-files.js';
import { isBertPreset } from '../models/bert.js';
import { generateDemoDataset } from '../train/demo-data.js';
import { ConfigError, type EpochMetrics } from '../train/config.js';
import type { ClassPrediction } from '../train/predictions.js';
import { Trainer, type TrainerOptions } from '../train/trainer.js';
import { writeFileAtomic } from '../io/index.js';
import { UsageError, parseFlags, positiveInt } from './flags.js';
import { TASK_FLAGS_HELP, TASK_OPTIONS, readTaskData, taskFromFlags } from './task-flags.js';
import { TRAIN_FLAGS_HELP, TRAIN_OPTIONS, flagOfField, seqLenNote, trainConfigFromFlags } from './train-flags.js';

const TRAIN_HELP = `usage: pjrt-bert train --model DIR|tiny|mini|base --data FILE [options]

Fine-tunes an encoder (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, ELECTRA, ModernBERT) for a task
on FILE: classification of texts or pairs, regression, multi-label, token classification. With
--out, each epoch writes a Hugging Face model directory (loadable by transformers) plus
trainer_state/, metrics.jsonl and TensorBoard event files, and a later run with the same --out
resumes where it stopped.

  --vocab FILE                 vocab.txt for a preset model (presets have no vocabulary)
${TRAIN_FLAGS_HELP}
${TASK_FLAGS_HELP}`;

async function vocabFor(model: string | undefined, file: string | undefined): Promise<string[] | undefined> {
  if (file === undefined) return undefined;
  if (model !== undefined && !isBertPreset(model)) throw new UsageError('--vocab is for preset models; a model directory brings its own vocab.txt');
  return readVocabFile(file, []);
}

/** Trainer.create, with config errors spelled as the flags the user typed (a usage error, exit 2). */
async function createTrainer(options: TrainerOptions): Promise<Trainer> {
  try {
    return await Trainer.create(options);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.describe(flagOfField));
    throw error;
  }
}

/** `pjrt-bert train`. Async; returns the exit code. */
export async function runTrain(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { ...TRAIN_OPTIONS, ...TASK_OPTIONS, vocab: { type: 'string' } }, TRAIN_HELP);
  if (!parsed) return 0;
  const values = parsed.values;
  if (!values.model || !values.data) throw new UsageError(`--model and --data are required\n\n${TRAIN_HELP}`);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'\n\n${TRAIN_HELP}`);
  const config = trainConfigFromFlags(values);
  const { data, notes } = await readTaskData(values, await taskFromFlags(values));
  for (const note of notes) process.stderr.write(`pjrt-bert train: ${note}\n`);
  const vocab = await vocabFor(config.model, values.vocab as string | undefined);
  const ran: EpochMetrics[] = []; // the epochs this process trained (history also holds resumed ones)
  using trainer = await createTrainer({ ...config, ...(vocab ? { vocab } : {}), callbacks: { onEpochEnd: (metrics) => void ran.push(metrics) } });
  if (trainer.seqLenChoice.source === 'trained') process.stderr.write(`pjrt-bert train: ${seqLenNote(trainer.seqLenChoice, config.model)}\n`);
  const history = await trainer.fit(data);
  const last = history.at(-1);
  const validation = last ? Object.entries(last).filter(([key, value]) => key.startsWith('val_') && typeof value === 'number') : [];
  const lastText = last ? `; last: loss ${last.loss.toFixed(4)}${validation.map(([key, value]) => `, ${key} ${(value as number).toFixed(4)}`).join('')}` : '';
  process.stderr.write(`trained ${ran.length} epoch(s) in this run, ${history.length} in all${lastText}\n`);
  const { compiled, cacheHits } = trainer.runtime.compileStats;
  const total = (key: 'seconds' | 'compileSeconds' | 'validationSeconds') => ran.reduce((sum, m) => sum + (m[key] ?? 0), 0);
  process.stderr.write(`programs: ${compiled} compiled, ${cacheHits} loaded from the compile cache\n`);
  if (ran.length) {
    const padding = ran.reduce((sum, m) => sum + m.paddingFraction * m.seconds, 0) / Math.max(1e-9, total('seconds'));
    process.stderr.write(`padding (${trainer.config.padding}): ${(padding * 100).toFixed(1)}% of the token slots trained on were padding\n`);
  }
  if (ran.length) process.stderr.write(`time: compile ${total('compileSeconds').toFixed(1)} s, training ${total('seconds').toFixed(1)} s, validation ${total('validationSeconds').toFixed(1)} s\n`);
  process.stderr.write(config.out ? `model saved in ${config.out}\n` : 'note: no --out was given, so the trained model was not saved\n');
  return 0;
}

const EVALUATE_HELP = `usage: pjrt-bert evaluate --model DIR --data FILE [--out FILE.json] [data and task flags as train]
                         [--seq-len N] [--batch-size N] [--steps-per-execution N] [--precision f32|bf16]
                         [--padding fixed|bucket|pack] [--plugin P] [--replicas N] [--cpu-devices N] [--no-compile-cache]

Scores a fine-tuned model directory (the --out of pjrt-bert train) on labelled data for its
task (the directory's own, or --task). Prints one JSON line of the metrics on stdout
(classification: loss, accuracy, macro-F1; regression: MSE, MAE, Pearson, Spearman;
multi-label: micro- and macro-F1, exact match; token classification: entity precision, recall,
F1 and token accuracy), the task's tables on stderr (per class with the confusion matrix, per
label, per entity type), and with --out all of it as one JSON file. --seq-len defaults to the
length the model was trained at (else 128, at most its max_position_embeddings).

--text-column C, --text-pair-column C, --label-column C   as train
${TASK_FLAGS_HELP}`;

/** The flags `evaluate` uses: data, task and execution, no training settings. */
const EVALUATE_OPTIONS = {
  ...Object.fromEntries(
    (['model', 'data', 'text-column', 'text-pair-column', 'label-column', 'seq-len', 'batch-size', 'steps-per-execution', 'precision', 'padding', 'plugin', 'replicas', 'cpu-devices', 'no-compile-cache', 'out'] as const).map((flag) => [flag, TRAIN_OPTIONS[flag]]),
  ),
  ...TASK_OPTIONS,
};

/** `pjrt-bert evaluate`. Async; returns the exit code. */
export async function runEvaluate(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, EVALUATE_OPTIONS, EVALUATE_HELP);
  if (!parsed) return 0;
  const values = parsed.values;
  if (!values.model || !values.data) throw new UsageError(`--model and --data are required\n\n${EVALUATE_HELP}`);
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'\n\n${EVALUATE_HELP}`);
  if (isBertPreset(values.model as string)) {
    throw new UsageError(`--model ${String(values.model)} is an untrained preset: evaluate needs a trained model directory, such as the --out of pjrt-bert train`);
  }
  const { out, ...rest } = trainConfigFromFlags(values);
  const config = rest as TrainerOptions; // --out here is the report file, not a training directory
  const task = await taskFromFlags(values);
  const { data, notes } = await readTaskData(values, task);
  for (const line of notes) process.stderr.write(`pjrt-bert evaluate: ${line}\n`);
  using trainer = await createTrainer({ ...config, progress: 'none' });
  const note = seqLenNote(trainer.seqLenChoice, config.model);
  if (note !== undefined) process.stderr.write(`pjrt-bert evaluate: ${note}\n`);
  const result = await trainer.evaluate(data);
  process.stdout.write(`${JSON.stringify({ examples: result.examples, ...result.metrics })}\n`);
  process.stderr.write(`\n${result.report.text}`);
  if (out !== undefined) {
    await writeFileAtomic(out, `${JSON.stringify({ model: config.model, data: values.data, task, examples: result.examples, metrics: result.metrics, report: result.report.details }, null, 2)}\n`);
    process.stderr.write(`\nreport written to ${out}\n`);
  }
  return 0;
}

const DEMO_HELP = `usage: pjrt-bert demo [--examples N] [--epochs N] [--replicas N] [--out DIR] [--progress MODE]

Fine-tunes the 'tiny' preset on generated product reviews (negative / neutral / positive,
with negations) on the CPU plugin, 2 virtual devices by default, and prints the validation
accuracy next to the majority-class baseline. Needs no download.`;

/** `pjrt-bert demo`. Async; returns the exit code. */
export async function runDemo(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { examples: { type: 'string' }, epochs: { type: 'string' }, replicas: { type: 'string' }, out: { type: 'string' }, progress: { type: 'string' }, plugin: { type: 'string' } }, DEMO_HELP);
  if (!parsed) return 0;
  const values = parsed.values;
  const data = generateDemoDataset(positiveInt(values.examples as string | undefined, '--examples') ?? 1500, 7);
  const validationSplit = 0.2;
  const cut = Math.floor(data.texts.length * (1 - validationSplit));
  const heldOut = data.labels.slice(cut);
  const counts = new Map<string, number>();
  for (const label of heldOut) counts.set(label, (counts.get(label) ?? 0) + 1);
  const majority = Math.max(...counts.values()) / heldOut.length;
  const replicas = positiveInt(values.replicas as string | undefined, '--replicas') ?? 2;
  process.stderr.write(`demo: ${data.texts.length} generated reviews (${cut} to train, ${heldOut.length} to validate), 'tiny' BERT, ${replicas} replica(s) on ${(values.plugin as string) ?? 'cpu'}\n`);
  using trainer = await Trainer.create({
    model: 'tiny',
    vocab: data.vocab,
    plugin: (values.plugin as string) ?? 'cpu',
    replicas,
    seqLen: 16,
    batchSize: 32,
    stepsPerExecution: 8,
    epochs: positiveInt(values.epochs as string | undefined, '--epochs') ?? 6,
    learningRate: 1e-3,
    warmupSteps: 10,
    validationSplit,
    ...(values.out ? { out: values.out as string } : {}),
    progress: (values.progress as 'auto' | undefined) ?? 'auto',
  });
  const history = await trainer.fit({ texts: data.texts, labels: data.labels });
  const accuracy = history.at(-1)?.val_accuracy ?? 0;
  const samples = ['the camera was really excellent', 'this book was not good at all', 'the hotel is standard , honestly'];
  (await trainer.predict(samples)).forEach((p, i) => {
    const prediction = p as ClassPrediction;
    process.stdout.write(`  ${JSON.stringify(samples[i])} -> ${prediction.label} (${(Math.max(...prediction.probabilities) * 100).toFixed(0)}%)\n`);
  });
  process.stdout.write(`validation accuracy ${accuracy.toFixed(3)} (majority class ${majority.toFixed(3)})\n`);
  return accuracy > majority ? 0 : 1;
}
