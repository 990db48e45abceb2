/**
 * PyTorch checkpoints (`pytorch_model.bin`, `torch.save(state_dict)`): a ZIP archive with
 * `<root>/data.pkl` (the pickled state dict, tensors as persistent ids that name storage
 * records) and `<root>/data/<key>` (the raw little-endian storage bytes).
 *
 * The pickle is read by the restricted unpickler of `pickle.ts` with an allow-list of the
 * globals a state dict needs: `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`
 * (and `_rebuild_tensor`, `_rebuild_parameter`, `_rebuild_parameter_with_state`),
 * `torch._tensor._rebuild_from_type_v2`, `torch.Size` and the `torch.*Storage` types.
 * Anything else (`os.system`, `builtins.eval`, ...) is refused with `UnsafePickleError`;
 * nothing is ever executed. The legacy (pre-1.6, non-ZIP) format is not supported.
 *
 * Reading is two-phase and bounded. `openTorchCheckpoint` unpickles only `data.pkl` and
 * checks every tensor's view (offset, size, stride) against the size its storage record
 * declares in the archive, without inflating any storage. `read` then decodes only the
 * tensors asked for: their storages are inflated no further than declared (ZIP size and
 * CRC-32 checked, see `zip.ts`), within a caller's byte budget, and a tensor never holds more
 * elements than its storage (no stride-0 broadcast turning a 4-byte storage into a gigabyte).
 */
import { FileFormatError, readFileOrThrow } from './files.js';
import { type GlobalResolver, type PickleGlobal, unpickle } from './pickle.js';
import { type DType, type Tensor, dtypeByteSize, elementCount, tensorFromBytes, zerosTensor } from './tensor.js';
import { type ZipArchive, openZip } from './zip.js';

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'f32',
  DoubleStorage: 'f64',
  HalfStorage: 'f16',
  BFloat16Storage: 'bf16',
  LongStorage: 's64',
  IntStorage: 's32',
  ShortStorage: 's16',
  CharStorage: 's8',
  ByteStorage: 'u8',
  BoolStorage: 'pred',
};

/** Ranks above this are refused (PyTorch itself stops at 64 for most operations). */
const MAX_RANK = 64;

interface StorageType extends PickleGlobal {
  readonly dtype: DType;
}

/** A storage record of data.pkl: its dtype, ZIP key and declared size; not yet read. */
interface StorageRecord {
  readonly dtype: DType;
  readonly key: string;
  /** The uncompressed size of `data/<key>` in the central directory. */
  readonly bytes: number;
}

/** What a tensor of a PyTorch checkpoint is, read from data.pkl without its data. */
export interface TorchTensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  /** Offset of the first element in its storage, in elements. */
  readonly offset: number;
  /** The storage's key (`data/<key>` in the archive). */
  readonly storage: string;
  /** The storage's declared size in bytes. */
  readonly storageBytes: number;
}

/** Marks tensor views built by the unpickler, so the state dict can be checked. */
const VIEW = Symbol('tensor view');

type View = TorchTensorInfo & { [VIEW]: true };

const isView = (value: unknown): value is View => typeof value === 'object' && value !== null && VIEW in value;

const isStorage = (value: unknown): value is StorageRecord =>
  typeof value === 'object' && value !== null && 'key' in value && 'bytes' in value && 'dtype' in value;

const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

function dimsOf(value: unknown, file: string, what: string): number[] {
  if (!Array.isArray(value)) throw new FileFormatError(file, `${what} is not a list`);
  if (value.length > MAX_RANK) throw new FileFormatError(file, `${what} has rank ${value.length}, more than ${MAX_RANK}`);
  if (!value.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new FileFormatError(file, `${what} is not a list of non-negative integers`);
  }
  return [...(value as number[])];
}

/**
 * The view a `_rebuild_tensor_v2(storage, offset, size, stride)` call describes, its
 * arguments' types checked; its bounds are checked by `checkView` once its name is known.
 */
function rebuildView(file: string, storage: unknown, offset: unknown, size: unknown, stride: unknown): View {
  if (!isStorage(storage)) throw new FileFormatError(file, 'tensor without a storage');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new FileFormatError(file, `tensor of storage ${storage.key}: storage offset ${String(offset)} is not a non-negative integer`);
  }
  const shape = dimsOf(size, file, `tensor size of storage ${storage.key}`);
  const strides = dimsOf(stride, file, `tensor stride of storage ${storage.key}`);
  if (strides.length !== shape.length) {
    throw new FileFormatError(file, `tensor ${formatShape(shape)} of storage ${storage.key}: stride rank ${strides.length} != size rank ${shape.length}`);
  }
  return { dtype: storage.dtype, shape, stride: strides, offset, storage: storage.key, storageBytes: storage.bytes, [VIEW]: true };
}

