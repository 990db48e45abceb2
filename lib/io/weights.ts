/**
 * The weights of a Hugging Face model directory, read in two phases: first the index (every
 * tensor's name, dtype and shape, and the bytes the file declares), then only the tensors a
 * caller asks for. `model.safetensors`, a sharded `model.safetensors.index.json`, or a
 * PyTorch `pytorch_model.bin` (restricted unpickler, storages inflated only when read), in
 * that order of preference, as transformers looks for them.
 *
 *     const weights = await openWeights('model');          // names, dtypes, shapes
 *     const tensors = weights.read(['bert.pooler.dense.weight']);
 */
import { access } from 'node:fs/promises';
import path from 'node:path';

import { FileFormatError, readFileOrThrow, readJsonFile } from './files.js';
import { type SafetensorsContents, readSafetensors } from './safetensors.js';
import type { DType, Tensor } from './tensor.js';
import { openTorchCheckpoint } from './torch-checkpoint.js';

/** Dtype and shape of a tensor of a weights file (its data not yet read). */
export interface TensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A weights file whose index is read and whose tensors are decoded on demand. */
export interface WeightsReader {
  /** The file found (`model.safetensors`, the sharded index, or `pytorch_model.bin`). */
  readonly file: string;
  /** Every tensor under its name in the file. */
  readonly infos: ReadonlyMap<string, TensorInfo>;
  /** Bytes of tensor data the file declares (for a `.bin`: its storages). */
  readonly bytes: number;
  /**
   * Decodes the named tensors (names of the file; unknown ones are ignored). Sync; throws
   * FileFormatError naming the file when a `.bin` storage is corrupt or far larger than the
   * tensors need (a decompression bomb).
   */
  read(names: Iterable<string>): Map<string, Tensor>;
}

/** The weights file names, in the order they are looked for. */
export const WEIGHTS_FILES = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin'] as const;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

function safetensorsReader(file: string, parts: SafetensorsContents[]): WeightsReader {
  const tensors = new Map<string, Tensor>();
  let bytes = 0;
  for (const part of parts) {
    for (const [name, tensor] of part.tensors) {
      tensors.set(name, tensor);
      bytes += tensor.data.byteLength;
    }
  }
  const infos = new Map([...tensors].map(([name, { dtype, shape }]) => [name, { dtype, shape }]));
  return { file, infos, bytes, read: (names) => new Map([...names].filter((name) => tensors.has(name)).map((name) => [name, tensors.get(name)!])) };
}

async function shardedReader(indexFile: string): Promise<WeightsReader> {
  const index = (await readJsonFile(indexFile)) as { weight_map?: Record<string, unknown> };
  if (typeof index?.weight_map !== 'object' || index.weight_map === null) throw new FileFormatError(indexFile, 'no weight_map object');
  const parts: SafetensorsContents[] = [];
  for (const shard of new Set(Object.values(index.weight_map))) {
    if (typeof shard !== 'string' || shard !== path.basename(shard)) {
      throw new FileFormatError(indexFile, `weight_map names shard ${JSON.stringify(shard)}, expected a file name in the same directory`);
    }
    parts.push(await readSafetensors(path.join(path.dirname(indexFile), shard)));
  }
  const reader = safetensorsReader(indexFile, parts);
  for (const name of Object.keys(index.weight_map)) {
    if (!reader.infos.has(name)) throw new FileFormatError(indexFile, `tensor ${JSON.stringify(name)} is listed but not in its shard`);
  }
  return reader;
}

function torchReader(bytes: Uint8Array, file: string): WeightsReader {
  const checkpoint = openTorchCheckpoint(bytes, file);
  const storages = new Map<string, number>();
  for (const info of checkpoint.tensors.values()) storages.set(info.storage, info.storageBytes);
  const names = new Set(checkpoint.tensors.keys());
  return {
    file,
    infos: new Map([...checkpoint.tensors].map(([name, { dtype, shape }]) => [name, { dtype, shape }])),
    bytes: [...storages.values()].reduce((a, b) => a + b, 0),
    // The default budget: storages up to twice the tensors' bytes load, a decompression bomb does not.
    read: (wanted) => checkpoint.read([...wanted].filter((name) => names.has(name))),
  };
}

/**
 * Opens the weights of `dir` (see the module comment) without decoding a `.bin`'s tensors.
 * Async; throws FileFormatError naming the directory and the names looked for when there is
 * no weights file, naming the file when it is malformed, UnsafePickleError for a `.bin`
 * that references a global other than torch's tensor types.
 */
export async function openWeights(dir: string): Promise<WeightsReader> {
  for (const name of WEIGHTS_FILES) {
    const file = path.join(dir, name);
    if (!(await exists(file))) continue;
    if (name === 'model.safetensors') return safetensorsReader(file, [await readSafetensors(file)]);
    if (name === 'model.safetensors.index.json') return shardedReader(file);
    return torchReader(await readFileOrThrow(file), file);
  }
  throw new FileFormatError(dir, `no weights file (looked for ${WEIGHTS_FILES.join(', ')})`);
}
