/**
 * The real {@link ServeEngine}: a saved model directory of any family (lib/pretrained) behind
 * programs compiled for a few bucket shapes, one set per replica (device).
 *
 *     using engine = await ModelEngine.open('out/model', { plugin: 'cpu', replicas: 2, maxBatchSize: 32 });
 *     const server = Server.create({ engine, port: 8080 });
 *     await server.listen();                                   // warm-up compiles every bucket
 *
 * Shapes. A program runs `rows x length` tokens holding up to `maxBatchSize` inputs packed
 * whole into rows (first-fit decreasing, as `--padding pack` trains): attention stays inside
 * each input (a block-diagonal mask), positions restart at each input, and a sequence head reads
 * each input's own first token. Packing makes a grid of shapes unnecessary: the programs are one
 * row of each length bucket (16, 32, 48, ... 128, then half-steps up to the serving length),
 * for a few short inputs, and each row-count bucket (2, 3, ... 8, then quarter-steps up to
 * `maxBatchSize`) of full-length rows, for a batch. A batch runs as the compiled shape of fewest
 * token slots that holds its packing: one tweet of 76 tokens in one row of 80, 32 of them in
 * about 23 rows of 128. Nothing is compiled after `warmup()`. Every input gets the logits it
 * gets alone and unpadded (as transformers' pipeline runs one text), up to float rounding.
 *
 * Devices. A program runs on one device, so each bucket is compiled once per replica (device
 * assignment `[[device r]]`) and each replica holds its own copy of the parameters; the server's
 * batcher runs at most one batch per replica at a time, so R batches run at once.
 *
 * Tasks, from the directory: a token head (`*ForTokenClassification`) is token classification;
 * config.json `problem_type` `"regression"` (one output) and `"multi_label_classification"` are
 * regression and multi-label; anything else is classification. Token classification answers one
 * {@link TokenOutput} per word of the text (the tokenizer's pre-tokenizer words): the logits of
 * the word's first sub-token, as the training convention puts the word's tag there, with the
 * word's span in the text (`token` is that span's text) and the index of that first sub-token;
 * special tokens and the pair's tokens are left out.
 *
 * Tokenization happens once, in `encode`, without truncation (the server needs the full length
 * to refuse what is too long); an input over `maxInputLength` (sent with `"truncate": true`) is
 * encoded again at that length in `run`, as the tokenizer truncates (longest first for pairs).
 */
import path from 'node:path';

import type { TextEncoding } from '../data/tokenizer.js';
import { type HostParam, type ModelParams, type ModelSpec, isTokenHead, modelForward, numLabelsOf } from '../models/index.js';
import { type ModelTokenizer, type SeqLenChoice, chooseSeqLen, loadModelDir, loadModelTokenizer } from '../pretrained/index.js';
import { type DeviceArray, type Executable, Runtime, compileCacheDir } from '../runtime/index.js';
import { type Tensor, type TensorSpec, trace } from '../trace/index.js';
import { disposeAll, putParams } from '../train/model-state.js';
import { packRows } from '../train/padding.js';
import { taskOfModel } from '../train/tasks.js';
import type { EncodedInput, EngineInfo, EngineOutput, RunOptions, ServeEngine, ServeInput, ServeTask, TokenOutput } from './engine.js';

/** What {@link ModelEngine.encode} returns: the input and its untruncated encoding. */
export interface ModelEncoded extends EncodedInput {
  readonly input: ServeInput;
  /** Tokens with offsets and word ids, special tokens included, not truncated. */
  readonly encoding: TextEncoding;
}

/** Options of {@link ModelEngine.open}. */
export interface ModelEngineOptions {
  /** A runtime to run on (kept open by the caller); else one is opened on `plugin`. */
  readonly runtime?: Runtime;
  /** PJRT plugin when no runtime is given (default `cpu`). */
  readonly plugin?: string;
  /** Devices to serve on, one batch at a time each (default 1). */
  readonly replicas?: number;
  /** The longest input in tokens (`maxInputLength`); default the length the model was trained at, else 128 (capped at its positions). */
  readonly seqLen?: number;
  /** Most inputs per batch (default 32): the largest row bucket. */
  readonly maxBatchSize?: number;
  /** Row counts of full-length rows to compile (default {@link defaultBatchBuckets}); `maxBatchSize` is added when missing. */
  readonly batchBuckets?: readonly number[];
  /** Lengths of the one-row programs (default {@link defaultLengthBuckets}); `seqLen` is added when missing. */
  readonly lengthBuckets?: readonly number[];
  /** `f32` (default) or `bf16` matmuls and activations (f32 weights). */
  readonly precision?: 'f32' | 'bf16';
  /** Cache compiled programs on disk when the engine opens its own runtime (default true). */
  readonly compileCache?: boolean;
}

