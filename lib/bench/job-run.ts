/**
 * `pjrt-bert bench --job`, the run: the whole fine-tuning job (read the table, tokenize,
 * compile, train, validate, save) timed once per row, each row a fresh process as a user runs
 * it: `pjrt-bert train --padding fixed|bucket|pack` and Hugging Face `transformers.Trainer`
 * (bench/reference/hf_trainer_job.py), all from the same initial model directory, vocabulary,
 * training order and validation rows (see job-setup.ts).
 *
 * Our rows time the whole `pjrt-bert train` process (start to exit); the Trainer's row times
 * its script from reading the table to the saved model, so Python's imports (reported as
 * `hf_import_s`, several seconds) are left out of it and the comparison leans, if anything, in
 * the Trainer's favour. Every row starts from an empty compile cache (a first run's compile
 * is part of the job; our summary line reports how much of it was compiling).
 */
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../native/package-root.js';
import { type RssSource, measureProcess } from './job-measure.js';
import { type JobSetup, type JobSetupOptions, prepareJob } from './job-setup.js';
import { parseLastJsonLine, referencePython } from './references.js';

/** The rows a job run can measure: ours with each padding mode, and Hugging Face Trainer. */
export const JOB_RUNS = ['fixed', 'bucket', 'pack', 'hf'] as const;
/** One row of a job run. */
export type JobRunName = (typeof JOB_RUNS)[number];
/** Our padding modes. */
export type PaddingMode = Exclude<JobRunName, 'hf'>;

/** Options of {@link runJob}: the setup's (data, model, vocabulary, split) and the training and run settings. */
export interface JobOptions extends Omit<JobSetupOptions, 'python'> {
  /** Global batch size. */
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  warmupSteps: number;
  clipNorm: number;
  runs: readonly JobRunName[];
  plugin: string;
  /** torch threads of the Trainer (ours: XLA uses every core). */
  threads: number;
  /** Python with torch, transformers and accelerate (default: the references' venv). */
  python?: string;
}

/** One measured (or unmeasured) row. */
export interface JobRow {
  run: JobRunName;
  status: 'measured' | 'not measured' | 'failed';
  /** Why a row was not measured or failed. */
  reason: string | null;
  /** The job's wall time, seconds (ours: the whole process; HF: reading the table to the saved model). */
  seconds: number | null;
  /** The whole process, spawn to exit, seconds. */
  process_s: number | null;
  val_accuracy: number | null;
  val_loss: number | null;
  /** Padding's share of the training tokens computed. */
  padding_fraction: number | null;
  /** `reported` by the run itself, or `computed` by the bench from the tokenized data. */
  padding_source: 'reported' | 'computed' | null;
  programs_compiled: number | null;
  /** Tracing and compiling inside the run, seconds (ours). */
  compile_s: number | null;
  /** The training loop with its validation, seconds (ours: train's summary line; HF: `Trainer.train`, evaluation included). */
  loop_s: number | null;
  peak_rss_mb: number | null;
  rss_source: RssSource | null;
}

/** Everything one job run found, before it is flattened into the `job` object. */
export interface JobRun {
  options: Omit<JobOptions, 'log' | 'workDir'>;
  setup: JobSetup;
  rows: JobRow[];
  /** Padding modes `pjrt-bert train --help` lists. */
  paddingModes: PaddingMode[];
  versions: Record<string, string>;
  hfImportS: number | null;
  /** Real training tokens after truncation under the Trainer's tokenizer (ours: `setup.stats.tokens`). */
  hfTrainTokens: number | null;
  /** Whether the Trainer drew every epoch's rows in our order. */
  hfOrderFollowed: boolean | null;
  loadAverage: { start: number[]; end: number[] };
  date: string;
}

const emptyRow = (run: JobRunName, status: JobRow['status'], reason: string | null): JobRow => ({
  run, status, reason, seconds: null, process_s: null, val_accuracy: null, val_loss: null, padding_fraction: null,
  padding_source: null, programs_compiled: null, compile_s: null, loop_s: null, peak_rss_mb: null, rss_source: null,
});

const cliPath = () => path.join(packageRoot(), 'bin', 'pjrt-bert.js');

