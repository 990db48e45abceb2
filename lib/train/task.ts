/**
 * What a fine-tuning task is to the Trainer: the head it puts on any encoder family, the
 * targets it trains on, its loss (traced, weighted so that padding counts for nothing and a
 * data-parallel shard can divide by the global count), the metrics it reports, and how its
 * predictions read. One file per task implements {@link Task}; the table is tasks.ts.
 *
 * Targets, per example, in one typed array of `count x targetWidth(...)` values:
 *   classification         s32 class id                       (width 1)
 *   regression             f32 value                          (width 1)
 *   multi-label            f32 0/1 per label                  (width = labels)
 *   token-classification   s32 tag id per position, -100 where the loss ignores it (width = S)
 */
import type { Tensor } from '../trace/index.js';

/** The tasks `--task` names. */
export type TaskName = 'classification' | 'regression' | 'multi-label' | 'token-classification';

/** Host metrics of an evaluation, by name (`accuracy`, `macro_f1`, `mse`, `f1`, ...). */
export type TaskMetrics = Record<string, number>;

/** The label id a token-classification target uses for positions the loss ignores (HF's -100). */
export const IGNORED = -100;

/** A fine-tuning task (see the module comment). */
export interface Task {
  readonly name: TaskName;
  /** Hugging Face's `problem_type` for config.json (undefined: HF infers it, as for tokens). */
  readonly problemType: string | undefined;
  /** Whether logits come per example (`sequence`) or per token (`token`). */
  readonly granularity: 'sequence' | 'token';
  /** dtype of the targets. */
  readonly targetDtype: 's32' | 'f32';
  /** Values per example in the targets: 1, the label count, or the sequence length. */
  targetWidth(labels: number, seqLen: number): number;
  /** Head outputs for `labels` label names (1 for regression). */
  outputs(labels: number): number;
  /**
   * The weights of the loss's units, traced: examples ([m], `weights`: 1 for a real example, 0
   * for padding), or tokens for token classification ([m, S]: tagged positions of real
   * examples). The program divides the summed loss by the global sum of these.
   */
  unitWeights(targets: Tensor, weights: Tensor): Tensor;
  /** Per-unit losses (the shape of `unitWeights`), traced: `logits` [m, C] (or [m, S, C]) against targets [m, width]. */
  unitLosses(logits: Tensor, targets: Tensor): Tensor;
  /** 1 where a unit is predicted right (accuracy's numerator, before weighting), traced; undefined for regression. */
  hits?(logits: Tensor, targets: Tensor): Tensor;
  /**
   * The metrics of all logits (f32, row-major) against the targets, on the host, with the
   * task's tables (per class, per label, per entity type) as text and as JSON. Sync.
   */
  report(logits: Float32Array, targets: Int32Array | Float32Array, labels: readonly string[], seqLen: number): TaskReport;
}

/** What {@link Task.report} gives: the headline metrics, and the detail behind them. */
export interface TaskReport {
  /** The headline metrics (`val_<name>` in training). */
  metrics: TaskMetrics;
  /** The task's tables as `pjrt-bert evaluate` prints them. */
  text: string;
  /** The same detail as JSON (per-class scores, confusion matrix, entity types, ...). */
  details: Record<string, unknown>;
}
