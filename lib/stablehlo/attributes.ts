/**
 * Typed constructors for the MLIR attributes StableHLO ops carry. Each returns an
 * {@link Attribute}, the attribute's printed text, so the builder never takes free-form strings.
 */
import { formatScalar, type DType } from './dtype.js';
import { elementCount, mlirTensorType, tensorType, type TensorType } from './shape.js';

/** An attribute value as printed in MLIR. Make one with the functions of this module. */
export type Attribute = string & { readonly __attribute: unique symbol };

const attribute = (text: string): Attribute => text as Attribute;

/** `array<i64: 0, 1>`: a dense i64 array attribute. Sync. */
export function i64Array(values: readonly number[]): Attribute {
  return attribute(values.length === 0 ? 'array<i64>' : `array<i64: ${values.join(', ')}>`);
}

/** `[0, 1]`: an i64 list inside a StableHLO struct attribute. Sync. */
function i64List(values: readonly number[]): string {
  return `[${values.join(', ')}]`;
}

/** `3 : i64`. Sync. */
export function i64(value: number): Attribute {
  return attribute(`${value} : i64`);
}

/** `3 : i32`. Sync. */
export function i32(value: number): Attribute {
  return attribute(`${value} : i32`);
}

/** `true` / `false`. Sync. */
export function bool(value: boolean): Attribute {
  return attribute(value ? 'true' : 'false');
}

/** `#stablehlo<comparison_direction LT>` and the like. Sync. */
export function stablehloEnum(kind: 'comparison_direction' | 'comparison_type' | 'rng_algorithm', value: string): Attribute {
  return attribute(`#stablehlo<${kind} ${value}>`);
}

/**
 * `dense<...> : tensor<...>`: a constant's value. A single value is printed as a splat, an
 * array as nested lists in row-major order. Sync; throws RangeError if the array's length does
 * not match `type` or an integer value is out of range.
 */
export function denseElements(values: number | bigint | boolean | ArrayLike<number | bigint | boolean>, type: TensorType): Attribute {
  const suffix = ` : ${mlirTensorType(type)}`;
  if (typeof values !== 'object') return attribute(`dense<${formatScalar(values, type.dtype)}>${suffix}`);
  const count = elementCount(type.shape);
  if (values.length !== count) throw new RangeError(`a constant of type ${mlirTensorType(type)} needs ${count} values, got ${values.length}`);
  if (count === 0) return attribute(`dense<>${suffix}`);
  return attribute(`dense<${nestedList(values, type.shape, type.dtype)}>${suffix}`);
}

function nestedList(values: ArrayLike<number | bigint | boolean>, shape: readonly number[], dtype: DType): string {
  if (shape.length === 0) return formatScalar(values[0]!, dtype);
  const parts: string[] = [];
  const write = (axis: number, offset: number, stride: number): void => {
    const dim = shape[axis]!;
    const inner = stride / dim;
    parts.push('[');
    for (let i = 0; i < dim; i++) {
      if (i > 0) parts.push(', ');
      if (axis === shape.length - 1) parts.push(formatScalar(values[offset + i]!, dtype));
      else write(axis + 1, offset + i * inner, inner);
    }
    parts.push(']');
  };
  write(0, 0, values.length);
  return parts.join('');
}

/** Dimension numbers of `stablehlo.dot_general`. */
export interface DotDimensions {
  lhsBatch: readonly number[];
  rhsBatch: readonly number[];
  lhsContracting: readonly number[];
  rhsContracting: readonly number[];
}

/** `#stablehlo.dot<...>`. Sync. */
export function dotDimensionNumbers(dims: DotDimensions): Attribute {
  const fields: string[] = [];
  if (dims.lhsBatch.length > 0) {
    fields.push(`lhs_batching_dimensions = ${i64List(dims.lhsBatch)}`, `rhs_batching_dimensions = ${i64List(dims.rhsBatch)}`);
  }
  fields.push(`lhs_contracting_dimensions = ${i64List(dims.lhsContracting)}`, `rhs_contracting_dimensions = ${i64List(dims.rhsContracting)}`);
  return attribute(`#stablehlo.dot<${fields.join(', ')}>`);
}

/** Dimension numbers of `stablehlo.gather`. */
export interface GatherDimensions {
  offsetDims: readonly number[];
  collapsedSliceDims: readonly number[];
  startIndexMap: readonly number[];
  indexVectorDim: number;
}

/** `#stablehlo.gather<...>`. Sync. */
export function gatherDimensionNumbers(dims: GatherDimensions): Attribute {
  return attribute(
    `#stablehlo.gather<offset_dims = ${i64List(dims.offsetDims)}, collapsed_slice_dims = ${i64List(dims.collapsedSliceDims)}, ` +
      `start_index_map = ${i64List(dims.startIndexMap)}, index_vector_dim = ${dims.indexVectorDim}>`,
  );
}

/** Dimension numbers of `stablehlo.scatter`. */
export interface ScatterDimensions {
  updateWindowDims: readonly number[];
  insertedWindowDims: readonly number[];
  scatterDimsToOperandDims: readonly number[];
  indexVectorDim: number;
}

/** `#stablehlo.scatter<...>`. Sync. */
export function scatterDimensionNumbers(dims: ScatterDimensions): Attribute {
  return attribute(
    `#stablehlo.scatter<update_window_dims = ${i64List(dims.updateWindowDims)}, inserted_window_dims = ${i64List(dims.insertedWindowDims)}, ` +
      `scatter_dims_to_operand_dims = ${i64List(dims.scatterDimsToOperandDims)}, index_vector_dim = ${dims.indexVectorDim}>`,
  );
}

/**
 * `dense<[[0, 1, 2, 3]]> : tensor<1x4xi64>`: replica groups of a collective. Sync; throws
 * RangeError if the groups are empty or of unequal size.
 */
export function replicaGroups(groups: readonly (readonly number[])[]): Attribute {
  const size = groups[0]?.length ?? 0;
  if (size === 0 || groups.some((group) => group.length !== size)) {
    throw new RangeError(`replica groups must be non-empty and of equal size, got ${JSON.stringify(groups)}`);
  }
  return denseElements(groups.flat(), tensorType('s64', [groups.length, size]));
}
