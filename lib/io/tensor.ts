/**
 * The host tensor record used by every reader and writer of `lib/io`:
 *
 *     { dtype: 'f32', shape: [768, 768], data: Float32Array }
 *
 * `data` holds the elements in row-major (C) order, little-endian, with exactly
 * `product(shape)` elements (a scalar has shape `[]` and one element). The typed array per
 * dtype is fixed: f64 Float64Array, f32 Float32Array, f16 and bf16 Uint16Array (raw bit
 * patterns), s64 BigInt64Array, s32 Int32Array, s16 Int16Array, s8 Int8Array, u64
 * BigUint64Array, u32 Uint32Array, u16 Uint16Array, u8 and pred (booleans) Uint8Array (0/1).
 * The dtype names are those of `lib/runtime` and `lib/stablehlo` (`f32`, `bf16`, `s64`, `pred`...),
 * plus s16, u16 and u64, which only files carry.
 */
import { dtypeBytes, hostArrayClass, type DType, type HostArrayOf } from '../base/dtypes.js';
import { elementCount } from '../base/shapes.js';

export { DTYPES, type DType } from '../base/dtypes.js';
export { elementCount } from '../base/shapes.js';

/** The typed array that holds the elements of each dtype (the facts about each are in `lib/base/dtypes.ts`). */
export type TensorDataByDType = HostArrayOf;

/** A host tensor: dtype, shape and row-major little-endian elements. */
export interface Tensor<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: TensorDataByDType[D];
}

/** Bytes per element of `dtype`. Synchronous; never throws. */
export const dtypeByteSize: (dtype: DType) => number = dtypeBytes;

/**
 * A zero-filled tensor. Synchronous; throws `RangeError` for an invalid shape.
 */
export function zerosTensor<D extends DType>(dtype: D, shape: number[]): Tensor<D> {
  return { dtype, shape, data: new (hostArrayClass(dtype))(elementCount(shape)) as TensorDataByDType[D] };
}

/**
 * A tensor over `data`, checked: `data` must be the typed array of `dtype` with
 * `product(shape)` elements. Synchronous; throws `TypeError` or `RangeError` otherwise.
 */
export function makeTensor<D extends DType>(dtype: D, shape: number[], data: TensorDataByDType[D]): Tensor<D> {
  const Expected = hostArrayClass(dtype);
  if (!(data instanceof Expected)) throw new TypeError(`${dtype} tensor data must be a ${Expected.name}`);
  const count = elementCount(shape);
  if (data.length !== count) {
    throw new RangeError(`${dtype} tensor of shape [${shape.join(', ')}] needs ${count} elements, got ${data.length}`);
  }
  return { dtype, shape, data };
}

/**
 * A tensor over little-endian `bytes` (exactly `product(shape) * size` of them). Views the
 * bytes without copying when they are aligned for the dtype, copies otherwise.
 * Synchronous; throws `RangeError` when the byte length does not match.
 */
export function tensorFromBytes<D extends DType>(dtype: D, shape: number[], bytes: Uint8Array): Tensor<D> {
  const Type = hostArrayClass(dtype);
  const count = elementCount(shape);
  if (bytes.byteLength !== count * Type.BYTES_PER_ELEMENT) {
    throw new RangeError(`${dtype}[${shape.join(', ')}] needs ${count * Type.BYTES_PER_ELEMENT} bytes, got ${bytes.byteLength}`);
  }
  if (bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0) {
    return { dtype, shape, data: new Type(bytes.buffer, bytes.byteOffset, count) as TensorDataByDType[D] };
  }
  const data = new Type(count);
  new Uint8Array(data.buffer).set(bytes);
  return { dtype, shape, data: data as TensorDataByDType[D] };
}

/** The raw little-endian bytes of a tensor (a view, no copy). Synchronous; never throws. */
export function tensorBytes(tensor: Tensor): Uint8Array {
  const { data } = tensor;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const scratch = new DataView(new ArrayBuffer(4));

/** Converts a bfloat16 bit pattern to a number. Synchronous; never throws. */
export function bf16ToNumber(bits: number): number {
  scratch.setUint32(0, bits << 16, true);
  return scratch.getFloat32(0, true);
}

/** Rounds a number to bfloat16 (nearest, ties to even; NaN stays NaN). Synchronous; never throws. */
export function numberToBf16(value: number): number {
  scratch.setFloat32(0, value, true);
  const bits = scratch.getUint32(0, true);
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Converts an IEEE half-precision bit pattern to a number. Synchronous; never throws. */
export function f16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Rounds a number to IEEE half precision (nearest, ties to even). Synchronous; never throws. */
export function numberToF16(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00;
  if (magnitude < 2 ** -14) {
    // Subnormal: units of 2^-24, round half to even.
    return sign | roundHalfEven(magnitude * 2 ** 24);
  }
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent--;
  if (2 ** (exponent + 1) <= magnitude) exponent++;
  let mantissa = roundHalfEven((magnitude / 2 ** exponent - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    exponent++;
  }
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | mantissa;
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The elements of a floating-point tensor as a Float32Array (f32 data is returned as is,
 * f16/bf16/f64 converted). Synchronous; throws `TypeError` for integer dtypes.
 */
export function toFloat32(tensor: Tensor): Float32Array {
  switch (tensor.dtype) {
    case 'f32':
      return tensor.data as Float32Array;
    case 'f64':
      return Float32Array.from(tensor.data as Float64Array);
    case 'bf16': {
      const bits = tensor.data as Uint16Array;
      const out = new Uint32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
      return new Float32Array(out.buffer);
    }
    case 'f16':
      return Float32Array.from(tensor.data as Uint16Array, f16ToNumber);
    default:
      throw new TypeError(`toFloat32: ${tensor.dtype} is not a floating-point dtype`);
  }
}
