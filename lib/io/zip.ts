/**
 * A minimal, read-only ZIP archive reader for PyTorch checkpoints (`torch.save` writes a
 * ZIP, usually with stored entries, sometimes ZIP64). Reads the central directory and
 * returns entries as views into the archive bytes (stored) or inflated copies (deflate).
 * No encryption, no multi-disk archives.
 *
 * Bounded: an entry is never inflated past the size the central directory declares for it
 * (nor past a caller's `maxBytes`), so a small archive cannot expand into gigabytes unless
 * it says so up front; the output must have exactly the declared size and CRC-32 (when one
 * is recorded: `torch.save` can be told to write 0 instead).
 */
import zlib from 'node:zlib';

import { FileFormatError } from './files.js';

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

/** One file of a ZIP archive, as its central-directory record declares it. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate; anything else is refused by `read`. */
  method: number;
  compressedSize: number;
  /** The uncompressed size; `read` never returns more (nor less). */
  size: number;
  /** CRC-32 of the uncompressed bytes; `read` checks it unless it is 0 (not recorded, as `torch.save` writes with `set_crc32_options(False)`). */
  crc32: number;
  localHeaderOffset: number;
}

/** Options of {@link ZipArchive.read}. */
export interface ZipReadOptions {
  /** Refuse (before inflating) an entry whose declared size exceeds this many bytes. */
  maxBytes?: number;
}

/** Read access to the entries of an in-memory ZIP archive. */
export interface ZipArchive {
  /** Entries by name, in central-directory order. */
  entries: Map<string, ZipEntry>;
  /**
   * The bytes of an entry (a view for stored entries, a fresh buffer for deflated ones).
   * Synchronous; throws `FileFormatError` naming the archive and the entry when it is
   * missing, uses an unsupported compression method, runs past the end of the archive,
   * declares more than `options.maxBytes`, inflates to another size than declared, or
   * fails its CRC-32 check.
   */
  read(name: string, options?: ZipReadOptions): Uint8Array;
}

/** CRC-32 (ISO-HDLC, as ZIP and zlib) table, for Node versions without `zlib.crc32`. */
let crcTable: Uint32Array | undefined;

/** CRC-32 of `bytes` as ZIP records it. Synchronous; never throws. */
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(bytes) >>> 0;
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function findEndOfCentralDirectory(view: DataView, file: string): number {
  const minimum = Math.max(0, view.byteLength - 22 - 0xffff);
  for (let pos = view.byteLength - 22; pos >= minimum; pos--) {
    if (view.getUint32(pos, true) === EOCD_SIGNATURE) return pos;
  }
  throw new FileFormatError(file, 'not a ZIP archive (no end-of-central-directory record)');
}

function bigToNumber(value: bigint, file: string, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new FileFormatError(file, `${what} ${value} is too large`);
  return Number(value);
}

const quote = (name: string): string => JSON.stringify(name);

