/**
 * `pjrt-bert bench --job`, before anything is timed: where the data is, the WordPiece
 * vocabulary trained on it (Python `tokenizers`, bench/reference/job_vocab.py), the initial
 * model directory both sides load (written once with our own initialisation and saver), the
 * training order both sides follow (our trainer's shuffle) and the token statistics of the data
 * under that vocabulary.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BertTokenizer } from '../data/bert-tokenizer.js';
import { readTable } from '../data/tables.js';
import { readVocabFile } from '../io/hf-tokenizer-files.js';
import { bert, bertPresetConfig, initModelParams, modelSpec } from '../models/index.js';
import { packageRoot } from '../native/package-root.js';
import { saveModelDir, tokenizerWriter } from '../pretrained/index.js';
import { shuffledOrder } from '../train/data-batches.js';
import { mapLabels, validationCut } from '../train/data.js';
import { parseLastJsonLine, runLogged } from './references.js';

/** The file the job trains on by default, looked for in `$PJRT_BERT_DATA`. */
export const JOB_DATA_FILE = 'GRGE_sentiment.csv';
/** Texts that also train the vocabulary when they sit beside the job's data (OffensEval-GR's training tweets). */
export const EXTRA_VOCAB_TEXTS = { file: 'offenseval-gr/offenseval-gr-training-v1.tsv', column: 'tweet' } as const;

/** The job's data is missing: the message says where it looked and how to point at the data. */
export class JobDataError extends Error {
  override name = 'JobDataError';
}

/**
 * The data file of the job: `explicit` (`--data`), else `$PJRT_BERT_DATA/GRGE_sentiment.csv`,
 * else `shared/data/GRGE_sentiment.csv` beside the package. Sync.
 * @throws JobDataError naming the places looked in and the fix (set PJRT_BERT_DATA or pass --data).
 */
export function resolveJobData(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new JobDataError(`--data ${explicit}: no such file`);
    return path.resolve(explicit);
  }
  const folder = env.PJRT_BERT_DATA ? path.resolve(env.PJRT_BERT_DATA) : path.resolve(packageRoot(), '..', 'shared', 'data');
  const file = path.join(folder, JOB_DATA_FILE);
  if (existsSync(file)) return file;
  throw new JobDataError(
    `no job data: ${file} does not exist${env.PJRT_BERT_DATA ? ' (from PJRT_BERT_DATA)' : ' (PJRT_BERT_DATA is not set)'}. ` +
      `Set PJRT_BERT_DATA to the folder holding ${JOB_DATA_FILE} (the Greek tweets of the tutorial, with columns Text and Polarity1), ` +
      'or pass --data FILE with --text-column and --label-column.',
  );
}

/** What {@link prepareJob} needs. */
export interface JobSetupOptions {
  /** Scratch folder of this run (the vocabulary, the initial model, the order, the outputs). */
  workDir: string;
  dataFile: string;
  textColumn: string;
  labelColumn: string;
  /** Preset of the initial model (`tiny`, `mini`, `base`). */
  preset: string;
  /** Target size of the trained vocabulary. */
  vocabSize: number;
  /** Further `FILE:COLUMN` texts to train the vocabulary on (default: {@link EXTRA_VOCAB_TEXTS} when beside the data). */
  vocabTexts?: string[];
  seqLen: number;
  validationSplit: number;
  epochs: number;
  seed: number;
  /** Python with `tokenizers` (the references' interpreter). */
  python: string;
  log: (line: string) => void;
}

/** Token counts of the training rows under the job's vocabulary and sequence length. */
export interface TokenStats {
  /** Tokens of each training row with [CLS] and [SEP], before truncation: mean, 90th percentile, max. */
  mean: number;
  p90: number;
  max: number;
  /** Training rows longer than `seqLen` (truncated). */
  truncated: number;
  /** Real tokens of the training rows after truncation. */
  tokens: number;
  /** 1 - tokens / (rows x seqLen): the share of a `--padding fixed` step that is padding. */
  paddingFractionFixed: number;
}

