/**
 * Shape manipulation, creation, indexing, reductions and matrix products for users, with
 * negative axes, `-1` in reshapes and numpy-style matmul broadcasting.
 */
import type { DType } from '../../stablehlo/dtype.js';
import { ShapeError, broadcastShapes, elementCount, normalizeAxis, tensorType } from '../../stablehlo/shape.js';
import * as lax from '../lax.js';
import type { ConstantValue, ParamsOf } from '../primitive.js';
import type { Tensor } from '../tensor.js';
import { asTensor, broadcastTo, div, equal, type TensorLike } from './math.js';

/** A tensor of `shape` and `dtype` holding `values` (one value repeated, or all values row-major). Sync; throws RangeError for a wrong count. */
export const constant = (values: ConstantValue, shape: readonly number[], dtype: DType = 'f32'): Tensor => lax.constant(values, tensorType(dtype, shape));
/** A tensor of `shape` filled with `value`. Sync. */
export const full = (shape: readonly number[], value: number, dtype: DType = 'f32'): Tensor => constant(value, shape, dtype);
/** Zeros of `shape`. Sync. */
export const zeros = (shape: readonly number[], dtype: DType = 'f32'): Tensor => constant(0, shape, dtype);
/** Ones of `shape`. Sync. */
export const ones = (shape: readonly number[], dtype: DType = 'f32'): Tensor => constant(1, shape, dtype);
/** `0, 1, ...` along `axis` of `shape` (default: a vector [0, n)). Sync; throws ShapeError. */
export const iota = (shape: readonly number[], dtype: DType = 's32', axis = 0): Tensor => lax.iota(tensorType(dtype, shape), axis);
/** `x`, through which no gradient flows. Sync. */
export const stopGradient = (x: Tensor): Tensor => lax.stopGradient(x);

/** `x` reshaped; one dimension may be `-1` (inferred). Sync; throws ShapeError. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const inferred = shape.indexOf(-1);
  if (inferred < 0) return lax.reshape(x, shape);
  const rest = shape.filter((_, i) => i !== inferred);
  const known = rest.every((d) => Number.isInteger(d) && d >= 0) ? elementCount(rest) : 0;
  if (known === 0 || elementCount(x.shape) % known !== 0 || shape.indexOf(-1, inferred + 1) >= 0) {
    throw new ShapeError('reshape', `cannot reshape to [${shape.join(',')}]`, [['x', x.type]]);
  }
  return lax.reshape(
    x,
    shape.map((d) => (d === -1 ? elementCount(x.shape) / known : d)),
  );
}

/** `x` with dimensions permuted (default: reversed). Sync; throws ShapeError. */
export function transpose(x: Tensor, permutation?: readonly number[]): Tensor {
  return lax.transpose(x, permutation ?? [...x.shape.keys()].reverse());
}

/** `x` with a size-1 dimension inserted at `axis` (negative counts from the end of the result). Sync; throws ShapeError. */
export function expandDims(x: Tensor, axis: number): Tensor {
  const at = axis < 0 ? axis + x.rank + 1 : axis;
  if (!Number.isInteger(at) || at < 0 || at > x.rank) throw new ShapeError('expandDims', `axis ${axis} out of range`, [['x', x.type]]);
  return lax.reshape(x, [...x.shape.slice(0, at), 1, ...x.shape.slice(at)]);
}

/** Tensors joined along `axis` (negative allowed). Sync; throws ShapeError. */
export function concatenate(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concatenate', 'needs at least one operand', []);
  return lax.concatenate(xs, normalizeAxis('concatenate', axis, xs[0]!.type));
}

/** A static slice `[start, limit)` per dimension with optional strides. Sync; throws ShapeError. */
export const slice = (x: Tensor, start: readonly number[], limit: readonly number[], strides?: readonly number[]): Tensor => lax.slice(x, start, limit, strides);

/** Rows of `table` at integer `indices`: [V, ...] x [...I] -> [...I, ...] (an embedding lookup). Sync; throws ShapeError. */
export const take = (table: Tensor, indices: Tensor): Tensor => lax.gather(table, indices);

/** Integer `labels` [...] as one-hot [..., classes] of `dtype`. Sync; throws ShapeError. */
export function oneHot(labels: Tensor, classes: number, dtype: DType = 'f32'): Tensor {
  const shape = [...labels.shape, classes];
  const hot = equal(lax.iota(tensorType(labels.dtype, shape), labels.rank), broadcastTo(expandDims(labels, -1), shape, 'oneHot'));
  return lax.convert(hot, dtype);
}

const startIndices = (starts: readonly TensorLike[]): Tensor[] => starts.map((start) => asTensor(start, 's32'));

/** A slice of `sizes` at run-time `starts` (numbers become s32; clamped into range). Sync; throws ShapeError. */
export const dynamicSlice = (x: Tensor, starts: readonly TensorLike[], sizes: readonly number[]): Tensor => lax.dynamicSlice(x, startIndices(starts), sizes);