/**
 * Checks that every element tensor `name` addresses lies within its storage's declared
 * bytes, and that it addresses no more elements than the storage holds (a stride-0 view
 * must not turn a 4-byte storage into a gigabyte tensor).
 */
function checkView(file: string, name: string, view: TorchTensorInfo): void {
  const { shape, stride, offset } = view;
  const storageElements = view.storageBytes / dtypeByteSize(view.dtype);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0) return;
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * stride[d]!;
  const what = `tensor ${JSON.stringify(name)} (${formatShape(shape)}, stride ${formatShape(stride)}, offset ${offset})`;
  if (last >= storageElements) {
    throw new FileFormatError(file, `${what} runs past its storage ${view.storage} (${storageElements} ${view.dtype} elements declared)`);
  }
  if (count > storageElements) {
    throw new FileFormatError(file, `${what} addresses ${count} elements of storage ${view.storage}, which holds ${storageElements} (an overlapping or stride-0 view); re-save it with .contiguous()`);
  }
}

function makeResolver(file: string): GlobalResolver {
  const callable = (module: string, name: string, call: (args: unknown[]) => unknown): PickleGlobal => ({ module, name, call });
  const rebuild = (a: unknown[]) => rebuildView(file, a[0], a[1], a[2], a[3]);
  const allowed = new Map<string, PickleGlobal>([
    ['collections.OrderedDict', callable('collections', 'OrderedDict', () => new Map())],
    ['torch._utils._rebuild_tensor_v2', callable('torch._utils', '_rebuild_tensor_v2', rebuild)],
    ['torch._utils._rebuild_tensor', callable('torch._utils', '_rebuild_tensor', rebuild)],
    ['torch._utils._rebuild_parameter', callable('torch._utils', '_rebuild_parameter', (a) => a[0])],
    ['torch._utils._rebuild_parameter_with_state', callable('torch._utils', '_rebuild_parameter_with_state', (a) => a[0])],
    // The list itself, not a copy: a pickle may call torch.Size on one list many times.
    ['torch.Size', callable('torch', 'Size', (a) => (a.length === 0 ? [] : a[0]))],
    ['torch._tensor._rebuild_from_type_v2', callable('torch._tensor', '_rebuild_from_type_v2', (a) => {
      // (func, new_type, args, state): func is itself an allowed global already resolved.
      const [func, , args] = a as [PickleGlobal, unknown, unknown];
      if (typeof func?.call !== 'function' || !Array.isArray(args)) throw new FileFormatError(file, '_rebuild_from_type_v2 without a callable and its arguments');
      return func.call(args);
    })],
    ['torch._tensor.Tensor', { module: 'torch._tensor', name: 'Tensor' }],
    ['torch.Tensor', { module: 'torch', name: 'Tensor' }],
    ['torch.nn.parameter.Parameter', { module: 'torch.nn.parameter', name: 'Parameter' }],
  ]);
  return (module, name) => {
    if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name)) {
      return { module, name, dtype: STORAGE_DTYPES[name]! } satisfies StorageType;
    }
    return allowed.get(`${module}.${name}`);
  };
}

function findRoot(names: Iterable<string>, file: string): string {
  for (const name of names) {
    if (name === 'data.pkl') return '';
    if (name.endsWith('/data.pkl') && name.split('/').length === 2) return name.slice(0, -'data.pkl'.length);
  }
  throw new FileFormatError(file, 'not a PyTorch checkpoint: the ZIP archive has no <root>/data.pkl');
}

/** Options of {@link TorchCheckpoint.read}. */
export interface TorchReadOptions {
  /**
   * Most bytes the tensors asked for may cost: the declared sizes of the storages inflated
   * plus the copies of non-contiguous tensors. Checked before anything is inflated.
   * Default: twice the bytes of the tensors themselves plus 1 MiB, so storages may hold
   * somewhat more than the tensors that view them, but a storage declaring gigabytes under
   * a small tensor (a decompression bomb) is refused. Pass `Infinity` to read any size.
   */
  maxBytes?: number;
}

/** A PyTorch checkpoint whose state dict is known (names, dtypes, shapes) but not yet decoded. */
export interface TorchCheckpoint {
  readonly file: string;
  /** Every tensor of the state dict, in its order. */
  readonly tensors: ReadonlyMap<string, TorchTensorInfo>;
  /**
   * Decodes the tensors named (default all), in state-dict order; names not in the state
   * dict are ignored. Only their storages are inflated. Synchronous; throws
   * `FileFormatError` naming the file when they would cost more than `options.maxBytes`
   * (naming the cost and the limit; see its default) or a storage is corrupt (size,
   * CRC-32, deflate data).
   */
  read(names?: Iterable<string>, options?: TorchReadOptions): Map<string, Tensor>;
}