/**
 * The padding modes a `train --help` text lists in the entry of its `--padding` flag (up to the
 * next flag): none when there is no such flag. Sync; never throws.
 */
export function paddingModesInHelp(help: string): PaddingMode[] {
  const at = help.search(/--padding\b/);
  if (at < 0) return [];
  const entry = help.slice(at + '--padding'.length).split(/(?:^|\n|\s{2})--[a-z]/)[0]!.slice(0, 400);
  return (['fixed', 'bucket', 'pack'] as const).filter((mode) => new RegExp(`\\b${mode}\\b`).test(entry));
}

/** The padding modes this build's `pjrt-bert train --help` lists. Async; rejects when the help cannot run. */
export async function trainPaddingModes(): Promise<PaddingMode[]> {
  const help = await measureProcess(process.execPath, [cliPath(), 'train', '--help'], { noGnuTime: true });
  if (help.code !== 0) throw new Error(`pjrt-bert train --help failed (exit ${help.code}): ${help.stderr.slice(-3).join(' ')}`);
  return paddingModesInHelp(help.stdout);
}

/** The first finite number among `record`'s keys whose name, lowercased without `_`/`-`, is in `names`. */
function numberNamed(record: Record<string, unknown> | undefined, names: readonly string[]): number | undefined {
  for (const [key, value] of Object.entries(record ?? {})) {
    if (typeof value === 'number' && Number.isFinite(value) && names.includes(key.toLowerCase().replace(/[_-]/g, ''))) return value;
  }
  return undefined;
}

/** What `pjrt-bert train --progress json` told about a run: its epochs, summary lines and whatever padding/program counts it reports. */
export interface TrainOutput {
  epochs: number;
  valAccuracy: number | null;
  valLoss: number | null;
  paddingFraction: number | null;
  programsCompiled: number | null;
  compileSeconds: number | null;
  /** Training plus validation time of the run, from its summary line. */
  loopSeconds: number | null;
}

/**
 * Reads the JSON progress lines (stdout) and the summary lines (stderr) of `pjrt-bert train`,
 * taking padding fraction and program counts from the last epoch's metrics or the summary
 * when the build reports them (null otherwise). Sync; never throws.
 */
export function parseTrainOutput(stdout: string, stderr: readonly string[]): TrainOutput {
  const epochs: Record<string, unknown>[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.event === 'epoch') epochs.push(event);
    } catch {
      // not a progress line
    }
  }
  const last = epochs.at(-1);
  const text = stderr.join('\n');
  const programs = /programs: (\d+) compiled/.exec(text);
  const compile = /time: compile ([\d.]+) s/.exec(text);
  const loop = /training ([\d.]+) s, validation ([\d.]+) s/.exec(text);
  const padding = /padding(?: fraction)?[: ]+([\d.]+)\s*%/i.exec(text);
  const reportedPadding = numberNamed(last, ['paddingfraction', 'padfraction', 'padding']);
  return {
    epochs: epochs.length,
    valAccuracy: numberNamed(last, ['valaccuracy']) ?? null,
    valLoss: numberNamed(last, ['valloss']) ?? null,
    paddingFraction: reportedPadding ?? (padding ? Number(padding[1]) / 100 : null),
    programsCompiled: programs ? Number(programs[1]) : (numberNamed(last, ['programscompiled', 'compiledprograms']) ?? null),
    compileSeconds: compile ? Number(compile[1]) : (numberNamed(last, ['compileseconds']) ?? null),
    loopSeconds: loop ? Number(loop[1]) + Number(loop[2]) : null,
  };
}

/** Logs a `train --progress json` step or epoch line briefly (other lines are left out). Sync; never throws. */
function progressLine(line: string, log: (line: string) => void): void {
  if (!line.startsWith('{')) return;
  try {
    const event = JSON.parse(line) as { event?: string; epoch?: number; step?: number; stepsPerEpoch?: number; loss?: number; val_accuracy?: number };
    if (event.event === 'step') log(`  epoch ${event.epoch} step ${event.step}/${event.stepsPerEpoch} loss ${event.loss?.toFixed(4)}`);
    else if (event.event === 'epoch') log(`  epoch ${event.epoch} done: loss ${event.loss?.toFixed(4)}, validation accuracy ${event.val_accuracy?.toFixed(4) ?? '-'}`);
  } catch {
    // not a progress line
  }
}

