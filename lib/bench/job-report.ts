/**
 * `pjrt-bert bench --job` results: the flat `job` object DESIGN.md names (printed by `--json`
 * as `{"job": ...}`, one line), a plain-text table for the terminal and a dated Markdown
 * section for bench/RESULTS.md (`--record FILE`).
 */
import os from 'node:os';
import path from 'node:path';
import type { JobRow, JobRun, JobRunName } from './job-run.js';

/** The `job` object: DESIGN.md's fields first, then everything else measured; null = not measured. */
export interface JobSummary {
  model: string;
  data: string;
  epochs: number;
  seqLen: number;
  batchSize: number;
  /** Wall time of each row, seconds (ours: the whole `pjrt-bert train` process; HF: reading the table to the saved model). */
  ours_fixed_s: number | null;
  ours_bucket_s: number | null;
  ours_pack_s: number | null;
  hf_trainer_s: number | null;
  /** Validation accuracy of our `fixed` row (each row's own is in `ours_<mode>_val_accuracy`). */
  ours_val_accuracy: number | null;
  hf_val_accuracy: number | null;
  padding_fraction_fixed: number | null;
  padding_fraction_pack: number | null;
  programs_compiled_pack: number | null;
  ours_fixed_peak_rss_mb: number | null;
  ours_bucket_peak_rss_mb: number | null;
  ours_pack_peak_rss_mb: number | null;
  hf_trainer_peak_rss_mb: number | null;
  ours_fixed_val_accuracy: number | null;
  ours_bucket_val_accuracy: number | null;
  ours_pack_val_accuracy: number | null;
  padding_fraction_bucket: number | null;
  /** Hugging Face's dynamic padding (each batch padded to its longest row). */
  padding_fraction_hf: number | null;
  programs_compiled_fixed: number | null;
  programs_compiled_bucket: number | null;
  /** Wall-time ratios (below 1: the first is faster). */
  fixed_vs_hf: number | null;
  bucket_vs_hf: number | null;
  pack_vs_hf: number | null;
  pack_vs_fixed: number | null;
  /** The Trainer's whole process and its imports (not part of `hf_trainer_s`). */
  hf_process_s: number | null;
  hf_import_s: number | null;
  vocab_size: number;
  train_examples: number;
  validation_examples: number;
  /** Tokens per training row under the job's vocabulary ([CLS] and [SEP] included, before truncation). */
  tokens_mean: number;
  tokens_p90: number;
  tokens_max: number;
  truncated_examples: number;
  /** Real training tokens after truncation, ours and the Trainer's tokenizer (equal when both tokenize alike). */
  train_tokens: number;
  hf_train_tokens: number | null;
  /** The Trainer visited the training rows in our trainer's order (same batches on both sides). */
  hf_order_followed: boolean | null;
  learning_rate: number;
  weight_decay: number;
  warmup_steps: number;
  clip_norm: number;
  seed: number;
  validation_split: number;
  plugin: string;
  threads: number;
  /** Padding modes this build's `train --help` lists. */
  padding_modes: string[];
  /** Rows left out, with why. */
  not_measured: Partial<Record<JobRunName, string>>;
  /** Rows that failed, with the error. */
  errors: Partial<Record<JobRunName, string>>;
  device: string;
  cores: number;
  load_average_start: number;
  load_average_end: number;
  date: string;
  versions: Record<string, string>;
  rows: JobRow[];
}

const rowOf = (run: JobRun, name: JobRunName) => run.rows.find((row) => row.run === name);
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? a / b : null);

