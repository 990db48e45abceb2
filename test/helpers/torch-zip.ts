/**
 * Builds PyTorch-style checkpoints in memory for the parser tests, without Python: a ZIP
 * writer (stored or deflated entries, with the option to lie about sizes and CRC-32) and a
 * pickle writer for a state dict of `_rebuild_tensor_v2` calls, opcode for opcode what
 * `torch.save` writes (protocol 2). Also a streaming builder of deflate bombs that never
 * holds the inflated bytes.
 */
import { once } from 'node:events';
import zlib from 'node:zlib';

import { type DType, type Tensor, dtypeByteSize, tensorBytes } from '../../lib/io/tensor.js';
import { crc32 } from '../../lib/io/zip.js';

/** One file of a ZIP archive to build. */
export interface ZipFileSpec {
  name: string;
  /** The bytes to store, or (with `compressed`) the raw deflate stream to store as is. */
  data: Uint8Array;
  /** Deflate `data` (method 8). */
  deflate?: boolean;
  /** `data` is already a raw deflate stream; `size` and `crc` must then be given. */
  compressed?: boolean;
  /** The uncompressed size to declare (default the true one). */
  size?: number;
  /** The CRC-32 to declare (default the true one). */
  crc?: number;
}

/** Builds a ZIP archive (no ZIP64) of `files`. Sync. */
export function buildZip(files: readonly ZipFileSpec[]): Uint8Array {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const method = file.deflate || file.compressed ? 8 : 0;
    const body = file.compressed ? Buffer.from(file.data) : file.deflate ? zlib.deflateRawSync(file.data) : Buffer.from(file.data);
    const size = file.size ?? file.data.byteLength;
    const crc = file.crc ?? crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.byteLength, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.byteLength, 26);
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(20, 4);
    record.writeUInt16LE(20, 6);
    record.writeUInt16LE(method, 10);
    record.writeUInt32LE(crc, 16);
    record.writeUInt32LE(body.byteLength, 20);
    record.writeUInt32LE(size, 24);
    record.writeUInt16LE(name.byteLength, 28);
    record.writeUInt32LE(offset, 42);
    chunks.push(local, name, body);
    central.push(record, name);
    offset += local.byteLength + name.byteLength + body.byteLength;
  }
  const directory = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(files.length, 8);
  eocd.writeUInt16LE(files.length, 10);
  eocd.writeUInt32LE(directory.byteLength, 12);
  eocd.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...chunks, directory, eocd]));
}

const STORAGE_NAMES: Partial<Record<DType, string>> = {
  f32: 'FloatStorage',
  f64: 'DoubleStorage',
  f16: 'HalfStorage',
  bf16: 'BFloat16Storage',
  s64: 'LongStorage',
  s32: 'IntStorage',
  u8: 'ByteStorage',
};

/** A tensor entry of a pickled state dict: which storage it views and how. */
export interface PickledTensor {
  name: string;
  storage: string;
  dtype: DType;
  /** Elements of the storage, as torch records it in the persistent id. */
  storageNumel: number;
  offset: number;
  shape: readonly number[];
  stride: readonly number[];
}

class PickleWriter {
  readonly parts: number[] = [];
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  text(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.byteLength);
    return this.op(0x58, ...length, ...bytes); // BINUNICODE
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1')); // GLOBAL
  }
  int(value: number): this {
    if (value >= 0 && value < 256) return this.op(0x4b, value); // BININT1
    if (value >= -(2 ** 31) && value < 2 ** 31) {
      const bytes = Buffer.alloc(4);
      bytes.writeInt32LE(value);
      return this.op(0x4a, ...bytes); // BININT
    }
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(BigInt(value));
    return this.op(0x8a, 8, ...bytes); // LONG1
  }
  tuple(values: readonly number[]): this {
    this.op(0x28); // MARK
    for (const value of values) this.int(value);
    return this.op(0x74); // TUPLE
  }
}

/** The data.pkl of a state dict of `tensors`, as torch.save writes it. Sync. */
export function statePickle(tensors: readonly PickledTensor[]): Uint8Array {
  const w = new PickleWriter().op(0x80, 2, 0x7d, 0x28); // PROTO 2, EMPTY_DICT, MARK
  for (const t of tensors) {
    w.text(t.name).global('torch._utils', '_rebuild_tensor_v2').op(0x28, 0x28); // MARK MARK
    w.text('storage').global('torch', STORAGE_NAMES[t.dtype]!).text(t.storage).text('cpu').int(t.storageNumel);
    w.op(0x74, 0x51); // TUPLE BINPERSID
    w.int(t.offset).tuple(t.shape).tuple(t.stride).op(0x89); // NEWFALSE
    w.global('collections', 'OrderedDict').op(0x29, 0x52); // EMPTY_TUPLE REDUCE
    w.op(0x74, 0x52); // TUPLE REDUCE
  }
  return Uint8Array.from(w.op(0x75, 0x2e).parts); // SETITEMS STOP
}

/** Row-major strides of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  for (let d = shape.length - 1, step = 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d]!;
  }
  return strides;
}

/** Options of {@link torchCheckpointBytes}. */
export interface TorchCheckpointBuild {
  /** Deflate the storages (torch itself stores them). */
  deflate?: boolean;
  /** Replace the ZIP entries of some storages (by tensor name) with these. */
  storages?: Record<string, Omit<ZipFileSpec, 'name'>>;
}

/**
 * A `torch.save(state_dict)` archive of `tensors`, each in its own contiguous storage
 * (keys "0", "1", ... in order). Sync.
 */
export function torchCheckpointBytes(tensors: ReadonlyMap<string, Tensor>, options: TorchCheckpointBuild = {}): Uint8Array {
  const records: PickledTensor[] = [];
  const files: ZipFileSpec[] = [];
  let key = 0;
  for (const [name, tensor] of tensors) {
    const storage = String(key++);
    const bytes = tensorBytes(tensor);
    const override = options.storages?.[name];
    const numel = override?.size !== undefined ? override.size / dtypeByteSize(tensor.dtype) : bytes.byteLength / dtypeByteSize(tensor.dtype);
    records.push({ name, storage, dtype: tensor.dtype, storageNumel: numel, offset: 0, shape: tensor.shape, stride: contiguousStrides(tensor.shape) });
    files.push({ name: `archive/data/${storage}`, data: bytes, deflate: options.deflate, ...override });
  }
  return buildZip([
    { name: 'archive/data.pkl', data: statePickle(records) },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...files,
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

/**
 * A raw deflate stream of `size` zero bytes, built in 1 MiB steps so the zeros are never
 * held at once (about 1 KiB of output per MiB). Async.
 */
export async function deflatedZeros(size: number): Promise<{ data: Uint8Array; crc: number }> {
  const deflate = zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const step = Buffer.alloc(Math.min(size, 1 << 20));
  let crc = 0;
  for (let done = 0; done < size; done += step.byteLength) {
    const chunk = step.subarray(0, Math.min(step.byteLength, size - done));
    crc = zlib.crc32(chunk, crc);
    if (!deflate.write(chunk)) await once(deflate, 'drain');
  }
  deflate.end();
  await once(deflate, 'end');
  return { data: new Uint8Array(Buffer.concat(out)), crc: crc >>> 0 };
}
