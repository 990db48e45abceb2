/**
 * The Trainer's configuration: one zod schema covering every `pjrt-bert train` flag of
 * DESIGN.md, plus gradient accumulation, early stopping and callbacks. Validation errors name
 * each bad field, the value given and what is allowed.
 */
import { z } from 'zod';

/**
 * Metrics that early stopping and "keep the best checkpoint" can watch: `val_` and a metric of
 * the task (`val_loss`, `val_accuracy`, `val_f1`, `val_pearson`, `val_exact_match`, ...); loss,
 * MSE and MAE are better lower, the others higher.
 */
export const WATCHABLE_METRICS = ['val_loss', 'val_accuracy', 'val_f1', 'val_macro_f1', 'val_precision', 'val_recall', 'val_mse', 'val_mae', 'val_pearson', 'val_spearman', 'val_exact_match'] as const;

/** Whether a lower value of metric `name` is better. Sync. */
export function lowerIsBetter(name: string): boolean {
  return /(^|_)(loss|mse|mae)$/.test(name);
}

/** Per-epoch results handed to callbacks and written to metrics.jsonl. */
export interface EpochMetrics {
  epoch: number;
  step: number;
  /** Mean training loss of the epoch (over its units: examples, or tagged tokens). */
  loss: number;
  /** Training accuracy (exact match for multi-label, token accuracy for tokens); absent for regression. */
  accuracy?: number;
  /** Validation metrics of the task, `val_<name>` (val_loss, val_accuracy, val_f1, val_pearson, ...). */
  [validation: `val_${string}`]: number | undefined;
  examplesPerSecond: number;
  /** Training wall time of the epoch, compiling and validation excluded. */
  seconds: number;
  /** Time spent tracing and compiling programs during the epoch (the first one, unless cached). */
  compileSeconds: number;
  /** Time spent on validation after the epoch, its compile excluded. */
  validationSeconds?: number;
  /**
   * Host time per call (building and sending token slabs, reading the metrics) over the time
   * the call spent waiting for the program: the host's overhead relative to device time.
   */
  hostOverDevice: number;
  /** Token slots of the epoch's train calls that held padding (0 to 1): what the padding mode saves. */
  paddingFraction: number;
  /** Programs compiled by the run so far (train and eval, one per distinct shape). */
  programsCompiled: number;
}

/** Progress of one call of the train program (K steps). */
export interface StepProgress {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  /** Absent for regression. */
  accuracy?: number;
  examplesPerSecond: number;
}

/** Hooks called during `fit` (sync or async); returning `false` from onEpochEnd stops training. */
export interface TrainerCallbacks {
  onStep?: (progress: StepProgress) => void | Promise<void>;
  onEpochEnd?: (metrics: EpochMetrics) => void | boolean | Promise<void | boolean>;
}

const positiveInt = z.number().int().positive();

