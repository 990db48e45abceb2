/**
 * The element types of pjrt-bert and every fact about each, in one table: the name used
 * throughout the package (`f32`, `bf16`, `s64`, `pred`...), the MLIR spelling (`pred` is `i1`,
 * `u8` is `ui8`), the `PJRT_Buffer_Type` enumerator name, the safetensors code, the size and the
 * host typed array. `bf16` and `f16` live on the host as raw `Uint16Array` bits, `pred` as one
 * byte per element (`Uint8Array`, 0 or 1), `s64` as `BigInt64Array`.
 *
 * This is the leaf under every layer: `stablehlo`, `runtime` and `io` take their dtype facts
 * from here, each exposing the subset it supports ({@link RuntimeDType}, {@link ProgramDType},
 * or all of {@link DType} for files). Imports nothing.
 */

/** Every element type the package knows: what files carry (s16, u16, u64 only appear there or inside programs). */
export type DType = 'f64' | 'f32' | 'f16' | 'bf16' | 's64' | 's32' | 's16' | 's8' | 'u64' | 'u32' | 'u16' | 'u8' | 'pred';

/** The element types the runtime moves between host and device. */
export type RuntimeDType = 'f32' | 'f64' | 'bf16' | 'f16' | 's8' | 'u8' | 's32' | 's64' | 'u32' | 'pred';

/**
 * The element types of traced programs: the runtime's, plus `u64`, which only appears inside
 * programs (the state of `rng_bit_generator`), never in a `@main` signature.
 */
export type ProgramDType = RuntimeDType | 'u64';

/** The kind of values a dtype holds; decides comparison type, reduction identities and differentiability. */
export type DTypeKind = 'float' | 'signed' | 'unsigned' | 'bool';

/** The `PJRT_Buffer_Type` enumerator names (without the prefix) of the dtypes. */
export type PjrtTypeName = 'PRED' | 'S8' | 'S16' | 'S32' | 'S64' | 'U8' | 'U16' | 'U32' | 'U64' | 'F16' | 'F32' | 'F64' | 'BF16';

/** The host typed array that holds the elements of each dtype. */
export interface HostArrayOf {
  f64: Float64Array;
  f32: Float32Array;
  f16: Uint16Array;
  bf16: Uint16Array;
  s64: BigInt64Array;
  s32: Int32Array;
  s16: Int16Array;
  s8: Int8Array;
  u64: BigUint64Array;
  u32: Uint32Array;
  u16: Uint16Array;
  u8: Uint8Array;
  pred: Uint8Array;
}

/** The constructor of a host typed array. */
export interface HostArrayClass {
  new (length: number): HostArrayOf[DType];
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): HostArrayOf[DType];
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

interface DTypeFacts {
  mlir: string;
  kind: DTypeKind;
  bits: number;
  bytes: number;
  pjrt: PjrtTypeName;
  safetensors: string;
  host: HostArrayClass;
}

const FACTS: Record<DType, DTypeFacts> = {
  f64: { mlir: 'f64', kind: 'float', bits: 64, bytes: 8, pjrt: 'F64', safetensors: 'F64', host: Float64Array },
  f32: { mlir: 'f32', kind: 'float', bits: 32, bytes: 4, pjrt: 'F32', safetensors: 'F32', host: Float32Array },
  f16: { mlir: 'f16', kind: 'float', bits: 16, bytes: 2, pjrt: 'F16', safetensors: 'F16', host: Uint16Array },
  bf16: { mlir: 'bf16', kind: 'float', bits: 16, bytes: 2, pjrt: 'BF16', safetensors: 'BF16', host: Uint16Array },
  s64: { mlir: 'i64', kind: 'signed', bits: 64, bytes: 8, pjrt: 'S64', safetensors: 'I64', host: BigInt64Array },
  s32: { mlir: 'i32', kind: 'signed', bits: 32, bytes: 4, pjrt: 'S32', safetensors: 'I32', host: Int32Array },
  s16: { mlir: 'i16', kind: 'signed', bits: 16, bytes: 2, pjrt: 'S16', safetensors: 'I16', host: Int16Array },
  s8: { mlir: 'i8', kind: 'signed', bits: 8, bytes: 1, pjrt: 'S8', safetensors: 'I8', host: Int8Array },
  u64: { mlir: 'ui64', kind: 'unsigned', bits: 64, bytes: 8, pjrt: 'U64', safetensors: 'U64', host: BigUint64Array },
  u32: { mlir: 'ui32', kind: 'unsigned', bits: 32, bytes: 4, pjrt: 'U32', safetensors: 'U32', host: Uint32Array },
  u16: { mlir: 'ui16', kind: 'unsigned', bits: 16, bytes: 2, pjrt: 'U16', safetensors: 'U16', host: Uint16Array },
  u8: { mlir: 'ui8', kind: 'unsigned', bits: 8, bytes: 1, pjrt: 'U8', safetensors: 'U8', host: Uint8Array },
  pred: { mlir: 'i1', kind: 'bool', bits: 1, bytes: 1, pjrt: 'PRED', safetensors: 'BOOL', host: Uint8Array },
} as Record<DType, DTypeFacts>;