/** `x` with `update` written at run-time `starts` (clamped into range). Sync; throws ShapeError. */
export const dynamicUpdateSlice = (x: Tensor, update: Tensor, starts: readonly TensorLike[]): Tensor =>
  lax.dynamicUpdateSlice(x, update, startIndices(starts));

/** Reduction axes: all when undefined, negatives resolved. */
function reductionAxes(op: string, x: Tensor, axes: number | readonly number[] | undefined): number[] {
  if (axes === undefined) return [...x.shape.keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  return list.map((axis) => normalizeAxis(op, axis, x.type));
}

function keepReducedDims(reduced: Tensor, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  return keepDims ? lax.reshape(reduced, x.shape.map((size, axis) => (axes.includes(axis) ? 1 : size))) : reduced;
}

/** Sum over `axes` (default all). Sync; throws ShapeError. */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const resolved = reductionAxes('sum', x, axes);
  return keepReducedDims(lax.reduceSum(x, resolved), x, resolved, keepDims);
}

/** Mean over `axes` (default all). Sync; throws ShapeError. */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const resolved = reductionAxes('mean', x, axes);
  const count = resolved.reduce((n, axis) => n * x.shape[axis]!, 1);
  return div(sum(x, resolved, keepDims), count);
}

/** Maximum over `axes` (default all); ties share the gradient. Sync; throws ShapeError. */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const resolved = reductionAxes('max', x, axes);
  return keepReducedDims(lax.reduceMax(x, resolved), x, resolved, keepDims);
}

/** Minimum over `axes` (default all). Sync; throws ShapeError. */
export function min(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return lax.neg(max(lax.neg(x), axes, keepDims));
}

/**
 * Index of the maximum along `axis` (the first one on ties), as s32, the axis removed.
 * Not differentiable (an integer result). Sync; throws ShapeError.
 */
export function argmax(x: Tensor, axis = -1): Tensor {
  const resolved = normalizeAxis('argmax', axis, x.type);
  const size = x.shape[resolved]!;
  const positions = lax.iota(tensorType('s32', x.shape), resolved);
  const isMax = equal(x, lax.broadcastInDim(lax.reduceMax(x, [resolved]), x.shape, [...x.shape.keys()].filter((d) => d !== resolved)));
  // the smallest position holding the maximum = -max(-position) over the winners
  const candidates = lax.select(isMax, lax.neg(positions), lax.constant(-size, positions.type));
  return lax.neg(lax.reduceMax(candidates, [resolved]));
}

/** Generalized matrix product (see `stablehlo.dot_general`). Sync; throws ShapeError naming both operands. */
export function dotGeneral(lhs: Tensor, rhs: Tensor, dims: ParamsOf['dot_general']): Tensor {
  return lax.dotGeneral(lhs, rhs, dims);
}

/**
 * Matrix product with numpy semantics: vectors are promoted and their dimension dropped,
 * [..., m, k] @ [k, n] contracts the last axis, and batch dimensions of two rank>=3 operands
 * broadcast. `resultDType` asks for a wider result (bf16 operands, f32 accumulation).
 * Sync; throws ShapeError naming both operands when the inner dimensions differ.
 */
export function matmul(lhs: Tensor, rhs: Tensor, resultDType?: DType): Tensor {
  if (lhs.rank === 0 || rhs.rank === 0) throw new ShapeError('matmul', 'operands must have at least one dimension', [['lhs', lhs.type], ['rhs', rhs.type]]);
  const dims = (lhsContracting: number, rhsContracting: number, batch = 0): ParamsOf['dot_general'] => ({
    lhsBatch: [...Array(batch).keys()],
    rhsBatch: [...Array(batch).keys()],
    lhsContracting: [lhsContracting],
    rhsContracting: [rhsContracting],
    resultDType: resultDType === lhs.dtype ? undefined : resultDType,
  });
  if (rhs.rank <= 2) return lax.dotGeneral(lhs, rhs, dims(lhs.rank - 1, 0));
  if (lhs.rank === 1) {
    // [k] @ [..., k, n] -> [..., n]
    const product = matmul(lax.reshape(lhs, [1, lhs.shape[0]!]), rhs, resultDType);
    return lax.reshape(product, [...product.shape.slice(0, -2), product.shape[product.rank - 1]!]);
  }
  const batch = broadcastShapes(lhs.shape.slice(0, -2), rhs.shape.slice(0, -2));
  if (!batch) throw new ShapeError('matmul', 'batch dimensions do not broadcast', [['lhs', lhs.type], ['rhs', rhs.type]]);
  const a = broadcastTo(lhs, [...batch, ...lhs.shape.slice(-2)], 'matmul');
  const b = broadcastTo(rhs, [...batch, ...rhs.shape.slice(-2)], 'matmul');
  return lax.dotGeneral(a, b, dims(batch.length + 1, batch.length, batch.length));
}
