/**
 * Hugging Face BERT model directories: reading the weights and config of a pretrained
 * model (`model.safetensors`, sharded `model.safetensors.index.json`, or
 * `pytorch_model.bin`), normalizing legacy parameter names, and saving a directory that
 * Python `transformers` loads with `BertForSequenceClassification.from_pretrained`.
 */
import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { FileFormatError, readFileOrThrow, readJsonFile } from './files.js';
import { type BertConfig, bertEncoderParameterCounts, describeBertSizes, readBertConfig, writeBertConfig } from './hf-config.js';
import { type BertTokenizerSettings, writeTokenizerSettings, writeVocabFile } from './hf-tokenizer-files.js';
import { type SafetensorsContents, readSafetensors, writeSafetensors } from './safetensors.js';
import type { DType, Tensor } from './tensor.js';
import { openTorchCheckpoint } from './torch-checkpoint.js';

/** Prefixes of the encoder's parameters in a bare `BertModel` checkpoint. */
const ENCODER_PREFIXES = ['embeddings.', 'encoder.', 'pooler.'];

/**
 * The `BertForSequenceClassification` name of each parameter name (see
 * `normalizeBertParameterNames`), as a map from new name to the name in the file; the
 * dropped `position_ids` buffer is absent. Synchronous; throws `Error` when two names map
 * to the same new name.
 */
function bertNameMapping(names: Iterable<string>): Map<string, string> {
  const all = [...names];
  const addPrefix = !all.some((name) => name.startsWith('bert.'));
  const mapping = new Map<string, string>();
  for (const name of all) {
    let renamed = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (addPrefix && ENCODER_PREFIXES.some((prefix) => renamed.startsWith(prefix))) renamed = `bert.${renamed}`;
    if (renamed.endsWith('embeddings.position_ids')) continue;
    if (mapping.has(renamed)) throw new Error(`normalizeBertParameterNames: ${name} and another parameter both become ${renamed}`);
    mapping.set(renamed, name);
  }
  return mapping;
}

/**
 * Renames legacy and bare-encoder parameter names to those of
 * `BertForSequenceClassification`: TF-era LayerNorm `gamma`/`beta` become
 * `weight`/`bias`, and when no name starts with `bert.`, the encoder's names
 * (`embeddings.*`, `encoder.*`, `pooler.*`) get the `bert.` prefix. The
 * `embeddings.position_ids` buffer (an arange that older checkpoints saved, and that
 * transformers 5 no longer expects) is dropped. Other names are kept. Returns a new map
 * (values shared). Synchronous; throws `Error` when two names map to the same new name.
 */
export function normalizeBertParameterNames<T>(tensors: ReadonlyMap<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [renamed, name] of bertNameMapping(tensors.keys())) out.set(renamed, tensors.get(name)!);
  return out;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** What a weights file holds, known before any tensor is decoded. */
interface WeightsIndex {
  /** Tensors by name as in the file. */
  infos: Map<string, TensorInfo>;
  /** Bytes of tensor data the file declares. */
  bytes: number;
  read(names: string[]): Map<string, Tensor>;
}

function safetensorsIndex(parts: SafetensorsContents[]): WeightsIndex {
  const tensors = new Map<string, Tensor>();
  let bytes = 0;
  for (const part of parts) {
    for (const [name, tensor] of part.tensors) {
      tensors.set(name, tensor);
      bytes += tensor.data.byteLength;
    }
  }
  const infos = new Map([...tensors].map(([name, { dtype, shape }]) => [name, { dtype, shape }]));
  return { infos, bytes, read: (names) => new Map(names.map((name) => [name, tensors.get(name)!])) };
}