/** The last stderr lines of a failed process, for a row's reason. */
const tail = (lines: readonly string[]) => lines.filter((line) => line.trim()).slice(-4).join(' | ').slice(0, 600);

async function runOurs(mode: PaddingMode, paddingFlag: boolean, setup: JobSetup, options: JobOptions): Promise<JobRow> {
  const out = path.join(options.workDir, `ours-${mode}`);
  const cache = await mkdtemp(path.join(options.workDir, `cache-${mode}-`));
  const args = [
    cliPath(), 'train', '--model', setup.initDir, '--data', setup.dataFile, '--text-column', options.textColumn, '--label-column', options.labelColumn,
    '--validation-split', `${options.validationSplit}`, '--epochs', `${options.epochs}`, '--seq-len', `${options.seqLen}`, '--batch-size', `${options.batchSize}`,
    '--optimizer', 'adamw', '--lr', `${options.learningRate}`, '--weight-decay', `${options.weightDecay}`, '--warmup-steps', `${options.warmupSteps}`,
    '--schedule', 'linear', '--clip-norm', `${options.clipNorm}`, '--seed', `${options.seed}`, '--plugin', options.plugin,
    '--out', out, '--progress', 'json', ...(paddingFlag ? ['--padding', mode] : []),
  ];
  options.log(`ours --padding ${mode}: pjrt-bert train (a fresh process, empty compile cache)`);
  const run = await measureProcess(process.execPath, args, { env: { PJRT_BERT_CACHE: cache }, log: (line) => options.log(`  ${line}`), onStdoutLine: (line) => progressLine(line, options.log) });
  if (run.code !== 0) return emptyRow(mode, 'failed', `pjrt-bert train exited ${run.signal ?? run.code}: ${tail(run.stderr)}`);
  if (!existsSync(path.join(out, 'model.safetensors'))) return emptyRow(mode, 'failed', `pjrt-bert train exited 0 but saved no model in ${out}`);
  const parsed = parseTrainOutput(run.stdout, run.stderr);
  const computed = mode === 'fixed' && parsed.paddingFraction === null;
  return {
    ...emptyRow(mode, 'measured', null),
    seconds: run.seconds,
    process_s: run.seconds,
    val_accuracy: parsed.valAccuracy,
    val_loss: parsed.valLoss,
    padding_fraction: computed ? setup.stats.paddingFractionFixed : parsed.paddingFraction,
    padding_source: computed ? 'computed' : parsed.paddingFraction === null ? null : 'reported',
    programs_compiled: parsed.programsCompiled,
    compile_s: parsed.compileSeconds,
    loop_s: parsed.loopSeconds,
    peak_rss_mb: run.peakRssMb,
    rss_source: run.rssSource,
  };
}

/** The JSON line of bench/reference/hf_trainer_job.py (the fields the bench reads). */
interface HfResult {
  versions: Record<string, string>;
  seconds: number;
  import_s: number;
  train_s: number;
  val_accuracy: number;
  val_loss: number;
  padding_fraction: number | null;
  train_tokens: number;
  order_followed: boolean;
  peak_rss_mb: number;
}