/** Flattens a job run into the `job` object. Sync. */
export function jobSummary(run: JobRun): JobSummary {
  const { options, setup } = run;
  const get = <K extends keyof JobRow>(name: JobRunName, key: K): JobRow[K] | null => rowOf(run, name)?.[key] ?? null;
  const reasons = (status: JobRow['status']) => Object.fromEntries(run.rows.filter((row) => row.status === status).map((row) => [row.run, row.reason!]));
  return {
    model: options.preset,
    data: path.basename(setup.dataFile),
    epochs: options.epochs,
    seqLen: options.seqLen,
    batchSize: options.batchSize,
    ours_fixed_s: get('fixed', 'seconds'),
    ours_bucket_s: get('bucket', 'seconds'),
    ours_pack_s: get('pack', 'seconds'),
    hf_trainer_s: get('hf', 'seconds'),
    ours_val_accuracy: get('fixed', 'val_accuracy'),
    hf_val_accuracy: get('hf', 'val_accuracy'),
    padding_fraction_fixed: get('fixed', 'padding_fraction'),
    padding_fraction_pack: get('pack', 'padding_fraction'),
    programs_compiled_pack: get('pack', 'programs_compiled'),
    ours_fixed_peak_rss_mb: get('fixed', 'peak_rss_mb'),
    ours_bucket_peak_rss_mb: get('bucket', 'peak_rss_mb'),
    ours_pack_peak_rss_mb: get('pack', 'peak_rss_mb'),
    hf_trainer_peak_rss_mb: get('hf', 'peak_rss_mb'),
    ours_fixed_val_accuracy: get('fixed', 'val_accuracy'),
    ours_bucket_val_accuracy: get('bucket', 'val_accuracy'),
    ours_pack_val_accuracy: get('pack', 'val_accuracy'),
    padding_fraction_bucket: get('bucket', 'padding_fraction'),
    padding_fraction_hf: get('hf', 'padding_fraction'),
    programs_compiled_fixed: get('fixed', 'programs_compiled'),
    programs_compiled_bucket: get('bucket', 'programs_compiled'),
    fixed_vs_hf: ratio(get('fixed', 'seconds'), get('hf', 'seconds')),
    bucket_vs_hf: ratio(get('bucket', 'seconds'), get('hf', 'seconds')),
    pack_vs_hf: ratio(get('pack', 'seconds'), get('hf', 'seconds')),
    pack_vs_fixed: ratio(get('pack', 'seconds'), get('fixed', 'seconds')),
    hf_process_s: get('hf', 'process_s'),
    hf_import_s: run.hfImportS,
    vocab_size: setup.vocabSize,
    train_examples: setup.trainExamples,
    validation_examples: setup.validationExamples,
    tokens_mean: setup.stats.mean,
    tokens_p90: setup.stats.p90,
    tokens_max: setup.stats.max,
    truncated_examples: setup.stats.truncated,
    train_tokens: setup.stats.tokens,
    hf_train_tokens: run.hfTrainTokens,
    hf_order_followed: run.hfOrderFollowed,
    learning_rate: options.learningRate,
    weight_decay: options.weightDecay,
    warmup_steps: options.warmupSteps,
    clip_norm: options.clipNorm,
    seed: options.seed,
    validation_split: options.validationSplit,
    plugin: options.plugin,
    threads: options.threads,
    padding_modes: run.paddingModes,
    not_measured: reasons('not measured'),
    errors: reasons('failed'),
    device: `${os.cpus()[0]?.model.trim() ?? os.arch()} (${os.availableParallelism()} cores)`,
    cores: os.availableParallelism(),
    load_average_start: run.loadAverage.start[0]!,
    load_average_end: run.loadAverage.end[0]!,
    date: run.date,
    versions: run.versions,
    rows: run.rows,
  };
}

const LABELS: Record<JobRunName, string> = { fixed: 'ours --padding fixed', bucket: 'ours --padding bucket', pack: 'ours --padding pack', hf: 'HF Trainer' };
const num = (value: number | null, digits: number) => (value === null ? '-' : value.toFixed(digits));
const pct = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);

