/**
 * `pjrt-bert bench --job`: the whole GRGE fine-tuning job, ours (`train --padding
 * fixed|bucket|pack`) against Hugging Face Trainer, timed from the data to the saved model; a
 * table, or with `--json` the `{"job": ...}` object of DESIGN.md as the last stdout line.
 */
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatJobMarkdown, formatJobTable, jobSummary } from '../bench/job-report.js';
import { JOB_RUNS, type JobRunName, runJob } from '../bench/job-run.js';
import { JOB_DATA_FILE, resolveJobData } from '../bench/job-setup.js';
import { isBertPreset } from '../models/bert.js';
import { UsageError, parseFlags, positiveInt } from './flags.js';

const JOB_HELP = `usage: pjrt-bert bench --job [--json] [--record FILE] [options]

Times one whole fine-tuning job, wall clock from reading the data to the saved model, once per
row, each row a fresh process: pjrt-bert train with --padding fixed, bucket and pack (the modes
this build's train lists; the others are reported as not measured), and Hugging Face
transformers.Trainer (bench/reference/hf_trainer_job.py: its default dynamic-padding collator,
torch with one thread per core). Both sides start from the same initial model (the preset,
initialised once and saved as a model directory), the same WordPiece vocabulary (trained on the
data now, lowercased and accent-stripped as Greek BERT's), the same training order (ours) and
the same validation rows (the last ones). Reports wall time, validation accuracy, padding
fraction, programs compiled and peak RSS per row.

The data: --data FILE, else ${JOB_DATA_FILE} in $PJRT_BERT_DATA (the Greek tweets of the
tutorial; never shipped with the package).

options:
  --data FILE               .csv/.tsv/.jsonl (default $PJRT_BERT_DATA/${JOB_DATA_FILE})
  --text-column NAME        (default Text)
  --label-column NAME       (default Polarity1)
  --model tiny|mini|base    preset of the initial model (default mini)
  --vocab-size N            WordPiece vocabulary to train (default 30000)
  --vocab-texts LIST        FILE:COLUMN,... further texts for the vocabulary (default: the
                            OffensEval-GR training tweets beside the data, when there)
  --epochs N (1)  --seq-len N (128)  --batch-size N global (32)  --validation-split F (0.2)
  --lr X (1e-4)  --weight-decay X (0.01)  --warmup-steps N (4)  --clip-norm X (1)  --seed N (42)
  --runs LIST               fixed, bucket, pack, hf (comma-separated; default all)
  --plugin P                cpu (default), cuda, tpu or a plugin path (the Trainer uses cuda
                            for a cuda plugin, else the CPU)
  --threads N               torch threads of the Trainer (default: every core)
  --python PATH             Python with torch/transformers/accelerate (default: the package's venv)
  --work-dir DIR            keep the run's files (vocabulary, models, outputs) in DIR
                            (default: a temporary folder, removed afterwards)
  --record FILE             append the results as a dated Markdown section to FILE
  --json                    print {"job": {...}} as the last line of stdout`;

const FLAGS = {
  job: { type: 'boolean' },
  data: { type: 'string' },
  'text-column': { type: 'string', default: 'Text' },
  'label-column': { type: 'string', default: 'Polarity1' },
  model: { type: 'string', default: 'mini' },
  'vocab-size': { type: 'string', default: '30000' },
  'vocab-texts': { type: 'string' },
  epochs: { type: 'string', default: '1' },
  'seq-len': { type: 'string', default: '128' },
  'batch-size': { type: 'string', default: '32' },
  'validation-split': { type: 'string', default: '0.2' },
  lr: { type: 'string', default: '1e-4' },
  'weight-decay': { type: 'string', default: '0.01' },
  'warmup-steps': { type: 'string', default: '4' },
  'clip-norm': { type: 'string', default: '1' },
  seed: { type: 'string', default: '42' },
  runs: { type: 'string', default: JOB_RUNS.join(',') },
  plugin: { type: 'string', default: 'cpu' },
  threads: { type: 'string' },
  python: { type: 'string' },
  'work-dir': { type: 'string' },
  record: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** A number flag that passes `ok` (described by `allowed`). Sync; throws UsageError naming the flag. */
function numberFlag(value: string, flag: string, ok: (n: number) => boolean, allowed: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new UsageError(`${flag} must be ${allowed}, got '${value}'`);
  return n;
}

/** A non-negative integer flag. Sync; throws UsageError naming the flag. */
function countFlag(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || value.trim() === '') throw new UsageError(`${flag} must be a non-negative integer, got '${value}'`);
  return n;
}

