/**
 * Neural-network building blocks composed from primitives (none is a primitive itself):
 * softmax, logSoftmax, exact GELU, layer normalization, cross-entropy over integer labels,
 * and dropout: driven by one explicit s64[2] random key (`rng_bit_generator`), or by one u32
 * key per row (Threefry-2x32 written out in elementwise ops), so a row's mask does not depend
 * on which other rows share its batch.
 */
import { isIntegerDType } from '../../stablehlo/dtype.js';
import { ShapeError, elementCount, tensorType } from '../../stablehlo/shape.js';
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

/** `x` (dropout's input) with elements zeroed where `bits` < rate * 2^32, the rest divided by 1 - rate. */
function keepWhere(x: Tensor, bits: Tensor, rate: number): Tensor {
  // keep an element when its 32 random bits are at least rate * 2^32: probability 1 - rate
  const threshold = lax.constant(Math.min(Math.round(rate * 2 ** 32), 2 ** 32 - 1), tensorType('u32', x.shape));
  return where(greaterEqual(bits, threshold), div(x, 1 - rate), 0);
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
  return [keepWhere(x, bits, rate), nextKey];
}

/** Rotation distances of Threefry-2x32 (Salmon et al. 2011, Random123), rounds 0-7, repeating. */
const THREEFRY_ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;
/** Threefish's key-schedule parity constant for 32-bit words. */
const THREEFRY_PARITY = 0x1bd11bda;

/**
 * Threefry-2x32 with 20 rounds (Random123's `threefry2x32`, as `jax.random`'s default
 * generator): a keyed bijection of the 64-bit counter `(counter[0], counter[1])` under the
 * 64-bit key `(key[0], key[1])`, elementwise over four u32 tensors of one shape. Returns the
 * two u32 output words. Sync; throws ShapeError unless all four are u32 of one shape.
 */
export function threefry2x32(key: readonly [Tensor, Tensor], counter: readonly [Tensor, Tensor]): [Tensor, Tensor] {
  const operands = [...key, ...counter];
  const type = operands[0]!.type;
  if (operands.some((t) => t.dtype !== 'u32' || t.shape.join() !== type.shape.join())) {
    throw new ShapeError('threefry2x32', 'expects four u32 operands of one shape', operands.map((t, i) => [['key0', 'key1', 'counter0', 'counter1'][i]!, t.type]));
  }
  const word = (value: number) => lax.broadcastInDim(lax.scalar(value >>> 0, 'u32'), type.shape, []);
  // rotate left: the two shifted parts have no bit in common, so adding them is or-ing them
  const rotate = (x: Tensor, r: number) => lax.add(lax.shiftLeft(x, word(r)), lax.shiftRightLogical(x, word(32 - r)));
  const schedule = [key[0], key[1], lax.xor(lax.xor(key[0], key[1]), word(THREEFRY_PARITY))];
  let x0 = lax.add(counter[0], schedule[0]!);
  let x1 = lax.add(counter[1], schedule[1]!);
  for (let injection = 1; injection <= 5; injection++) {
    for (let round = 0; round < 4; round++) {
      x0 = lax.add(x0, x1);
      x1 = lax.xor(rotate(x1, THREEFRY_ROTATIONS[((injection - 1) % 2) * 4 + round]!), x0);
    }
    x0 = lax.add(x0, schedule[injection % 3]!);
    x1 = lax.add(x1, lax.add(schedule[(injection + 1) % 3]!, word(injection)));
  }
  return [x0, x1];
}

/**
 * Random u32 bits of `shape` = [B, ...rest], row b drawn from its own key `keys[b]` (u32 [B, 2])
 * and `stream`: element e (row-major) of a row is the first word of threefry2x32(keys[b], (e,
 * stream)). A row's bits depend only on its key, `stream` and its position within the row, not
 * on B or the other rows; distinct streams of one key are independent. (One word per counter:
 * XLA computes each output word of a Threefry in its own fusion, so using both would double
 * the work and the compile time instead of halving them.) Sync; throws ShapeError for keys that
 * are not u32 [B, 2], RangeError for a `stream` outside [0, 2^32) or rows of 2^32 elements or more.
 */
export function rowRandomBits(keys: Tensor, shape: readonly number[], stream: number): Tensor {
  const [rows, ...rest] = shape;
  if (rows === undefined || keys.dtype !== 'u32' || keys.shape.join() !== `${rows},2`) {
    throw new ShapeError('rowRandomBits', `keys must be u32 [${rows ?? 'B'}, 2], one key per row of [${shape.join(',')}]`, [['keys', keys.type]]);
  }
  if (!Number.isInteger(stream) || stream < 0 || stream >= 2 ** 32) throw new RangeError(`rowRandomBits: stream must be an integer in [0, 2^32), got ${stream}`);
  const n = elementCount(rest);
  if (n >= 2 ** 32) throw new RangeError(`rowRandomBits: a row of ${n} elements needs more than 2^32 counters`);
  const flat = [rows, n];
  const column = (i: number) => lax.broadcastInDim(lax.reshape(lax.slice(keys, [0, i], [rows, i + 1]), [rows]), flat, [0]); // [B, 1] -> [B] -> [B, n]
  const counter = lax.iota(tensorType('u32', flat), 1);
  const [bits] = threefry2x32([column(0), column(1)], [counter, lax.broadcastInDim(lax.scalar(stream, 'u32'), flat, [])]);
  return lax.reshape(bits, shape);
}

/**
 * Inverted dropout with one key per row: as {@link dropout}, but element masks of row b of
 * `x` [B, ...] come from `rowRandomBits(keys, x.shape, stream)`, so they depend only on
 * `keys[b]`, `stream` and each element's position in the row. Use a different `stream` for each dropout site
 * sharing the keys. Sync; throws RangeError unless 0 <= rate < 1 or for a bad `stream`,
 * ShapeError for keys that are not u32 [B, 2].
 */
export function dropoutRows(x: Tensor, rate: number, keys: Tensor, stream: number): Tensor {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
  if (rate === 0) return x;
  return keepWhere(x, rowRandomBits(keys, x.shape, stream), rate);
}
