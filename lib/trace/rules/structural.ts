/**
 * Primitives that move elements without arithmetic: broadcast_in_dim, reshape, transpose,
 * slice, pad and concatenate. Their VJPs are each other: broadcast <-> reduce_sum,
 * slice <-> pad, concatenate -> slices.
 */
import { i64, i64Array } from '../../stablehlo/attributes.js';
import { ShapeError, elementCount, isAxisSet, isPermutation, tensorType, type TensorType } from '../../stablehlo/shape.js';
import * as lax from '../lax.js';
import type { PrimitiveRules } from '../primitive.js';
import { expectArity, expectPerDimension, roles } from './common.js';

/** Axes of `outputShape` that a broadcast from `operandShape` via `dims` created or stretched. Sync. */
function broadcastedAxes(operandShape: readonly number[], outputShape: readonly number[], dims: readonly number[]): number[] {
  const axes: number[] = [];
  for (let axis = 0; axis < outputShape.length; axis++) {
    const source = dims.indexOf(axis);
    if (source < 0 || (operandShape[source] === 1 && outputShape[axis] !== 1)) axes.push(axis);
  }
  return axes;
}

/** The structural primitives' rules. */
export const structuralRules: PrimitiveRules<'broadcast_in_dim' | 'reshape' | 'transpose' | 'slice' | 'pad' | 'concatenate'> = {
  broadcast_in_dim: {
    shape(inputs, { shape, broadcastDimensions: dims }) {
      expectArity('broadcast_in_dim', inputs, 1);
      const x = inputs[0]!;
      const fail = (problem: string): ShapeError =>
        new ShapeError('broadcast_in_dim', problem, [['x', x]], `shape [${shape.join(',')}], broadcast_dimensions [${dims.join(',')}]`);
      if (dims.length !== x.shape.length) throw fail('needs one broadcast dimension per operand dimension');
      dims.forEach((axis, i) => {
        if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length || (i > 0 && axis <= dims[i - 1]!)) {
          throw fail('broadcast dimensions must be increasing and in range');
        }
        const size = x.shape[i]!;
        if (size !== 1 && size !== shape[axis]) throw fail(`operand dimension ${i} (${size}) does not fit result dimension ${axis}`);
      });
      return [tensorType(x.dtype, shape)];
    },
    lower: (block, inputs, params, outputs) => [
      block.op1('stablehlo.broadcast_in_dim', inputs, outputs[0]!, { attributes: [['broadcast_dimensions', i64Array(params.broadcastDimensions)]] }),
    ],
    vjp([ct], { inputs: [x], params }) {
      const summed = lax.reduceSum(ct!, broadcastedAxes(x!.shape, params.shape, params.broadcastDimensions));
      return [lax.reshape(summed, x!.shape)];
    },
  },
  reshape: {
    shape(inputs, { shape }) {
      expectArity('reshape', inputs, 1);
      const x = inputs[0]!;
      const target = shape.every((d) => Number.isInteger(d) && d >= 0) ? elementCount(shape) : -1;
      if (target !== elementCount(x.shape)) throw new ShapeError('reshape', `cannot reshape to [${shape.join(',')}]`, [['x', x]]);
      return [tensorType(x.dtype, shape)];
    },
    lower: (block, inputs, _params, outputs) =>
      inputs[0]!.type.shape.join() === outputs[0]!.shape.join() ? [inputs[0]!] : [block.op1('stablehlo.reshape', inputs, outputs[0]!)],
    vjp: ([ct], { inputs: [x] }) => [lax.reshape(ct!, x!.shape)],
  },
  transpose: {
    shape(inputs, { permutation }) {
      expectArity('transpose', inputs, 1);
      const x = inputs[0]!;
      if (!isPermutation(permutation, x.shape.length)) throw new ShapeError('transpose', `[${permutation.join(',')}] is not a permutation of the dimensions`, [['x', x]]);
      return [tensorType(x.dtype, permutation.map((axis) => x.shape[axis]!))];
    },
    lower: (block, inputs, params, outputs) => [block.op1('stablehlo.transpose', inputs, outputs[0]!, { attributes: [['permutation', i64Array(params.permutation)]] })],
    vjp([ct], { params }) {
      const inverse: number[] = [];
      params.permutation.forEach((axis, i) => (inverse[axis] = i));
      return [lax.transpose(ct!, inverse)];
    },
  },
  slice: {
    shape(inputs, { start, limit, strides }) {
      expectArity('slice', inputs, 1);
      const x = inputs[0]!;
      for (const [what, list] of [['start', start], ['limit', limit], ['strides', strides]] as const) expectPerDimension('slice', what, list, x);
      const shape = x.shape.map((size, axis) => {
        const [from, to, step] = [start[axis]!, limit[axis]!, strides[axis]!];
        if (!(Number.isInteger(from) && Number.isInteger(to) && Number.isInteger(step)) || from < 0 || to > size || from > to || step < 1) {
          const detail = `start [${start.join(',')}], limit [${limit.join(',')}], strides [${strides.join(',')}]`;
          throw new ShapeError('slice', `bounds out of range in dimension ${axis}`, [['x', x]], detail);
        }
        return Math.ceil((to - from) / step);
      });
      return [tensorType(x.dtype, shape)];
    },
    lower: (block, inputs, params, outputs) => [
      block.op1('stablehlo.slice', inputs, outputs[0]!, {
        attributes: [
          ['start_indices', i64Array(params.start)],
          ['limit_indices', i64Array(params.limit)],
          ['strides', i64Array(params.strides)],
        ],
      }),
    ],
    vjp([ct], { inputs: [x], params: { start, strides } }) {
      const high = x!.shape.map((size, axis) => size - (start[axis]! + (ct!.shape[axis]! - 1) * strides[axis]! + 1));
      const interior = strides.map((step) => step - 1);
      // an empty slice contributes nothing
      if (ct!.shape.some((size) => size === 0)) return [lax.fullLike(x!, 0)];
      return [lax.pad(ct!, lax.scalar(0, ct!.dtype), start, high, interior)];
    },
  },
  pad: {
    shape(inputs, { low, high, interior }) {
      expectArity('pad', inputs, 2);
      const [x, padValue] = inputs as [TensorType, TensorType];
      const names = ['x', 'padValue'];
      if (padValue.shape.length !== 0 || padValue.dtype !== x.dtype) throw new ShapeError('pad', 'padValue must be a scalar of the operand dtype', roles(inputs, names));
      for (const [what, list] of [['low', low], ['high', high], ['interior', interior]] as const) {
        expectPerDimension('pad', what, list, x);
        if (list.some((n) => !Number.isInteger(n) || n < 0)) throw new ShapeError('pad', `${what} padding must be non-negative integers`, roles(inputs, names));
      }
      const shape = x.shape.map((size, axis) => low[axis]! + high[axis]! + size + Math.max(0, size - 1) * interior[axis]!);
      return [tensorType(x.dtype, shape)];
    },
    lower: (block, inputs, params, outputs) => [
      block.op1('stablehlo.pad', inputs, outputs[0]!, {
        attributes: [
          ['edge_padding_low', i64Array(params.low)],
          ['edge_padding_high', i64Array(params.high)],
          ['interior_padding', i64Array(params.interior)],
        ],
      }),
    ],
    vjp([ct], { inputs: [x], params: { low, interior } }) {
      const limit = x!.shape.map((size, axis) => low[axis]! + Math.max(0, size - 1) * (interior[axis]! + 1) + 1);
      const strides = interior.map((n) => n + 1);
      const inner = x!.shape.some((size) => size === 0) ? lax.fullLike(x!, 0) : lax.slice(ct!, low, limit, strides);
      const all = [...ct!.shape.keys()];
      const padGradient = lax.sub(lax.reduceSum(ct!, all), lax.reduceSum(inner, all));
      return [inner, padGradient];
    },
  },
  concatenate: {
    shape(inputs, { axis }) {
      if (inputs.length === 0) throw new ShapeError('concatenate', 'needs at least one operand', []);
      const first = inputs[0]!;
      if (!isAxisSet([axis], first.shape.length)) throw new ShapeError('concatenate', `axis ${axis} out of range`, roles(inputs));
      for (const other of inputs) {
        const fits = other.dtype === first.dtype && other.shape.length === first.shape.length && other.shape.every((d, i) => i === axis || d === first.shape[i]);
        if (!fits) throw new ShapeError('concatenate', `operands differ outside axis ${axis}`, roles(inputs));
      }
      const shape = [...first.shape];
      shape[axis] = inputs.reduce((total, type) => total + type.shape[axis]!, 0);
      return [tensorType(first.dtype, shape)];
    },
    lower: (block, inputs, params, outputs) => [block.op1('stablehlo.concatenate', inputs, outputs[0]!, { attributes: [['dimension', i64(params.axis)]] })],
    vjp([ct], { inputs, params: { axis } }) {
      let offset = 0;
      return inputs.map((input) => {
        const start = ct!.shape.map((_, i) => (i === axis ? offset : 0));
        const limit = ct!.shape.map((size, i) => (i === axis ? offset + input.shape[axis]! : size));
        offset += input.shape[axis]!;
        return lax.slice(ct!, start, limit);
      });
    },
  },
};
