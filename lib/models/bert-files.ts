/**
 * BERT parameters in and out of Hugging Face model directories, and on and off devices.
 *
 * - `loadBertParams(dir)`: config.json + model.safetensors (or the sharded index, or
 *   pytorch_model.bin; legacy names normalized by lib/io), every expected tensor checked
 *   for presence and shape; a missing head (or pooler) is initialised fresh and reported.
 * - `saveBertModel(dir, ...)`: a directory `AutoModelForSequenceClassification.from_pretrained`
 *   loads (config.json with id2label/label2id, model.safetensors, vocab.txt, tokenizer files),
 *   each file written atomically.
 * - `chooseSeqLen(config, asked)`: the sequence length to run a saved model at: the one asked
 *   for, else the one it was trained at (config.json `pjrt_bert_seq_len`, mirrored as
 *   tokenizer_config.json `model_max_length`), else 128 capped at max_position_embeddings.
 *
 * An `mlp:N` head is saved as `classifier.0.*`/`classifier.3.*` with `"pjrt_bert_head": "mlp:N"`
 * in config.json, plus `modeling_pjrt_bert.py` and an `auto_map` naming it (bert-remote-code.ts):
 * `AutoModelForSequenceClassification.from_pretrained(dir, trust_remote_code=True)` loads the
 * trained head. Without `trust_remote_code` (or with `BertForSequenceClassification`)
 * transformers loads the encoder and pooler but reports `classifier.weight`/`classifier.bias` as
 * newly initialised and the `classifier.0/3.*` tensors as unexpected. A linear head is a plain
 * `BertForSequenceClassification` directory (no auto_map, no Python file).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';

import { sameShape } from '../base/shapes.js';
import { type BertConfig, FileFormatError, type BertTokenizerSettings, type Tensor as HostTensor, openBertCheckpoint, saveBertModelDirectory, toFloat32, writeFileAtomic } from '../io/index.js';
import type { DeviceArray, Runtime } from '../runtime/index.js';
import { type BertHead, type BertParams, type BertSpec, bertHeadShapes, bertParamShapes, formatBertHead, initBertParams, numLabelsOf, parseBertHead } from './bert.js';
import { MODELING_FILE, MODELING_FILE_MARKER, isRemoteCodeAutoMap, modelingFileSource, remoteCodeAutoMap } from './bert-remote-code.js';

/** config.json field recording a head other than HF's linear one. */
export const HEAD_CONFIG_FIELD = 'pjrt_bert_head';

/** config.json field recording the sequence length the parameters were trained at. */
export const SEQ_LEN_CONFIG_FIELD = 'pjrt_bert_seq_len';

/** Sequence length for a model that records none (capped at its max_position_embeddings). */
export const DEFAULT_SEQ_LEN = 128;

/** Where a {@link SeqLenChoice} came from: the caller, the model's training length, or the default. */
export type SeqLenSource = 'asked' | 'trained' | 'default';

/** The sequence length to run a model at, and why (see {@link chooseSeqLen}). */
export interface SeqLenChoice {
  readonly seqLen: number;
  readonly source: SeqLenSource;
  /** The length the model was trained at, when its config.json records one. */
  readonly trained: number | undefined;
  /** The model's `max_position_embeddings` (the default is capped at it). */
  readonly maxPositionEmbeddings: number;
}

/**
 * The training sequence length `config` records (`pjrt_bert_seq_len`), if any. Sync; throws
 * FileFormatError naming `file` when the field is not an integer from 2 to
 * max_position_embeddings.
 */
export function trainedSeqLenOf(config: BertConfig, file: string): number | undefined {
  const value = config.extra[SEQ_LEN_CONFIG_FIELD];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2 || value > config.maxPositionEmbeddings) {
    throw new FileFormatError(
      file,
      `${SEQ_LEN_CONFIG_FIELD} must be an integer from 2 to max_position_embeddings ${config.maxPositionEmbeddings}, got ${JSON.stringify(value)}; fix it or delete the field (then the default ${DEFAULT_SEQ_LEN} is used)`,
    );
  }
  return value;
}

