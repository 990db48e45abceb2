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
 */
import { FileFormatError, readFileOrThrow } from './files.js';
import { type GlobalResolver, type PickleGlobal, unpickle } from './pickle.js';
import { type DType, type Tensor, dtypeByteSize, elementCount, tensorFromBytes, zerosTensor } from './tensor.js';
import { openZip } from './zip.js';

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

interface StorageType extends PickleGlobal {
  readonly dtype: DType;
}

interface Storage {
  readonly dtype: DType;
  readonly key: string;
  readonly bytes: Uint8Array;
}

/** Marks tensors built by the unpickler, so the state dict can be checked. */
const TENSOR = Symbol('tensor');

type BuiltTensor = Tensor & { [TENSOR]: true };

function isStorage(value: unknown): value is Storage {
  return typeof value === 'object' && value !== null && 'bytes' in value && 'key' in value;
}

function shapeOf(value: unknown, file: string, what: string): number[] {
  if (!Array.isArray(value) || !value.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new FileFormatError(file, `${what} is not a list of non-negative integers`);
  }
  return value as number[];
}

/** Materializes `storage[offset ...]` viewed with `size` and `stride` as a row-major tensor. */
function rebuildTensor(file: string, storage: unknown, offset: unknown, size: unknown, stride: unknown): BuiltTensor {
  if (!isStorage(storage)) throw new FileFormatError(file, 'tensor without a storage');
  if (typeof offset !== 'number') throw new FileFormatError(file, 'tensor storage offset is not an integer');
  const shape = shapeOf(size, file, 'tensor size');
  const strides = shapeOf(stride, file, 'tensor stride');
  if (strides.length !== shape.length) throw new FileFormatError(file, `tensor stride rank ${strides.length} != size rank ${shape.length}`);
  const { dtype } = storage;
  const itemSize = dtypeByteSize(dtype);
  const count = elementCount(shape);
  const storageElements = storage.bytes.byteLength / itemSize;
  let lastIndex = offset;
  for (let d = 0; d < shape.length; d++) if (shape[d]! > 0) lastIndex += (shape[d]! - 1) * strides[d]!;
  if (count > 0 && lastIndex >= storageElements) {
    throw new FileFormatError(file, `tensor [${shape.join(', ')}] at offset ${offset} runs past storage ${storage.key} (${storageElements} elements)`);
  }
  let contiguous = true;
  for (let d = shape.length - 1, expected = 1; d >= 0; d--) {
    if (shape[d]! !== 1 && strides[d] !== expected) contiguous = false;
    expected *= shape[d]!;
  }
  let tensor: Tensor;
  if (contiguous || count === 0) {
    tensor = tensorFromBytes(dtype, shape, storage.bytes.subarray(offset * itemSize, (offset + count) * itemSize));
  } else {
    tensor = zerosTensor(dtype, shape);
    const source = tensorFromBytes(dtype, [storageElements], storage.bytes).data as unknown as ArrayLike<unknown> & { [i: number]: unknown };
    const target = tensor.data as unknown as { [i: number]: unknown };
    const index = new Array<number>(shape.length).fill(0);
    for (let flat = 0; flat < count; flat++) {
      let at = offset;
      for (let d = 0; d < shape.length; d++) at += index[d]! * strides[d]!;
      target[flat] = source[at];
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++index[d]! < shape[d]!) break;
        index[d] = 0;
      }
    }
  }
  return Object.assign(tensor, { [TENSOR]: true as const });
}

