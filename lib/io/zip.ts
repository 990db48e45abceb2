/**
 * A minimal, read-only ZIP archive reader for PyTorch checkpoints (`torch.save` writes a
 * ZIP, usually with stored entries, sometimes ZIP64). Reads the central directory and
 * returns entries as views into the archive bytes (stored) or inflated copies (deflate).
 * No encryption, no multi-disk archives.
 */
import { inflateRawSync } from 'node:zlib';

import { FileFormatError } from './files.js';

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

/** One file of a ZIP archive. */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Read access to the entries of an in-memory ZIP archive. */
export interface ZipArchive {
  /** Entries by name, in central-directory order. */
  entries: Map<string, ZipEntry>;
  /**
   * The bytes of an entry. Synchronous; throws `FileFormatError` naming the archive and
   * the entry when it is missing, uses an unsupported compression method or runs past the
   * end of the archive.
   */
  read(name: string): Uint8Array;
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

/**
 * Opens the ZIP archive held in `bytes`. Synchronous; throws `FileFormatError` naming
 * `file` when the bytes are not a well-formed ZIP archive.
 */
export function openZip(bytes: Uint8Array, file: string): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 22) throw new FileFormatError(file, 'not a ZIP archive (too short)');
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
    let compressedSize = view.getUint32(pos + 20, true);
    let size = view.getUint32(pos + 24, true);
    const nameLength = view.getUint16(pos + 28, true);
    const extraLength = view.getUint16(pos + 30, true);
    const commentLength = view.getUint16(pos + 32, true);
    let localHeaderOffset = view.getUint32(pos + 42, true);
    const name = decoder.decode(bytes.subarray(pos + 46, pos + 46 + nameLength));
    // ZIP64 extra field (id 1): the 64-bit values of the fields that were saturated.
    let extra = pos + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true);
      const length = view.getUint16(extra + 2, true);
      if (id === 1) {
        let field = extra + 4;
        const next = () => {
          const value = bigToNumber(view.getBigUint64(field, true), file, `ZIP64 field of ${name}`);
          field += 8;
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      extra += 4 + length;
    }
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    pos = extraEnd + commentLength;
  }
  const read = (name: string): Uint8Array => {
    const entry = entries.get(name);
    if (entry === undefined) throw new FileFormatError(file, `ZIP entry ${JSON.stringify(name)} is missing`);
    const local = entry.localHeaderOffset;
    if (local + 30 > bytes.byteLength || view.getUint32(local, true) !== LOCAL_SIGNATURE) {
      throw new FileFormatError(file, `ZIP entry ${JSON.stringify(name)}: corrupt local header`);
    }
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const end = start + entry.compressedSize;
    if (end > bytes.byteLength) {
      throw new FileFormatError(file, `ZIP entry ${JSON.stringify(name)} runs past the end of the file (truncated?)`);
    }
    const raw = bytes.subarray(start, end);
    if (entry.method === 0) return raw;
    if (entry.method === 8) return inflateRawSync(raw);
    throw new FileFormatError(file, `ZIP entry ${JSON.stringify(name)}: unsupported compression method ${entry.method}`);
  };
  return { entries, read };
}
