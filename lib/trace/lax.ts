/**
 * `bind`, the one way a primitive gets applied, and one thin typed function per primitive.
 * These take tensors of matching shapes and dtypes (no broadcasting, no scalar promotion:
 * that is `ops.ts`'s job); VJP rules and composites are written with them.
 */
import type { DType } from '../stablehlo/dtype.js';
import { ShapeError, sameShape, tensorType, type TensorType } from '../stablehlo/shape.js';
import type { ComparisonDirection, ConstantValue, ParamsOf, PrimitiveName } from './primitive.js';
import { Tensor, Trace, currentTrace, withTrace } from './tensor.js';

/**
 * Applies `primitive` to `inputs` in the current trace: runs its shape rule, records the
 * equation and returns the new output tensors. Sync; throws ShapeError from the shape rule,
 * Error when called outside a trace or with a tensor of an unrelated trace.
 */
export function bind<K extends PrimitiveName>(primitive: K, inputs: readonly Tensor[], params: ParamsOf[K]): Tensor[] {
  const trace = currentTrace(primitive);
  const local = inputs.map((input) => trace.adopt(input, primitive));
  const rule = trace.rules[primitive];
  const outputTypes = rule.shape(
    local.map((input) => input.type),
    params,
  );
  const outputs = outputTypes.map((type) => trace.newTensor(type));
  trace.equations.push({ primitive, inputs: local, params, outputs });
  return outputs;
}

const bind1 = <K extends PrimitiveName>(primitive: K, inputs: readonly Tensor[], params: ParamsOf[K]): Tensor => bind(primitive, inputs, params)[0]!;
const none = {} as Record<string, never>;

/** Elementwise `a + b` (same shape and dtype). Sync; throws ShapeError. */
export const add = (a: Tensor, b: Tensor): Tensor => bind1('add', [a, b], none);
/** Elementwise `a - b`. Sync; throws ShapeError. */
export const sub = (a: Tensor, b: Tensor): Tensor => bind1('sub', [a, b], none);
/** Elementwise `a * b`. Sync; throws ShapeError. */
export const mul = (a: Tensor, b: Tensor): Tensor => bind1('mul', [a, b], none);
/** Elementwise `a / b`. Sync; throws ShapeError. */
export const div = (a: Tensor, b: Tensor): Tensor => bind1('div', [a, b], none);
/** Elementwise maximum. Sync; throws ShapeError. */
export const max = (a: Tensor, b: Tensor): Tensor => bind1('max', [a, b], none);
/** Elementwise minimum. Sync; throws ShapeError. */
export const min = (a: Tensor, b: Tensor): Tensor => bind1('min', [a, b], none);
/** Elementwise `a ** b`. Sync; throws ShapeError. */
export const pow = (a: Tensor, b: Tensor): Tensor => bind1('pow', [a, b], none);
/** Elementwise `-x`. Sync; throws ShapeError for pred/unsigned. */
export const neg = (x: Tensor): Tensor => bind1('neg', [x], none);
/** Elementwise `e^x`. Sync; throws ShapeError for non-floats. */
export const exp = (x: Tensor): Tensor => bind1('exp', [x], none);
/** Elementwise natural log. Sync; throws ShapeError for non-floats. */
export const log = (x: Tensor): Tensor => bind1('log', [x], none);
/** Elementwise square root. Sync; throws ShapeError for non-floats. */
export const sqrt = (x: Tensor): Tensor => bind1('sqrt', [x], none);
/** Elementwise `1/sqrt(x)`. Sync; throws ShapeError for non-floats. */
export const rsqrt = (x: Tensor): Tensor => bind1('rsqrt', [x], none);
/** Elementwise tanh. Sync; throws ShapeError for non-floats. */
export const tanh = (x: Tensor): Tensor => bind1('tanh', [x], none);
/** Elementwise error function. Sync; throws ShapeError for non-floats. */
export const erf = (x: Tensor): Tensor => bind1('erf', [x], none);

