/**
 * The format of `Executable.serialize()`: PJRT's serialized executable behind a small header
 * that keeps what PJRT does not, the program's signature, so that a deserialized executable
 * checks its arguments exactly as a freshly compiled one does.
 *
 *     bytes 0..7     magic "PJRTBERT"
 *     bytes 8..11    format version, u32 little-endian (1)
 *     bytes 12..15   header length H, u32 little-endian
 *     bytes 16..16+H header, UTF-8 JSON {@link SerializedHeader}
 *     then           PJRT's bytes (`payloadBytes` of them, sha256 `payloadSha256`)
 */
import { createHash } from 'node:crypto';
import { isDType } from './dtypes.js';
import type { TensorType } from './mlir-signature.js';

const MAGIC = 'PJRTBERT';
const VERSION = 1;
const PREFIX_BYTES = 16;
/** A signature of thousands of parameters takes well under this. */
const MAX_HEADER_BYTES = 16 << 20;

/** What the header records. */
export interface SerializedHeader {
  /** Platform of the runtime that compiled it (`Runtime.platformName`), e.g. `cpu`. */
  platform: string;
  platformVersion: string;
  /** Parameter types of `@main`, or null when they were unknown at compile time (bytecode). */
  parameters: TensorType[] | null;
  /** Output types, as the executable reported them. */
  outputs: TensorType[];
  payloadBytes: number;
  payloadSha256: string;
}

/** A serialized executable that cannot be used: no signature, a corrupt one, or another platform's. */
export class SerializedExecutableError extends Error {
  override name = 'SerializedExecutableError';
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Prepends the header to PJRT's `payload`. Sync. */
export function encodeSerializedExecutable(signature: Omit<SerializedHeader, 'payloadBytes' | 'payloadSha256'>, payload: Uint8Array): Uint8Array {
  const header: SerializedHeader = { ...signature, payloadBytes: payload.byteLength, payloadSha256: sha256(payload) };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(PREFIX_BYTES + json.byteLength + payload.byteLength);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, json.byteLength, true);
  out.set(json, PREFIX_BYTES);
  out.set(payload, PREFIX_BYTES + json.byteLength);
  return out;
}

function isTensorType(value: unknown): value is TensorType {
  if (typeof value !== 'object' || value === null) return false;
  const { dtype, shape } = value as { dtype?: unknown; shape?: unknown };
  return typeof dtype === 'string' && isDType(dtype) && Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

function isHeader(value: unknown): value is SerializedHeader {
  if (typeof value !== 'object' || value === null) return false;
  const h = value as Record<string, unknown>;
  return (
    typeof h.platform === 'string' &&
    typeof h.platformVersion === 'string' &&
    (h.parameters === null || (Array.isArray(h.parameters) && h.parameters.every(isTensorType))) &&
    Array.isArray(h.outputs) &&
    h.outputs.every(isTensorType) &&
    Number.isSafeInteger(h.payloadBytes) &&
    typeof h.payloadSha256 === 'string'
  );
}

/**
 * Splits bytes written by `Executable.serialize()` into the header and PJRT's payload (a view,
 * not a copy), checking the magic, the version, the header's fields and the payload's length and
 * sha256. Sync.
 * @throws SerializedExecutableError saying which of these is wrong.
 */
export function decodeSerializedExecutable(bytes: Uint8Array): { header: SerializedHeader; payload: Uint8Array } {
  const fail = (what: string): never => {
    throw new SerializedExecutableError(
      `Runtime.deserialize: ${what}. Pass bytes from Executable.serialize() of pjrt-bert (raw PJRT bytes carry no signature to check arguments against); ` +
        'otherwise compile the program again.',
    );
  };
  if (!(bytes instanceof Uint8Array)) throw new TypeError('Runtime.deserialize: bytes must be a Uint8Array');
  if (bytes.byteLength < PREFIX_BYTES || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    fail(`these ${bytes.byteLength} bytes do not start with pjrt-bert's signature header ("${MAGIC}")`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) fail(`the header has format version ${version}; this pjrt-bert reads version ${VERSION}`);
  const headerBytes = view.getUint32(12, true);
  if (headerBytes > MAX_HEADER_BYTES || PREFIX_BYTES + headerBytes > bytes.byteLength) {
    fail(`the header claims ${headerBytes} bytes but only ${bytes.byteLength - PREFIX_BYTES} follow: the data is truncated or corrupt`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerBytes)));
  } catch (error) {
    fail(`the signature header is corrupt (${(error as Error).message})`);
  }
  if (!isHeader(header)) fail('the signature header is corrupt (a field is missing or has the wrong type)');
  const { payloadBytes, payloadSha256 } = header as SerializedHeader;
  const payload = bytes.subarray(PREFIX_BYTES + headerBytes);
  if (payload.byteLength !== payloadBytes) {
    fail(`the executable has ${payload.byteLength} bytes where the header says ${payloadBytes}: the data is truncated or corrupt`);
  }
  if (sha256(payload) !== payloadSha256) fail('the executable does not match the sha256 in its header: the data is corrupt');
  return { header: header as SerializedHeader, payload };
}
