/**
 * Hugging Face model directories of any supported family: config.json picks the family by
 * `model_type`, the weights (safetensors, sharded safetensors or a `.bin`) become that family's
 * parameters plus a head, and a trained model is saved as a directory transformers' Auto classes
 * load. Reading is two-phase: sizes, names, dtypes and shapes are checked against the config
 * before any tensor is decoded, so a file that does not fit the config costs no memory.
 *
 *     const loaded = await loadModelDir('xlm-roberta-dir', { labels: ['neg', 'pos'] });
 *     await saveModelDir('out', loaded.spec, params, { tokenizer: writeTokenizerFiles, seqLen: 128 });
 */
import { existsSync } from 'node:fs';
import { readFile, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { sameShape } from '../base/shapes.js';
import { FileFormatError, makeDirectory, readJsonFile, writeFileAtomic } from '../io/files.js';
import { writeSafetensors } from '../io/safetensors.js';
import { type Tensor as HostTensor, toFloat32 } from '../io/tensor.js';
import { openWeights } from '../io/weights.js';
import { type EncoderConfigBase, type EncoderFamily, configJsonText, type HeadSpec, type HostParam, type ModelParams, type ModelSpec, familyOfModelType, formatHead, headParamShapes, initModelParams, isTokenHead, modelParamShapes, numLabelsOf, parseHead } from '../models/index.js';
import { MODELING_FILE, MODELING_FILE_MARKER, isRemoteCodeAutoMap, modelingFileSource, remoteCodeAutoMap } from './remote-code.js';

/** config.json field recording a head other than the family's own. */
export const HEAD_CONFIG_FIELD = 'pjrt_bert_head';
/** config.json field recording the sequence length the parameters were trained at. */
export const SEQ_LEN_CONFIG_FIELD = 'pjrt_bert_seq_len';

/** A directory's family and config. */
export interface ModelConfig {
  readonly family: EncoderFamily;
  readonly config: EncoderConfigBase;
  /** config.json's `architectures` (HF class names), empty when absent. */
  readonly architectures: readonly string[];
  /** The config file read. */
  readonly file: string;
}

/**
 * Reads `dir/config.json` and parses it with the family its `model_type` names. Async; throws
 * FileFormatError for a missing directory, a missing or malformed file, FileFormatError naming the file and the
 * field for an unsupported `model_type` (listing the supported ones) or an invalid field.
 */
export async function readModelConfig(dir: string): Promise<ModelConfig> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new FileFormatError(dir, `no such model directory${info ? ' (it is a file)' : ''}: give a Hugging Face model directory (config.json, weights, tokenizer files), such as the --out of pjrt-bert train`);
  const file = path.join(dir, 'config.json');
  const json = await readJsonFile(file);
  const modelType = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).model_type : undefined;
  const family = familyOfModelType(modelType, file);
  const listed = (json as Record<string, unknown>).architectures;
  const architectures = Array.isArray(listed) ? listed.filter((name): name is string => typeof name === 'string') : [];
  return { family, config: family.parseConfig(json, file), architectures, file };
}

/**
 * The training sequence length a config records (`pjrt_bert_seq_len`), if any. Sync; throws
 * FileFormatError naming `file` when it is not an integer from 2 to the family's maximum.
 */
export function trainedSeqLenOf(family: EncoderFamily, config: EncoderConfigBase, file: string): number | undefined {
  const value = config.extra[SEQ_LEN_CONFIG_FIELD];
  if (value === undefined) return undefined;
  const max = family.maxSequenceLength(config);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2 || value > max) {
    throw new FileFormatError(file, `${SEQ_LEN_CONFIG_FIELD} must be an integer from 2 to the model's ${max} positions, got ${JSON.stringify(value)}; fix it or delete the field (then the default ${DEFAULT_SEQ_LEN} is used)`);
  }
  return value;
}

/** Sequence length for a model that records none (capped at its positions). */
export const DEFAULT_SEQ_LEN = 128;

/** Where a {@link SeqLenChoice} came from: the caller, the model's training length, or the default. */
export type SeqLenSource = 'asked' | 'trained' | 'default';

