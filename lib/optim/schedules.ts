/**
 * Learning-rate schedules with warmup, as traced functions of the completed step count, with
 * the semantics of Hugging Face `transformers`' `get_constant_schedule_with_warmup` and
 * `get_linear_schedule_with_warmup` (a `LambdaLR` stepped after every optimizer step):
 *
 *     factor(s) = s / max(1, warmup)                                    while s < warmup
 *               = 1                                                     constant, after warmup
 *               = max(0, (total - s) / max(1, total - warmup))          linear, after warmup
 *     lr(s)     = baseLr * factor(s)
 *
 * where `s` counts the updates done before this one: the first update uses `s = 0`, so with
 * warmup it has learning rate 0, exactly as in the HF Trainer. Each schedule also evaluates on
 * the host (`valueAt`, in double precision) for logging.
 */
import { ops, type Tensor } from '../trace/index.js';

/** A learning rate as a traced function of the completed update count (s32 scalar) -> f32 scalar. */
export interface LearningRateSchedule {
  /** The learning rate of the update after `completedSteps` updates. Sync, traced. */
  (completedSteps: Tensor): Tensor;
  /** The same value on the host in double precision. Sync; throws RangeError for a negative or fractional step. */
  valueAt(completedSteps: number): number;
  /** `constant` or `linear`. */
  readonly kind: 'constant' | 'linear';
  /** The settings the schedule was made with. */
  readonly settings: Readonly<ScheduleOptions>;
}

/** A fixed learning rate or a schedule. */
export type LearningRate = number | LearningRateSchedule;

/** Settings of {@link constantSchedule} and {@link linearSchedule}. */
export interface ScheduleOptions {
  /** The peak learning rate, reached after warmup. */
  readonly lr: number;
  /** Updates over which the rate climbs linearly from 0 (default 0). */
  readonly warmupSteps?: number;
  /** Total updates of the run (linear only): the rate reaches 0 there and stays 0. */
  readonly totalSteps?: number;
}

/**
 * `get_constant_schedule_with_warmup`: linear warmup from 0 over `warmupSteps`, then `lr`.
 * Sync; throws RangeError for a negative lr or a warmup that is not a non-negative integer.
 */
export function constantSchedule(options: ScheduleOptions): LearningRateSchedule {
  const { lr, warmup } = checkCommon('constantSchedule', options);
  const factor = (s: number): number => (s < warmup ? s / Math.max(1, warmup) : 1);
  return makeSchedule('constant', options, factor, (s) => ops.where(ops.less(s, warmup), ops.div(s, Math.max(1, warmup)), 1), lr);
}

/**
 * `get_linear_schedule_with_warmup`: linear warmup from 0 over `warmupSteps`, then linear
 * decay to 0 at `totalSteps`. Sync; throws RangeError for a negative lr, bad step counts, or
 * a missing `totalSteps`.
 */
export function linearSchedule(options: ScheduleOptions): LearningRateSchedule {
  const { lr, warmup } = checkCommon('linearSchedule', options);
  const total = options.totalSteps;
  if (total === undefined || !Number.isInteger(total) || total < 0) throw new RangeError(`linearSchedule: totalSteps must be a non-negative integer, got ${total}`);
  const decaySpan = Math.max(1, total - warmup);
  const factor = (s: number): number => (s < warmup ? s / Math.max(1, warmup) : Math.max(0, (total - s) / decaySpan));
  const traced = (s: Tensor): Tensor =>
    ops.where(ops.less(s, warmup), ops.div(s, Math.max(1, warmup)), ops.maximum(0, ops.div(ops.sub(total, s), decaySpan)));
  return makeSchedule('linear', options, factor, traced, lr);
}

/**
 * The learning rate (f32 scalar) for the update after `completedSteps` (an integer scalar
 * tensor): the number itself, or the schedule's value. Sync, traced.
 */
export function resolveLearningRate(lr: LearningRate, completedSteps: Tensor): Tensor {
  return typeof lr === 'number' ? ops.full([], lr, 'f32') : lr(completedSteps);
}

function checkCommon(what: string, options: ScheduleOptions): { lr: number; warmup: number } {
  const warmup = options.warmupSteps ?? 0;
  if (!(options.lr >= 0)) throw new RangeError(`${what}: lr must be a non-negative number, got ${options.lr}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`${what}: warmupSteps must be a non-negative integer, got ${warmup}`);
  return { lr: options.lr, warmup };
}

function makeSchedule(
  kind: 'constant' | 'linear',
  settings: ScheduleOptions,
  factor: (completedSteps: number) => number,
  tracedFactor: (completedSteps: Tensor) => Tensor,
  lr: number,
): LearningRateSchedule {
  const schedule = (completedSteps: Tensor): Tensor => ops.mul(tracedFactor(ops.cast(completedSteps, 'f32')), lr);
  const valueAt = (completedSteps: number): number => {
    if (!Number.isInteger(completedSteps) || completedSteps < 0) throw new RangeError(`${kind} schedule: step must be a non-negative integer, got ${completedSteps}`);
    return lr * factor(completedSteps);
  };
  return Object.assign(schedule, { valueAt, kind, settings: { ...settings } });
}