/**
 * The sequence length to run a model of `config` at: `asked` when given, else the length it was
 * trained at (`pjrt_bert_seq_len`), else {@link DEFAULT_SEQ_LEN} capped at
 * max_position_embeddings. `asked` itself is not checked here (the caller's own limits apply).
 * Sync; throws FileFormatError naming `file` for a malformed `pjrt_bert_seq_len`.
 */
export function chooseSeqLen(config: BertConfig, asked: number | undefined, file = 'config.json'): SeqLenChoice {
  const trained = trainedSeqLenOf(config, file);
  const maxPositionEmbeddings = config.maxPositionEmbeddings;
  if (asked !== undefined) return { seqLen: asked, source: 'asked', trained, maxPositionEmbeddings };
  if (trained !== undefined) return { seqLen: trained, source: 'trained', trained, maxPositionEmbeddings };
  return { seqLen: Math.min(DEFAULT_SEQ_LEN, maxPositionEmbeddings), source: 'default', trained, maxPositionEmbeddings };
}

/** Options of {@link loadBertParams}. */
export interface LoadBertOptions {
  /** The head to use; default: the one the directory has (`pjrt_bert_head`, or the tensors), else `linear`. */
  readonly head?: BertHead | string;
  /** Class names; default the config's `id2label` (HF's two `LABEL_i` when it has none). */
  readonly labels?: readonly string[];
  /** Seed for the parameters initialised fresh (default 0). */
  readonly seed?: number;
}

/** What {@link loadBertParams} read. */
export interface LoadedBert {
  readonly spec: BertSpec;
  /** Every parameter of `spec`, f32, in `bertParamShapes` order. */
  readonly params: BertParams<HostTensor<'f32'>>;
  /** The weights file that was read. */
  readonly weightsFile: string;
  /** Parameters not in the file, initialised fresh (the head of a pretrained encoder, e.g. MiniLM). */
  readonly initialized: string[];
  /** Tensors of the file the model does not use (e.g. `cls.predictions.*` of a pretraining checkpoint). */
  readonly unused: string[];
  /** The sequence length the parameters were trained at (config.json `pjrt_bert_seq_len`), if recorded. */
  readonly trainedSeqLen: number | undefined;
}

function headOf(config: BertConfig, tensors: ReadonlyMap<string, { readonly shape: readonly number[] }>, option: BertHead | string | undefined): BertHead {
  if (option !== undefined) return typeof option === 'string' ? parseBertHead(option) : option;
  const recorded = config.extra[HEAD_CONFIG_FIELD];
  if (typeof recorded === 'string') return parseBertHead(recorded);
  const mlpWeight = tensors.get('classifier.0.weight');
  if (mlpWeight && mlpWeight.shape.length === 2) return { kind: 'mlp', hidden: mlpWeight.shape[0]! };
  return { kind: 'linear' };
}

const FLOAT_DTYPES = new Set(['f64', 'f32', 'f16', 'bf16']);
const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * Reads a Hugging Face BERT directory into f32 parameters under `BertForSequenceClassification`
 * names. Encoder tensors must all be present with the config's shapes; head tensors (and the
 * pooler's) that are missing are initialised fresh from `seed` and listed in `initialized`.
 * Names and shapes are checked before any tensor is decoded or initialised (see
 * `openBertCheckpoint`, which also refuses a config too large for the memory or the weights).
 * Async; throws FileFormatError naming the file when config.json or the weights are missing
 * or malformed, when encoder tensors are missing (naming them), or when a tensor's shape
 * differs from the config's (naming the tensor and both shapes; a head trained for another
 * class count says so) or `pjrt_bert_seq_len` is malformed, UnsafePickleError for a
 * suspicious `.bin`, RangeError for a bad head or one too large for the memory (see
 * `initBertParams`).
 */