/** The sequence length to run a model at, and why (see {@link chooseSeqLen}). */
export interface SeqLenChoice {
  readonly seqLen: number;
  readonly source: SeqLenSource;
  /** The length the model was trained at, when its config.json records one. */
  readonly trained: number | undefined;
  /** The longest sequence the model takes (the default is capped at it). */
  readonly maxPositionEmbeddings: number;
}

/**
 * The sequence length to run a model at: `asked` when given, else the length it was trained at,
 * else {@link DEFAULT_SEQ_LEN} capped at the model's positions. Sync; throws FileFormatError
 * for a malformed `pjrt_bert_seq_len`.
 */
export function chooseSeqLen(family: EncoderFamily, config: EncoderConfigBase, asked: number | undefined, file = 'config.json'): SeqLenChoice {
  const trained = trainedSeqLenOf(family, config, file);
  const maxPositionEmbeddings = family.maxSequenceLength(config);
  if (asked !== undefined) return { seqLen: asked, source: 'asked', trained, maxPositionEmbeddings };
  if (trained !== undefined) return { seqLen: trained, source: 'trained', trained, maxPositionEmbeddings };
  return { seqLen: Math.min(DEFAULT_SEQ_LEN, maxPositionEmbeddings), source: 'default', trained, maxPositionEmbeddings };
}

/** Options of {@link loadModelDir}. */
export interface LoadModelOptions {
  /** The head; default the one the directory records (`pjrt_bert_head`, or the tensors), else the family's. */
  readonly head?: string | HeadSpec;
  /** Class names; default the config's `id2label` (HF's two `LABEL_i` when it has none). */
  readonly labels?: readonly string[];
  /** Seed of the parameters initialised fresh (default 0). */
  readonly seed?: number;
  /** Most bytes the model's f32 parameters may take; default the machine's memory. */
  readonly maxParameterBytes?: number;
}

/** What {@link loadModelDir} read. */
export interface LoadedModel {
  readonly spec: ModelSpec;
  /** Every parameter of `spec`, f32, in `modelParamShapes` order. */
  readonly params: ModelParams<HostParam>;
  /** The weights file that was read. */
  readonly weightsFile: string;
  /** Parameters not in the file, initialised fresh (the head of a pretrained encoder). */
  readonly initialized: string[];
  /** Tensors of the file the model does not use (e.g. a pretraining head). */
  readonly unused: string[];
  /** The sequence length the parameters were trained at (`pjrt_bert_seq_len`), if recorded. */
  readonly trainedSeqLen: number | undefined;
}