/** Every dtype name, as files may carry them. */
export const DTYPES = Object.keys(FACTS) as DType[];

/** The dtypes the runtime moves, in the runtime's order. */
export const RUNTIME_DTYPES: readonly RuntimeDType[] = ['f32', 'f64', 'bf16', 'f16', 's8', 'u8', 's32', 's64', 'u32', 'pred'];

const BY_MLIR = new Map(DTYPES.map((dtype) => [FACTS[dtype].mlir, dtype]));
const BY_SAFETENSORS = new Map(DTYPES.map((dtype) => [FACTS[dtype].safetensors, dtype]));

/** True if `value` names any dtype of {@link DTYPES}. Sync; never throws. */
export function isAnyDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(FACTS, value);
}

/** True if `value` names a dtype the runtime moves. Sync; never throws. */
export function isRuntimeDType(value: unknown): value is RuntimeDType {
  return typeof value === 'string' && (RUNTIME_DTYPES as readonly string[]).includes(value);
}

/** Bytes per element of `dtype` (`pred`: 1). Sync; never throws. */
export function dtypeBytes(dtype: DType): number {
  return FACTS[dtype].bytes;
}

/** Bits per element of `dtype` (`pred`: 1). Sync; never throws. */
export function dtypeBits(dtype: DType): number {
  return FACTS[dtype].bits;
}

/** The MLIR element type of `dtype` (`s32` -> `i32`, `u8` -> `ui8`, `pred` -> `i1`). Sync; never throws. */
export function mlirElementType(dtype: DType): string {
  return FACTS[dtype].mlir;
}

/** The dtype of an MLIR element type (`i32` -> `s32`). Sync; returns undefined for other element types. */
export function dtypeOfMlirElement(element: string): DType | undefined {
  return BY_MLIR.get(element);
}

/** The kind of `dtype`. Sync; never throws. */
export function dtypeKind(dtype: DType): DTypeKind {
  return FACTS[dtype].kind;
}

/** True for f32, f64, bf16, f16: the dtypes that carry gradients. Sync; never throws. */
export function isFloatDType(dtype: DType): boolean {
  return FACTS[dtype].kind === 'float';
}

/** True for the signed and unsigned integer dtypes (not `pred`). Sync; never throws. */
export function isIntegerDType(dtype: DType): boolean {
  const kind = FACTS[dtype].kind;
  return kind === 'signed' || kind === 'unsigned';
}

/** The `PJRT_Buffer_Type` enumerator name of `dtype` (`bf16` -> `BF16`). Sync; never throws. */
export function pjrtTypeName(dtype: DType): PjrtTypeName {
  return FACTS[dtype].pjrt;
}

/** The safetensors dtype code of `dtype` (`s64` -> `I64`, `pred` -> `BOOL`). Sync; never throws. */
export function safetensorsCode(dtype: DType): string {
  return FACTS[dtype].safetensors;
}

/** The dtype of a safetensors dtype code (`I64` -> `s64`). Sync; returns undefined for unknown codes. */
export function dtypeOfSafetensorsCode(code: string): DType | undefined {
  return BY_SAFETENSORS.get(code);
}

/** The safetensors dtype codes the package reads and writes. Sync; never throws. */
export function safetensorsCodes(): string[] {
  return [...BY_SAFETENSORS.keys()];
}

/** The host typed-array class of `dtype`. Sync; never throws. */
export function hostArrayClass(dtype: DType): HostArrayClass {
  return FACTS[dtype].host;
}

/** A zero-filled host array of `dtype` with `length` elements. Sync; throws RangeError for an invalid length. */
export function allocHost<D extends DType>(dtype: D, length: number): HostArrayOf[D] {
  return new FACTS[dtype].host(length) as HostArrayOf[D];
}

/** Views `buffer` as the host typed array of `dtype` (no copy). Sync; throws RangeError if the length is not a multiple of the element size. */
export function hostView<D extends DType>(dtype: D, buffer: ArrayBuffer): HostArrayOf[D] {
  const facts = FACTS[dtype];
  return new facts.host(buffer, 0, buffer.byteLength / facts.bytes) as HostArrayOf[D];
}