async function runHf(python: string, setup: JobSetup, options: JobOptions): Promise<{ row: JobRow; result?: HfResult }> {
  const out = path.join(options.workDir, 'hf-trainer');
  const device = /cuda|gpu/i.test(options.plugin) ? 'cuda' : 'cpu';
  const args = [
    path.join(packageRoot(), 'bench/reference/hf_trainer_job.py'), '--model', setup.initDir, '--data', setup.dataFile,
    '--text-column', options.textColumn, '--label-column', options.labelColumn, '--validation-split', `${options.validationSplit}`,
    '--epochs', `${options.epochs}`, '--seq-len', `${options.seqLen}`, '--batch-size', `${options.batchSize}`, '--lr', `${options.learningRate}`,
    '--weight-decay', `${options.weightDecay}`, '--warmup-steps', `${options.warmupSteps}`, '--schedule', 'linear', '--clip-norm', `${options.clipNorm}`,
    '--seed', `${options.seed}`, '--order', setup.orderFile, '--out', out, '--threads', `${options.threads}`, '--device', device,
  ];
  options.log(`Hugging Face Trainer: bench/reference/hf_trainer_job.py (${options.threads} torch threads, ${device})`);
  const run = await measureProcess(python, args, { env: { TOKENIZERS_PARALLELISM: 'true' }, log: (line) => options.log(`  ${line}`) });
  if (run.code !== 0) return { row: emptyRow('hf', 'failed', `hf_trainer_job.py exited ${run.signal ?? run.code}: ${tail(run.stderr)}`) };
  let result: HfResult;
  try {
    result = parseLastJsonLine(run.stdout, 'hf_trainer_job.py') as HfResult;
  } catch (error) {
    return { row: emptyRow('hf', 'failed', (error as Error).message) };
  }
  const row: JobRow = {
    ...emptyRow('hf', 'measured', null),
    seconds: result.seconds,
    process_s: run.seconds,
    val_accuracy: result.val_accuracy,
    val_loss: result.val_loss,
    padding_fraction: result.padding_fraction,
    padding_source: result.padding_fraction === null ? null : 'computed',
    loop_s: result.train_s,
    peak_rss_mb: run.peakRssMb ?? result.peak_rss_mb,
    rss_source: run.peakRssMb !== null ? run.rssSource : 'none',
  };
  return { row, result };
}

/**
 * Prepares the job and measures every row of `options.runs`, one process after another.
 * Async. A row that fails or that this build cannot run (a padding mode `train --help` does
 * not list) is recorded with its reason and the other rows are still measured.
 * @throws Error when the preparation fails (unreadable data, no Python, vocabulary training).
 */
export async function runJob(options: JobOptions): Promise<JobRun> {
  const { log } = options;
  const start = os.loadavg();
  await mkdir(options.workDir, { recursive: true });
  const python = await referencePython({ device: /cuda|gpu/i.test(options.plugin) ? 'cuda' : 'cpu', log, ...(options.python ? { python: options.python } : {}) });
  const setup = await prepareJob({ ...options, python });
  log(`training rows: ${setup.trainExamples}, validation rows: ${setup.validationExamples}; tokens per row: mean ${setup.stats.mean.toFixed(1)}, 90th percentile ${setup.stats.p90}, max ${setup.stats.max}`);
  const ours = options.runs.filter((run): run is PaddingMode => run !== 'hf');
  const paddingModes = ours.length ? await trainPaddingModes() : [];
  const versions: Record<string, string> = {
    pjrt_bert: (JSON.parse(await readFile(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version,
    node: process.version,
  };
  const rows: JobRow[] = [];
  let hfImportS: number | null = null;
  let hfTrainTokens: number | null = null;
  let hfOrderFollowed: boolean | null = null;
  for (const run of options.runs) {
    if (run === 'hf') {
      const { row, result } = await runHf(python, setup, options);
      rows.push(row);
      if (result) {
        Object.assign(versions, result.versions);
        hfImportS = result.import_s;
        hfTrainTokens = result.train_tokens;
        hfOrderFollowed = result.order_followed;
      }
    } else if (run !== 'fixed' && !paddingModes.includes(run)) {
      const reason = paddingModes.length === 0 ? `this build's pjrt-bert train has no --padding flag (fixed padding only)` : `pjrt-bert train --help lists --padding ${paddingModes.join('|')}, not ${run}`;
      log(`ours --padding ${run}: not measured: ${reason}`);
      rows.push(emptyRow(run, 'not measured', reason));
    } else {
      rows.push(await runOurs(run, paddingModes.length > 0, setup, options));
    }
    const last = rows.at(-1)!;
    if (last.status === 'failed') log(`${run}: failed: ${last.reason}`);
  }
  const { log: _log, workDir: _workDir, ...settings } = options;
  return { options: settings, setup, rows, paddingModes, versions, hfImportS, hfTrainTokens, hfOrderFollowed, loadAverage: { start, end: os.loadavg() }, date: new Date().toISOString() };
}
