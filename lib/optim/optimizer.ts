/**
 * What an optimizer is to the rest of the package: `init(params) -> state` and
 * `update(params, grads, state) -> { params, state, lr }`, traced functions over parameter
 * trees keyed by Hugging Face names. The state is an opaque tree of tensors: the train program
 * carries it, the devices keep it between calls (donated), checkpoints save it by its paths.
 * Optimizers are built from one settings object through the table `OPTIMIZERS` (optimizers.ts):
 * adding one is a file plus a row there.
 */
import type { Tensor, Tree } from '../trace/index.js';
import type { LearningRate } from './schedules.js';

/** Parameters, gradients or moments keyed by Hugging Face parameter name. */
export type ParameterTree = Record<string, Tensor>;

/** An optimizer's state: any tree of tensors (Adam's is `{ step, m, v }`). */
export type OptimizerState = Tree<Tensor>;

/** Result of one {@link Optimizer.update}. */
export type OptimizerUpdate<P extends ParameterTree, S extends OptimizerState = OptimizerState> = {
  readonly params: P;
  readonly state: S;
  /** The learning rate this update used (f32 scalar), for logging. */
  readonly lr: Tensor;
};

/** An optimizer whose `init` and `update` are traced functions (call them inside `jit`/`trace`). */
export interface Optimizer<S extends OptimizerState = OptimizerState> {
  /** Its name in the table (`adam`, `adamw`). */
  readonly kind: string;
  /** Fresh state for `params`. Sync, traced. */
  init(params: ParameterTree): S;
  /**
   * One update of every parameter. Sync, traced; throws TypeError when `grads` or the state
   * are not keyed like the parameters, ShapeError when shapes differ.
   */
  update<P extends ParameterTree>(params: P, grads: ParameterTree, state: S): OptimizerUpdate<P, S>;
}

/** The settings every optimizer of the table is built from (each uses what applies to it). */
export interface OptimizerSettings {
  /** A fixed learning rate, or a schedule of the completed step count. */
  readonly lr: LearningRate;
  /** Moment decay rates (Adam's betas). */
  readonly betas: readonly [number, number];
  /** Added to denominators. */
  readonly eps: number;
  /** Weight decay. */
  readonly weightDecay: number;
  /** Which parameters get weight decay, by name (default: all but biases and norms). */
  readonly decays?: (name: string) => boolean;
}
