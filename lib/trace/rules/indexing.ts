/**
 * Indexing primitives: gather/scatter_add along the first axis (embedding lookup and its
 * gradient) and dynamic_slice/dynamic_update_slice at run-time offsets (a step's batch out of a
 * slab of K batches).
 */
import { bool, gatherDimensionNumbers, i64Array, scatterDimensionNumbers } from '../../stablehlo/attributes.js';
import { isIntegerDType } from '../../stablehlo/dtype.js';
import { ShapeError, tensorType, type TensorType } from '../../stablehlo/shape.js';
import * as lax from '../lax.js';
import type { PrimitiveRules } from '../primitive.js';
import { expectArity, expectIndexScalar, roles, scalarCombiner } from './common.js';

function expectTableAndIndices(op: string, inputs: readonly TensorType[], names: readonly string[]): [TensorType, TensorType] {
  const [table, indices] = inputs as [TensorType, TensorType];
  if (table.shape.length === 0) throw new ShapeError(op, `${names[0]} must have at least one dimension`, roles(inputs, names));
  if (!isIntegerDType(indices.dtype)) throw new ShapeError(op, 'indices must be integers', roles(inputs, names));
  return [table, indices];
}

function expectStarts(op: string, inputs: readonly TensorType[], operand: TensorType, starts: readonly TensorType[]): void {
  if (starts.length !== operand.shape.length) throw new ShapeError(op, `needs ${operand.shape.length} start indices, got ${starts.length}`, roles(inputs));
  starts.forEach((start, i) => {
    expectIndexScalar(op, start, `start index ${i}`, inputs);
    if (start.dtype !== starts[0]!.dtype) throw new ShapeError(op, 'start indices must share one dtype', roles(inputs));
  });
}

/** The indexing primitives' rules. */
export const indexingRules: PrimitiveRules<'gather' | 'scatter_add' | 'dynamic_slice' | 'dynamic_update_slice'> = {
  gather: {
    shape(inputs) {
      expectArity('gather', inputs, 2);
      const [table, indices] = expectTableAndIndices('gather', inputs, ['table', 'indices']);
      return [tensorType(table.dtype, [...indices.shape, ...table.shape.slice(1)])];
    },
    lower(block, inputs, _params, outputs) {
      const [table, indices] = inputs as [typeof inputs[0], typeof inputs[0]];
      const indexRank = indices!.type.shape.length;
      const rowShape = table!.type.shape.slice(1);
      return [
        block.op1('stablehlo.gather', inputs, outputs[0]!, {
          attributes: [
            [
              'dimension_numbers',
              gatherDimensionNumbers({ offsetDims: rowShape.map((_, i) => indexRank + i), collapsedSliceDims: [0], startIndexMap: [0], indexVectorDim: indexRank }),
            ],
            ['slice_sizes', i64Array([1, ...rowShape])],
            ['indices_are_sorted', bool(false)],
          ],
        }),
      ];
    },
    vjp: ([ct], { inputs: [table, indices] }) => [lax.scatterAdd(lax.fullLike(table!, 0), indices!, ct!), undefined],
  },
  scatter_add: {
    shape(inputs) {
      expectArity('scatter_add', inputs, 3);
      const names = ['operand', 'indices', 'updates'];
      const [operand, indices] = expectTableAndIndices('scatter_add', inputs, names);
      const updates = inputs[2]!;
      const expected = [...indices.shape, ...operand.shape.slice(1)];
      if (updates.dtype !== operand.dtype || updates.shape.join() !== expected.join()) {
        throw new ShapeError('scatter_add', `updates must be ${operand.dtype}[${expected.join(',')}]`, roles(inputs, names));
      }
      return [operand];
    },
    lower(block, inputs, _params, outputs, context) {
      const indexRank = inputs[1]!.type.shape.length;
      const rowRank = inputs[0]!.type.shape.length - 1;
      return [
        block.op1('stablehlo.scatter', inputs, outputs[0]!, {
          attributes: [
            [
              'scatter_dimension_numbers',
              scatterDimensionNumbers({
                updateWindowDims: [...Array(rowRank).keys()].map((i) => indexRank + i),
                insertedWindowDims: [0],
                scatterDimsToOperandDims: [0],
                indexVectorDim: indexRank,
              }),
            ],
            ['indices_are_sorted', bool(false)],
            ['unique_indices', bool(false)],
          ],
          regions: [scalarCombiner(context.fn, outputs[0]!.dtype, 'stablehlo.add')],
        }),
      ];
    },
    vjp: ([ct], { inputs: [, indices] }) => [ct, undefined, lax.gather(ct!, indices!)],
  },
  dynamic_slice: {
    shape(inputs, { sizes }) {
      if (inputs.length === 0) throw new ShapeError('dynamic_slice', 'needs an operand', []);
      const [operand, ...starts] = inputs as [TensorType, ...TensorType[]];
      expectStarts('dynamic_slice', inputs, operand, starts);
      if (sizes.length !== operand.shape.length || sizes.some((size, axis) => !Number.isInteger(size) || size < 0 || size > operand.shape[axis]!)) {
        throw new ShapeError('dynamic_slice', `slice sizes [${sizes.join(',')}] do not fit`, roles(inputs));
      }
      return [tensorType(operand.dtype, sizes)];
    },
    lower: (block, inputs, params, outputs) => [block.op1('stablehlo.dynamic_slice', inputs, outputs[0]!, { attributes: [['slice_sizes', i64Array(params.sizes)]] })],
    vjp([ct], { inputs: [operand, ...starts] }) {
      return [lax.dynamicUpdateSlice(lax.fullLike(operand!, 0), ct!, starts), ...starts.map(() => undefined)];
    },
  },
  dynamic_update_slice: {
    shape(inputs) {
      if (inputs.length < 2) throw new ShapeError('dynamic_update_slice', 'needs an operand and an update', roles(inputs));
      const [operand, update, ...starts] = inputs as [TensorType, TensorType, ...TensorType[]];
      expectStarts('dynamic_update_slice', inputs, operand, starts);
      const fits = update.dtype === operand.dtype && update.shape.length === operand.shape.length && update.shape.every((size, axis) => size <= operand.shape[axis]!);
      if (!fits) throw new ShapeError('dynamic_update_slice', 'update does not fit into operand', roles(inputs));
      return [operand];
    },
    lower: (block, inputs, _params, outputs) => [block.op1('stablehlo.dynamic_update_slice', inputs, outputs[0]!)],
    vjp([ct], { inputs: [, update, ...starts] }) {
      return [lax.dynamicUpdateSlice(ct!, lax.fullLike(update!, 0), starts), lax.dynamicSlice(ct!, starts, update!.shape), ...starts.map(() => undefined)];
    },
  },
};
