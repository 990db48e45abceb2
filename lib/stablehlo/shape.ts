/**
 * Tensor types (dtype + static shape), their two spellings (`f32[5,4]` in messages,
 * `tensor<5x4xf32>` in MLIR), the error raised when an op's operands do not fit, and the small
 * shape computations every shape rule shares.
 */
import { formatTensorType as formatBaseTensorType, sameShape, type TensorType as BaseTensorType } from '../base/shapes.js';
import { mlirElementType, type DType } from './dtype.js';

export { elementCount, sameShape } from '../base/shapes.js';

/** A dtype and a static shape, outermost dimension first (`[]` for a scalar): `lib/base`'s, over program dtypes. */
export type TensorType = BaseTensorType<DType>;

/** Builds a frozen {@link TensorType}. Sync; throws RangeError for a negative or fractional dimension. */
export function tensorType(dtype: DType, shape: readonly number[]): TensorType {
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0) throw new RangeError(`invalid dimension ${dim} in shape [${shape.join(',')}]`);
  }
  return Object.freeze({ dtype, shape: Object.freeze([...shape]) });
}

/** `f32[5,4]`: how shapes appear in error messages. Sync. */
export const formatTensorType: (type: TensorType) => string = formatBaseTensorType;

const mlirSpellings = new WeakMap<TensorType, string>();

/** `tensor<5x4xf32>`: the MLIR spelling (remembered per type object, as printing asks often). Sync. */
export function mlirTensorType(type: TensorType): string {
  let text = mlirSpellings.get(type);
  if (text === undefined) {
    const element = mlirElementType(type.dtype);
    text = type.shape.length === 0 ? `tensor<${element}>` : `tensor<${type.shape.join('x')}x${element}>`;
    mlirSpellings.set(type, text);
  }
  return text;
}

/** True if both types have the same dtype and shape. Sync. */
export function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && sameShape(a.shape, b.shape);
}

/**
 * Raised, before anything is emitted or compiled, when an op's operands do not fit together.
 * The message names the op, the problem and every operand's type:
 * `dot_general: contracting dims mismatch: lhs f32[5,4] rhs f32[3,3] (lhs contracting [1], rhs contracting [0])`.
 */
export class ShapeError extends TypeError {
  override readonly name = 'ShapeError';

  /**
   * Sync.
   * @param op the op's name as users call it
   * @param problem what does not fit
   * @param operands each operand's role (`lhs`, `x`, ...) and type
   * @param detail the relevant parameters, appended in parentheses
   */
  constructor(
    readonly op: string,
    readonly problem: string,
    readonly operands: ReadonlyArray<readonly [string, TensorType]>,
    detail?: string,
  ) {
    const listed = operands.map(([role, type]) => `${role} ${formatTensorType(type)}`).join(' ');
    super(`${op}: ${problem}${listed ? `: ${listed}` : ''}${detail ? ` (${detail})` : ''}`);
  }
}

/**
 * Resolves a possibly negative axis against `rank`. Sync; throws ShapeError naming `op` and
 * `operand` when the axis is out of range.
 */
export function normalizeAxis(op: string, axis: number, operand: TensorType): number {
  const rank = operand.shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(op, `axis ${axis} out of range for rank ${rank}`, [['x', operand]]);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * The numpy broadcast of two shapes (trailing dimensions aligned; 1 stretches). Sync; returns
 * undefined if they do not broadcast.
 */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const result: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    result.push(da === 1 ? db : da);
  }
  return result;
}

/** True if `axes` are distinct integers in [0, rank). Sync. */
export function isAxisSet(axes: readonly number[], rank: number): boolean {
  return new Set(axes).size === axes.length && axes.every((axis) => Number.isInteger(axis) && axis >= 0 && axis < rank);
}

/** True if `permutation` is a permutation of [0, rank). Sync. */
export function isPermutation(permutation: readonly number[], rank: number): boolean {
  return permutation.length === rank && isAxisSet(permutation, rank);
}