/** Everything the timed runs share. */
export interface JobSetup {
  dataFile: string;
  /** vocab.txt trained for this run, and its size. */
  vocabFile: string;
  vocabSize: number;
  /** The initial model directory both sides start from. */
  initDir: string;
  /** JSON: one list of training-row indices per epoch, our trainer's order. */
  orderFile: string;
  labels: readonly string[];
  trainExamples: number;
  validationExamples: number;
  stats: TokenStats;
  /** Time spent preparing (not part of any row). */
  seconds: number;
}

/** The percentile `p` (0..1) of sorted values, nearest rank. Sync. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]! : 0;
}

/**
 * Prepares a job run in `options.workDir`: trains the vocabulary, writes the initial model
 * (`options.preset` with that vocabulary and the data's labels, sorted as our trainer and
 * Python sort them, initialised from `options.seed`), the training order of every epoch, and
 * counts tokens. Async.
 * @throws FileFormatError for an unreadable table or missing columns; Error with the script's
 * message when the vocabulary cannot be trained; DataError when the split leaves no rows.
 */
export async function prepareJob(options: JobSetupOptions): Promise<JobSetup> {
  const started = performance.now();
  const { workDir, dataFile, seqLen, log } = options;
  const table = await readTable(dataFile, { textColumn: options.textColumn, labelColumn: options.labelColumn });
  const cut = validationCut(table.texts.length, options.validationSplit);
  const { mapping } = mapLabels(table.labels!);

  const extra = path.join(path.dirname(dataFile), EXTRA_VOCAB_TEXTS.file);
  const corpora = [`${dataFile}:${options.textColumn}`, ...(options.vocabTexts ?? (existsSync(extra) ? [`${extra}:${EXTRA_VOCAB_TEXTS.column}`] : []))];
  const vocabDir = path.join(workDir, 'vocab');
  log(`training a WordPiece vocabulary of ${options.vocabSize} on ${corpora.map((c) => path.basename(c)).join(', ')}`);
  const script = path.join(packageRoot(), 'bench/reference/job_vocab.py');
  const vocabReport = parseLastJsonLine(await runLogged(options.python, [script, vocabDir, `${options.vocabSize}`, ...corpora], log, 'vocabulary training'), 'job_vocab.py') as { vocab_size: number };
  const vocabFile = path.join(vocabDir, 'vocab.txt');
  const vocab = await readVocabFile(vocabFile, []);

  const tokenizer = new BertTokenizer(vocab);
  const initDir = path.join(workDir, 'initial-model');
  const spec = modelSpec(bert, bertPresetConfig(options.preset, { vocabSize: vocab.length, labels: mapping.id2label }), 'linear');
  await mkdir(initDir, { recursive: true });
  await saveModelDir(initDir, spec, initModelParams(spec, options.seed), { writeTokenizer: tokenizerWriter(tokenizer) });
  log(`wrote the initial ${options.preset} model (vocabulary ${vocab.length}, labels ${mapping.id2label.join(', ')}) to ${initDir}`);

  const orderFile = path.join(workDir, 'order.json');
  const orders = Array.from({ length: options.epochs }, (_, epoch) => Array.from(shuffledOrder(cut, options.seed, epoch)));
  await writeFile(orderFile, JSON.stringify(orders));

  const lengths = table.texts.slice(0, cut).map((text) => tokenizer.encode(text, undefined, { truncation: false }).inputIds.length);
  const tokens = lengths.reduce((sum, length) => sum + Math.min(length, seqLen), 0);
  const sorted = [...lengths].sort((a, b) => a - b);
  const stats: TokenStats = {
    mean: lengths.reduce((a, b) => a + b, 0) / Math.max(1, lengths.length),
    p90: percentile(sorted, 0.9),
    max: sorted.at(-1) ?? 0,
    truncated: lengths.filter((length) => length > seqLen).length,
    tokens,
    paddingFractionFixed: 1 - tokens / (cut * seqLen),
  };
  return {
    dataFile,
    vocabFile,
    vocabSize: vocabReport.vocab_size,
    initDir,
    orderFile,
    labels: mapping.id2label,
    trainExamples: cut,
    validationExamples: table.texts.length - cut,
    stats,
    seconds: (performance.now() - started) / 1000,
  };
}
