/**
 * Losses over logits, in f32, weighted so that padding examples of a partial batch count for
 * nothing and a data-parallel shard can divide by the global count: `sum(w * loss) / count`.
 */
import { ops, type Tensor } from '../trace/index.js';

/**
 * Mean cross-entropy of `logits` [B, C] against integer `labels` [B] over the real examples:
 * `sum(weight * loss) / count`, where `weights` [B] (1 for a real example, 0 for padding; all
 * ones when omitted) and `count` defaults to `max(sum(weights), 1)`. Sync; throws ShapeError.
 */
export function crossEntropyLoss(logits: Tensor, labels: Tensor, weights?: Tensor, count?: Tensor | number): Tensor {
  const losses = ops.crossEntropy(ops.cast(logits, 'f32'), labels, { reduction: 'none' }); // [B]
  if (!weights) return count === undefined ? ops.mean(losses) : ops.div(ops.sum(losses), count);
  const w = ops.cast(weights, 'f32');
  return ops.div(ops.sum(ops.mul(losses, w)), count ?? ops.maximum(ops.sum(w), 1));
}
