/**
 * `lib/optim`: Adam/AdamW, learning-rate schedules and gradient clipping as traced functions
 * over parameter trees keyed by Hugging Face names, matching PyTorch and `transformers`.
 *
 *     const optimizer = adamw({ lr: linearSchedule({ lr: 2e-5, warmupSteps: 10, totalSteps: 500 }), weightDecay: 0.01 });
 *     const step = (params, state, batch) => {
 *       const grads = grad(loss)(params, batch);
 *       const { grads: clipped, norm } = clipGradNorm(grads, 1.0);
 *       return optimizer.update(params, clipped, state); // { params, state, lr }
 *     };
 */
export {
  adam,
  adamw,
  adamStateSpec,
  isDecayedParameter,
  oneMinusPower,
  type AdamOptions,
  type AdamState,
  type AdamUpdate,
  type Optimizer,
  type ParameterTree,
} from './adam.js';
export { type Optimizer as AnyOptimizer, type OptimizerSettings, type OptimizerState, type OptimizerUpdate } from './optimizer.js';
export { OPTIMIZERS, type OptimizerName, makeOptimizer } from './optimizers.js';
export { constantSchedule, linearSchedule, resolveLearningRate, type LearningRate, type LearningRateSchedule, type ScheduleOptions } from './schedules.js';
export { clipGradNorm, globalNorm, type ClippedGradients } from './clipping.js';
