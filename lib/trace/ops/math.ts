/**
 * Elementwise math for users: numpy-style broadcasting between operands, and JS numbers
 * mixing with tensors (a number takes the other operand's dtype). Broadcasting is emitted as
 * explicit broadcast_in_dim, whose VJP sums gradients back to each operand's shape.
 */
import { dtypeKind, type DType } from '../../stablehlo/dtype.js';
import { ShapeError, broadcastShapes, sameShape, tensorType } from '../../stablehlo/shape.js';
import * as lax from '../lax.js';
import type { ComparisonDirection } from '../primitive.js';
import { Tensor } from '../tensor.js';

/** A tensor, or a JS number standing for a constant of the other operand's dtype. */
export type TensorLike = Tensor | number;

/** The dtype numbers take when no tensor operand gives one. */
const DEFAULT_NUMBER_DTYPE: DType = 'f32';

/**
 * `value` as a tensor: a number becomes a constant of `dtype` (scalar, or of `shape`).
 * Sync; throws Error outside a trace.
 */
export function asTensor(value: TensorLike, dtype: DType = DEFAULT_NUMBER_DTYPE, shape: readonly number[] = []): Tensor {
  return value instanceof Tensor ? value : lax.constant(value, tensorType(dtype, shape));
}

/**
 * `x` broadcast to `shape` by numpy rules (dimensions aligned at the end; size 1 stretches).
 * Sync; throws ShapeError naming `op` (default `broadcastTo`) if it does not fit.
 */
export function broadcastTo(x: Tensor, shape: readonly number[], op = 'broadcastTo'): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const offset = shape.length - x.rank;
  const fits = offset >= 0 && x.shape.every((size, i) => size === 1 || size === shape[offset + i]);
  if (!fits) throw new ShapeError(op, `cannot broadcast to [${shape.join(',')}]`, [['x', x.type]]);
  return lax.broadcastInDim(
    x,
    shape,
    x.shape.map((_, i) => offset + i),
  );
}

/**
 * Both operands as tensors of one dtype broadcast to one shape. Sync; throws ShapeError naming
 * `op` and both operands on a dtype mismatch or shapes that do not broadcast.
 */
export function broadcastPair(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) return [asTensor(a), asTensor(b)];
  const ta = a instanceof Tensor ? a : numberLike(op, a, b as Tensor, 'lhs');
  const tb = b instanceof Tensor ? b : numberLike(op, b, ta, 'rhs');
  if (ta.dtype !== tb.dtype) throw new ShapeError(op, 'dtype mismatch', [['lhs', ta.type], ['rhs', tb.type]]);
  if (sameShape(ta.shape, tb.shape)) return [ta, tb];
  const shape = broadcastShapes(ta.shape, tb.shape);
  if (!shape) throw new ShapeError(op, 'shapes do not broadcast', [['lhs', ta.type], ['rhs', tb.type]]);
  return [broadcastTo(ta, shape, op), broadcastTo(tb, shape, op)];
}

/** The number `value` as a constant like `other`; throws ShapeError naming `op` if it is not a value of that dtype. */
function numberLike(op: string, value: number, other: Tensor, role: 'lhs' | 'rhs'): Tensor {
  const kind = dtypeKind(other.dtype);
  if ((kind !== 'float' && !Number.isInteger(value)) || (kind === 'unsigned' && value < 0) || (kind === 'bool' && value !== 0 && value !== 1)) {
    throw new ShapeError(op, `the number ${value} is not a ${other.dtype} value`, [[role === 'lhs' ? 'rhs' : 'lhs', other.type]]);
  }
  return lax.constant(value, other.type);
}

function binary(op: string, apply: (a: Tensor, b: Tensor) => Tensor): (a: TensorLike, b: TensorLike) => Tensor {
  return (a, b) => apply(...broadcastPair(op, a, b));
}

