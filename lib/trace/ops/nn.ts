/**
 * Neural-network building blocks composed from primitives (none is a primitive itself):
 * softmax, logSoftmax, exact GELU, layer normalization, cross-entropy over integer labels,
 * and dropout driven by an explicit s64[2] random key.
 */
import { isIntegerDType } from '../../stablehlo/dtype.js';
import { ShapeError, tensorType } from '../../stablehlo/shape.js';
import * as lax from '../lax.js';
import type { Tensor } from '../tensor.js';
import { max, mean, oneHot, sum } from './arrays.js';
import { add, div, erf, exp, greaterEqual, log, mul, rsqrt, square, sub, where } from './math.js';

/** `exp(x) / sum(exp(x))` along `axis` (default last), computed stably. Sync; throws ShapeError. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const exps = exp(sub(x, lax.stopGradient(max(x, axis, true))));
  return div(exps, sum(exps, axis, true));
}

/** `log(softmax(x))` along `axis` (default last), computed stably. Sync; throws ShapeError. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const shifted = sub(x, lax.stopGradient(max(x, axis, true)));
  return sub(shifted, log(sum(exp(shifted), axis, true)));
}

/** Exact GELU as Hugging Face's `gelu`: `0.5 * x * (1 + erf(x / sqrt(2)))`. Sync; throws ShapeError for non-floats. */
export function gelu(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(1, erf(mul(x, Math.SQRT1_2))));
}

/** Options of {@link layerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-12, BERT's `layer_norm_eps`). */
  readonly eps?: number;
}

/**
 * Layer normalization over the last axis, as `torch.nn.LayerNorm`: `(x - mean) /
 * sqrt(var + eps) * gamma + beta` with the biased variance; `gamma` and `beta` have the last
 * axis's size. Sync; throws ShapeError.
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, options: LayerNormOptions = {}): Tensor {
  const centered = sub(x, mean(x, -1, true));
  const variance = mean(square(centered), -1, true);
  const normalized = mul(centered, rsqrt(add(variance, options.eps ?? 1e-12)));
  return add(mul(normalized, gamma), beta);
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** `mean` (default) or `sum` over examples, or `none` for one loss per example. */
  readonly reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy of `logits` [..., C] against integer class `labels` [...], as
 * `torch.nn.functional.cross_entropy`. Sync; throws ShapeError if the label shape does not
 * match the logits' leading dimensions or labels are not integers.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const leading = logits.shape.slice(0, -1);
  if (labels.shape.join() !== leading.join() || !isIntegerDType(labels.dtype)) {
    throw new ShapeError('crossEntropy', `labels must be integers of shape [${leading.join(',')}]`, [['logits', logits.type], ['labels', labels.type]]);
  }
  const losses = lax.neg(sum(mul(oneHot(labels, logits.shape[logits.rank - 1]!, logits.dtype), logSoftmax(logits)), -1));
  const reduction = options.reduction ?? 'mean';
  return reduction === 'none' ? losses : reduction === 'sum' ? sum(losses) : mean(losses);
}

/** Random u32 bits of `shape` from an s64[2] `key`; returns `[nextKey, bits]`. Sync; throws ShapeError for a bad key. */
export function randomBits(key: Tensor, shape: readonly number[]): [Tensor, Tensor] {
  return lax.rngBitGenerator(key, shape);
}

/**
 * Inverted dropout: each element is zeroed with probability `rate`, the rest scaled by
 * `1 / (1 - rate)`. Returns `[output, nextKey]`; with `rate` 0 returns `[x, key]` unchanged.
 * Sync; throws RangeError unless 0 <= rate < 1, ShapeError for a bad key.
 */
export function dropout(x: Tensor, rate: number, key: Tensor): [Tensor, Tensor] {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
  if (rate === 0) return [x, key];
  const [nextKey, bits] = randomBits(key, x.shape);
  // keep an element when its 32 random bits are at least rate * 2^32: probability 1 - rate
  const threshold = lax.constant(Math.min(Math.round(rate * 2 ** 32), 2 ** 32 - 1), tensorType('u32', x.shape));
  const kept = where(greaterEqual(bits, threshold), div(x, 1 - rate), 0);
  return [kept, nextKey];
}