/** The shapes an engine compiles: one row of each length, and each row count of full-length rows. */
export interface Buckets {
  /** Row counts of full-length rows (1 is the one row of the longest length). */
  readonly batch: readonly number[];
  /** Lengths of one-row programs, ending at the serving length. */
  readonly length: readonly number[];
}

/** One compiled shape: `rows` rows of `length` tokens. */
export interface ServeShape {
  readonly rows: number;
  readonly length: number;
}

/** The shapes of `buckets`: one row of each length, then the row counts above 1 at the longest. Sync. */
export function servedShapes(buckets: Buckets): ServeShape[] {
  const longest = buckets.length.at(-1)!;
  return [...buckets.length.map((length) => ({ rows: 1, length })), ...buckets.batch.filter((rows) => rows > 1).map((rows) => ({ rows, length: longest }))];
}

/** Row counts 1 to 8, then steps of a quarter (rounded down) below `maxBatchSize`, and `maxBatchSize` itself. Sync. */
export function defaultBatchBuckets(maxBatchSize: number): number[] {
  const sizes: number[] = [];
  for (let rows = 1; rows < maxBatchSize; rows += rows < 8 ? 1 : Math.floor(rows / 4)) sizes.push(rows);
  sizes.push(maxBatchSize);
  return sizes;
}

/** One-row lengths: 16, 32, ... 128 in steps of 16, then half-steps below `seqLen`, and `seqLen`. Sync. */
export function defaultLengthBuckets(seqLen: number): number[] {
  const lengths: number[] = [];
  for (let length = 16; length < seqLen; length += length < 128 ? 16 : length / 2) lengths.push(length);
  lengths.push(seqLen);
  return lengths;
}

/** Where a batch's inputs go: the compiled shape and each input's row and offset in it. */
export interface BatchLayout extends ServeShape {
  /** Flat token index (row * length + offset) of each input's first token. */
  readonly starts: Int32Array;
}

/**
 * The shape of fewest token slots among {@link servedShapes} of `buckets` that holds inputs of
 * `lengths` tokens packed whole into rows, and where each input goes (ties: the one-row shape).
 * Sync; throws RangeError when no compiled shape holds them (an input longer than the longest
 * length, or more full rows needed than the largest row count).
 */
export function layoutBatch(lengths: readonly number[], buckets: Buckets): BatchLayout {
  let best: BatchLayout | undefined;
  const longest = Math.max(0, ...lengths);
  const packings = new Map<number, ReturnType<typeof packRows>>();
  for (const { rows, length } of servedShapes(buckets)) {
    if (length < longest || (best && rows * length >= best.rows * best.length)) continue;
    let packing = packings.get(length);
    if (!packing) packings.set(length, (packing = packRows(lengths, length)));
    if (packing.rows > rows) continue;
    best = { rows, length, starts: Int32Array.from(packing.row, (row, i) => row * length + packing.offset[i]!) };
  }
  if (!best) throw new RangeError(`no compiled shape holds ${lengths.length} inputs of up to ${longest} tokens (one row of ${buckets.length.join(', ')} tokens, or ${buckets.batch.join(', ')} rows of ${buckets.length.at(-1)})`);
  return best;
}

/**
 * The buckets to compile: `asked` (or the default) with `max` added, sorted, without
 * duplicates. Sync; throws RangeError naming `what` for a size that is not an integer from
 * `min` to `max`.
 */
export function bucketSizes(asked: readonly number[] | undefined, max: number, min: number, what: string, fallback: (max: number) => number[]): number[] {
  const sizes = asked ?? fallback(max);
  for (const size of sizes) {
    if (!Number.isInteger(size) || size < min || size > max) throw new RangeError(`${what} ${size} must be an integer from ${min} to ${max}`);
  }
  return [...new Set([...sizes, max])].sort((a, b) => a - b);
}

/**
 * The serving task of a model: its head and config.json's `problem_type`. Sync; throws
 * RangeError naming `file` for a regression config with other than one output.
 */
export function serveTaskOf(spec: ModelSpec, file: string): ServeTask {
  const task = taskOfModel(spec.config.problemType, isTokenHead(spec)).name;
  const outputs = numLabelsOf(spec.config);
  if (task === 'regression' && outputs !== 1) throw new RangeError(`${file}: problem_type "regression" needs one output (num_labels 1), but the model has ${outputs}`);
  return task;
}