/** `a + b` with broadcasting. Sync; throws ShapeError. */
export const add = binary('add', lax.add);
/** `a - b` with broadcasting. Sync; throws ShapeError. */
export const sub = binary('sub', lax.sub);
/** `a * b` with broadcasting. Sync; throws ShapeError. */
export const mul = binary('mul', lax.mul);
/** `a / b` with broadcasting. Sync; throws ShapeError. */
export const div = binary('div', lax.div);
/** `a ** b` with broadcasting (floats). Sync; throws ShapeError. */
export const pow = binary('pow', lax.pow);
/** Elementwise maximum with broadcasting (ties split the gradient). Sync; throws ShapeError. */
export const maximum = binary('maximum', lax.max);
/** Elementwise minimum with broadcasting (ties split the gradient). Sync; throws ShapeError. */
export const minimum = binary('minimum', lax.min);

/** `-x`. Sync; throws ShapeError for pred/unsigned. */
export const neg = (x: TensorLike): Tensor => lax.neg(asTensor(x));
/** `e^x`. Sync; throws ShapeError for non-floats. */
export const exp = (x: TensorLike): Tensor => lax.exp(asTensor(x));
/** Natural log. Sync; throws ShapeError for non-floats. */
export const log = (x: TensorLike): Tensor => lax.log(asTensor(x));
/** Square root. Sync; throws ShapeError for non-floats. */
export const sqrt = (x: TensorLike): Tensor => lax.sqrt(asTensor(x));
/** `1/sqrt(x)`. Sync; throws ShapeError for non-floats. */
export const rsqrt = (x: TensorLike): Tensor => lax.rsqrt(asTensor(x));
/** Hyperbolic tangent. Sync; throws ShapeError for non-floats. */
export const tanh = (x: TensorLike): Tensor => lax.tanh(asTensor(x));
/** Error function. Sync; throws ShapeError for non-floats. */
export const erf = (x: TensorLike): Tensor => lax.erf(asTensor(x));
/** `x * x`. Sync; throws ShapeError. */
export const square = (x: TensorLike): Tensor => mul(x, x);
/** `|x|` (as max(x, -x); gradient 0 at 0). Sync; throws ShapeError. */
export const abs = (x: TensorLike): Tensor => maximum(x, neg(x));
/** `1 / (1 + e^-x)`. Sync; throws ShapeError for non-floats. */
export const sigmoid = (x: TensorLike): Tensor => div(1, add(1, exp(neg(x))));
/** `max(x, 0)`. Sync; throws ShapeError. */
export const relu = (x: TensorLike): Tensor => maximum(x, 0);

function comparison(op: string, direction: ComparisonDirection): (a: TensorLike, b: TensorLike) => Tensor {
  return (a, b) => lax.compare(...broadcastPair(op, a, b), direction);
}

/** `a == b` as pred, with broadcasting. Sync; throws ShapeError. */
export const equal = comparison('equal', 'EQ');
/** `a != b` as pred. Sync; throws ShapeError. */
export const notEqual = comparison('notEqual', 'NE');
/** `a < b` as pred. Sync; throws ShapeError. */
export const less = comparison('less', 'LT');
/** `a <= b` as pred. Sync; throws ShapeError. */
export const lessEqual = comparison('lessEqual', 'LE');
/** `a > b` as pred. Sync; throws ShapeError. */
export const greater = comparison('greater', 'GT');
/** `a >= b` as pred. Sync; throws ShapeError. */
export const greaterEqual = comparison('greaterEqual', 'GE');

/**
 * `predicate ? onTrue : onFalse` elementwise, all three broadcast together. Sync; throws
 * ShapeError if the predicate is not pred or shapes do not broadcast.
 */
export function where(predicate: Tensor, onTrue: TensorLike, onFalse: TensorLike): Tensor {
  const [a, b] = broadcastPair('where', onTrue, onFalse);
  const shape = broadcastShapes(predicate.shape, a.shape);
  if (!shape) throw new ShapeError('where', 'shapes do not broadcast', [['predicate', predicate.type], ['onTrue', a.type], ['onFalse', b.type]]);
  return lax.select(broadcastTo(predicate, shape, 'where'), broadcastTo(a, shape, 'where'), broadcastTo(b, shape, 'where'));
}

/** `x` converted to `dtype` (float -> int truncates toward zero). Sync. */
export const cast = (x: Tensor, dtype: DType): Tensor => lax.convert(x, dtype);
