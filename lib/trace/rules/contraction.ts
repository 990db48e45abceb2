/**
 * Reductions (sum, max) and dot_general, the primitives that combine elements. The dot_general
 * VJP contracts the cotangent with the other operand and transposes back into the operand's
 * dimension order.
 */
import { denseElements, dotDimensionNumbers, i64Array } from '../../stablehlo/attributes.js';
import { dtypeKind, lowestValue } from '../../stablehlo/dtype.js';
import { ShapeError, isAxisSet, tensorType, type TensorType } from '../../stablehlo/shape.js';
import * as lax from '../lax.js';
import type { LoweringContext, ParamsOf, PrimitiveRule, PrimitiveRules } from '../primitive.js';
import type { Tensor } from '../tensor.js';
import type { Block, Value } from '../../stablehlo/builder.js';
import { expectArity, scalarCombiner } from './common.js';

function reductionShape(op: string, inputs: readonly TensorType[], axes: readonly number[]): TensorType[] {
  expectArity(op, inputs, 1);
  const x = inputs[0]!;
  if (!isAxisSet(axes, x.shape.length)) throw new ShapeError(op, `axes [${axes.join(',')}] are not distinct dimensions of x`, [['x', x]]);
  if (dtypeKind(x.dtype) === 'bool') throw new ShapeError(op, 'does not reduce pred', [['x', x]]);
  return [tensorType(x.dtype, x.shape.filter((_, axis) => !axes.includes(axis)))];
}

function lowerReduction(kind: 'sum' | 'max') {
  return (block: Block, inputs: readonly Value[], params: { readonly axes: readonly number[] }, outputs: readonly TensorType[], context: LoweringContext): Value[] => {
    const dtype = inputs[0]!.type.dtype;
    const scalar = tensorType(dtype, []);
    const init = block.op1('stablehlo.constant', [], scalar, { attributes: [['value', denseElements(kind === 'sum' ? 0 : lowestValue(dtype), scalar)]] });
    const combiner = scalarCombiner(context.fn, dtype, kind === 'sum' ? 'stablehlo.add' : 'stablehlo.maximum');
    const sortedAxes = [...params.axes].sort((a, b) => a - b);
    return [block.op1('stablehlo.reduce', [inputs[0]!, init], outputs[0]!, { attributes: [['dimensions', i64Array(sortedAxes)]], regions: [combiner] })];
  };
}

/** `reduced` (axes removed) broadcast back to the shape of `like`. */
function unreduce(reduced: Tensor, like: Tensor, axes: readonly number[]): Tensor {
  const kept = [...like.shape.keys()].filter((axis) => !axes.includes(axis));
  return lax.broadcastInDim(reduced, like.shape, kept);
}

type DotParams = ParamsOf['dot_general'];

function dotShape(inputs: readonly TensorType[], params: DotParams): TensorType[] {
  expectArity('dot_general', inputs, 2);
  const [lhs, rhs] = inputs as [TensorType, TensorType];
  const fail = (problem: string): ShapeError =>
    new ShapeError(
      'dot_general',
      problem,
      [['lhs', lhs], ['rhs', rhs]],
      `lhs batch [${params.lhsBatch.join(',')}] contracting [${params.lhsContracting.join(',')}], ` +
        `rhs batch [${params.rhsBatch.join(',')}] contracting [${params.rhsContracting.join(',')}]`,
    );
  if (lhs.dtype !== rhs.dtype) throw fail('dtype mismatch');
  const lhsUsed = [...params.lhsBatch, ...params.lhsContracting];
  const rhsUsed = [...params.rhsBatch, ...params.rhsContracting];
  if (!isAxisSet(lhsUsed, lhs.shape.length) || !isAxisSet(rhsUsed, rhs.shape.length)) {
    throw fail('dimension numbers out of range or repeated');
  }
  const sizesMatch = (l: readonly number[], r: readonly number[]): boolean => l.length === r.length && l.every((axis, i) => lhs.shape[axis] === rhs.shape[r[i]!]);
  if (!sizesMatch(params.lhsBatch, params.rhsBatch)) throw fail('batch dims mismatch');
  if (!sizesMatch(params.lhsContracting, params.rhsContracting)) throw fail('contracting dims mismatch');
  const free = (type: TensorType, used: readonly number[]): number[] => type.shape.filter((_, axis) => !used.includes(axis));
  const shape = [...params.lhsBatch.map((axis) => lhs.shape[axis]!), ...free(lhs, lhsUsed), ...free(rhs, rhsUsed)];
  return [tensorType(params.resultDType ?? lhs.dtype, shape)];
}