/** Tokens `encode` may return: long enough for any body the server accepts (the tokenizer truncates nothing). */
const UNTRUNCATED = 2 ** 30;

type Tokens = { inputIds: Tensor; attentionMask: Tensor; tokenTypeIds: Tensor; segmentIds: Tensor; positionIds: Tensor; exampleStarts: Tensor };

/** A model directory served through bucketed programs on one or more devices. Dispose when done. */
export class ModelEngine implements ServeEngine<ModelEncoded>, Disposable {
  readonly info: EngineInfo;
  /** The sizes compiled by `warmup()`. */
  readonly buckets: Buckets;
  readonly #spec: ModelSpec;
  readonly #names: readonly string[];
  readonly #params: ModelParams<DeviceArray>[];
  readonly #programs = new Map<string, Executable[]>();
  readonly #precision: 'f32' | 'bf16';
  readonly #ownsRuntime: boolean;
  #compileCount = 0;
  #warmup: Promise<void> | undefined;
  #warm = false;
  #disposed = false;

  private constructor(
    readonly runtime: Runtime,
    /** Architecture and host parameters. */
    spec: ModelSpec,
    names: readonly string[],
    params: ModelParams<DeviceArray>[],
    readonly tokenizer: ModelTokenizer,
    /** The serving length (`info.maxInputLength`), and where it came from. */
    readonly seqLenChoice: SeqLenChoice,
    /** Parameters the directory lacked, initialised at random (an untrained head). */
    readonly initialized: readonly string[],
    info: EngineInfo,
    buckets: Buckets,
    precision: 'f32' | 'bf16',
    ownsRuntime: boolean,
  ) {
    this.#spec = spec;
    this.#names = names;
    this.#params = params;
    this.info = info;
    this.buckets = buckets;
    this.#precision = precision;
    this.#ownsRuntime = ownsRuntime;
  }