function makeResolver(file: string): GlobalResolver {
  const callable = (module: string, name: string, call: (args: unknown[]) => unknown): PickleGlobal => ({ module, name, call });
  const allowed = new Map<string, PickleGlobal>([
    ['collections.OrderedDict', callable('collections', 'OrderedDict', () => new Map())],
    ['torch._utils._rebuild_tensor_v2', callable('torch._utils', '_rebuild_tensor_v2', (a) => rebuildTensor(file, a[0], a[1], a[2], a[3]))],
    ['torch._utils._rebuild_tensor', callable('torch._utils', '_rebuild_tensor', (a) => rebuildTensor(file, a[0], a[1], a[2], a[3]))],
    ['torch._utils._rebuild_parameter', callable('torch._utils', '_rebuild_parameter', (a) => a[0])],
    ['torch._utils._rebuild_parameter_with_state', callable('torch._utils', '_rebuild_parameter_with_state', (a) => a[0])],
    ['torch.Size', callable('torch', 'Size', (a) => [...((a[0] as unknown[] | undefined) ?? [])])],
    ['torch._tensor._rebuild_from_type_v2', callable('torch._tensor', '_rebuild_from_type_v2', (a) => {
      // (func, new_type, args, state): func is itself an allowed global already resolved.
      const [func, , args] = a as [PickleGlobal, unknown, unknown[]];
      if (typeof func?.call !== 'function') throw new FileFormatError(file, '_rebuild_from_type_v2 without a callable');
      return func.call(args);
    })],
    ['torch._tensor.Tensor', { module: 'torch._tensor', name: 'Tensor' }],
    ['torch.Tensor', { module: 'torch', name: 'Tensor' }],
    ['torch.nn.parameter.Parameter', { module: 'torch.nn.parameter', name: 'Parameter' }],
  ]);
  return (module, name) => {
    if (module === 'torch' && name in STORAGE_DTYPES) {
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

/**
 * Decodes a PyTorch ZIP checkpoint held in `bytes` into its state dict. Synchronous;
 * throws `UnsafePickleError` naming a refused global, or `FileFormatError` naming `file`
 * when it is not a ZIP checkpoint (the legacy pre-1.6 format included), is truncated, is
 * big-endian, or its pickle is not a dict of tensors (naming the first other entry).
 */
export function parseTorchCheckpoint(bytes: Uint8Array, file = '<buffer>'): Map<string, Tensor> {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5) {
    throw new FileFormatError(file, 'legacy (pre-1.6, non-ZIP) PyTorch checkpoints are not supported; re-save with torch >= 1.6 or as safetensors');
  }
  const zip = openZip(bytes, file);
  const root = findRoot(zip.entries.keys(), file);
  if (zip.entries.has(`${root}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${root}byteorder`)).trim();
    if (order !== 'little') throw new FileFormatError(file, `unsupported byte order ${JSON.stringify(order)}`);
  }
  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== 'storage') throw new FileFormatError(file, 'unknown persistent id in data.pkl');
    const [, type, key] = pid as [string, StorageType, unknown];
    if (typeof type?.dtype !== 'string' || (typeof key !== 'string' && typeof key !== 'number')) {
      throw new FileFormatError(file, 'malformed storage record in data.pkl');
    }
    const cacheKey = String(key);
    let storage = storages.get(cacheKey);
    if (storage === undefined) {
      const data = zip.read(`${root}data/${cacheKey}`);
      if (data.byteLength % dtypeByteSize(type.dtype) !== 0) {
        throw new FileFormatError(file, `storage ${cacheKey}: ${data.byteLength} bytes is not a whole number of ${type.dtype} elements`);
      }
      storage = { dtype: type.dtype, key: cacheKey, bytes: data };
      storages.set(cacheKey, storage);
    }
    return storage;
  };
  const state = unpickle(zip.read(`${root}data.pkl`), { file, resolveGlobal: makeResolver(file), persistentLoad });
  if (!(state instanceof Map)) throw new FileFormatError(file, 'the checkpoint is not a state dict (a dict of tensors)');
  const tensors = new Map<string, Tensor>();
  for (const [name, value] of state) {
    if (typeof name !== 'string') throw new FileFormatError(file, 'state dict key is not a string');
    if (typeof value !== 'object' || value === null || !(TENSOR in value)) {
      throw new FileFormatError(file, `state dict entry ${JSON.stringify(name)} is not a tensor`);
    }
    const { dtype, shape, data } = value as BuiltTensor;
    tensors.set(name, { dtype, shape, data } as Tensor);
  }
  return tensors;
}

/**
 * Reads a PyTorch checkpoint file (`pytorch_model.bin`). Async; throws as
 * `parseTorchCheckpoint`, and `FileFormatError` naming the file when it cannot be read.
 */
export async function readTorchCheckpoint(file: string): Promise<Map<string, Tensor>> {
  return parseTorchCheckpoint(await readFileOrThrow(file), file);
}