const FLOAT_DTYPES = new Set(['f64', 'f32', 'f16', 'bf16']);
const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
const MiB = 2 ** 20;
const GiB = 1024 ** 3;
const formatSize = (bytes: number): string => (bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`);
/** The size fields of `config` under HF's common names, for messages about the model size they imply. */
/** The config's size fields as its family spells them in config.json (`hidden_size`, or DistilBERT's `dim`, ...). */
function describeSizes(family: EncoderFamily, c: EncoderConfigBase): string {
  const json = family.configToJson(c);
  const sizes = Object.entries(json).filter(([key, value]) => typeof value === 'number' && Number.isInteger(value) && /size|dim|layers|heads|positions|vocab/.test(key) && !/dropout|eps|id$/.test(key));
  return sizes.map(([key, value]) => `${key} ${String(value)}`).join(', ');
}

function headOfDirectory(family: EncoderFamily, config: EncoderConfigBase, names: ReadonlySet<string>, option: string | HeadSpec | undefined, architectures: readonly string[]): HeadSpec {
  if (option !== undefined) return typeof option === 'string' ? parseHead(option, family) : option;
  const recorded = config.extra[HEAD_CONFIG_FIELD];
  if (typeof recorded === 'string') return parseHead(recorded, family);
  if (architectures.some((name) => name.endsWith('ForTokenClassification'))) return { kind: 'token' };
  return { kind: names.has('classifier.0.weight') ? 'mlp' : family.classificationHead };
}

/**
 * Reads a Hugging Face model directory of any supported family into f32 parameters of its
 * encoder and a head. Encoder tensors must all be present with the config's shapes (a family's
 * optional ones, and the head's, are initialised fresh from `seed` when missing and listed in
 * `initialized`). Async; throws FileFormatError naming config.json (an unsupported model_type,
 * a bad field, or sizes that describe a model larger than the memory or than the weights file),
 * FileFormatError naming the weights file (missing tensors, a tensor whose shape or dtype does
 * not fit, a head saved for another class count), UnsafePickleError for a suspicious `.bin`.
 */
export async function loadModelDir(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { family, config: parsed, file: configFile, architectures } = await readModelConfig(dir);
  const config: EncoderConfigBase = { ...parsed, extra: { ...parsed.extra } };
  if (options.labels) config.labels = [...options.labels];
  config.labels ??= Array.from({ length: numLabelsOf(config) }, (_, i) => `LABEL_${i}`);
  const trainedSeqLen = trainedSeqLenOf(family, config, configFile);
  const encoderShapes = family.paramShapes(config);
  const encoderCount = [...encoderShapes.values()].reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
  const limit = options.maxParameterBytes ?? os.totalmem();
  if (4 * encoderCount > limit) {
    throw new FileFormatError(configFile, `its sizes (${describeSizes(family, config)}) describe a ${family.name} encoder of ${encoderCount} parameters (${formatSize(4 * encoderCount)} as f32), more than ${options.maxParameterBytes === undefined ? "this machine's memory" : 'the limit'} (${formatSize(limit)}): check these fields`);
  }
  const weights = await openWeights(dir);
  const file = weights.file;
  // Every tensor of the encoder takes at least 2 bytes per parameter (f16/bf16).
  const optional = new Set(family.optionalParams(config));
  const required = [...encoderShapes].filter(([name]) => !optional.has(name)).reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);
  if (2 * required > weights.bytes) {
    throw new FileFormatError(configFile, `its sizes (${describeSizes(family, config)}) describe ${required} required ${family.name} parameters (at least ${formatSize(2 * required)} at 16 bits each), but ${path.basename(file)} holds only ${formatSize(weights.bytes)} of tensors: this config does not belong to these weights`);
  }
  // Checkpoint names -> this family's names.
  const original = new Map<string, string>();
  for (const name of weights.infos.keys()) {
    const renamed = family.normalizeName(name);
    if (renamed === undefined) continue;
    if (original.has(renamed)) throw new FileFormatError(file, `tensors ${original.get(renamed)} and ${name} both become ${renamed}`);
    original.set(renamed, name);
  }
  const head = headOfDirectory(family, config, new Set(original.keys()), options.head, architectures);
  if (head.kind === 'mlp') config.extra[HEAD_CONFIG_FIELD] = formatHead(head, family);
  else delete config.extra[HEAD_CONFIG_FIELD];
  const spec: ModelSpec = { family, config, head };
  const expected = modelParamShapes(spec);
  for (const name of headParamShapes(spec).keys()) optional.add(name);
  const missing = [...expected.keys()].filter((name) => !original.has(name) && !optional.has(name));
  if (missing.length > 0) {
    const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? `, ... (${missing.length} in all)` : '');
    throw new FileFormatError(file, `missing ${family.name} parameter${missing.length > 1 ? 's' : ''} ${shown}`);
  }
  for (const [name, shape] of expected) {
    const info = original.has(name) ? weights.infos.get(original.get(name)!) : undefined;
    if (!info) continue;
    if (!sameShape(info.shape, shape)) {
      const hint = headParamShapes(spec).has(name) ? ` (the head was saved for another class count or head; ${config.labels.length} labels and head ${formatHead(head, family)} asked)` : '';
      throw new FileFormatError(file, `tensor ${name} has shape ${formatShape(info.shape)} but the config expects ${formatShape(shape)}${hint}`);
    }
    if (!FLOAT_DTYPES.has(info.dtype)) throw new FileFormatError(file, `tensor ${name} has dtype ${info.dtype}, expected a floating-point dtype`);
  }
  const initialized = [...expected.keys()].filter((name) => !original.has(name));
  const fresh = initModelParams(spec, options.seed ?? 0, initialized);
  const present = [...expected.keys()].filter((name) => original.has(name));
  const tensors = weights.read(present.map((name) => original.get(name)!));
  const params: ModelParams<HostParam> = {};
  for (const [name, shape] of expected) {
    const tensor = original.has(name) ? tensors.get(original.get(name)!) : undefined;
    params[name] = tensor ? { dtype: 'f32', shape, data: toFloat32(tensor) } : fresh[name]!;
  }
  const unused = [...original.keys()].filter((name) => !expected.has(name));
  return { spec, params, weightsFile: file, initialized, unused, trainedSeqLen };
}

/** What {@link saveModelDir} writes besides the parameters. */
export interface SaveModelOptions {
  /** Writes the tokenizer's files into the directory (given the length to record as `model_max_length`). */
  readonly writeTokenizer: (dir: string, modelMaxLength: number | undefined) => Promise<void>;
  /** The sequence length the parameters were trained at (recorded; default: what the config records). */
  readonly seqLen?: number;
}

/**
 * Saves `params` of `spec` as a Hugging Face directory: config.json (the family's fields,
 * `architectures`, labels, `pjrt_bert_seq_len` when known and, for an MLP head on BERT,
 * `pjrt_bert_head` and an `auto_map` to modeling_pjrt_bert.py), model.safetensors, the
 * tokenizer's files, and modeling_pjrt_bert.py for that head. Each file is written atomically,
 * config.json last; a head of the family's own kind removes a modeling file pjrt-bert left there
 * earlier. Async; throws Error naming a missing or misshapen parameter, RangeError for a bad
 * `seqLen`, or the file system's error.
 */
export async function saveModelDir(dir: string, spec: ModelSpec, params: ModelParams<HostParam | HostTensor<'f32'>>, options: SaveModelOptions): Promise<void> {
  const { family } = spec;
  const tensors = new Map<string, HostTensor>();
  for (const [name, shape] of modelParamShapes(spec)) {
    const tensor = params[name];
    if (!tensor) throw new Error(`saveModelDir: parameter ${name} is missing`);
    if (!sameShape(tensor.shape, shape)) throw new Error(`saveModelDir: parameter ${name} has shape ${formatShape(tensor.shape)}, expected ${formatShape(shape)}`);
    tensors.set(name, tensor);
  }
  const config: EncoderConfigBase = { ...spec.config, extra: { ...spec.config.extra } };
  config.labels ??= Array.from({ length: numLabelsOf(config) }, (_, i) => `LABEL_${i}`);
  if (options.seqLen !== undefined) {
    const max = family.maxSequenceLength(config);
    if (!Number.isInteger(options.seqLen) || options.seqLen < 2 || options.seqLen > max) throw new RangeError(`saveModelDir: seqLen must be an integer from 2 to ${max}, got ${options.seqLen}`);
    config.extra[SEQ_LEN_CONFIG_FIELD] = options.seqLen;
  }
  const recorded = config.extra[SEQ_LEN_CONFIG_FIELD];
  await makeDirectory(dir);
  const modelingFile = path.join(dir, MODELING_FILE);
  const remoteCode = spec.head.kind === 'mlp' && family.name === 'bert';
  if (spec.head.kind === 'mlp') config.extra[HEAD_CONFIG_FIELD] = formatHead(spec.head, family);
  else delete config.extra[HEAD_CONFIG_FIELD];
  if (remoteCode) {
    config.extra.auto_map = remoteCodeAutoMap();
    await writeFileAtomic(modelingFile, modelingFileSource()); // before config.json, which refers to it
  } else {
    if (isRemoteCodeAutoMap(config.extra.auto_map)) delete config.extra.auto_map;
    if (existsSync(modelingFile) && (await readFile(modelingFile, 'utf8')).startsWith(MODELING_FILE_MARKER)) await unlink(modelingFile);
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await options.writeTokenizer(dir, typeof recorded === 'number' ? recorded : undefined);
  const architecture = isTokenHead(spec) ? family.architectures.tokenClassification : family.architectures.sequenceClassification;
  await writeFileAtomic(path.join(dir, 'config.json'), configJsonText({ architectures: [architecture], ...family.configToJson(config as never) }, family.floatFields ?? []));
}