  /**
   * Loads model directory `dir` (any supported family) and its tokenizer and places the
   * parameters on each replica's device; nothing is compiled before `warmup()`. Async; rejects
   * with the loader's errors (FileFormatError naming the file), RangeError for a serving length
   * the model cannot take, bucket sizes out of range, a regression config with several outputs
   * or more replicas than the plugin has devices, PjrtError from the device.
   */
  static async open(dir: string, options: ModelEngineOptions = {}): Promise<ModelEngine> {
    const replicas = options.replicas ?? 1;
    const maxBatchSize = options.maxBatchSize ?? 32;
    for (const [name, value] of [['replicas', replicas], ['maxBatchSize', maxBatchSize]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
    const loaded = await loadModelDir(dir);
    const { spec } = loaded;
    const { family, config } = spec;
    const configFile = path.join(dir, 'config.json');
    const task = serveTaskOf(spec, configFile);
    const choice = chooseSeqLen(family, config, options.seqLen, configFile);
    const tokenizer = await loadModelTokenizer(dir, family, config);
    const fewest = tokenizer.specialTokenCount(task !== 'token-classification') + 1;
    if (!Number.isInteger(choice.seqLen) || choice.seqLen < fewest || choice.seqLen > choice.maxPositionEmbeddings) {
      throw new RangeError(`the serving length must be an integer from ${fewest} (special tokens and one more) to the model's ${choice.maxPositionEmbeddings} positions, got ${choice.seqLen}`);
    }
    const buckets: Buckets = {
      batch: bucketSizes(options.batchBuckets, maxBatchSize, 1, 'batch bucket', defaultBatchBuckets),
      length: bucketSizes(options.lengthBuckets, choice.seqLen, fewest, 'length bucket', defaultLengthBuckets),
    };
    const ownsRuntime = options.runtime === undefined;
    const runtime =
      options.runtime ??
      (await Runtime.open({ plugin: options.plugin ?? 'cpu', cpuDevices: replicas, ...(options.compileCache === false ? {} : { compileCache: compileCacheDir() }) }));
    const params: ModelParams<DeviceArray>[] = [];
    try {
      if (runtime.devices.length < replicas) {
        throw new RangeError(`${replicas} replicas need ${replicas} devices, but the ${runtime.platformName} plugin has ${runtime.devices.length}; ask for at most that many`);
      }
      for (let r = 0; r < replicas; r++) params.push(await putParams(runtime, loaded.params as ModelParams<HostParam>, r));
      const labels = config.labels ?? Array.from({ length: numLabelsOf(config) }, (_, i) => `LABEL_${i}`);
      const info: EngineInfo = {
        modelId: path.basename(path.resolve(dir)),
        family: family.name,
        task,
        labels,
        maxInputLength: choice.seqLen,
        maxBatchSize,
        replicas,
        dtype: 'float32',
      };
      const names = Object.keys(loaded.params);
      return new ModelEngine(runtime, spec, names, params, tokenizer, choice, loaded.initialized, info, buckets, options.precision ?? 'f32', ownsRuntime);
    } catch (error) {
      for (const replica of params) disposeAll(replica);
      if (ownsRuntime) runtime.dispose();
      throw error;
    }
  }

  /** Programs compiled (or loaded from the compile cache) so far: shapes x replicas after `warmup()`. */
  get compileCount(): number {
    return this.#compileCount;
  }

  /** The model's architecture (family, config, head). */
  get spec(): ModelSpec {
    return this.#spec;
  }

  /**
   * Tokenizes one input without truncation. Async (a tokenizer.json tokenizer encodes off the
   * main thread); rejects with the tokenizer's error for an input it cannot encode.
   */
  async encode(input: ServeInput): Promise<ModelEncoded> {
    const encoding = await this.tokenizer.encodeWithOffsets(input.text, { maxLength: UNTRUNCATED, ...(input.pair !== undefined ? { pair: input.pair } : {}) });
    return { tokenCount: encoding.inputIds.length, input, encoding };
  }

  /**
   * Traces the forward pass for every bucket shape and compiles it for every replica's device.
   * Async; idempotent (later calls return the first one's promise); rejects with ShapeError from
   * tracing or PjrtError from compiling.
   */
  warmup(): Promise<void> {
    this.#warmup ??= this.#compileAll();
    return this.#warmup;
  }

  async #compileAll(): Promise<void> {
    for (const { rows, length } of servedShapes(this.buckets)) {
      const program = this.#trace(rows, length);
      // One executable per device (compiled together); a failure frees the others of the shape.
      const settled = await Promise.allSettled(
        Array.from({ length: this.info.replicas }, (_, r) => {
          this.#compileCount++;
          return this.runtime.compile(program, { replicas: 1, deviceAssignment: [[this.runtime.devices[r]!.id]] });
        }),
      );
      const executables = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed || this.#disposed) {
        for (const executable of executables) executable.dispose();
        if (failed) throw failed.reason;
        throw new Error('the engine was disposed during warmup()');
      }
      this.#programs.set(`${rows}x${length}`, executables);
    }
    this.#warm = true;
  }

  /** The forward pass for [rows, length] packed tokens holding up to `maxBatchSize` inputs, as MLIR text. */
  #trace(rows: number, length: number): string {
    const spec = this.#spec;
    const params = this.#params[0]!;
    const paramSpecs: Record<string, TensorSpec> = {};
    for (const name of this.#names) paramSpecs[name] = { dtype: 'f32', shape: params[name]!.shape };
    const token: TensorSpec = { dtype: 's32', shape: [rows, length] };
    const starts: TensorSpec = { dtype: 's32', shape: [this.info.maxBatchSize] };
    const computeDtype = this.#precision;
    const forward = (p: Record<string, Tensor>, tokens: Tokens) => modelForward(spec, p, tokens, { train: false, computeDtype });
    const tokenSpecs = { inputIds: token, attentionMask: token, tokenTypeIds: token, segmentIds: token, positionIds: token, exampleStarts: starts };
    return trace(forward, [paramSpecs, tokenSpecs], { name: `serve_${rows}x${length}` }).text;
  }

