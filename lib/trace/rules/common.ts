/**
 * Checks and emission helpers the primitive rules share: operand validation that throws
 * ShapeErrors naming every operand, and the scalar reduction regions of reduce, scatter and
 * all_reduce.
 */
import type { Block, FunctionBuilder, Value } from '../../stablehlo/builder.js';
import { dtypeKind, isFloatDType, type DType } from '../../stablehlo/dtype.js';
import { ShapeError, sameType, tensorType, type TensorType } from '../../stablehlo/shape.js';

/** Role names for error messages: `x` for one operand, `lhs`/`rhs` for two, `operand0..` beyond. Sync. */
export function roles(inputs: readonly TensorType[], names?: readonly string[]): Array<[string, TensorType]> {
  const defaults = inputs.length === 1 ? ['x'] : inputs.length === 2 ? ['lhs', 'rhs'] : inputs.map((_, i) => `operand${i}`);
  return inputs.map((type, i) => [names?.[i] ?? defaults[i]!, type]);
}

/** Throws ShapeError unless there are `count` inputs. Sync. */
export function expectArity(op: string, inputs: readonly TensorType[], count: number): void {
  if (inputs.length !== count) throw new ShapeError(op, `expects ${count} operands, got ${inputs.length}`, roles(inputs));
}

/** Throws ShapeError unless all inputs share dtype and shape; returns the common type. Sync. */
export function expectSameTypes(op: string, inputs: readonly TensorType[], names?: readonly string[]): TensorType {
  const first = inputs[0]!;
  for (const other of inputs.slice(1)) {
    if (other.dtype !== first.dtype) throw new ShapeError(op, 'dtype mismatch', roles(inputs, names));
    if (!sameType(other, first)) throw new ShapeError(op, 'shape mismatch', roles(inputs, names));
  }
  return first;
}

/** Throws ShapeError unless `type` is a float (the only dtypes transcendental ops take). Sync. */
export function expectFloat(op: string, type: TensorType, role = 'x'): void {
  if (!isFloatDType(type.dtype)) throw new ShapeError(op, `expects a floating-point ${role}`, [[role, type]]);
}

/** Throws ShapeError unless `type` is an integer scalar (an index). Sync. */
export function expectIndexScalar(op: string, type: TensorType, role: string, all: readonly TensorType[]): void {
  const kind = dtypeKind(type.dtype);
  if (type.shape.length !== 0 || (kind !== 'signed' && kind !== 'unsigned')) {
    throw new ShapeError(op, `${role} must be an integer scalar`, roles(all));
  }
}

/** Throws ShapeError unless `list` has one entry per dimension of `type`. Sync. */
export function expectPerDimension(op: string, what: string, list: readonly number[], type: TensorType): void {
  if (list.length !== type.shape.length) {
    throw new ShapeError(op, `${what} has ${list.length} entries for rank ${type.shape.length}`, [['x', type]], `${what} [${list.join(',')}]`);
  }
}

/**
 * A region block `(a, b) -> combine(a, b)` over scalars of `dtype`, for reduce, scatter and
 * all_reduce. Sync.
 */
export function scalarCombiner(fn: FunctionBuilder, dtype: DType, combine: 'stablehlo.add' | 'stablehlo.maximum'): Block {
  const scalar = tensorType(dtype, []);
  const region = fn.region([scalar, scalar]);
  region.return([region.op1(combine, region.args, scalar)]);
  return region;
}

/** The one result of an elementwise op named `name` over `operands`. Sync. */
export function emitElementwise(block: Block, name: string, operands: readonly Value[], output: TensorType): Value[] {
  return [block.op1(name, operands, output)];
}
