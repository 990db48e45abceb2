/**
 * Prediction with a saved model directory of any family, through the same compiled eval
 * program the Trainer validates with (one prediction path): the directory is loaded once, its
 * parameters placed on each replica's device, and texts (or pairs) are tokenized at the
 * model's training length and run K batches per call; the last partial batch is padded, never
 * recompiled.
 *
 *     using predictor = await Predictor.open('out/model', { plugin: 'cpu' });
 *     const predictions = await predictor.predict(['Καλημέρα!', 'so bad']); // classification: [{ label, labelId, probabilities, logits }]
 */
import { type ModelParams, isTokenHead, numLabelsOf } from '../models/index.js';
import { type ModelTokenizer, type SeqLenChoice, chooseSeqLen, loadModelDir, loadModelTokenizer } from '../pretrained/index.js';
import { compileCacheDir } from '../runtime/provision.js';
import { type DeviceArray, Runtime } from '../runtime/index.js';
import { type TokenizedExamples, tokenizeExamples } from './data.js';
import { EvalRunner } from './evaluation.js';
import { type ModelState, disposeAll, putParams } from './model-state.js';
import { type Prediction, type TokenInputs, encodeForTokens, encodeWordsForTokens, formatPredictions } from './predictions.js';
import type { PaddingMode } from './padding.js';
import type { Task } from './task.js';
import { taskOfModel } from './tasks.js';

/** Options of {@link Predictor.open}. */
export interface PredictorOptions {
  /** A runtime to run on (kept open by the caller); else one is opened on `plugin`. */
  readonly runtime?: Runtime;
  /** PJRT plugin when no runtime is given (default `cpu`). */
  readonly plugin?: string;
  /** Tokens per text; default the length the model was trained at, else 128 (capped). */
  readonly seqLen?: number;
  /** Texts per program run, over all replicas (default 32). */
  readonly batchSize?: number;
  /** Devices to spread each batch over (default 1). */
  readonly replicas?: number;
  /** Batches per program call (default 4). */
  readonly stepsPerExecution?: number;
  /** `f32` (default) or `bf16`. */
  readonly precision?: 'f32' | 'bf16';
  /** How rows are padded: `bucket` (default), `fixed` or `pack` (see padding.ts); the logits are the same. */
  readonly padding?: PaddingMode;
  /** Cache compiled programs on disk (default true, in the compile cache folder). */
  readonly compileCache?: boolean;
}

/** A loaded model with its compiled eval program. Dispose it when done. */
export class Predictor implements Disposable {
  readonly #runner: EvalRunner;
  readonly #params: ModelParams<DeviceArray>[];
  readonly #ownsRuntime: boolean;

  private constructor(
    readonly runtime: Runtime,
    /** Architecture and host parameters. */
    readonly model: ModelState,
    readonly tokenizer: ModelTokenizer,
    /** The sequence length used, and where it came from. */
    readonly seqLenChoice: SeqLenChoice,
    /** Parameters the directory lacked, initialised at random (a bare pretrained encoder's head). */
    readonly initialized: readonly string[],
    readonly batchSize: number,
    /** The model's task: its problem_type, or token classification for a token head. */
    readonly task: Task,
    runner: EvalRunner,
    params: ModelParams<DeviceArray>[],
    ownsRuntime: boolean,
  ) {
    this.#runner = runner;
    this.#params = params;
    this.#ownsRuntime = ownsRuntime;
  }

