/**
 * The flags of `pjrt-bert train` (DESIGN.md's contract), parsed into a Trainer configuration.
 * Shared by `train`, `evaluate` and `demo`.
 */
import type { ParseArgsConfig } from 'node:util';
import { readTable, type Table } from '../data/tables.js';
import { DEFAULT_SEQ_LEN, SEQ_LEN_CONFIG_FIELD, type SeqLenChoice } from '../pretrained/index.js';
import type { TrainerConfigInput } from '../train/config.js';
import { UsageError } from './flags.js';

/** The option table for node's parseArgs. */
export const TRAIN_OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  'text-column': { type: 'string' },
  'text-pair-column': { type: 'string' },
  'label-column': { type: 'string' },
  'validation-split': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  'seq-len': { type: 'string' },
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  'weight-decay': { type: 'string' },
  'warmup-steps': { type: 'string' },
  schedule: { type: 'string' },
  'clip-norm': { type: 'string' },
  'steps-per-execution': { type: 'string' },
  'gradient-accumulation-steps': { type: 'string' },
  replicas: { type: 'string' },
  precision: { type: 'string' },
  dropout: { type: 'string' },
  seed: { type: 'string' },
  'no-shuffle': { type: 'boolean' },
  padding: { type: 'string' },
  buckets: { type: 'string' },
  'group-by-length': { type: 'boolean' },
  head: { type: 'string' },
  plugin: { type: 'string' },
  'cpu-devices': { type: 'string' },
  out: { type: 'string' },
  'early-stopping': { type: 'string' },
  patience: { type: 'string' },
  'keep-best': { type: 'string' },
  'no-compile-cache': { type: 'boolean' },
  progress: { type: 'string' },
} satisfies NonNullable<ParseArgsConfig['options']>;

/** Help text for the training flags. */
export const TRAIN_FLAGS_HELP = `model and data
  --model DIR|tiny|mini|base   Hugging Face model dir, or a preset (randomly initialised)
  --data FILE                  .csv, .tsv or .jsonl
  --text-column NAME           column holding the text (default: text)
  --text-pair-column NAME      column holding a second text (sentence pairs), encoded as the
                               model's tokenizer encodes pairs
  --label-column NAME          column holding the label (default: label)
  --validation-split F         hold out the last fraction F of the rows (default 0)
  --seq-len N                  tokens per example (default: the length a model directory was
                               trained at, else 128 capped at max_position_embeddings)
  --head linear|mlp:N          classification head (default linear)
optimisation
  --epochs N (3)  --batch-size N global (32)  --lr X (5e-5)  --optimizer adam|adamw (adamw)
  --weight-decay X (0)  --warmup-steps N (0)  --schedule constant|linear (linear)
  --clip-norm X (1.0, 0 = off)  --dropout X (model's)  --seed N (42)  --no-shuffle
  --gradient-accumulation-steps N (1)
execution
  --plugin cpu|tpu|cuda|PATH (cpu)  --replicas N (1)  --cpu-devices N  --steps-per-execution N (8)
  --precision f32|bf16 (f32)  --no-compile-cache  --progress auto|bar|json|none
  --padding fixed|bucket|pack  pad rows to --seq-len (fixed), each batch to the smallest bucket
                               length that holds it (bucket, default), or pack several examples
                               per row (pack); the results are the same, the work is not
  --buckets N,N,...            bucket lengths, increasing, ending at --seq-len (default 16, 24,
                               32, ... steps of 8, then of an eighth past 128, then --seq-len)
  --group-by-length            sort rows by length within chunks of 50 shuffled batches
output
  --out DIR                    HF model dir + trainer_state/ + metrics.jsonl (resumes if present)
  --early-stopping METRIC      val_loss|val_accuracy|val_f1, with --patience N (2)
  --keep-best METRIC           keep the best checkpoint by this metric`;

function number(values: Record<string, unknown>, flag: string): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${String(raw)}'`);
  return n;
}

/** A comma-separated list of numbers (`--buckets 32,64,128`). */
function numbers(values: Record<string, unknown>, flag: string): number[] {
  const raw = String(values[flag]);
  const list = raw.split(',').map((part) => Number(part.trim()));
  if (raw.trim() === '' || list.some((n, i) => !Number.isFinite(n) || raw.split(',')[i]!.trim() === '')) throw new UsageError(`--${flag} must be comma-separated numbers such as 32,64,128, got '${raw}'`);
  return list;
}