const COLUMNS: [string, (row: JobRow, job: JobSummary) => string][] = [
  ['run', (row) => LABELS[row.run]],
  ['wall s', (row) => num(row.seconds, 1)],
  ['vs HF', (row, job) => {
    const r = ratio(row.seconds, job.hf_trainer_s);
    return r === null ? '-' : `${r.toFixed(2)}x`;
  }],
  ['val acc', (row) => num(row.val_accuracy, 4)],
  ['val loss', (row) => num(row.val_loss, 4)],
  ['padding', (row) => `${pct(row.padding_fraction)}${row.padding_source === 'computed' ? '*' : ''}`],
  ['programs', (row) => (row.programs_compiled === null ? '-' : `${row.programs_compiled}`)],
  ['compile s', (row) => num(row.compile_s, 1)],
  ['train+val s', (row) => num(row.loop_s, 1)],
  ['peak RSS MiB', (row) => num(row.peak_rss_mb, 0)],
];

function header(job: JobSummary): string[] {
  return [
    `job: ${job.model} on ${job.data} (${job.train_examples} training / ${job.validation_examples} validation rows, the last ${Number((job.validation_split * 100).toFixed(2))}%), ` +
      `${job.epochs} epoch(s), seq len ${job.seqLen}, global batch ${job.batchSize}, AdamW lr ${job.learning_rate} (warm-up ${job.warmup_steps} steps, linear decay, ` +
      `weight decay ${job.weight_decay}, clip ${job.clip_norm}), seed ${job.seed}`,
    `vocabulary: ${job.vocab_size} WordPiece entries trained on the data; tokens per training row: mean ${job.tokens_mean.toFixed(1)}, ` +
      `90th percentile ${job.tokens_p90}, max ${job.tokens_max} (${job.truncated_examples} truncated at ${job.seqLen})`,
    `machine: ${job.device}, load average ${job.load_average_start.toFixed(2)} at the start, ${job.load_average_end.toFixed(2)} at the end; plugin ${job.plugin}; ` +
      `versions: ${Object.entries(job.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
}

function notes(job: JobSummary): string[] {
  return [
    ...Object.entries(job.not_measured).map(([run, reason]) => `${LABELS[run as JobRunName]}: not measured: ${reason}`),
    ...Object.entries(job.errors).map(([run, reason]) => `${LABELS[run as JobRunName]}: failed: ${reason}`),
    `wall s: ours = the whole pjrt-bert train process, empty compile cache; HF Trainer = reading the table to the saved model, ` +
      `${job.threads} torch threads${job.hf_import_s !== null ? `, after ${job.hf_import_s.toFixed(1)} s of Python imports (whole process ${num(job.hf_process_s, 1)} s)` : ''}. ` +
      `train+val s: the training loop and its validation inside the run (ours: train's summary; HF: Trainer.train). ` +
      `padding: share of the training tokens that are padding (* computed from the tokenized rows and the batches, not reported by the run itself; HF pads each batch to its longest row).`,
  ];
}

/** The job as a text table with a header (data, settings, machine) and notes. Sync. */
export function formatJobTable(job: JobSummary): string {
  const rows = [COLUMNS.map(([title]) => title), ...job.rows.map((row) => COLUMNS.map(([, cell]) => cell(row, job)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((cells) => cells[i]!.length)));
  const lines = rows.map((cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  return [...header(job), '', ...lines, '', ...notes(job)].join('\n');
}

/** The job as a dated Markdown section for bench/RESULTS.md. Sync. */
export function formatJobMarkdown(job: JobSummary, note?: string): string {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    `### ${job.date.slice(0, 10)}: \`pjrt-bert bench --job\`, ${job.model} on ${job.data}, ${job.device}`,
    '',
    ...header(job).map((line) => `${line}.`),
    ...(note ? ['', note] : []),
    '',
    row(COLUMNS.map(([title]) => title)),
    row(COLUMNS.map(() => '---')),
    ...job.rows.map((r) => row(COLUMNS.map(([, cell]) => cell(r, job)))),
    '',
    ...notes(job).map((line) => `${line}\n`),
  ].join('\n');
}