async function shardedIndex(indexFile: string): Promise<WeightsIndex> {
  const index = (await readJsonFile(indexFile)) as { weight_map?: Record<string, unknown> };
  if (typeof index?.weight_map !== 'object' || index.weight_map === null) {
    throw new FileFormatError(indexFile, 'no weight_map object');
  }
  const shards = new Set(Object.values(index.weight_map));
  const parts: SafetensorsContents[] = [];
  for (const shard of shards) {
    if (typeof shard !== 'string' || shard !== path.basename(shard)) {
      throw new FileFormatError(indexFile, `weight_map names shard ${JSON.stringify(shard)}, expected a file name in the same directory`);
    }
    parts.push(await readSafetensors(path.join(path.dirname(indexFile), shard)));
  }
  const weights = safetensorsIndex(parts);
  for (const name of Object.keys(index.weight_map)) {
    if (!weights.infos.has(name)) throw new FileFormatError(indexFile, `tensor ${JSON.stringify(name)} is listed but not in its shard`);
  }
  return weights;
}

function torchIndex(bytes: Uint8Array, file: string): WeightsIndex {
  const checkpoint = openTorchCheckpoint(bytes, file);
  const storages = new Map<string, number>();
  for (const info of checkpoint.tensors.values()) storages.set(info.storage, info.storageBytes);
  return {
    infos: new Map([...checkpoint.tensors].map(([name, { dtype, shape }]) => [name, { dtype, shape }])),
    bytes: [...storages.values()].reduce((a, b) => a + b, 0),
    // The default budget: storages up to twice the tensors' bytes load, a decompression bomb does not.
    read: (names) => checkpoint.read(names),
  };
}

/** Dtype and shape of a tensor of a weights file (its data not yet read). */
export interface TensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A BERT directory whose config and weights index are read, the tensors not yet decoded. */
export interface BertCheckpointReader {
  config: BertConfig;
  /** The weights file found (`model.safetensors`, the sharded index, or `pytorch_model.bin`). */
  weightsFile: string;
  /** Every tensor of the weights file under its normalized name (see `normalizeBertParameterNames`). */
  tensors: ReadonlyMap<string, TensorInfo>;
  /**
   * Decodes the tensors named (normalized names; default all; unknown names ignored).
   * Synchronous; throws `FileFormatError` naming the weights file when a `.bin` storage is
   * corrupt or far larger than the tensors need (see `TorchCheckpoint.read`).
   */
  read(names?: Iterable<string>): Map<string, Tensor>;
}

/** Options of {@link openBertCheckpoint}. */
export interface OpenBertCheckpointOptions {
  /** Most bytes the encoder's f32 parameters may take; default `os.totalmem()`. */
  maxParameterBytes?: number;
}

