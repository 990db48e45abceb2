/**
 * Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_` computes it:
 *
 *     norm_i     = sqrt(sum(g_i^2))                 per tensor
 *     totalNorm  = sqrt(sum_i norm_i^2)             the norm of the norms
 *     coef       = min(maxNorm / (totalNorm + 1e-6), 1)
 *     g_i        = g_i * coef                       every tensor, always (no branch)
 *
 * Traced, so it runs inside the train program after the gradient all-reduce and before the
 * optimizer update (the HF Trainer order: clip, optimizer step, scheduler step).
 */
import { ops, type Tensor } from '../trace/index.js';
import type { ParameterTree } from './adam.js';

/** Result of {@link clipGradNorm}. */
export interface ClippedGradients<G extends ParameterTree> {
  /** The gradients, scaled by `coef`. */
  readonly grads: G;
  /** The global norm before clipping (f32 scalar), what torch's `clip_grad_norm_` returns. */
  readonly norm: Tensor;
}

/**
 * The global L2 norm of all gradients (the norm of the per-tensor norms), f32 scalar.
 * Sync, traced; throws RangeError for an empty tree.
 */
export function globalNorm(grads: ParameterTree): Tensor {
  const tensors = Object.values(grads);
  if (tensors.length === 0) throw new RangeError('globalNorm: no gradients');
  const squaredNorms = tensors.map((g) => {
    const norm = ops.sqrt(ops.sum(ops.square(ops.cast(g, 'f32'))));
    return ops.square(norm);
  });
  return ops.sqrt(squaredNorms.reduce((total, squared) => ops.add(total, squared)));
}

/**
 * `torch.nn.utils.clip_grad_norm_(grads, maxNorm)`: scales every gradient by
 * `min(maxNorm / (norm + 1e-6), 1)` and returns the pre-clipping norm. Sync, traced; throws
 * RangeError for an empty tree or a `maxNorm` that is not a positive number.
 */
export function clipGradNorm<G extends ParameterTree>(grads: G, maxNorm: number): ClippedGradients<G> {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be a positive number, got ${maxNorm}`);
  const norm = globalNorm(grads);
  const coef = ops.minimum(ops.div(maxNorm, ops.add(norm, 1e-6)), 1);
  const clipped = Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, ops.mul(g, ops.cast(coef, g.dtype))]));
  return { grads: clipped as G, norm };
}
