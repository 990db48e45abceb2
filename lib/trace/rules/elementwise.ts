/**
 * Elementwise primitives: arithmetic, transcendental functions, bitwise xor and shifts of
 * integers, comparison, selection and conversion, plus the nullary `constant` and `iota`.
 * Operands have equal shapes (numpy broadcasting happens in `ops.ts`, as explicit
 * broadcast_in_dim, so its VJP undoes it).
 */
import { i64, denseElements, stablehloEnum } from '../../stablehlo/attributes.js';
import { dtypeKind, formatScalar, isFloatDType, isIntegerDType } from '../../stablehlo/dtype.js';
import { ShapeError, elementCount, tensorType, type TensorType } from '../../stablehlo/shape.js';
import * as lax from '../lax.js';
import type { Tensor } from '../tensor.js';
import type { ParamsOf, PrimitiveRule, PrimitiveRules, VjpRule } from '../primitive.js';
import { emitElementwise, expectArity, expectFloat, expectSameTypes, roles } from './common.js';

type Binary = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow';
type Unary = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'erf';
type Bitwise = 'xor' | 'shift_left' | 'shift_right_logical';

function binary(name: Binary, mlirName: string, vjp: VjpRule<ParamsOf[Binary]>, floatOnly = false): PrimitiveRule<ParamsOf[Binary]> {
  return {
    shape(inputs) {
      expectArity(name, inputs, 2);
      const type = expectSameTypes(name, inputs);
      if (dtypeKind(type.dtype) === 'bool') throw new ShapeError(name, 'does not take pred operands', roles(inputs));
      if (floatOnly) expectFloat(name, type, 'lhs');
      return [type];
    },
    lower: (block, inputs, _params, outputs) => emitElementwise(block, mlirName, inputs, outputs[0]!),
    vjp,
  };
}

function unary(name: Unary, mlirName: string, vjp: VjpRule<ParamsOf[Unary]>): PrimitiveRule<ParamsOf[Unary]> {
  return {
    shape(inputs) {
      expectArity(name, inputs, 1);
      const x = inputs[0]!;
      if (name === 'neg') {
        const kind = dtypeKind(x.dtype);
        if (kind === 'bool' || kind === 'unsigned') throw new ShapeError(name, 'expects a signed or floating-point x', roles(inputs));
      } else {
        expectFloat(name, x);
      }
      return [x];
    },
    lower: (block, inputs, _params, outputs) => emitElementwise(block, mlirName, inputs, outputs[0]!),
    vjp,
  };
}

/** Integer-only bitwise ops (what counter-based random generators are made of); no gradient. */
function bitwise(name: Bitwise, mlirName: string): PrimitiveRule<ParamsOf[Bitwise]> {
  return {
    shape(inputs) {
      expectArity(name, inputs, 2);
      const type = expectSameTypes(name, inputs);
      if (!isIntegerDType(type.dtype)) throw new ShapeError(name, 'expects integer operands', roles(inputs));
      return [type];
    },
    lower: (block, inputs, _params, outputs) => emitElementwise(block, mlirName, inputs, outputs[0]!),
    vjp: 'no-gradient',
  };
}

/** The weight of `a` in d max(a, b): 1 where a wins, 1/2 on ties, 0 where b wins. */
function winnerWeight(a: Tensor, b: Tensor, wins: 'GT' | 'LT'): Tensor {
  const won = lax.convert(lax.compare(a, b, wins), a.dtype);
  const tied = lax.convert(lax.compare(a, b, 'EQ'), a.dtype);
  return lax.add(won, lax.mul(tied, lax.fullLike(a, 0.5)));
}

function chooserVjp(wins: 'GT' | 'LT'): VjpRule<ParamsOf['max']> {
  return ([ct], { inputs: [a, b] }) => {
    const weight = winnerWeight(a!, b!, wins);
    return [lax.mul(ct!, weight), lax.mul(ct!, lax.sub(lax.fullLike(weight, 1), weight))];
  };
}

