/**
 * safetensors read and write (https://github.com/huggingface/safetensors format):
 *
 *     [u64 little-endian N][N bytes of JSON header][data]
 *     header = { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] },
 *                "__metadata__": { "<key>": "<string>" } }
 *
 * Offsets are relative to the start of the data section. Reading validates the header
 * against the file as the reference implementation does: header length within the file,
 * JSON object, known dtypes, byte length = dtype size x element count, tensors
 * contiguous and non-overlapping and covering the data section exactly. Every error names
 * the file and, where it applies, the tensor.
 */
import { dtypeOfSafetensorsCode, safetensorsCode, safetensorsCodes } from '../base/dtypes.js';
import { FileFormatError, readFileOrThrow, writeFileAtomic } from './files.js';
import { type DType, type Tensor, dtypeByteSize, elementCount, tensorBytes, tensorFromBytes } from './tensor.js';

/** Tensors by name plus the free-form string metadata of the file. */
export interface SafetensorsContents {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Largest header the reference implementation accepts (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseEntry(file: string, name: string, raw: unknown): Entry {
  const bad = (problem: string) => new FileFormatError(file, `tensor ${JSON.stringify(name)}: ${problem}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('header entry is not an object');
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') throw bad('missing dtype');
  const hostDtype = dtypeOfSafetensorsCode(dtype);
  if (hostDtype === undefined) {
    throw bad(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${safetensorsCodes().join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) throw bad('shape must be a list of non-negative integers');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    throw bad('data_offsets must be [begin, end] with non-negative integers');
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw bad(`data_offsets [${begin}, ${end}] end before they begin`);
  const expected = elementCount(shape) * dtypeByteSize(hostDtype);
  if (end - begin !== expected) {
    throw bad(`${dtype}[${shape.join(', ')}] needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtype: hostDtype, shape: [...(shape as number[])], begin, end };
}

/**
 * Parses and validates the header of safetensors `bytes`; returns the entries sorted by
 * offset, the metadata and where the data section starts. Synchronous; throws
 * `FileFormatError` naming `file` (and the tensor) on any inconsistency.
 */
function parseHeader(bytes: Uint8Array, file: string): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.byteLength < 8) throw new FileFormatError(file, `too short for a safetensors file (${bytes.byteLength} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw new FileFormatError(file, `header length ${headerLength} exceeds 100 MB`);
  const dataStart = 8 + Number(headerLength);
  if (dataStart > bytes.byteLength) {
    throw new FileFormatError(file, `header length ${headerLength} runs past the end of the file (${bytes.byteLength} bytes)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    throw new FileFormatError(file, `header is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new FileFormatError(file, 'header is not a JSON object');
  }
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const valid =
        typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.values(raw).every((v) => typeof v === 'string');
      if (!valid) throw new FileFormatError(file, '__metadata__ must map strings to strings');
      metadata = raw as Record<string, string>;
      continue;
    }
    entries.push(parseEntry(file, name, raw));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const entry of entries) {
    if (entry.begin !== expectedBegin) {
      const problem = entry.begin < expectedBegin ? 'overlaps the previous tensor' : 'leaves a gap after the previous tensor';
      throw new FileFormatError(file, `tensor ${JSON.stringify(entry.name)}: data_offsets [${entry.begin}, ${entry.end}] ${problem} (expected begin ${expectedBegin})`);
    }
    expectedBegin = entry.end;
  }
  const dataLength = bytes.byteLength - dataStart;
  if (expectedBegin !== dataLength) {
    const last = entries.at(-1);
    const where = last ? ` (last tensor ${JSON.stringify(last.name)} ends at ${expectedBegin})` : '';
    throw new FileFormatError(
      file,
      expectedBegin > dataLength
        ? `tensor data runs past the end of the file: data section has ${dataLength} bytes${where}`
        : `data section has ${dataLength} bytes but the tensors cover ${expectedBegin}${where}`,
    );
  }
  return { entries, metadata, dataStart };
}

/**
 * Decodes safetensors `bytes` (the whole file). Tensors view `bytes` without copying
 * where the alignment allows, so they keep it alive. Synchronous; throws
 * `FileFormatError` naming `file` and the tensor for any invalid header.
 */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsContents {
  const { entries, metadata, dataStart } = parseHeader(bytes, file);
  const tensors = new Map<string, Tensor>();
  for (const entry of entries) {
    const slice = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    tensors.set(entry.name, tensorFromBytes(entry.dtype, entry.shape, slice));
  }
  return { tensors, metadata };
}

/**
 * Reads a `.safetensors` file. Async; throws `FileFormatError` naming the file (and the
 * tensor) when it is missing or its header does not match its contents.
 */
export async function readSafetensors(file: string): Promise<SafetensorsContents> {
  return parseSafetensors(await readFileOrThrow(file), file);
}

/**
 * Encodes tensors as safetensors: the header (names in the given order, padded with
 * spaces to a multiple of 8 bytes so data stays aligned) followed by the data. Returns
 * the chunks to write, the tensors' bytes as views. Synchronous; throws `RangeError` when
 * a tensor's data does not match its shape or a name is `__metadata__`.
 */
export function encodeSafetensors(
  tensors: Iterable<[string, Tensor]>,
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (name === '__metadata__') throw new RangeError('a tensor cannot be named __metadata__');
    const bytes = tensorBytes(tensor);
    const expected = elementCount(tensor.shape) * dtypeByteSize(tensor.dtype);
    if (bytes.byteLength !== expected) {
      throw new RangeError(`tensor ${JSON.stringify(name)}: ${tensor.dtype}[${tensor.shape.join(', ')}] needs ${expected} bytes, has ${bytes.byteLength}`);
    }
    header[name] = { dtype: safetensorsCode(tensor.dtype), shape: tensor.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    chunks.push(bytes);
  }
  let json = JSON.stringify(header);
  const length = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + length) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  return [prefix, headerBytes, ...chunks];
}

/**
 * Writes tensors to a `.safetensors` file atomically (temporary file + rename). For a
 * file that PyTorch `transformers` loads, pass `{ format: 'pt' }` as metadata. Async;
 * throws `RangeError` as `encodeSafetensors`, or the file system's error.
 */
export async function writeSafetensors(
  file: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  await writeFileAtomic(file, encodeSafetensors(entries, metadata));
}
