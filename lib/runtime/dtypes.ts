/**
 * Element types as the runtime moves them between host and device, with their PJRT buffer type,
 * their host typed-array class and their size. `bf16` and `f16` travel as raw `Uint16Array`
 * bits; `pred` as one byte per element (`Uint8Array`, 0 or 1); `s64` as `BigInt64Array`.
 */
import { loadAddon } from '../native/binding.js';
import { RUNTIME_DTYPES, hostArrayClass, isRuntimeDType, pjrtTypeName, type HostArrayOf as AnyHostArrayOf, type RuntimeDType } from '../base/dtypes.js';
import { formatTensorType } from '../base/shapes.js';

export { dtypeBytes, hostView, allocHost } from '../base/dtypes.js';
export { elementCount } from '../base/shapes.js';

/** The element types the runtime supports (the facts about each are in `lib/base/dtypes.ts`). */
export type DType = RuntimeDType;

/** Host-side storage for each {@link DType}. */
export type HostArrayOf = Pick<AnyHostArrayOf, DType>;

/** Any host typed array the runtime accepts. */
export type HostArray = HostArrayOf[DType];

/** Every supported dtype name. */
export const DTYPES = RUNTIME_DTYPES as DType[];

/** True if `value` names a supported dtype. Sync. */
export const isDType: (value: unknown) => value is DType = isRuntimeDType;

/** The `PJRT_Buffer_Type` number of `dtype`, as compiled into the addon's header. Sync. */
export function pjrtBufferType(dtype: DType): number {
  return loadAddon().bufferTypes[pjrtTypeName(dtype)];
}

/** The dtype of a `PJRT_Buffer_Type` number. Sync; throws TypeError for types the runtime does not move. */
export function dtypeOfPjrtType(type: number): DType {
  const types = loadAddon().bufferTypes;
  for (const dtype of DTYPES) if (types[pjrtTypeName(dtype)] === type) return dtype;
  throw new TypeError(`PJRT buffer type ${type} is not supported by pjrt-bert (supported: ${DTYPES.join(', ')})`);
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
  const expected = hostArrayClass(dtype);
  if (!(data instanceof (expected as unknown as typeof Uint8Array))) {
    throw new TypeError(`dtype ${dtype} needs a ${expected.name}, got a ${data.constructor.name}`);
  }
}

/** Formats a dtype and shape as in error messages and MLIR, e.g. `f32[5,4]`. Sync. */
export function formatType(dtype: DType, shape: readonly number[]): string {
  return formatTensorType({ dtype, shape });
}
