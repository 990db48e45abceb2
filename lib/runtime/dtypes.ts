/**
 * Element types as the runtime moves them between host and device, with their PJRT buffer type,
 * their host typed-array class and their size. `bf16` and `f16` travel as raw `Uint16Array`
 * bits; `pred` as one byte per element (`Uint8Array`, 0 or 1); `s64` as `BigInt64Array`.
 */
import { loadAddon } from '../native/binding.js';

/** The element types the runtime supports. */
export type DType = 'f32' | 'f64' | 'bf16' | 'f16' | 's8' | 'u8' | 's32' | 's64' | 'u32' | 'pred';

/** Host-side storage for each {@link DType}. */
export interface HostArrayOf {
  f32: Float32Array;
  f64: Float64Array;
  bf16: Uint16Array;
  f16: Uint16Array;
  s8: Int8Array;
  u8: Uint8Array;
  s32: Int32Array;
  s64: BigInt64Array;
  u32: Uint32Array;
  pred: Uint8Array;
}

/** Any host typed array the runtime accepts. */
export type HostArray = HostArrayOf[DType];

interface DTypeInfo {
  pjrtName: 'F32' | 'F64' | 'BF16' | 'F16' | 'S8' | 'U8' | 'S32' | 'S64' | 'U32' | 'PRED';
  bytes: number;
  host: { new (length: number): HostArray; new (buffer: ArrayBuffer, byteOffset?: number, length?: number): HostArray };
}

const INFO: Record<DType, DTypeInfo> = {
  f32: { pjrtName: 'F32', bytes: 4, host: Float32Array },
  f64: { pjrtName: 'F64', bytes: 8, host: Float64Array },
  bf16: { pjrtName: 'BF16', bytes: 2, host: Uint16Array },
  f16: { pjrtName: 'F16', bytes: 2, host: Uint16Array },
  s8: { pjrtName: 'S8', bytes: 1, host: Int8Array },
  u8: { pjrtName: 'U8', bytes: 1, host: Uint8Array },
  s32: { pjrtName: 'S32', bytes: 4, host: Int32Array },
  s64: { pjrtName: 'S64', bytes: 8, host: BigInt64Array },
  u32: { pjrtName: 'U32', bytes: 4, host: Uint32Array },
  pred: { pjrtName: 'PRED', bytes: 1, host: Uint8Array },
};

/** Every supported dtype name. */
export const DTYPES = Object.keys(INFO) as DType[];

/** True if `value` names a supported dtype. Sync. */
export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && value in INFO;
}

/** Bytes per element of `dtype`. Sync. */
export function dtypeBytes(dtype: DType): number {
  return INFO[dtype].bytes;
}

/** The `PJRT_Buffer_Type` number of `dtype`, as compiled into the addon's header. Sync. */
export function pjrtBufferType(dtype: DType): number {
  return loadAddon().bufferTypes[INFO[dtype].pjrtName];
}

/** The dtype of a `PJRT_Buffer_Type` number. Sync; throws TypeError for types the runtime does not move. */
export function dtypeOfPjrtType(type: number): DType {
  const types = loadAddon().bufferTypes;
  for (const dtype of DTYPES) if (types[INFO[dtype].pjrtName] === type) return dtype;
  throw new TypeError(`PJRT buffer type ${type} is not supported by pjrt-bert (supported: ${DTYPES.join(', ')})`);
}

/** Views `buffer` as the host typed array of `dtype` (no copy). Sync. */
export function hostView<D extends DType>(dtype: D, buffer: ArrayBuffer): HostArrayOf[D] {
  const info = INFO[dtype];
  return new info.host(buffer, 0, buffer.byteLength / info.bytes) as HostArrayOf[D];
}

/** A zero-filled host array of `dtype` with `length` elements. Sync. */
export function allocHost<D extends DType>(dtype: D, length: number): HostArrayOf[D] {
  return new INFO[dtype].host(length) as HostArrayOf[D];
}

/**
 * The dtype implied by a typed array's class: Float32Array -> f32, Float64Array -> f64,
 * Int32Array -> s32, BigInt64Array -> s64, Uint32Array -> u32, Int8Array -> s8, Uint8Array -> u8.
 * Sync; throws TypeError for Uint16Array (ambiguous: pass `bf16` or `f16`) and other classes.
 */
export function dtypeOfHostArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Float64Array) return 'f64';
  if (data instanceof Int32Array) return 's32';
  if (data instanceof BigInt64Array) return 's64';
  if (data instanceof Uint32Array) return 'u32';
  if (data instanceof Int8Array) return 's8';
  if (data instanceof Uint8Array) return 'u8';
  if (data instanceof Uint16Array) {
    throw new TypeError("a Uint16Array holds raw 16-bit floats: pass { dtype: 'bf16' } or { dtype: 'f16' }");
  }
  throw new TypeError(`unsupported host array ${data.constructor.name}: use one of Float32Array, Float64Array, Uint16Array (bf16/f16), Int8Array, Uint8Array, Int32Array, BigInt64Array, Uint32Array`);
}

/** Checks that `data` can carry `dtype` elements (same element width and integer/float kind). Sync; throws TypeError. */
export function checkHostArray(data: ArrayBufferView, dtype: DType): void {
  const expected = INFO[dtype].host;
  if (!(data instanceof (expected as unknown as typeof Uint8Array))) {
    throw new TypeError(`dtype ${dtype} needs a ${expected.name}, got a ${data.constructor.name}`);
  }
}

/** Number of elements of `shape`. Sync. */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) count *= d;
  return count;
}

/** Formats a dtype and shape as in error messages and MLIR, e.g. `f32[5,4]`. Sync. */
export function formatType(dtype: DType, shape: readonly number[]): string {
  return `${dtype}[${shape.join(',')}]`;
}
