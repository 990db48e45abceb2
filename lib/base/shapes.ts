/**
 * Shapes and tensor types as every layer sees them: one {@link TensorType}, one
 * {@link elementCount}, one {@link sameShape}, one spelling for messages (`f32[5,4]`).
 * Imports only the dtype facts.
 */
import type { DType } from './dtypes.js';

/**
 * A dtype and a static shape, outermost dimension first (`[]` for a scalar). Each layer names
 * the dtypes it supports (`TensorType<RuntimeDType>` in the runtime, `TensorType<ProgramDType>`
 * in StableHLO).
 */
export interface TensorType<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
}

/**
 * Number of elements of `shape` (1 for a scalar). Sync; throws RangeError when a dimension is
 * negative or not an integer.
 */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw new RangeError(`invalid dimension ${dim} in shape [${shape.join(', ')}]`);
    count *= dim;
  }
  return count;
}

/** True if both shapes have the same dimensions. Sync; never throws. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `f32[5,4]`: how a dtype and shape appear in error messages. Sync; never throws. */
export function formatTensorType(type: TensorType): string {
  return `${type.dtype}[${type.shape.join(',')}]`;
}