export async function loadBertParams(dir: string, options: LoadBertOptions = {}): Promise<LoadedBert> {
  // Two phases: names, dtypes and shapes are checked before any tensor is decoded or
  // initialised, so a config or checkpoint that does not fit costs no memory.
  const checkpoint = await openBertCheckpoint(dir);
  const file = checkpoint.weightsFile;
  const config: BertConfig = { ...checkpoint.config, extra: { ...checkpoint.config.extra } };
  if (options.labels) config.labels = [...options.labels];
  config.labels ??= Array.from({ length: numLabelsOf(config) }, (_, i) => `LABEL_${i}`);
  const trainedSeqLen = trainedSeqLenOf(config, path.join(dir, 'config.json'));
  const head = headOf(config, checkpoint.tensors, options.head);
  if (head.kind === 'mlp') config.extra[HEAD_CONFIG_FIELD] = formatBertHead(head);
  else delete config.extra[HEAD_CONFIG_FIELD];
  const spec: BertSpec = { config, head };
  const expected = bertParamShapes(spec);
  const optional = new Set([...bertHeadShapes(spec).keys(), 'bert.pooler.dense.weight', 'bert.pooler.dense.bias']);
  const missing = [...expected.keys()].filter((name) => !checkpoint.tensors.has(name) && !optional.has(name));
  if (missing.length > 0) {
    const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? `, ... (${missing.length} in all)` : '');
    throw new FileFormatError(file, `missing BERT parameter${missing.length > 1 ? 's' : ''} ${shown}`);
  }
  for (const [name, shape] of expected) {
    const info = checkpoint.tensors.get(name);
    if (!info) continue;
    if (!sameShape(info.shape, shape)) {
      const hint = name.startsWith('classifier.') ? ` (the head was saved for another class count or head; ${config.labels.length} labels and head ${formatBertHead(head)} asked)` : '';
      throw new FileFormatError(file, `tensor ${name} has shape ${formatShape(info.shape)} but the config expects ${formatShape(shape)}${hint}`);
    }
    if (!FLOAT_DTYPES.has(info.dtype)) throw new FileFormatError(file, `tensor ${name} has dtype ${info.dtype}, expected a floating-point dtype`);
  }
  const initialized = [...expected.keys()].filter((name) => !checkpoint.tensors.has(name));
  // The pooler's two tensors, like the head's, are initialised together or not at all.
  const fresh = initBertParams(spec, options.seed ?? 0, initialized);
  const tensors = checkpoint.read([...expected.keys()].filter((name) => checkpoint.tensors.has(name)));
  const params: BertParams<HostTensor<'f32'>> = {};
  for (const [name, shape] of expected) {
    const tensor = tensors.get(name);
    params[name] = tensor ? { dtype: 'f32', shape, data: toFloat32(tensor) } : fresh[name]!;
  }
  const unused = [...checkpoint.tensors.keys()].filter((name) => !expected.has(name));
  return { spec, params, weightsFile: file, initialized, unused, trainedSeqLen };
}

/** What {@link saveBertModel} writes besides the parameters. */
export interface SaveBertOptions {
  /** Vocabulary tokens in id order (`tokenizer.vocabulary.tokens`); length must be `vocabSize`. */
  readonly vocab: readonly string[];
  /** Tokenizer settings (`tokenizer.settings`). */
  readonly tokenizer: BertTokenizerSettings;
  /**
   * The sequence length the parameters were trained at: recorded as config.json
   * `pjrt_bert_seq_len` and tokenizer_config.json `model_max_length`, and used by `predict`,
   * `evaluate` and the Trainer when no length is asked for. Default: what `spec.config`
   * already records (a model loaded and saved again keeps its length), else nothing.
   */
  readonly seqLen?: number;
}

