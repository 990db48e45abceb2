/**
 * Hugging Face BERT model directories: reading the weights and config of a pretrained
 * model (`model.safetensors`, sharded `model.safetensors.index.json`, or
 * `pytorch_model.bin`), normalizing legacy parameter names, and saving a directory that
 * Python `transformers` loads with `BertForSequenceClassification.from_pretrained`.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';

import { FileFormatError, readJsonFile } from './files.js';
import { type BertConfig, readBertConfig, writeBertConfig } from './hf-config.js';
import { type BertTokenizerSettings, writeTokenizerSettings, writeVocabFile } from './hf-tokenizer-files.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import type { Tensor } from './tensor.js';
import { readTorchCheckpoint } from './torch-checkpoint.js';

/** Prefixes of the encoder's parameters in a bare `BertModel` checkpoint. */
const ENCODER_PREFIXES = ['embeddings.', 'encoder.', 'pooler.'];

/**
 * Renames legacy and bare-encoder parameter names to those of
 * `BertForSequenceClassification`: TF-era LayerNorm `gamma`/`beta` become
 * `weight`/`bias`, and when no name starts with `bert.`, the encoder's names
 * (`embeddings.*`, `encoder.*`, `pooler.*`) get the `bert.` prefix. The
 * `embeddings.position_ids` buffer (an arange that older checkpoints saved, and that
 * transformers 5 no longer expects) is dropped. Other names are kept. Returns a new map
 * (tensors shared). Synchronous; throws `Error` when two names map to the same new name.
 */
export function normalizeBertParameterNames(tensors: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const addPrefix = ![...tensors.keys()].some((name) => name.startsWith('bert.'));
  const out = new Map<string, Tensor>();
  for (const [name, tensor] of tensors) {
    let renamed = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (addPrefix && ENCODER_PREFIXES.some((prefix) => renamed.startsWith(prefix))) renamed = `bert.${renamed}`;
    if (renamed.endsWith('embeddings.position_ids')) continue;
    if (out.has(renamed)) throw new Error(`normalizeBertParameterNames: ${name} and another parameter both become ${renamed}`);
    out.set(renamed, tensor);
  }
  return out;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function readShardedSafetensors(indexFile: string): Promise<Map<string, Tensor>> {
  const index = (await readJsonFile(indexFile)) as { weight_map?: Record<string, string> };
  if (typeof index?.weight_map !== 'object' || index.weight_map === null) {
    throw new FileFormatError(indexFile, 'no weight_map object');
  }
  const tensors = new Map<string, Tensor>();
  for (const shard of new Set(Object.values(index.weight_map))) {
    const contents = await readSafetensors(path.join(path.dirname(indexFile), shard));
    for (const [name, tensor] of contents.tensors) tensors.set(name, tensor);
  }
  for (const name of Object.keys(index.weight_map)) {
    if (!tensors.has(name)) throw new FileFormatError(indexFile, `tensor ${JSON.stringify(name)} is listed but not in its shard`);
  }
  return tensors;
}

/** The config and (name-normalized) weights of a pretrained BERT directory. */
export interface BertCheckpoint {
  config: BertConfig;
  tensors: Map<string, Tensor>;
  /** The weights file that was read. */
  weightsFile: string;
}

/**
 * Reads `config.json` and the weights of a Hugging Face BERT directory, preferring
 * `model.safetensors`, then `model.safetensors.index.json`, then `pytorch_model.bin`;
 * parameter names are normalized (see `normalizeBertParameterNames`). Async; throws
 * `FileFormatError` naming the file that is missing or malformed (no weights file at
 * all names the directory and the three names looked for), `UnsafePickleError` for a
 * `.bin` that references a global other than torch's tensor types.
 */
export async function readBertCheckpoint(dir: string): Promise<BertCheckpoint> {
  const config = await readBertConfig(path.join(dir, 'config.json'));
  const candidates = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin'];
  for (const name of candidates) {
    const file = path.join(dir, name);
    if (!(await exists(file))) continue;
    const raw =
      name === 'model.safetensors'
        ? (await readSafetensors(file)).tensors
        : name.endsWith('.index.json')
          ? await readShardedSafetensors(file)
          : await readTorchCheckpoint(file);
    return { config, tensors: normalizeBertParameterNames(raw), weightsFile: file };
  }
  throw new FileFormatError(dir, `no weights file (looked for ${candidates.join(', ')})`);
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