function isContiguous(info: TorchTensorInfo): boolean {
  for (let d = info.shape.length - 1, expected = 1; d >= 0; d--) {
    if (info.shape[d]! !== 1 && info.stride[d] !== expected) return false;
    expected *= info.shape[d]!;
  }
  return true;
}

/** Materializes a checked view over the storage bytes as a row-major tensor. */
function materialize(info: TorchTensorInfo, bytes: Uint8Array): Tensor {
  const { dtype, offset } = info;
  const shape = [...info.shape];
  const itemSize = dtypeByteSize(dtype);
  const count = elementCount(shape);
  if (isContiguous(info) || count === 0) return tensorFromBytes(dtype, shape, bytes.subarray(offset * itemSize, (offset + count) * itemSize));
  const tensor = zerosTensor(dtype, shape);
  const source = tensorFromBytes(dtype, [bytes.byteLength / itemSize], bytes).data as unknown as { [i: number]: unknown };
  const target = tensor.data as unknown as { [i: number]: unknown };
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < count; flat++) {
    let at = offset;
    for (let d = 0; d < shape.length; d++) at += index[d]! * info.stride[d]!;
    target[flat] = source[at];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return tensor;
}

function readTensors(zip: ZipArchive, root: string, file: string, all: ReadonlyMap<string, TorchTensorInfo>, names: Iterable<string> | undefined, options: TorchReadOptions): Map<string, Tensor> {
  const wanted = names === undefined ? undefined : new Set(names);
  const chosen = [...all].filter(([name]) => wanted === undefined || wanted.has(name));
  const storageBytes = new Map<string, number>();
  let copies = 0;
  let tensorBytes = 0;
  for (const [, info] of chosen) {
    const bytes = elementCount([...info.shape]) * dtypeByteSize(info.dtype);
    storageBytes.set(info.storage, info.storageBytes);
    tensorBytes += bytes;
    if (!isContiguous(info)) copies += bytes;
  }
  const cost = [...storageBytes.values()].reduce((a, b) => a + b, 0) + copies;
  const limit = options.maxBytes ?? 2 * tensorBytes + (1 << 20);
  if (cost > limit) {
    throw new FileFormatError(file, `decoding ${chosen.length} tensor${chosen.length === 1 ? '' : 's'} of ${tensorBytes} bytes would take ${cost} bytes (storages ${cost - copies}, copies ${copies}), more than the ${limit} allowed: the storages hold far more than the tensors need (a corrupt checkpoint, or a decompression bomb)`);
  }
  const storages = new Map<string, Uint8Array>();
  const tensors = new Map<string, Tensor>();
  for (const [name, info] of chosen) {
    let bytes = storages.get(info.storage);
    if (bytes === undefined) {
      bytes = zip.read(`${root}data/${info.storage}`, { maxBytes: info.storageBytes });
      storages.set(info.storage, bytes);
    }
    tensors.set(name, materialize(info, bytes));
  }
  return tensors;
}

/**
 * Opens a PyTorch ZIP checkpoint held in `bytes`: reads the ZIP directory and unpickles the
 * state dict into tensor descriptions, checking each view against its storage's declared
 * size; no storage is inflated until `read`. Synchronous; throws `UnsafePickleError` naming
 * a refused global, or `FileFormatError` naming `file` (and the tensor or storage) when it
 * is not a ZIP checkpoint (the legacy pre-1.6 format included), is truncated, is
 * big-endian, its pickle is not a dict of tensors, or a view runs past its storage or
 * addresses more elements than the storage holds.
 */