/** `--runs`: the rows to measure, in the order given. Sync; throws UsageError. */
export function parseJobRuns(value: string): JobRunName[] {
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  const bad = items.filter((item) => !(JOB_RUNS as readonly string[]).includes(item));
  if (items.length === 0 || bad.length > 0) throw new UsageError(`--runs takes a comma-separated list of ${JOB_RUNS.join(', ')}; got '${value}'`);
  return [...new Set(items)] as JobRunName[];
}

/**
 * `pjrt-bert bench --job`. Async; returns the exit code (1 when a row failed; rows this build
 * cannot run are reported, not failed).
 * @throws UsageError for a bad flag; JobDataError when there is no data (the message says how to
 * point at it); Error when the preparation fails.
 */
export async function runBenchJobCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, FLAGS, JOB_HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'\n\n${JOB_HELP}`);
  const preset = values.model as string;
  if (!isBertPreset(preset)) throw new UsageError(`--model must be a preset (tiny, mini, base), got '${preset}'`);
  const seqLen = positiveInt(values['seq-len'] as string, '--seq-len')!;
  if (seqLen < 2 || seqLen > 512) throw new UsageError(`--seq-len must be in 2..512 (BERT's position embeddings), got ${seqLen}`);
  // every flag is checked before anything is looked up or created
  const settings = {
    textColumn: values['text-column'] as string,
    labelColumn: values['label-column'] as string,
    preset,
    vocabSize: positiveInt(values['vocab-size'] as string, '--vocab-size')!,
    ...(values['vocab-texts'] ? { vocabTexts: (values['vocab-texts'] as string).split(',').map((item) => item.trim()).filter(Boolean) } : {}),
    epochs: positiveInt(values.epochs as string, '--epochs')!,
    seqLen,
    batchSize: positiveInt(values['batch-size'] as string, '--batch-size')!,
    validationSplit: numberFlag(values['validation-split'] as string, '--validation-split', (n) => n > 0 && n < 1, 'a fraction in (0, 1)'),
    learningRate: numberFlag(values.lr as string, '--lr', (n) => n > 0, 'a positive number'),
    weightDecay: numberFlag(values['weight-decay'] as string, '--weight-decay', (n) => n >= 0, 'a non-negative number'),
    warmupSteps: countFlag(values['warmup-steps'] as string, '--warmup-steps'),
    clipNorm: numberFlag(values['clip-norm'] as string, '--clip-norm', (n) => n >= 0, 'a non-negative number (0: no clipping)'),
    seed: countFlag(values.seed as string, '--seed'),
    runs: parseJobRuns(values.runs as string),
    plugin: values.plugin as string,
    threads: positiveInt(values.threads as string | undefined, '--threads') ?? os.availableParallelism(),
    ...(values.python ? { python: values.python as string } : {}),
  };
  const dataFile = resolveJobData(values.data as string | undefined);
  const log = (line: string) => process.stderr.write(`[bench --job] ${line}\n`);
  const workDir = (values['work-dir'] as string | undefined) ?? (await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-job-')));
  try {
    const run = await runJob({ ...settings, dataFile, workDir, log });
    const job = jobSummary(run);
    if (values.record) {
      const command = argv.filter((arg, i) => arg !== '--record' && argv[i - 1] !== '--record').join(' ');
      appendFileSync(values.record as string, `\n${formatJobMarkdown(job, `Command: \`pjrt-bert bench ${command}\`.`)}`);
      log(`appended the results to ${values.record}`);
    }
    process.stdout.write(values.json ? `${JSON.stringify({ job })}\n` : `${formatJobTable(job)}\n`);
    return Object.keys(job.errors).length > 0 ? 1 : 0;
  } finally {
    if (values['work-dir'] === undefined) await rm(workDir, { recursive: true, force: true });
  }
}