/** Each Trainer config field set from a flag: the flag (without `--`) and how its value is read. */
const FIELD_FLAGS: readonly (readonly [field: string, flag: string, kind: 'string' | 'number' | 'numbers' | 'on' | 'off'])[] = [
  ['model', 'model', 'string'],
  ['plugin', 'plugin', 'string'],
  ['cpuDevices', 'cpu-devices', 'number'],
  ['replicas', 'replicas', 'number'],
  ['seqLen', 'seq-len', 'number'],
  ['batchSize', 'batch-size', 'number'],
  ['gradientAccumulationSteps', 'gradient-accumulation-steps', 'number'],
  ['stepsPerExecution', 'steps-per-execution', 'number'],
  ['epochs', 'epochs', 'number'],
  ['learningRate', 'lr', 'number'],
  ['optimizer', 'optimizer', 'string'],
  ['weightDecay', 'weight-decay', 'number'],
  ['warmupSteps', 'warmup-steps', 'number'],
  ['schedule', 'schedule', 'string'],
  ['clipNorm', 'clip-norm', 'number'],
  ['precision', 'precision', 'string'],
  ['dropout', 'dropout', 'number'],
  ['seed', 'seed', 'number'],
  ['shuffle', 'no-shuffle', 'off'],
  ['padding', 'padding', 'string'],
  ['buckets', 'buckets', 'numbers'],
  ['groupByLength', 'group-by-length', 'on'],
  ['head', 'head', 'string'],
  ['validationSplit', 'validation-split', 'number'],
  ['out', 'out', 'string'],
  ['keepBest', 'keep-best', 'string'],
  ['compileCache', 'no-compile-cache', 'off'],
  ['progress', 'progress', 'string'],
  ['task', 'task', 'string'],
  ['threshold', 'threshold', 'number'],
  ['earlyStopping.metric', 'early-stopping', 'string'],
  ['earlyStopping.patience', 'patience', 'number'],
];

/** The flag that sets a Trainer config field (`batchSize` -> `--batch-size`); the field itself when none does. Sync. */
export function flagOfField(field: string): string {
  const row = FIELD_FLAGS.find(([name]) => name === field);
  return row ? `--${row[1]}` : field;
}

/** Maps parsed flag values to a Trainer config (validation happens in parseTrainerConfig). Sync; throws UsageError. */
export function trainConfigFromFlags(values: Record<string, unknown>): TrainerConfigInput {
  const config: Record<string, unknown> = {};
  for (const [field, flag, kind] of FIELD_FLAGS) {
    if (field.startsWith('earlyStopping.') || values[flag] === undefined) continue;
    config[field] = kind === 'number' ? number(values, flag) : kind === 'numbers' ? numbers(values, flag) : kind === 'off' ? (values[flag] ? false : undefined) : kind === 'on' ? (values[flag] ? true : undefined) : values[flag];
  }
  config.progress ??= 'auto'; // the library is silent by default; the command shows progress
  const metric = values['early-stopping'];
  if (metric !== undefined) config.earlyStopping = { metric, patience: number(values, 'patience') };
  else if (values.patience !== undefined) throw new UsageError('--patience needs --early-stopping METRIC');
  for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key];
  return config as TrainerConfigInput;
}

/**
 * What `predict` and `evaluate` say about the sequence length used with model `dir`: the
 * training length or the default when none was asked for, a warning when the length asked for
 * differs from the training length, else nothing (undefined). Sync; never throws.
 */
export function seqLenNote(choice: SeqLenChoice, dir: string): string | undefined {
  const { seqLen, source, trained, maxPositionEmbeddings } = choice;
  if (source === 'trained') return `--seq-len ${seqLen}, the length ${dir} was trained at`;
  if (source === 'default') {
    const capped = seqLen < DEFAULT_SEQ_LEN ? ` ${DEFAULT_SEQ_LEN} capped at max_position_embeddings ${maxPositionEmbeddings}` : '';
    return `--seq-len ${seqLen}, the default${capped}: ${dir}/config.json does not record the length the model was trained at (${SEQ_LEN_CONFIG_FIELD})`;
  }
  if (trained === undefined || trained === seqLen) return undefined;
  return `warning: ${dir} was trained at --seq-len ${trained} but --seq-len ${seqLen} was asked for; texts are cut and padded unlike in training, so results may differ (leave out --seq-len to use ${trained})`;
}

/**
 * Reads `--data` with the text, pair and label columns of the flags (or `labelColumns`, the
 * 0/1 columns of multi-label data). Async; rejects with readTable's FileFormatError.
 */
export async function readTableFromFlags(values: Record<string, unknown>, options: { labels: boolean; labelColumns?: readonly string[] }): Promise<Table> {
  const pairColumn = values['text-pair-column'] as string | undefined;
  return readTable(values.data as string, {
    textColumn: (values['text-column'] as string) ?? 'text',
    ...(options.labels ? { labelColumn: (values['label-column'] as string) ?? 'label' } : {}),
    ...(options.labelColumns ? { labelColumns: options.labelColumns } : {}),
    ...(pairColumn !== undefined ? { pairColumn } : {}),
  });
}
