/**
 * File helpers shared by the readers and writers of `lib/io` and `lib/data`: the error
 * class that names the offending file, JSON reading with such errors, and atomic writes
 * (write a temporary file beside the target, then rename it over the target, so a reader
 * never sees half a file and a crash never leaves one).
 */
import { randomBytes } from 'node:crypto';
import { FileFormatError } from '../base/errors.js';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export { FileFormatError };

function describeErrno(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a directory, expected a file';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads a whole file. Async; throws `FileFormatError` naming the file when it cannot be
 * read (missing, a directory, no permission).
 */
export async function readFileOrThrow(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new FileFormatError(file, describeErrno(error), { cause: error });
  }
}

/**
 * Where the first invalid UTF-8 sequence of `bytes` starts (WHATWG rules: no overlong
 * forms, surrogates or code points past U+10FFFF), or -1 when there is none.
 * Synchronous; never throws.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < lower || c > upper) return i;
      lower = 0x80;
      upper = 0xbf;
    }
    i += need + 1;
  }
  return -1;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes the bytes of text file `file` as UTF-8, refusing any invalid sequence instead of
 * turning it into U+FFFD; a byte order mark is kept for the caller to handle. Synchronous;
 * throws `FileFormatError` naming the file, the byte offset, line and column of the first
 * invalid sequence and its bytes, and an `iconv` command that converts the file.
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const offset = Math.max(0, firstInvalidUtf8(bytes));
    let line = 1;
    let lineStart = 0;
    for (let i = bytes.indexOf(10); i >= 0 && i < offset; i = bytes.indexOf(10, i + 1)) {
      line++;
      lineStart = i + 1;
    }
    const shown = [...bytes.subarray(offset, offset + 4)].map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(' ');
    const ext = path.extname(file);
    const converted = `${file.slice(0, file.length - ext.length)}.utf8${ext}`;
    throw new FileFormatError(
      file,
      `not valid UTF-8: the bytes at offset ${offset} (line ${line}, byte ${offset - lineStart + 1} of the line: ${shown}) are not a UTF-8 sequence. ` +
        `The file is in another encoding; convert it, e.g. for Greek Windows text: iconv -f WINDOWS-1253 -t UTF-8 '${file}' > '${converted}' (ISO-8859-7 and LATIN1 are other common ones)`,
    );
  }
}

/**
 * Reads a whole text file as strict UTF-8 (a byte order mark is kept). Async; throws
 * `FileFormatError` naming the file when it cannot be read or is not valid UTF-8 (see
 * `decodeUtf8`).
 */
export async function readTextFile(file: string): Promise<string> {
  return decodeUtf8(await readFileOrThrow(file), file);
}

/**
 * Reads and parses a JSON file. Async; throws `FileFormatError` naming the file when it
 * cannot be read, is not valid UTF-8 or is not valid JSON (with the parser's message).
 */
export async function readJsonFile(file: string): Promise<unknown> {
  const text = await readTextFile(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new FileFormatError(file, `invalid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Writes `data` to `file` atomically: the bytes go to a uniquely named temporary file in
 * the same directory, are flushed to disk, and the temporary file is renamed over
 * `file`. Creates missing parent directories. Async; throws the file system's error
 * (after removing the temporary file) when the write or rename fails.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const dir = path.dirname(file);
  await makeDirectory(dir);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'w');
  try {
    const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
    for (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    await rename(temp, file);
    await syncDirectory(dir);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Serializes `value` as pretty JSON (2-space indent, trailing newline) and writes it
 * atomically. Async; throws as `writeFileAtomic`.
 */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Creates `dir` and its missing parents, one component at a time (Node's recursive mkdir
 * loops forever under /proc). Async; throws the file system's error for the first component
 * that cannot be created (ENOTDIR when a component is a file, EACCES, EROFS, ENOENT...).
 */
export async function makeDirectory(dir: string): Promise<void> {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let current = target; ; current = path.dirname(current)) {
    try {
      const info = await stat(current);
      if (!info.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${target}'`), { code: 'ENOTDIR', path: current });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || current === path.dirname(current)) throw error;
      missing.push(current);
    }
  }
  for (const component of missing.reverse()) {
    try {
      await mkdir(component);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * Flushes a directory's entries (a rename into it) to disk. Async; never throws (some file
 * systems cannot fsync a directory, which then has nothing to flush).
 */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // not supported here: nothing more to do
  }
}