/**
 * The cotangent of one dot_general operand (`self`), given the cotangent of the result and the
 * other operand. The result's dims are [batch, lhs free, rhs free]; contracting the cotangent's
 * `other`-free dims with `other`'s free dims leaves [batch, self free, other's contracting
 * dims], which a transpose puts back in `self`'s order.
 */
function dotOperandCotangent(ct: Tensor, self: Tensor, other: Tensor, selfIsLhs: boolean, params: DotParams): Tensor {
  const [selfBatch, otherBatch] = selfIsLhs ? [params.lhsBatch, params.rhsBatch] : [params.rhsBatch, params.lhsBatch];
  const [selfContracting, otherContracting] = selfIsLhs ? [params.lhsContracting, params.rhsContracting] : [params.rhsContracting, params.lhsContracting];
  const selfFree = [...self.shape.keys()].filter((axis) => !selfBatch.includes(axis) && !selfContracting.includes(axis));
  const otherFree = [...other.shape.keys()].filter((axis) => !otherBatch.includes(axis) && !otherContracting.includes(axis));
  const batchCount = selfBatch.length;
  const lhsFreeCount = selfIsLhs ? selfFree.length : otherFree.length;
  const ctOtherFree = otherFree.map((_, i) => batchCount + (selfIsLhs ? lhsFreeCount : 0) + i);
  const otherDtypeCt = lax.convert(ct, other.dtype);
  const product = lax.dotGeneral(otherDtypeCt, other, {
    lhsBatch: [...Array(batchCount).keys()],
    rhsBatch: otherBatch,
    lhsContracting: ctOtherFree,
    rhsContracting: otherFree,
    resultDType: ct.dtype === other.dtype ? undefined : ct.dtype,
  });
  // product dims: [batch (self's batch order), self free (ascending), other's contracting dims ascending -> self's matching dims]
  const otherContractingSorted = [...otherContracting].sort((a, b) => a - b);
  const productDims = [...selfBatch, ...selfFree, ...otherContractingSorted.map((axis) => selfContracting[otherContracting.indexOf(axis)]!)];
  const permutation = [...self.shape.keys()].map((axis) => productDims.indexOf(axis));
  return lax.convert(lax.transpose(product, permutation), self.dtype);
}

/**
 * How one operand of a batch-free dot_general folds into a matrix: its contracting dims and its
 * free dims must each be one ascending run of adjacent dims, one run before the other. Returns
 * the [rows, columns] of the folded operand and which of the two is contracted, or undefined
 * when the dims do not fold (then the dot is lowered as written).
 */
function matrixFold(shape: readonly number[], contracting: readonly number[]): { matrix: [number, number]; contractedAxis: 0 | 1 } | undefined {
  const free = [...shape.keys()].filter((axis) => !contracting.includes(axis));
  const isRun = (axes: readonly number[]) => axes.every((axis, i) => i === 0 || axis === axes[i - 1]! + 1);
  if (free.length === 0 || contracting.length === 0 || !isRun(contracting) || !isRun(free)) return undefined;
  const size = (axes: readonly number[]) => axes.reduce((product, axis) => product * shape[axis]!, 1);
  const contractedFirst = contracting[0]! < free[0]!;
  return contractedFirst
    ? { matrix: [size(contracting), size(free)], contractedAxis: 0 }
    : { matrix: [size(free), size(contracting)], contractedAxis: 1 };
}