/** Elementwise bitwise xor of integers. Sync; throws ShapeError for non-integers. */
export const xor = (a: Tensor, b: Tensor): Tensor => bind1('xor', [a, b], none);
/** Elementwise `a << b` on integers. Sync; throws ShapeError for non-integers. */
export const shiftLeft = (a: Tensor, b: Tensor): Tensor => bind1('shift_left', [a, b], none);
/** Elementwise `a >>> b` on integers (zeros shifted in). Sync; throws ShapeError for non-integers. */
export const shiftRightLogical = (a: Tensor, b: Tensor): Tensor => bind1('shift_right_logical', [a, b], none);

/** Elementwise comparison, giving pred. Sync; throws ShapeError. */
export const compare = (a: Tensor, b: Tensor, direction: ComparisonDirection): Tensor => bind1('compare', [a, b], { direction });
/** `predicate ? onTrue : onFalse` elementwise. Sync; throws ShapeError. */
export const select = (predicate: Tensor, onTrue: Tensor, onFalse: Tensor): Tensor => bind1('select', [predicate, onTrue, onFalse], none);

/** `x` converted to `dtype` (`x` itself if it already is). Sync. */
export function convert(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : bind1('convert', [x], { dtype });
}

/** A constant of `type`: one value repeated, or all values row-major. Sync; throws RangeError for a wrong count. */
export const constant = (value: ConstantValue, type: TensorType): Tensor => bind1('constant', [], { value, type });
/** A tensor like `like` (dtype and shape) filled with `value`. Sync. */
export const fullLike = (like: Tensor, value: number): Tensor => constant(value, like.type);
/** A scalar of `dtype`. Sync. */
export const scalar = (value: number, dtype: DType): Tensor => constant(value, tensorType(dtype, []));
/** `0, 1, 2, ...` along `dimension` of `type`. Sync; throws ShapeError for a bad dimension. */
export const iota = (type: TensorType, dimension: number): Tensor => bind1('iota', [], { type, dimension });

/**
 * `x` placed into `shape`: operand dimension i becomes result dimension broadcastDimensions[i]
 * (increasing); size-1 operand dimensions stretch. Sync; throws ShapeError.
 */
export function broadcastInDim(x: Tensor, shape: readonly number[], broadcastDimensions: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  return bind1('broadcast_in_dim', [x], { shape, broadcastDimensions });
}

/** `x` with a new shape of the same element count (`x` itself if unchanged). Sync; throws ShapeError. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return sameShape(x.shape, shape) ? x : bind1('reshape', [x], { shape });
}

/** `x` with dimensions permuted: result dimension i is operand dimension permutation[i]. Sync; throws ShapeError. */
export function transpose(x: Tensor, permutation: readonly number[]): Tensor {
  return permutation.every((axis, i) => axis === i) && permutation.length === x.rank ? x : bind1('transpose', [x], { permutation });
}

/** A static strided slice `[start, limit)`. Sync; throws ShapeError. */
export const slice = (x: Tensor, start: readonly number[], limit: readonly number[], strides: readonly number[] = start.map(() => 1)): Tensor =>
  bind1('slice', [x], { start, limit, strides });

/** `x` padded with the scalar `padValue`: `low`/`high` at the edges, `interior` between elements. Sync; throws ShapeError. */
export const pad = (x: Tensor, padValue: Tensor, low: readonly number[], high: readonly number[], interior: readonly number[]): Tensor =>
  bind1('pad', [x, padValue], { low, high, interior });

/** Tensors joined along `axis`. Sync; throws ShapeError. */
export function concatenate(xs: readonly Tensor[], axis: number): Tensor {
  return xs.length === 1 ? xs[0]! : bind1('concatenate', xs, { axis });
}

/** Sum over `axes` (removed from the shape). Sync; throws ShapeError. */
export function reduceSum(x: Tensor, axes: readonly number[]): Tensor {
  return axes.length === 0 ? x : bind1('reduce_sum', [x], { axes });
}

