/**
 * Primitives about control and communication rather than arithmetic: while loops, random bits,
 * the cross-replica sum, and stop_gradient.
 */
import { replicaGroups, stablehloEnum } from '../../stablehlo/attributes.js';
import { dtypeKind } from '../../stablehlo/dtype.js';
import { ShapeError, formatTensorType, sameType, tensorType, type TensorType } from '../../stablehlo/shape.js';
import * as lax from '../lax.js';
import type { PrimitiveRules, WhileParams } from '../primitive.js';
import { expectArity, roles, scalarCombiner } from './common.js';

function whileShape(inputs: readonly TensorType[], { cond, body, stateCount }: WhileParams): TensorType[] {
  const state = inputs.slice(0, stateCount);
  const named = roles(inputs, inputs.map((_, i) => (i < stateCount ? `state${i}` : `captured${i - stateCount}`)));
  const condOutput = cond.outputs[0]!;
  if (cond.outputs.length !== 1 || condOutput.dtype !== 'pred' || condOutput.rank !== 0) {
    throw new ShapeError('while', `cond must return one pred[], got (${cond.outputs.map((o) => formatTensorType(o.type)).join(', ')})`, named);
  }
  const bodyOutputs = body.outputs.map((o) => o.type);
  if (bodyOutputs.length !== state.length || bodyOutputs.some((type, i) => !sameType(type, state[i]!))) {
    throw new ShapeError('while', `body must return the state's types, got (${bodyOutputs.map(formatTensorType).join(', ')})`, named);
  }
  const expectedCarried = stateCount + (cond.inputs.length - cond.declaredInputCount) + (body.inputs.length - body.declaredInputCount);
  if (inputs.length !== expectedCarried) throw new ShapeError('while', `expects ${expectedCarried} carried values`, named);
  return [...inputs];
}

/** The control and collective primitives' rules. */
export const controlRules: PrimitiveRules<'while' | 'rng_bit_generator' | 'all_reduce_sum' | 'stop_gradient'> = {
  while: {
    shape: whileShape,
    lower(block, inputs, { cond, body, stateCount }, outputs, context) {
      const carriedTypes = inputs.map((value) => value.type);
      const condCaptureCount = cond.inputs.length - cond.declaredInputCount;
      const condRegion = context.fn.region(carriedTypes);
      condRegion.return(context.lowerGraph(cond, condRegion, condRegion.args.slice(0, stateCount + condCaptureCount)));
      const bodyRegion = context.fn.region(carriedTypes);
      const bodyInputs = [...bodyRegion.args.slice(0, stateCount), ...bodyRegion.args.slice(stateCount + condCaptureCount)];
      bodyRegion.return([...context.lowerGraph(body, bodyRegion, bodyInputs), ...bodyRegion.args.slice(stateCount)]);
      return block.op('stablehlo.while', inputs, outputs, { regions: [condRegion, bodyRegion] });
    },
    vjp() {
      throw new Error('while: reverse-mode differentiation through a loop is not supported; take the gradient inside the loop body');
    },
  },
  rng_bit_generator: {
    shape(inputs, { shape }) {
      expectArity('rng_bit_generator', inputs, 1);
      const key = inputs[0]!;
      if (key.dtype !== 's64' || key.shape.join() !== '2') throw new ShapeError('rng_bit_generator', 'key must be s64[2]', [['key', key]]);
      return [key, tensorType('u32', shape)];
    },
    lower(block, inputs, params, outputs) {
      // XLA's generators keep their state in u64; the key travels as s64 so the runtime can hold it.
      const stateType = tensorType('u64', [2]);
      const state = block.op1('stablehlo.bitcast_convert', inputs, stateType);
      const [nextState, bits] = block.op('stablehlo.rng_bit_generator', [state], [stateType, outputs[1]!], {
        attributes: [['rng_algorithm', stablehloEnum('rng_algorithm', 'THREE_FRY')]],
      });
      return [block.op1('stablehlo.bitcast_convert', [nextState!], outputs[0]!), bits!];
    },
    vjp: 'no-gradient',
  },
  all_reduce_sum: {
    shape(inputs, params) {
      expectArity('all_reduce_sum', inputs, 1);
      const x = inputs[0]!;
      if (dtypeKind(x.dtype) === 'bool') throw new ShapeError('all_reduce_sum', 'does not sum pred', [['x', x]]);
      replicaGroups(params.replicaGroups); // throws RangeError for malformed groups
      return [x];
    },
    lower: (block, inputs, params, outputs, context) => [
      block.op1('stablehlo.all_reduce', inputs, outputs[0]!, {
        attributes: [['replica_groups', replicaGroups(params.replicaGroups)]],
        regions: [scalarCombiner(context.fn, outputs[0]!.dtype, 'stablehlo.add')],
      }),
    ],
    vjp: ([ct], { params }) => [lax.allReduceSum(ct!, params.replicaGroups)],
  },
  stop_gradient: {
    shape(inputs) {
      expectArity('stop_gradient', inputs, 1);
      return [inputs[0]!];
    },
    lower: (_block, inputs) => [inputs[0]!],
    vjp: () => [undefined],
  },
};