function emitDotGeneral(block: Block, inputs: readonly Value[], dims: Omit<DotParams, 'resultDType'>, output: TensorType): Value {
  return block.op1('stablehlo.dot_general', inputs, output, { attributes: [['dot_dimension_numbers', dotDimensionNumbers(dims)]] });
}

/**
 * dot_general, lowered as one matrix product of row-major reshapes (free for the compiler) when
 * it has no batch dims and an operand has more than one contracting or free dim: XLA:CPU
 * otherwise copies such an operand into a transposed layout first. A train step's weight
 * gradients (tokens [B, S] contracted against tokens) ran 1.5x slower that way, measured alone.
 */
function lowerDotGeneral(block: Block, inputs: readonly Value[], params: DotParams, outputs: readonly TensorType[]): Value[] {
  const [lhs, rhs] = inputs as [Value, Value];
  const output = outputs[0]!;
  // matrixFold wants both contracting runs ascending, so the folded elements pair up in order;
  // it refuses a rank-1 operand (no free or no contracting dim)
  const lhsFold = matrixFold(lhs.type.shape, params.lhsContracting);
  const rhsFold = matrixFold(rhs.type.shape, params.rhsContracting);
  const alreadyMatrices = lhs.type.shape.length <= 2 && rhs.type.shape.length <= 2;
  if (params.lhsBatch.length > 0 || alreadyMatrices || !lhsFold || !rhsFold) return [emitDotGeneral(block, inputs, params, output)];
  const fold = (value: Value, matrix: [number, number]) =>
    value.type.shape.length === 2 ? value : block.op1('stablehlo.reshape', [value], tensorType(value.type.dtype, matrix));
  const lhsFree = lhsFold.matrix[1 - lhsFold.contractedAxis]!;
  const rhsFree = rhsFold.matrix[1 - rhsFold.contractedAxis]!;
  const product = emitDotGeneral(
    block,
    [fold(lhs, lhsFold.matrix), fold(rhs, rhsFold.matrix)],
    { lhsBatch: [], rhsBatch: [], lhsContracting: [lhsFold.contractedAxis], rhsContracting: [rhsFold.contractedAxis] },
    tensorType(output.dtype, [lhsFree, rhsFree]),
  );
  return [output.shape.length === 2 ? product : block.op1('stablehlo.reshape', [product], output)];
}

const dotGeneralRule: PrimitiveRule<DotParams> = {
  shape: dotShape,
  lower: lowerDotGeneral,
  vjp: ([ct], { inputs: [lhs, rhs], params }) => [dotOperandCotangent(ct!, lhs!, rhs!, true, params), dotOperandCotangent(ct!, rhs!, lhs!, false, params)],
};

/** The reduction and contraction primitives' rules. */
export const contractionRules: PrimitiveRules<'reduce_sum' | 'reduce_max' | 'dot_general'> = {
  reduce_sum: {
    shape: (inputs, { axes }) => reductionShape('reduce_sum', inputs, axes),
    lower: lowerReduction('sum'),
    vjp: ([ct], { inputs: [x], params: { axes } }) => [unreduce(ct!, x!, axes)],
  },
  reduce_max: {
    shape: (inputs, { axes }) => reductionShape('reduce_max', inputs, axes),
    lower: lowerReduction('max'),
    vjp([ct], { inputs: [x], outputs: [y], params: { axes } }) {
      // the gradient is shared equally among the elements that attain the maximum
      const winners = lax.convert(lax.compare(x!, unreduce(y!, x!, axes), 'EQ'), x!.dtype);
      const share = lax.div(ct!, lax.reduceSum(winners, axes));
      return [lax.mul(unreduce(share, x!, axes), winners)];
    },
  },
  dot_general: dotGeneralRule,
};