  /**
   * Runs inputs on replica `options.replica` as one bucketed batch, truncating each to
   * `info.maxInputLength`. Async; resolves one output per input, in order; rejects with Error
   * before `warmup()` finished or after `dispose()`, RangeError for too many inputs or a replica
   * out of range, PjrtError from the device.
   */
  async run(inputs: readonly ModelEncoded[], options: RunOptions): Promise<EngineOutput[]> {
    if (this.#disposed) throw new Error('this engine was disposed');
    if (!this.#warm) throw new Error('run() before warmup() finished: the programs are not compiled yet');
    const { replica } = options;
    const { maxBatchSize, replicas, maxInputLength } = this.info;
    if (!Number.isInteger(replica) || replica < 0 || replica >= replicas) throw new RangeError(`replica ${replica} is not one of 0..${replicas - 1}`);
    if (inputs.length > maxBatchSize) throw new RangeError(`${inputs.length} inputs are more than the largest batch (${maxBatchSize})`);
    if (inputs.length === 0) return [];
    const encodings = await Promise.all(inputs.map((encoded) => (encoded.tokenCount > maxInputLength ? this.#truncated(encoded.input) : encoded.encoding)));
    const { rows, length, starts } = layoutBatch(encodings.map((e) => e.inputIds.length), this.buckets);
    const executable = this.#programs.get(`${rows}x${length}`)?.[replica];
    if (!executable) throw new Error(`internal: no program for ${rows} rows of ${length} tokens`);

    const inputIds = new Int32Array(rows * length).fill(this.tokenizer.padId);
    const attentionMask = new Int32Array(rows * length);
    const tokenTypeIds = new Int32Array(rows * length);
    const segmentIds = new Int32Array(rows * length);
    const positionIds = new Int32Array(rows * length);
    const exampleStarts = new Int32Array(maxBatchSize);
    const segmentsOfRow = new Int32Array(rows);
    encodings.forEach((encoding, i) => {
      const start = starts[i]!;
      const end = start + encoding.inputIds.length;
      exampleStarts[i] = start;
      inputIds.set(encoding.inputIds, start);
      attentionMask.fill(1, start, end);
      tokenTypeIds.set(encoding.tokenTypeIds, start);
      segmentIds.fill(++segmentsOfRow[Math.floor(start / length)]!, start, end);
      for (let p = 0; p < encoding.inputIds.length; p++) positionIds[start + p] = p;
    });

    const put = (data: Int32Array) => this.runtime.put(data, [rows, length], { device: replica });
    const tokens = await Promise.all([put(inputIds), put(attentionMask), put(tokenTypeIds), put(segmentIds), put(positionIds), this.runtime.put(exampleStarts, [maxBatchSize], { device: replica })]);
    let logits: Float32Array;
    try {
      const params = this.#params[replica]!;
      const [outputs] = await executable.execute([...this.#names.map((name) => params[name]!), ...tokens], { donate: false });
      try {
        logits = (await outputs![0]!.toHost()) as Float32Array; // [maxBatchSize, labels], or [rows, length, labels] for a token head
      } finally {
        for (const output of outputs!) output.dispose();
      }
    } finally {
      for (const array of tokens) array.dispose();
    }
    const labels = numLabelsOf(this.#spec.config);
    if (this.info.task !== 'token-classification') {
      return inputs.map((_, i) => ({ logits: logits.slice(i * labels, (i + 1) * labels) }));
    }
    return inputs.map((encoded, i) => ({ tokens: wordOutputs(encoded.input.text, encodings[i]!, (t) => logits.slice((starts[i]! + t) * labels, (starts[i]! + t + 1) * labels)) }));
  }

  /** `input` encoded again, truncated to the serving length as the tokenizer truncates. */
  async #truncated(input: ServeInput): Promise<TextEncoding> {
    return this.tokenizer.encodeWithOffsets(input.text, { maxLength: this.info.maxInputLength, ...(input.pair !== undefined ? { pair: input.pair } : {}) });
  }

  /** Frees the programs, the device parameters and the runtime it opened. Sync; idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const executables of this.#programs.values()) for (const executable of executables) executable.dispose();
    this.#programs.clear();
    for (const params of this.#params) disposeAll(params);
    if (this.#ownsRuntime) this.runtime.dispose();
  }

  /** Same as `dispose()`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * One output per word of the first text: the logits of its first sub-token (`logitsAt(t)` for
 * token position t), its span in `text` and that span's text. Sync; never throws.
 */
export function wordOutputs(text: string, encoding: TextEncoding, logitsAt: (position: number) => ArrayLike<number>): TokenOutput[] {
  const { wordIds, sequenceIds, offsets } = encoding;
  const words: TokenOutput[] = [];
  for (let t = 0; t < wordIds.length; t++) {
    const word = wordIds[t];
    if (sequenceIds[t] !== 0 || word === null || word === undefined) continue;
    if (t > 0 && sequenceIds[t - 1] === 0 && wordIds[t - 1] === word) continue; // a later sub-token of the word
    let last = t;
    while (last + 1 < wordIds.length && sequenceIds[last + 1] === 0 && wordIds[last + 1] === word) last++;
    const start = offsets[t]![0];
    const end = Math.max(start, offsets[last]![1]);
    words.push({ token: text.slice(start, end), index: t, start, end, logits: logitsAt(t) });
  }
  return words;
}