export function openTorchCheckpoint(bytes: Uint8Array, file = '<buffer>'): TorchCheckpoint {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5) {
    throw new FileFormatError(file, 'legacy (pre-1.6, non-ZIP) PyTorch checkpoints are not supported; re-save with torch >= 1.6 or as safetensors');
  }
  const zip = openZip(bytes, file);
  const root = findRoot(zip.entries.keys(), file);
  const small = { maxBytes: 1 << 20 };
  if (zip.entries.has(`${root}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${root}byteorder`, small)).trim();
    if (order !== 'little') throw new FileFormatError(file, `unsupported byte order ${JSON.stringify(order.slice(0, 40))}`);
  }
  const storages = new Map<string, StorageRecord>();
  const persistentLoad = (pid: unknown): StorageRecord => {
    if (!Array.isArray(pid) || pid[0] !== 'storage') throw new FileFormatError(file, 'unknown persistent id in data.pkl');
    const [, type, key, , numel] = pid as [string, StorageType, unknown, unknown, unknown];
    if (typeof type?.dtype !== 'string' || (typeof key !== 'string' && typeof key !== 'number')) {
      throw new FileFormatError(file, 'malformed storage record in data.pkl');
    }
    const cacheKey = String(key);
    let storage = storages.get(cacheKey);
    if (storage === undefined) {
      const entry = zip.entries.get(`${root}data/${cacheKey}`);
      if (entry === undefined) throw new FileFormatError(file, `storage ${cacheKey} is referenced by data.pkl but missing from the archive`);
      const itemSize = dtypeByteSize(type.dtype);
      if (entry.size % itemSize !== 0) {
        throw new FileFormatError(file, `storage ${cacheKey}: ${entry.size} bytes is not a whole number of ${type.dtype} elements`);
      }
      if (typeof numel === 'number' && numel * itemSize !== entry.size) {
        throw new FileFormatError(file, `storage ${cacheKey}: data.pkl declares ${numel} ${type.dtype} elements but the archive holds ${entry.size} bytes`);
      }
      storage = { dtype: type.dtype, key: cacheKey, bytes: entry.size };
      storages.set(cacheKey, storage);
    } else if (storage.dtype !== type.dtype) {
      throw new FileFormatError(file, `storage ${cacheKey} is read both as ${storage.dtype} and as ${type.dtype}`);
    }
    return storage;
  };
  // data.pkl is metadata, about 100 bytes per tensor: 64 MiB is far beyond any real state dict.
  const pickle = zip.read(`${root}data.pkl`, { maxBytes: 64 << 20 });
  const state = unpickle(pickle, { file, resolveGlobal: makeResolver(file), persistentLoad });
  if (!(state instanceof Map)) throw new FileFormatError(file, 'the checkpoint is not a state dict (a dict of tensors)');
  const tensors = new Map<string, TorchTensorInfo>();
  for (const [name, value] of state) {
    if (typeof name !== 'string') throw new FileFormatError(file, 'state dict key is not a string');
    if (!isView(value)) throw new FileFormatError(file, `state dict entry ${JSON.stringify(name)} is not a tensor`);
    const { dtype, shape, stride, offset, storage, storageBytes } = value;
    const info: TorchTensorInfo = { dtype, shape, stride, offset, storage, storageBytes };
    checkView(file, name, info);
    tensors.set(name, info);
  }
  return { file, tensors, read: (names, options = {}) => readTensors(zip, root, file, tensors, names, options) };
}

/** Options of {@link parseTorchCheckpoint} and {@link readTorchCheckpoint}. */
export interface TorchCheckpointOptions extends TorchReadOptions {
  /**
   * The tensors wanted and their shapes. When given, only these are decoded (the others'
   * storages are never inflated), and each that the checkpoint has must have its shape
   * here, checked before anything is inflated. Names absent from the checkpoint are not
   * an error here.
   */
  expect?: ReadonlyMap<string, readonly number[]>;
}

/**
 * Decodes a PyTorch ZIP checkpoint held in `bytes` into its state dict (see
 * `openTorchCheckpoint`; with `options.expect`, only the tensors expected). Synchronous;
 * throws as `openTorchCheckpoint` and `TorchCheckpoint.read`, and `FileFormatError` naming
 * the file, the tensor and both shapes when an expected tensor has another shape.
 */
export function parseTorchCheckpoint(bytes: Uint8Array, file = '<buffer>', options: TorchCheckpointOptions = {}): Map<string, Tensor> {
  const checkpoint = openTorchCheckpoint(bytes, file);
  const { expect } = options;
  if (expect === undefined) return checkpoint.read(undefined, options);
  for (const [name, shape] of expect) {
    const info = checkpoint.tensors.get(name);
    if (info !== undefined && formatShape(info.shape) !== formatShape(shape)) {
      throw new FileFormatError(file, `tensor ${name} has shape ${formatShape(info.shape)}, expected ${formatShape(shape)}`);
    }
  }
  return checkpoint.read(expect.keys(), options);
}

/**
 * Reads a PyTorch checkpoint file (`pytorch_model.bin`). Async; throws as
 * `parseTorchCheckpoint`, and `FileFormatError` naming the file when it cannot be read.
 */
export async function readTorchCheckpoint(file: string, options: TorchCheckpointOptions = {}): Promise<Map<string, Tensor>> {
  return parseTorchCheckpoint(await readFileOrThrow(file), file, options);
}
