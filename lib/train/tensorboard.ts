/**
 * TensorBoard event files, written in plain TypeScript (no TensorFlow, no protobuf library), so
 * that `tensorboard --logdir OUT` plots a training run's scalars.
 *
 * An event file is a sequence of TFRecords, each framing one serialized `tensorflow.Event`:
 *
 *     uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes |
 *     data (length bytes)           | uint32 masked CRC32C of the data
 *
 * The first event carries `file_version: "brain.Event:2"`; each later one a `Summary` with one
 * `simple_value` scalar. The protobuf fields written (tensorflow/core/util/event.proto,
 * tensorflow/core/framework/summary.proto):
 *
 *     Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *     Summary { repeated Value value = 1; }
 *     Value   { string tag = 1; float simple_value = 2; }
 *
 * Durability: records are buffered in memory and written by `flush()`, whole records only and
 * at the end of what was already written, so a reader (TensorBoard polls the file while training
 * runs) sees every flushed record; a crash in the middle of a write leaves at most one partial
 * record at the end, which readers treat as a truncated tail and skip, keeping all earlier ones.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** The `file_version` of the first event of every file; TensorBoard reads version 2. */
export const EVENT_FILE_VERSION = 'brain.Event:2';

// CRC32C (Castagnoli): the reflected polynomial 0x82F63B78, one table lookup per byte.
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC32C (Castagnoli) checksum of `data`, as an unsigned 32-bit number. Sync; never throws. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * The masked CRC32C that TFRecord stores: the checksum rotated right by 15 bits plus
 * 0xa282ead8 (mod 2^32), so that a CRC of data holding CRCs stays well distributed.
 * Sync; never throws.
 */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Frames `data` as one TFRecord (layout in the file comment). Sync; never throws. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const record = new Uint8Array(16 + data.length);
  const view = new DataView(record.buffer);
  view.setUint32(0, data.length, true);
  view.setUint32(4, Math.floor(data.length / 2 ** 32), true);
  view.setUint32(8, maskedCrc32c(record.subarray(0, 8)), true);
  record.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return record;
}

/** Appends protobuf wire-format fields to a growing byte list. */
class ProtoWriter {
  private readonly bytes: number[] = [];

  /** An unsigned varint; `value` is a non-negative integer below 2^64 (bigint past 2^53). */
  private varint(value: number | bigint): void {
    if (typeof value === 'number') {
      while (value >= 0x80) {
        this.bytes.push((value % 0x80) | 0x80);
        value = Math.floor(value / 0x80);
      }
      this.bytes.push(value);
      return;
    }
    while (value >= 0x80n) {
      this.bytes.push(Number(value & 0x7fn) | 0x80);
      value >>= 7n;
    }
    this.bytes.push(Number(value));
  }

  private key(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint(field * 8 + wireType);
  }

  /** An int64 field: negative values as their 64-bit two's complement (ten bytes), as protobuf. */
  int64(field: number, value: number): this {
    this.key(field, 0);
    this.varint(value >= 0 ? value : BigInt.asUintN(64, BigInt(value)));
    return this;
  }

  double(field: number, value: number): this {
    this.key(field, 1);
    const cell = new DataView(new ArrayBuffer(8));
    cell.setFloat64(0, value, true);
    for (let i = 0; i < 8; i++) this.bytes.push(cell.getUint8(i));
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const cell = new DataView(new ArrayBuffer(4));
    cell.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.bytes.push(cell.getUint8(i));
    return this;
  }

  /** A length-delimited field: a string (as UTF-8) or an embedded message's bytes. */
  bytesField(field: number, value: string | Uint8Array): this {
    const data = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    this.key(field, 2);
    this.varint(data.length);
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]!);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** The serialized Event announcing the file format; TensorBoard expects it first. */
function fileVersionEvent(wallTime: number): Uint8Array {
  return new ProtoWriter().double(1, wallTime).bytesField(3, EVENT_FILE_VERSION).finish();
}

/** The serialized Event of one scalar (a Summary with one simple_value). */
function scalarEvent(tag: string, value: number, step: number, wallTime: number): Uint8Array {
  const summaryValue = new ProtoWriter().bytesField(1, tag).float(2, value).finish();
  const summary = new ProtoWriter().bytesField(1, summaryValue).finish();
  const event = new ProtoWriter().double(1, wallTime);
  // proto3 leaves a zero step out, as TensorFlow writes it; readers default it to 0.
  if (step !== 0) event.int64(2, step);
  return event.bytesField(5, summary).finish();
}

/** Options of `TensorBoardWriter.create`. */
export interface TensorBoardWriterOptions {
  /** The host name in the file name; default `os.hostname()`. May not contain a path separator. */
  hostname?: string;
  /** The clock, in seconds since the Unix epoch (fractions allowed); default `Date.now() / 1000`. */
  now?: () => number;
}

/** Per-process counter of the last part of file names, as TensorFlow's writers number theirs. */
let nextFileNumber = 0;