/** Maximum over `axes` (removed from the shape). Sync; throws ShapeError. */
export function reduceMax(x: Tensor, axes: readonly number[]): Tensor {
  return axes.length === 0 ? x : bind1('reduce_max', [x], { axes });
}

/**
 * Generalized matrix product: result dims are batch, lhs free, rhs free. Sync; throws
 * ShapeError naming both operands when dims do not match.
 */
export const dotGeneral = (lhs: Tensor, rhs: Tensor, dims: ParamsOf['dot_general']): Tensor => bind1('dot_general', [lhs, rhs], dims);

/** Rows of `table` at integer `indices`: [V, ...rest] x [...I] -> [...I, ...rest]. Sync; throws ShapeError. */
export const gather = (table: Tensor, indices: Tensor): Tensor => bind1('gather', [table, indices], none);

/** `operand` with `updates` added into rows `indices` (repeats accumulate). Sync; throws ShapeError. */
export const scatterAdd = (operand: Tensor, indices: Tensor, updates: Tensor): Tensor => bind1('scatter_add', [operand, indices, updates], none);

/** A slice of `sizes` starting at run-time scalar `starts` (clamped into range). Sync; throws ShapeError. */
export const dynamicSlice = (x: Tensor, starts: readonly Tensor[], sizes: readonly number[]): Tensor =>
  bind1('dynamic_slice', [x, ...starts], { sizes });

/** `x` with `update` written at run-time scalar `starts` (clamped into range). Sync; throws ShapeError. */
export const dynamicUpdateSlice = (x: Tensor, update: Tensor, starts: readonly Tensor[]): Tensor =>
  bind1('dynamic_update_slice', [x, update, ...starts], none);

/** Random u32 bits of `shape` from an s64[2] `key`; returns [next key, bits]. Sync; throws ShapeError. */
export function rngBitGenerator(key: Tensor, shape: readonly number[]): [Tensor, Tensor] {
  const [nextKey, bits] = bind('rng_bit_generator', [key], { shape });
  return [nextKey!, bits!];
}

/** Sum of `x` over the replicas of each group (every replica gets its group's sum). Sync; throws ShapeError. */
export const allReduceSum = (x: Tensor, replicaGroups: readonly (readonly number[])[]): Tensor => bind1('all_reduce_sum', [x], { replicaGroups });

/** `x`, through which no gradient flows. Sync. */
export const stopGradient = (x: Tensor): Tensor => bind1('stop_gradient', [x], none);

/**
 * A loop: `state = body(state)` while `cond(state)`. Both functions are traced once into
 * nested graphs; tensors they close over are passed in as extra loop-carried values.
 * Sync; throws ShapeError if `cond` does not return pred[] or `body` changes the state's types.
 */
export function whileLoop(cond: (state: Tensor[]) => Tensor, body: (state: Tensor[]) => readonly Tensor[], init: readonly Tensor[]): Tensor[] {
  const outer = currentTrace('while');
  const stateTypes = init.map((t) => t.type);
  const condTrace = traceNested(outer, stateTypes, (state) => [cond(state)]);
  const bodyTrace = traceNested(outer, stateTypes, body);
  // The carried values are [state, cond's captures, body's captures]; each region sees all of them.
  const condCaptures = [...condTrace.captures.keys()];
  const bodyCaptures = [...bodyTrace.captures.keys()];
  const results = bind('while', [...init, ...condCaptures, ...bodyCaptures], { cond: condTrace, body: bodyTrace, stateCount: init.length });
  return results.slice(0, init.length);
}

function traceNested(outer: Trace, inputTypes: readonly TensorType[], fn: (inputs: Tensor[]) => readonly Tensor[]): Trace {
  const nested = new Trace(outer);
  const inputs = inputTypes.map((type) => nested.addInput(type));
  withTrace(nested, () => {
    const outputs = fn(inputs);
    if (!Array.isArray(outputs) || !outputs.every((o) => o instanceof Tensor)) {
      throw new ShapeError('while', 'loop functions must return tensors', []);
    }
    nested.finish(outputs);
  });
  return nested;
}