  /**
   * Loads model directory `dir` (any supported family) and its tokenizer, places the
   * parameters on the devices; the program compiles on the first `predict`. Async; rejects
   * with the loader's errors (FileFormatError, FileFormatError naming the file), RangeError for
   * a sequence length the model cannot take or a batch size not divisible by the replicas,
   * PjrtError from the device.
   */
  static async open(dir: string, options: PredictorOptions = {}): Promise<Predictor> {
    const replicas = options.replicas ?? 1;
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize % replicas !== 0) throw new RangeError(`batch size must be a positive multiple of the ${replicas} replica(s), got ${batchSize}`);
    const loaded = await loadModelDir(dir);
    const { family, config } = loaded.spec;
    const seqLenChoice = chooseSeqLen(family, config, options.seqLen, `${dir}/config.json`);
    if (!Number.isInteger(seqLenChoice.seqLen) || seqLenChoice.seqLen < 2 || seqLenChoice.seqLen > seqLenChoice.maxPositionEmbeddings) {
      throw new RangeError(`sequence length must be an integer from 2 to the model's ${seqLenChoice.maxPositionEmbeddings} positions, got ${seqLenChoice.seqLen}`);
    }
    const tokenizer = await loadModelTokenizer(dir, family, config);
    const ownsRuntime = options.runtime === undefined;
    const runtime = options.runtime ?? (await Runtime.open({ plugin: options.plugin ?? 'cpu', cpuDevices: replicas, ...(options.compileCache === false ? {} : { compileCache: compileCacheDir() }) }));
    try {
      const model: ModelState = { spec: loaded.spec, params: loaded.params };
      const runner = new EvalRunner({ runtime, config: { replicas, batchSize, stepsPerExecution: options.stepsPerExecution ?? 4, precision: options.precision ?? 'f32', padding: options.padding ?? 'bucket' } }, model.spec);
      const params = await Promise.all(Array.from({ length: replicas }, (_, r) => putParams(runtime, model.params, r)));
      const task = taskOfModel(config.problemType, isTokenHead(loaded.spec));
      return new Predictor(runtime, model, tokenizer, seqLenChoice, loaded.initialized, batchSize, task, runner, params, ownsRuntime);
    } catch (error) {
      if (ownsRuntime) runtime.dispose();
      throw error;
    }
  }

  /** Class names by id. */
  get labels(): readonly string[] {
    const { config } = this.model.spec;
    return config.labels ?? Array.from({ length: numLabelsOf(config) }, (_, i) => `LABEL_${i}`);
  }

  /** Programs compiled so far: one per shape used (one per bucket length, at most). */
  get compileCount(): number {
    return this.#runner.compileCount;
  }

  /** Logits [texts, labels] of `texts` (and second segments `pairs`), row-major. Async; rejects with RangeError for pairs of another length, PjrtError. */
  async logits(texts: readonly string[], pairs?: readonly string[]): Promise<Float32Array> {
    const examples = await tokenizeExamples(this.tokenizer, texts, this.seqLenChoice.seqLen, undefined, pairs);
    return this.#runner.logits(this.#params, examples);
  }

  /**
   * Logits of examples already tokenized at this predictor's length ([N, labels], or [N, S,
   * labels] with 0 at padding positions for a token head). Async; rejects with RangeError for
   * another length, PjrtError.
   */
  async examplesLogits(examples: TokenizedExamples): Promise<Float32Array> {
    if (examples.seqLen !== this.seqLenChoice.seqLen) throw new RangeError(`the examples are tokenized at ${examples.seqLen} tokens but the predictor runs at ${this.seqLenChoice.seqLen}`);
    return this.#runner.logits(this.#params, examples);
  }

  /**
   * Predictions in input order, in the shape of the model's task (see predictions.ts): texts
   * (with second segments `pairs`), or pre-split sentences for a token-classification model.
   * Async; rejects as {@link logits}.
   */
  async predict(inputs: readonly string[] | { words: readonly (readonly string[])[] }, options: { pairs?: readonly string[]; threshold?: number } = {}): Promise<Prediction[]> {
    const seqLen = this.seqLenChoice.seqLen;
    let tokens: TokenInputs | undefined;
    let logits: Float32Array;
    let count: number;
    if (this.task.granularity === 'token') {
      tokens = Array.isArray(inputs) ? await encodeForTokens(this.tokenizer, inputs as readonly string[], seqLen) : await encodeWordsForTokens(this.tokenizer, (inputs as { words: readonly (readonly string[])[] }).words, seqLen);
      logits = await this.#runner.logits(this.#params, tokens.examples);
      count = tokens.examples.count;
    } else {
      if (!Array.isArray(inputs)) throw new RangeError(`a ${this.task.name} model predicts texts, not pre-split words`);
      logits = await this.logits(inputs as readonly string[], options.pairs);
      count = inputs.length;
    }
    return formatPredictions(this.task, logits, this.labels, count, { ...(options.threshold !== undefined ? { threshold: options.threshold } : {}), ...(tokens ? { tokens } : {}) });
  }

  /** Frees the program, the device parameters and the runtime it opened. Sync. */
  dispose(): void {
    this.#runner.dispose();
    for (const params of this.#params) disposeAll(params);
    if (this.#ownsRuntime) this.runtime.dispose();
  }

  /** Same as `dispose()`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