/** The elementwise primitives' rules. */
export const elementwiseRules: PrimitiveRules<Binary | Unary | Bitwise | 'compare' | 'select' | 'convert' | 'constant' | 'iota'> = {
  add: binary('add', 'stablehlo.add', ([ct]) => [ct, ct]),
  sub: binary('sub', 'stablehlo.subtract', ([ct]) => [ct, lax.neg(ct!)]),
  mul: binary('mul', 'stablehlo.multiply', ([ct], { inputs: [a, b] }) => [lax.mul(ct!, b!), lax.mul(ct!, a!)]),
  div: binary('div', 'stablehlo.divide', ([ct], { inputs: [, b], outputs: [quotient] }) => [
    lax.div(ct!, b!),
    lax.neg(lax.div(lax.mul(ct!, quotient!), b!)),
  ]),
  max: binary('max', 'stablehlo.maximum', chooserVjp('GT')),
  min: binary('min', 'stablehlo.minimum', chooserVjp('LT')),
  pow: binary(
    'pow',
    'stablehlo.power',
    ([ct], { inputs: [base, exponent], outputs: [power] }) => [
      // d/dbase = exponent * base^(exponent-1); d/dexponent = log(base) * base^exponent (base > 0)
      lax.mul(ct!, lax.mul(exponent!, lax.pow(base!, lax.sub(exponent!, lax.fullLike(exponent!, 1))))),
      lax.mul(ct!, lax.mul(lax.log(base!), power!)),
    ],
    true,
  ),
  neg: unary('neg', 'stablehlo.negate', ([ct]) => [lax.neg(ct!)]),
  exp: unary('exp', 'stablehlo.exponential', ([ct], { outputs: [y] }) => [lax.mul(ct!, y!)]),
  log: unary('log', 'stablehlo.log', ([ct], { inputs: [x] }) => [lax.div(ct!, x!)]),
  sqrt: unary('sqrt', 'stablehlo.sqrt', ([ct], { outputs: [y] }) => [lax.div(lax.mul(ct!, lax.fullLike(y!, 0.5)), y!)]),
  rsqrt: unary('rsqrt', 'stablehlo.rsqrt', ([ct], { inputs: [x], outputs: [y] }) => [
    // d/dx x^(-1/2) = -1/2 * x^(-1/2) / x
    lax.div(lax.mul(ct!, lax.mul(y!, lax.fullLike(y!, -0.5))), x!),
  ]),
  tanh: unary('tanh', 'stablehlo.tanh', ([ct], { outputs: [y] }) => [lax.mul(ct!, lax.sub(lax.fullLike(y!, 1), lax.mul(y!, y!)))]),
  erf: unary('erf', 'chlo.erf', ([ct], { inputs: [x] }) => [
    // d/dx erf(x) = 2/sqrt(pi) * exp(-x^2)
    lax.mul(ct!, lax.mul(lax.fullLike(x!, 2 / Math.sqrt(Math.PI)), lax.exp(lax.neg(lax.mul(x!, x!))))),
  ]),
  xor: bitwise('xor', 'stablehlo.xor'),
  shift_left: bitwise('shift_left', 'stablehlo.shift_left'),
  shift_right_logical: bitwise('shift_right_logical', 'stablehlo.shift_right_logical'),
  compare: {
    shape(inputs) {
      expectArity('compare', inputs, 2);
      const type = expectSameTypes('compare', inputs);
      return [tensorType('pred', type.shape)];
    },
    lower(block, inputs, params, outputs) {
      const kind = dtypeKind(inputs[0]!.type.dtype);
      const compareType = kind === 'float' ? 'FLOAT' : kind === 'signed' ? 'SIGNED' : 'UNSIGNED';
      return [
        block.op1('stablehlo.compare', inputs, outputs[0]!, {
          attributes: [
            ['comparison_direction', stablehloEnum('comparison_direction', params.direction)],
            ['compare_type', stablehloEnum('comparison_type', compareType)],
          ],
        }),
      ];
    },
    vjp: 'no-gradient',
  },
  select: {
    shape(inputs) {
      expectArity('select', inputs, 3);
      const names = ['predicate', 'onTrue', 'onFalse'];
      const [predicate, onTrue, onFalse] = inputs as [TensorType, TensorType, TensorType];
      const type = expectSameTypes('select', [onTrue, onFalse], names.slice(1));
      if (predicate.dtype !== 'pred') throw new ShapeError('select', 'predicate must be pred', roles(inputs, names));
      if (predicate.shape.join() !== type.shape.join()) throw new ShapeError('select', 'predicate shape mismatch', roles(inputs, names));
      return [type];
    },
    lower: (block, inputs, _params, outputs) => emitElementwise(block, 'stablehlo.select', inputs, outputs[0]!),
    vjp([ct], { inputs: [predicate] }) {
      const zeros = lax.fullLike(ct!, 0);
      return [undefined, lax.select(predicate!, ct!, zeros), lax.select(predicate!, zeros, ct!)];
    },
  },
  convert: {
    shape(inputs, params) {
      expectArity('convert', inputs, 1);
      return [tensorType(params.dtype, inputs[0]!.shape)];
    },
    lower: (block, inputs, _params, outputs) => emitElementwise(block, 'stablehlo.convert', inputs, outputs[0]!),
    vjp: ([ct], { inputs: [x] }) => [isFloatDType(x!.dtype) ? lax.convert(ct!, x!.dtype) : undefined],
  },
  constant: {
    shape(inputs, params) {
      expectArity('constant', inputs, 0);
      const count = elementCount(params.type.shape);
      if (typeof params.value === 'object' && params.value.length !== count) {
        throw new ShapeError('constant', `${params.value.length} values for ${count} elements`, [['result', params.type]]);
      }
      if (typeof params.value !== 'object') {
        try {
          formatScalar(params.value, params.type.dtype);
        } catch (error) {
          throw new ShapeError('constant', (error as Error).message, [['result', params.type]]);
        }
      }
      return [params.type];
    },
    lower: (block, _inputs, params, outputs) => [
      block.op1('stablehlo.constant', [], outputs[0]!, { attributes: [['value', denseElements(params.value, params.type)]] }),
    ],
    vjp: 'no-gradient',
  },
  iota: {
    shape(inputs, params) {
      expectArity('iota', inputs, 0);
      const rank = params.type.shape.length;
      if (!Number.isInteger(params.dimension) || params.dimension < 0 || params.dimension >= rank) {
        throw new ShapeError('iota', `dimension ${params.dimension} out of range for rank ${rank}`, [['result', params.type]]);
      }
      if (dtypeKind(params.type.dtype) === 'bool') throw new ShapeError('iota', 'cannot count in pred', [['result', params.type]]);
      return [params.type];
    },
    lower: (block, _inputs, params, outputs) => [
      block.op1('stablehlo.iota', [], outputs[0]!, { attributes: [['iota_dimension', i64(params.dimension)]] }),
    ],
    vjp: 'no-gradient',
  },
};