/**
 * Saves `params` of `spec` as a Hugging Face model directory (config.json with labels, the
 * training length `pjrt_bert_seq_len` when known and, for an MLP head, `pjrt_bert_head` and an
 * `auto_map` to modeling_pjrt_bert.py; model.safetensors; vocab.txt; tokenizer_config.json with
 * `model_max_length` = the training length; special_tokens_map.json; modeling_pjrt_bert.py for
 * an MLP head). Each file is written atomically, the directory created if needed; a linear head
 * removes a modeling_pjrt_bert.py that pjrt-bert left there earlier.
 * Async; throws Error naming a missing or misshapen parameter, RangeError when the vocabulary
 * size differs from the config's or `seqLen` is not an integer from 2 to
 * max_position_embeddings, or the file system's error.
 */
export async function saveBertModel(dir: string, spec: BertSpec, params: BertParams<HostTensor<'f32'>>, options: SaveBertOptions): Promise<void> {
  const tensors = new Map<string, HostTensor>();
  for (const [name, shape] of bertParamShapes(spec)) {
    const tensor = params[name];
    if (!tensor) throw new Error(`saveBertModel: parameter ${name} is missing`);
    if (!sameShape(tensor.shape, shape)) throw new Error(`saveBertModel: parameter ${name} has shape ${formatShape(tensor.shape)}, expected ${formatShape(shape)}`);
    tensors.set(name, tensor);
  }
  const config: BertConfig = { ...spec.config, extra: { ...spec.config.extra } };
  config.labels ??= Array.from({ length: numLabelsOf(config) }, (_, i) => `LABEL_${i}`);
  const { seqLen } = options;
  if (seqLen !== undefined) {
    if (!Number.isInteger(seqLen) || seqLen < 2 || seqLen > config.maxPositionEmbeddings) {
      throw new RangeError(`saveBertModel: seqLen must be an integer from 2 to max_position_embeddings ${config.maxPositionEmbeddings}, got ${seqLen}`);
    }
    config.extra[SEQ_LEN_CONFIG_FIELD] = seqLen;
  }
  const recorded = config.extra[SEQ_LEN_CONFIG_FIELD];
  const tokenizer = typeof recorded === 'number' ? { ...options.tokenizer, modelMaxLength: recorded } : options.tokenizer;
  const modelingFile = path.join(dir, MODELING_FILE);
  if (spec.head.kind === 'mlp') {
    config.extra[HEAD_CONFIG_FIELD] = formatBertHead(spec.head);
    config.extra.auto_map = remoteCodeAutoMap();
    // written before config.json, which refers to it
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(modelingFile, modelingFileSource());
  } else {
    delete config.extra[HEAD_CONFIG_FIELD];
    if (isRemoteCodeAutoMap(config.extra.auto_map)) delete config.extra.auto_map;
    if (existsSync(modelingFile) && (await readFile(modelingFile, 'utf8')).startsWith(MODELING_FILE_MARKER)) await unlink(modelingFile);
  }
  await saveBertModelDirectory(dir, { config, tensors, vocab: options.vocab, tokenizer });
}

/**
 * Copies host parameters to device `device` (default 0), keeping the record's order. Async;
 * rejects with TypeError/PjrtError from `Runtime.put`.
 */
export async function putBertParams(runtime: Runtime, params: BertParams<HostTensor<'f32'>>, device = 0): Promise<BertParams<DeviceArray>> {
  const entries = await Promise.all(Object.entries(params).map(async ([name, tensor]) => [name, await runtime.put(tensor.data, tensor.shape, { device })] as const));
  return Object.fromEntries(entries);
}

/** Copies device parameters back to host f32 tensors, keeping the record's order. Async; rejects with PjrtError. */
export async function getBertParams(params: BertParams<DeviceArray>): Promise<BertParams<HostTensor<'f32'>>> {
  const entries = await Promise.all(
    Object.entries(params).map(async ([name, array]) => {
      if (array.dtype !== 'f32') throw new TypeError(`getBertParams: ${name} is ${array.dtype}, expected f32`);
      const tensor: HostTensor<'f32'> = { dtype: 'f32', shape: [...array.shape], data: (await array.toHost()) as Float32Array };
      return [name, tensor] as const;
    }),
  );
  return Object.fromEntries(entries);
}