/** Parses the central directory; every offset is checked against the archive's length. */
function readCentralDirectory(bytes: Uint8Array, view: DataView, file: string): Map<string, ZipEntry> {
  const eocd = findEndOfCentralDirectory(view, file);
  let count = view.getUint16(eocd + 10, true);
  let directorySize = view.getUint32(eocd + 12, true);
  let directoryOffset = view.getUint32(eocd + 16, true);
  const locator = eocd - 20;
  if (locator >= 0 && view.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE) {
    const zip64 = bigToNumber(view.getBigUint64(locator + 8, true), file, 'ZIP64 record offset');
    if (zip64 + 56 > bytes.byteLength || view.getUint32(zip64, true) !== ZIP64_EOCD_SIGNATURE) {
      throw new FileFormatError(file, 'corrupt ZIP64 end-of-central-directory record');
    }
    count = bigToNumber(view.getBigUint64(zip64 + 32, true), file, 'entry count');
    directorySize = bigToNumber(view.getBigUint64(zip64 + 40, true), file, 'directory size');
    directoryOffset = bigToNumber(view.getBigUint64(zip64 + 48, true), file, 'directory offset');
  }
  if (directoryOffset + directorySize > bytes.byteLength) {
    throw new FileFormatError(file, 'ZIP central directory runs past the end of the file (truncated?)');
  }
  const entries = new Map<string, ZipEntry>();
  let pos = directoryOffset;
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (pos + 46 > bytes.byteLength || view.getUint32(pos, true) !== CENTRAL_SIGNATURE) {
      throw new FileFormatError(file, `corrupt ZIP central directory at entry ${i}`);
    }
    const method = view.getUint16(pos + 10, true);
    const crc = view.getUint32(pos + 16, true);
    let compressedSize = view.getUint32(pos + 20, true);
    let size = view.getUint32(pos + 24, true);
    const nameLength = view.getUint16(pos + 28, true);
    const extraLength = view.getUint16(pos + 30, true);
    const commentLength = view.getUint16(pos + 32, true);
    let localHeaderOffset = view.getUint32(pos + 42, true);
    const extraEnd = pos + 46 + nameLength + extraLength;
    if (extraEnd + commentLength > bytes.byteLength) {
      throw new FileFormatError(file, `corrupt ZIP central directory at entry ${i} (runs past the end of the file)`);
    }
    const name = decoder.decode(bytes.subarray(pos + 46, pos + 46 + nameLength));
    // ZIP64 extra field (id 1): the 64-bit values of the fields that were saturated, in order.
    let extra = pos + 46 + nameLength;
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true);
      const length = view.getUint16(extra + 2, true);
      const fieldEnd = Math.min(extra + 4 + length, extraEnd);
      if (id === 1) {
        let field = extra + 4;
        const next = (what: string): number => {
          if (field + 8 > fieldEnd) throw new FileFormatError(file, `ZIP entry ${quote(name)}: ZIP64 extra field lacks the ${what}`);
          const value = bigToNumber(view.getBigUint64(field, true), file, `ZIP64 ${what} of ${quote(name)}`);
          field += 8;
          return value;
        };
        if (size === 0xffffffff) size = next('size');
        if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next('local header offset');
      }
      extra += 4 + length;
    }
    if (method === 0 && compressedSize !== size) {
      throw new FileFormatError(file, `ZIP entry ${quote(name)} is stored but declares ${compressedSize} bytes stored and ${size} bytes uncompressed`);
    }
    entries.set(name, { name, method, compressedSize, size, crc32: crc, localHeaderOffset });
    pos = extraEnd + commentLength;
  }
  return entries;
}

/**
 * Opens the ZIP archive held in `bytes`. Reads only the central directory; entries are
 * decoded by `read`. Synchronous; throws `FileFormatError` naming `file` when the bytes
 * are not a well-formed ZIP archive.
 */
export function openZip(bytes: Uint8Array, file: string): ZipArchive {
  if (bytes.byteLength < 22) throw new FileFormatError(file, 'not a ZIP archive (too short)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries = readCentralDirectory(bytes, view, file);
  const read = (name: string, options: ZipReadOptions = {}): Uint8Array => {
    const entry = entries.get(name);
    const bad = (problem: string) => new FileFormatError(file, `ZIP entry ${quote(name)}: ${problem}`);
    if (entry === undefined) throw new FileFormatError(file, `ZIP entry ${quote(name)} is missing`);
    if (options.maxBytes !== undefined && entry.size > options.maxBytes) {
      throw bad(`declares ${entry.size} bytes, more than the ${options.maxBytes} allowed here (a corrupt archive or a decompression bomb)`);
    }
    const local = entry.localHeaderOffset;
    if (local + 30 > bytes.byteLength || view.getUint32(local, true) !== LOCAL_SIGNATURE) throw bad('corrupt local header');
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const end = start + entry.compressedSize;
    if (end > bytes.byteLength) throw bad('runs past the end of the file (truncated?)');
    const raw = bytes.subarray(start, end);
    let data: Uint8Array;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      try {
        // One byte of room beyond the declared size tells "too long" from "exactly right".
        data = zlib.inflateRawSync(raw, { maxOutputLength: entry.size + 1 });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') throw bad(`inflates to more than the ${entry.size} bytes it declares`);
        throw bad(`corrupt deflate data (${(error as Error).message})`);
      }
      if (data.byteLength !== entry.size) throw bad(`inflates to ${data.byteLength} bytes, but declares ${entry.size}`);
    } else {
      throw bad(`unsupported compression method ${entry.method}`);
    }
    const actual = entry.crc32 === 0 ? 0 : crc32(data);
    if (actual !== entry.crc32) {
      throw bad(`CRC-32 mismatch (0x${actual.toString(16).padStart(8, '0')}, declared 0x${entry.crc32.toString(16).padStart(8, '0')}): the file is corrupt`);
    }
    return data;
  };
  return { entries, read };
}