/**
 * Writes one TensorBoard event file of scalars: `<dir>/events.out.tfevents.<seconds>.<hostname>.<pid>.<n>`.
 * `scalar()` buffers a record; `flush()` writes the buffered records (the Trainer flushes once per
 * epoch); `close()` flushes and closes the file. Records not flushed are lost if the process dies.
 * Each writer writes a new file; TensorBoard reads every event file of a directory in name order.
 */
export class TensorBoardWriter {
  private pending: Uint8Array[] = [];
  /** Bytes of whole records written so far: the offset of the next write. */
  private written = 0;
  /** The flush (or close) in progress; flushes run one after another. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    /** The event file's path. */
    readonly file: string,
    private readonly handle: FileHandle,
    private readonly now: () => number,
  ) {}

  /**
   * Creates `dir` (with its parents) when missing and a new event file in it, and writes its
   * file_version event. Async; rejects with an Error naming the folder or file when it cannot
   * be created or written (permission, a file where the folder should be, a full disk), or when
   * `options.hostname` contains a path separator.
   */
  static async create(dir: string, options: TensorBoardWriterOptions = {}): Promise<TensorBoardWriter> {
    const host = options.hostname ?? os.hostname();
    if (host === '' || /[/\\]/.test(host)) {
      throw new Error(`TensorBoardWriter: hostname ${JSON.stringify(host)} cannot be part of a file name; pass a name without '/' or '\\'`);
    }
    const now = options.now ?? (() => Date.now() / 1000);
    const created = now();
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new Error(`TensorBoardWriter: cannot create the log folder ${dir}: ${(error as Error).message}`, { cause: error });
    }
    const seconds = String(Math.floor(created)).padStart(10, '0');
    for (;;) {
      const file = path.join(dir, `events.out.tfevents.${seconds}.${host}.${process.pid}.${nextFileNumber++}`);
      let handle: FileHandle;
      try {
        // 'wx': never take over an existing file (another writer's); positional writes below.
        handle = await open(file, 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new Error(`TensorBoardWriter: cannot create the event file ${file}: ${(error as Error).message}`, { cause: error });
      }
      const writer = new TensorBoardWriter(file, handle, now);
      writer.pending.push(tfRecord(fileVersionEvent(created)));
      try {
        await writer.flush();
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw error;
      }
      return writer;
    }
  }

  /**
   * Buffers one scalar: `tag` (e.g. `train/loss`) at `step`, stored as a float32 as TensorBoard
   * keeps it; `wallTime` in seconds since the Unix epoch defaults to now. NaN and infinities are
   * written as they are. Sync; throws when the writer is closed, `tag` is empty, `value` is not a
   * number, `step` is not a safe integer or `wallTime` is not finite.
   */
  scalar(tag: string, value: number, step: number, wallTime?: number): void {
    if (this.closed) throw new Error(`TensorBoardWriter: ${this.file} is closed; create a new writer to log more scalars`);
    if (typeof tag !== 'string' || tag === '') throw new Error(`TensorBoardWriter: a scalar's tag must be a non-empty string (e.g. "train/loss"), got ${JSON.stringify(tag)}`);
    if (typeof value !== 'number') throw new Error(`TensorBoardWriter: the value of scalar "${tag}" must be a number, got ${typeof value}`);
    if (!Number.isSafeInteger(step)) throw new Error(`TensorBoardWriter: the step of scalar "${tag}" must be an integer within ±(2^53-1), got ${step}`);
    const time = wallTime ?? this.now();
    if (!Number.isFinite(time)) throw new Error(`TensorBoardWriter: the wall time of scalar "${tag}" must be a finite number of seconds since 1970, got ${time}`);
    this.pending.push(tfRecord(scalarEvent(tag, value, step, time)));
  }

  /**
   * Buffers one scalar per entry of `values` (tag -> value), all at `step` and the same wall
   * time; entries whose value is undefined are skipped (e.g. validation metrics of an epoch
   * without validation). Sync; throws as `scalar`, before buffering any entry when one is invalid.
   */
  scalars(values: Readonly<Record<string, number | undefined>>, step: number, wallTime?: number): void {
    const time = wallTime ?? this.now();
    const before = this.pending.length;
    try {
      for (const [tag, value] of Object.entries(values)) if (value !== undefined) this.scalar(tag, value, step, time);
    } catch (error) {
      this.pending.length = before;
      throw error;
    }
  }

  /**
   * Writes every buffered record to the file, whole records only, after those already written.
   * After a failed write the records stay buffered and the next flush writes them again over
   * any partial tail. Async; rejects with an Error naming the file when the write fails.
   */
  flush(): Promise<void> {
    const run = this.queue.then(() => this.writePending());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const bytes = Buffer.concat(batch);
    try {
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, this.written + done);
        done += bytesWritten;
      }
    } catch (error) {
      this.pending = batch.concat(this.pending);
      throw new Error(`TensorBoardWriter: cannot write to ${this.file}: ${(error as Error).message}`, { cause: error });
    }
    this.written += bytes.length;
  }

  /**
   * Flushes the buffered records and closes the file; later `scalar` calls throw. A second call
   * returns the first one's promise. Async; rejects as `flush` (the file is closed all the same).
   */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.flush().finally(() => this.handle.close());
    return this.closing;
  }

  /** `close()`, for `await using`. Async; rejects as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
