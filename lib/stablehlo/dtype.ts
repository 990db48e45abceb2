/**
 * Element types as StableHLO sees them: their MLIR spelling, their kind (float, signed,
 * unsigned, boolean) and how scalar literals of each are printed. The dtype names are the
 * runtime's (`pred` is MLIR's `i1`), so a traced program's types are the ones `Runtime.put`
 * produces; both come from the one table in `lib/base/dtypes.ts`.
 */
import { dtypeBits, dtypeKind, type ProgramDType } from '../base/dtypes.js';

export { dtypeKind, isFloatDType, isIntegerDType, mlirElementType, type DTypeKind } from '../base/dtypes.js';

/**
 * The element types of traced programs: the runtime's, plus `u64`, which only appears inside
 * programs (the state of `rng_bit_generator`), never in a `@main` signature. (The facts about
 * each are in `lib/base/dtypes.ts`.)
 */
export type DType = ProgramDType;

const FLOAT_SPECIALS: Record<'f32' | 'f64' | 'bf16' | 'f16', { inf: string; negInf: string; nan: string }> = {
  f32: { inf: '0x7F800000', negInf: '0xFF800000', nan: '0x7FC00000' },
  f64: { inf: '0x7FF0000000000000', negInf: '0xFFF0000000000000', nan: '0x7FF8000000000000' },
  bf16: { inf: '0x7F80', negInf: '0xFF80', nan: '0x7FC0' },
  f16: { inf: '0x7C00', negInf: '0xFC00', nan: '0x7E00' },
};

/**
 * Prints one scalar of `dtype` as an MLIR dense-literal element: floats in shortest round-trip
 * decimal (always with a `.` in the mantissa), infinities and NaN as hex bit patterns, integers in
 * decimal, `pred` as `true`/`false`. Sync; throws RangeError for a non-integer or out-of-range
 * value of an integer dtype.
 */
export function formatScalar(value: number | bigint | boolean, dtype: DType): string {
  const kind = dtypeKind(dtype);
  if (kind === 'bool') return value ? 'true' : 'false';
  if (kind === 'float') {
    const x = Number(value);
    const specials = FLOAT_SPECIALS[dtype as keyof typeof FLOAT_SPECIALS];
    if (Number.isNaN(x)) return specials.nan;
    if (x === Infinity) return specials.inf;
    if (x === -Infinity) return specials.negInf;
    // MLIR float literals need a '.' in the mantissa: 1e-300 -> 1.0e-300, 2 -> 2.0
    const text = String(dtype === 'f64' ? x : Math.fround(x));
    if (text.includes('.')) return text;
    const exponent = text.indexOf('e');
    return exponent < 0 ? `${text}.0` : `${text.slice(0, exponent)}.0${text.slice(exponent)}`;
  }
  const integer = typeof value === 'bigint' ? value : BigInt(checkedInteger(Number(value), dtype));
  const [min, max] = integerRange(dtype);
  if (integer < min || integer > max) throw new RangeError(`${String(value)} is out of range for ${dtype}`);
  return integer.toString();
}

function checkedInteger(value: number, dtype: DType): number {
  if (!Number.isInteger(value)) throw new RangeError(`${value} is not an integer, so it cannot be a ${dtype} literal`);
  return value;
}

/** The smallest and largest value of an integer dtype, as bigints. Sync; throws TypeError for other dtypes. */
export function integerRange(dtype: DType): [bigint, bigint] {
  const kind = dtypeKind(dtype);
  const bits = dtypeBits(dtype);
  if (kind === 'unsigned') return [0n, (1n << BigInt(bits)) - 1n];
  if (kind === 'signed') return [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n];
  throw new TypeError(`${dtype} is not an integer dtype`);
}

/** The identity of `max` over `dtype`: -inf for floats, the minimum for integers, false for pred. Sync. */
export function lowestValue(dtype: DType): number | bigint | boolean {
  const kind = dtypeKind(dtype);
  if (kind === 'float') return -Infinity;
  if (kind === 'bool') return false;
  return integerRange(dtype)[0];
}
