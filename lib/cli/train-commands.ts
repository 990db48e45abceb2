/**
 * `pjrt-bert train`, `evaluate` and `demo`: the Trainer from the command line.
 */
import { readTable } from '../data/tables.js';
import { readVocabFile } from '../io/hf-tokenizer-files.js';
import { isBertPreset } from '../models/bert.js';
import { generateDemoDataset } from '../train/demo-data.js';
import { Trainer } from '../train/trainer.js';
import { UsageError } from './main.js';
import { parseFlags, positiveInt } from './runtime-commands.js';
import { TRAIN_FLAGS_HELP, TRAIN_OPTIONS, trainConfigFromFlags } from './train-flags.js';

const TRAIN_HELP = `usage: pjrt-bert train --model DIR|tiny|mini|base --data FILE [options]

Fine-tunes a BERT classifier on the texts and labels of FILE. With --out, each epoch writes a
Hugging Face model directory (loadable by transformers) plus trainer_state/ and metrics.jsonl,
and a later run with the same --out resumes where it stopped.

  --vocab FILE                 vocab.txt for a preset model (presets have no vocabulary)
${TRAIN_FLAGS_HELP}`;

async function vocabFor(model: string | undefined, file: string | undefined): Promise<string[] | undefined> {
  if (file === undefined) return undefined;
  if (model !== undefined && !isBertPreset(model)) throw new UsageError('--vocab is for preset models; a model directory brings its own vocab.txt');
  return readVocabFile(file, []);
}

/** `pjrt-bert train`. Async; returns the exit code. */
export async function runTrain(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { ...TRAIN_OPTIONS, vocab: { type: 'string' } }, TRAIN_HELP);
  if (!parsed) return 0;
  const values = parsed.values;
  if (!values.model || !values.data) throw new UsageError(`--model and --data are required\n\n${TRAIN_HELP}`);
  const config = trainConfigFromFlags(values);
  const table = await readTable(values.data as string, { textColumn: (values['text-column'] as string) ?? 'text', labelColumn: (values['label-column'] as string) ?? 'label' });
  const vocab = await vocabFor(config.model, values.vocab as string | undefined);
  using trainer = await Trainer.create({ ...config, ...(vocab ? { vocab } : {}) });
  const history = await trainer.fit({ texts: table.texts, labels: table.labels! });
  const last = history.at(-1);
  if (last) process.stderr.write(`trained ${history.length} epoch(s); last: loss ${last.loss.toFixed(4)}${last.val_accuracy !== undefined ? `, validation accuracy ${last.val_accuracy.toFixed(4)}, macro-F1 ${last.val_f1!.toFixed(4)}` : ''}\n`);
  const { compiled, cacheHits } = trainer.runtime.compileStats;
  process.stderr.write(`programs: ${compiled} compiled, ${cacheHits} loaded from the compile cache\n`);
  process.stderr.write(config.out ? `model saved in ${config.out}\n` : 'note: no --out was given, so the trained model was not saved\n');
  return 0;
}

const EVALUATE_HELP = `usage: pjrt-bert evaluate --model DIR --data FILE [--text-column C] [--label-column C]
                         [--seq-len N] [--batch-size N] [--plugin P] [--replicas N]

Prints loss, accuracy and macro-F1 of a fine-tuned model directory on labelled data, as JSON.`;

/** `pjrt-bert evaluate`. Async; returns the exit code. */
export async function runEvaluate(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, TRAIN_OPTIONS, EVALUATE_HELP);
  if (!parsed) return 0;
  const values = parsed.values;
  if (!values.model || !values.data) throw new UsageError(`--model and --data are required\n\n${EVALUATE_HELP}`);
  const config = trainConfigFromFlags(values);
  const table = await readTable(values.data as string, { textColumn: (values['text-column'] as string) ?? 'text', labelColumn: (values['label-column'] as string) ?? 'label' });
  using trainer = await Trainer.create({ ...config, progress: 'none' });
  const result = await trainer.evaluate({ texts: table.texts, labels: table.labels! });
  process.stdout.write(`${JSON.stringify({ examples: result.examples, loss: result.loss, accuracy: result.accuracy, macroF1: result.macroF1 })}\n`);
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
    ...(values.progress ? { progress: values.progress as 'auto' } : {}),
  });
  const history = await trainer.fit({ texts: data.texts, labels: data.labels });
  const accuracy = history.at(-1)?.val_accuracy ?? 0;
  const samples = ['the camera was really excellent', 'this book was not good at all', 'the hotel is standard , honestly'];
  (await trainer.predict(samples)).forEach((prediction, i) => {
    process.stdout.write(`  ${JSON.stringify(samples[i])} -> ${prediction.label} (${(Math.max(...prediction.probabilities) * 100).toFixed(0)}%)\n`);
  });
  process.stdout.write(`validation accuracy ${accuracy.toFixed(3)} (majority class ${majority.toFixed(3)})\n`);
  return accuracy > majority ? 0 : 1;
}