/** The schema of {@link TrainerConfig}; defaults noted per field. */
export const trainerConfigSchema = z
  .object({
    /** HF model directory, or a preset: `tiny`, `mini`, `base` (randomly initialised). */
    model: z.string().min(1),
    /** PJRT plugin: `cpu` (default), `tpu`, `cuda` or a path. */
    plugin: z.string().min(1).default('cpu'),
    /** CPU plugin only: virtual devices to create (default: `replicas`). */
    cpuDevices: positiveInt.optional(),
    /** Data-parallel replicas; each global batch is split into equal shards (default 1). */
    replicas: positiveInt.default(1),
    /** Tokens per example, padded or truncated (default 128). */
    seqLen: z.number().int().min(2).default(128),
    /** Global batch size, over all replicas (default 32). */
    batchSize: positiveInt.default(32),
    /** Micro-batches accumulated per optimizer step (default 1). */
    gradientAccumulationSteps: positiveInt.default(1),
    /** Optimizer steps per call of the compiled train program (default 8). */
    stepsPerExecution: positiveInt.default(8),
    /** Epochs over the training rows (default 3). */
    epochs: positiveInt.default(3),
    /** Peak learning rate (default 5e-5). */
    learningRate: z.number().positive().default(5e-5),
    /** `adam` = torch.optim.Adam, `adamw` = torch.optim.AdamW (default). */
    optimizer: z.enum(['adam', 'adamw']).default('adamw'),
    /** Weight decay; never applied to biases and LayerNorm weights (default 0). */
    weightDecay: z.number().min(0).default(0),
    /** Adam betas and epsilon (defaults 0.9, 0.999, 1e-8). */
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: z.number().positive().default(1e-8),
    /** Linear warm-up steps (default 0). */
    warmupSteps: z.number().int().min(0).default(0),
    /** Learning-rate schedule after warm-up: `constant` or `linear` decay to 0 (default). */
    schedule: z.enum(['constant', 'linear']).default('linear'),
    /** Clip gradients to this global norm; 0 disables (default 1.0, as HF Trainer). */
    clipNorm: z.number().min(0).default(1.0),
    /** `f32`, or `bf16` (bf16 matmuls and activations, f32 master weights and optimizer state). */
    precision: z.enum(['f32', 'bf16']).default('f32'),
    /** Overrides the model's hidden, attention and head dropout (default: the model's). */
    dropout: z.number().min(0).lt(1).optional(),
    /** Seed of initialisation, shuffling and dropout (default 42). */
    seed: z.number().int().min(0).default(42),
    /** Shuffle the training rows each epoch (default true; false keeps file order). */
    shuffle: z.boolean().default(true),
    /**
     * How rows are padded (see train/padding.ts): `fixed` to `seqLen`; `bucket` (default) each
     * call to the smallest of `buckets` that holds its longest example; `pack` several examples
     * per row of `seqLen` tokens. The mathematics is the same; only the work differs.
     */
    padding: z.enum(['fixed', 'bucket', 'pack']).default('bucket'),
    /** Bucket lengths, increasing, ending at `seqLen` (checked once `seqLen` is known; default 16, 32, 64, ... then `seqLen`). */
    buckets: z.array(z.number().int().min(2)).min(1).optional(),
    /** Sort rows by length within shuffled chunks of 50 batches (HF's `group_by_length`), so batches waste less. */
    groupByLength: z.boolean().default(false),
    /** What to fine-tune for (default classification); see the task table (train/tasks.ts). */
    task: z.enum(['classification', 'regression', 'multi-label', 'token-classification']).default('classification'),
    /** Multi-label: the probability from which a label is predicted (default 0.5). */
    threshold: z.number().gt(0).lt(1).default(0.5),
    /** Sequence head: `linear` (the family's HF head) or `mlp:N` (Dense(N, relu) -> Dropout -> Dense); token classification always uses HF's token head. */
    head: z.string().regex(/^(linear|mlp:[1-9][0-9]*)$/, 'expected "linear" or "mlp:N" with N a positive integer').default('linear'),
    /** Fraction of rows, taken from the end before shuffling, held out for validation (default 0). */
    validationSplit: z.number().min(0).lt(1).default(0),
    /** Stop when `metric` has not improved by `minDelta` for `patience` epochs. */
    earlyStopping: z
      .object({ metric: z.enum(WATCHABLE_METRICS).default('val_loss'), patience: positiveInt.default(2), minDelta: z.number().min(0).default(0) })
      .strict()
      .optional(),
    /** Output directory: an HF model dir + trainer_state/ + metrics.jsonl, written each epoch. */
    out: z.string().min(1).optional(),
    /** Keep the checkpoint with the best value of this metric in `out` (default: the last). */
    keepBest: z.enum(WATCHABLE_METRICS).optional(),
    /** Folder of the on-disk compile cache (default: pjrt-bert's cache folder; `false` disables). */
    compileCache: z.union([z.string().min(1), z.literal(false)]).optional(),
    /**
     * Progress output: `bar` (stderr), `json` lines (stdout), `auto` (a bar on a terminal, else
     * JSON lines) or `none` (default: a library prints nothing unless asked; the CLI uses auto).
     */
    progress: z.enum(['auto', 'bar', 'json', 'none']).default('none'),
    /** Hooks called during fit. */
    callbacks: z.custom<TrainerCallbacks>((value) => value === undefined || (typeof value === 'object' && value !== null)).optional(),
  })
  .strict()
  .superRefine((config, context) => {
    const shards = config.replicas * config.gradientAccumulationSteps;
    if (config.batchSize % shards !== 0) {
      context.addIssue({
        code: 'custom',
        path: ['batchSize'],
        message: `batch size ${config.batchSize} must be divisible by replicas x gradientAccumulationSteps = ${config.replicas} x ${config.gradientAccumulationSteps} = ${shards}`,
      });
    }
  });

/** What `Trainer.create` accepts (defaults filled in as documented on each field). */
export type TrainerConfigInput = z.input<typeof trainerConfigSchema>;
/** A validated configuration with every default applied. */
export type TrainerConfig = z.output<typeof trainerConfigSchema>;

/** One field that does not validate. */
export interface ConfigIssue {
  /** The field's path, e.g. `batchSize` or `earlyStopping.patience`; empty for the whole config. */
  field: string;
  /** What is wrong, and what is allowed. */
  message: string;
  /** The value given, as JSON (absent for cross-field problems). */
  given?: string;
}

/** A configuration that does not validate: lists every bad field. */
export class ConfigError extends Error {
  override name = 'ConfigError';

  /** @param issues every bad field. */
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(formatConfigIssues(issues, (field) => field));
  }

  /** The message with each field spelled by `nameOf` (e.g. the CLI flag `--batch-size`). Sync. */
  describe(nameOf: (field: string) => string): string {
    return formatConfigIssues(this.issues, nameOf);
  }
}

function formatConfigIssues(issues: readonly ConfigIssue[], nameOf: (field: string) => string): string {
  const lines = issues.map((issue) => {
    const text = issue.message.replace(/\b(batchSize|replicas|gradientAccumulationSteps)\b/g, (field) => nameOf(field));
    return `  ${issue.field ? nameOf(issue.field) : '(config)'}: ${text}${issue.given !== undefined ? ` (got ${issue.given})` : ''}`;
  });
  return `invalid trainer config:\n${lines.join('\n')}`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Validates `input` and fills in defaults. Sync.
 * @throws ConfigError naming each bad field, the value given and what is allowed.
 */
export function parseTrainerConfig(input: unknown): TrainerConfig {
  const result = trainerConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue): ConfigIssue => {
    let given: unknown = input;
    for (const key of issue.path) given = (given as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
    return { field: issue.path.join('.'), message: issue.message, ...(issue.path.length && issue.code !== 'custom' ? { given: describe(given) } : {}) };
  });
  throw new ConfigError(issues);
}

/** Hidden size of the `mlp:N` head, or undefined for `linear`. Sync. */
export function mlpHeadSize(head: string): number | undefined {
  const match = /^mlp:(\d+)$/.exec(head);
  return match ? Number(match[1]) : undefined;
}