const GiB = 1024 ** 3;
const formatBytes = (bytes: number): string =>
  bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${bytes} bytes`;

/**
 * Opens a Hugging Face BERT directory in two phases: reads and validates `config.json`,
 * refuses a config whose encoder is larger than `maxParameterBytes` or than the weights
 * file holds, then reads the weights file's index (`model.safetensors`, then
 * `model.safetensors.index.json`, then `pytorch_model.bin`) without decoding the tensors
 * of a `.bin`, so a caller can check names and shapes first. Async; throws
 * `FileFormatError` naming config.json (with its size fields and the implied size) for a
 * model too large for the memory or the weights, naming the weights file when it is
 * missing (naming the directory and the names looked for) or malformed, `UnsafePickleError`
 * for a `.bin` that references a global other than torch's tensor types.
 */
export async function openBertCheckpoint(dir: string, options: OpenBertCheckpointOptions = {}): Promise<BertCheckpointReader> {
  const configFile = path.join(dir, 'config.json');
  const config = await readBertConfig(configFile);
  const counts = bertEncoderParameterCounts(config);
  const limit = options.maxParameterBytes ?? os.totalmem();
  const f32Bytes = 4 * (counts.required + counts.pooler);
  if (f32Bytes > limit) {
    throw new FileFormatError(configFile, `${describeBertSizes(config)} describe an encoder of ${counts.required + counts.pooler} parameters (${formatBytes(f32Bytes)} as f32), more than ${options.maxParameterBytes === undefined ? "this machine's memory" : 'the limit'} (${formatBytes(limit)}): check these fields`);
  }
  const candidates = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin'];
  for (const name of candidates) {
    const file = path.join(dir, name);
    if (!(await exists(file))) continue;
    const weights =
      name === 'model.safetensors'
        ? safetensorsIndex([await readSafetensors(file)])
        : name.endsWith('.index.json')
          ? await shardedIndex(file)
          : torchIndex(await readFileOrThrow(file), file);
    // Every required tensor takes at least 2 bytes per parameter (f16/bf16).
    if (2 * counts.required > weights.bytes) {
      throw new FileFormatError(configFile, `${describeBertSizes(config)} describe ${counts.required} required encoder parameters (at least ${formatBytes(2 * counts.required)} at 16 bits each), but ${name} holds only ${formatBytes(weights.bytes)} of tensors: this config does not belong to these weights`);
    }
    const mapping = bertNameMapping(weights.infos.keys());
    const tensors = new Map([...mapping].map(([renamed, original]) => [renamed, weights.infos.get(original)!]));
    const read = (names?: Iterable<string>): Map<string, Tensor> => {
      const chosen = names === undefined ? [...mapping.keys()] : [...new Set(names)].filter((n) => mapping.has(n));
      const raw = weights.read(chosen.map((n) => mapping.get(n)!));
      return new Map(chosen.map((n) => [n, raw.get(mapping.get(n)!)!]));
    };
    return { config, weightsFile: file, tensors, read };
  }
  throw new FileFormatError(dir, `no weights file (looked for ${candidates.join(', ')})`);
}

/** The config and (name-normalized) weights of a pretrained BERT directory. */
export interface BertCheckpoint {
  config: BertConfig;
  tensors: Map<string, Tensor>;
  /** The weights file that was read. */
  weightsFile: string;
}

/**
 * Reads `config.json` and every tensor of the weights of a Hugging Face BERT directory
 * (see `openBertCheckpoint`, which can decode a chosen subset instead); parameter names
 * are normalized (see `normalizeBertParameterNames`). Async; throws as
 * `openBertCheckpoint` and `BertCheckpointReader.read`.
 */
export async function readBertCheckpoint(dir: string, options: OpenBertCheckpointOptions = {}): Promise<BertCheckpoint> {
  const reader = await openBertCheckpoint(dir, options);
  return { config: reader.config, tensors: reader.read(), weightsFile: reader.weightsFile };
}

/** Everything a saved model directory holds. */
export interface BertModelFiles {
  config: BertConfig;
  /** Parameters with `BertForSequenceClassification` names (`bert.*`, `classifier.*`). */
  tensors: ReadonlyMap<string, Tensor>;
  /** Vocabulary tokens in id order. */
  vocab: readonly string[];
  tokenizer: BertTokenizerSettings;
  /** Default `['BertForSequenceClassification']`. */
  architectures?: string[];
}

/**
 * Saves a Hugging Face model directory: `config.json` (with architectures, model_type
 * "bert", id2label/label2id), `model.safetensors` (metadata `{"format": "pt"}`),
 * `vocab.txt`, `tokenizer_config.json`, `special_tokens_map.json`. Each file is written
 * atomically; the directory is created when missing. Async; throws `RangeError` when the
 * vocabulary size differs from the config's, or the file system's error.
 */
export async function saveBertModelDirectory(dir: string, files: BertModelFiles): Promise<void> {
  if (files.vocab.length !== files.config.vocabSize) {
    throw new RangeError(`saveBertModelDirectory: vocab has ${files.vocab.length} tokens, config.vocab_size is ${files.config.vocabSize}`);
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), new Map(files.tensors), { format: 'pt' });
  await writeVocabFile(path.join(dir, 'vocab.txt'), files.vocab);
  await writeTokenizerSettings(dir, files.tokenizer);
  await writeBertConfig(path.join(dir, 'config.json'), files.config, files.architectures);
}
