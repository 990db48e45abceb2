/**
 * Prediction with a saved model directory of any family, through the same compiled eval
 * program the Trainer validates with (one prediction path): the directory is loaded once, its
 * parameters placed on each replica's device, and texts (or pairs) are tokenized at the
 * model's training length and run K batches per call; the last partial batch is padded, never
 * recompiled.
 *
 *     using predictor = await Predictor.open('out/model', { plugin: 'cpu' });
 *     const predictions = await predictor.predict(['Καλημέρα!', 'so bad']); // [{ label, labelId, probabilities, logits }]
 */
import { type ModelParams, numLabelsOf } from '../models/index.js';
import { type ModelTokenizer, type SeqLenChoice, chooseSeqLen, loadModelDir, loadModelTokenizer } from '../pretrained/index.js';
import { compileCacheDir } from '../runtime/provision.js';
import { type DeviceArray, Runtime } from '../runtime/index.js';
import { tokenizeExamples } from './data.js';
import { EvalRunner } from './evaluation.js';
import { argmaxRows, softmaxRows } from './metrics.js';
import { type ModelState, disposeAll, putParams } from './model-state.js';

/** One text's prediction. */
export interface Prediction {
  /** The winning class's name (`id2label`). */
  label: string;
  /** The winning class's id. */
  labelId: number;
  /** Softmax of the logits, by class id. */
  probabilities: number[];
  /** The raw logits, by class id. */
  logits: number[];
}

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
      const runner = new EvalRunner({ runtime, config: { replicas, batchSize, stepsPerExecution: options.stepsPerExecution ?? 4, precision: options.precision ?? 'f32' } }, model.spec);
      const params = await Promise.all(Array.from({ length: replicas }, (_, r) => putParams(runtime, model.params, r)));
      return new Predictor(runtime, model, tokenizer, seqLenChoice, loaded.initialized, batchSize, runner, params, ownsRuntime);
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

  /** Programs compiled so far (1 after any number of `predict` calls). */
  get compileCount(): number {
    return this.#runner.compileCount;
  }

  /** Logits [texts, labels] of `texts` (and second segments `pairs`), row-major. Async; rejects with RangeError for pairs of another length, PjrtError. */
  async logits(texts: readonly string[], pairs?: readonly string[]): Promise<Float32Array> {
    const examples = await tokenizeExamples(this.tokenizer, texts, this.seqLenChoice.seqLen, undefined, pairs);
    return this.#runner.logits(this.#params, examples);
  }

  /** Predictions for `texts` (and second segments `pairs`), in order. Async; rejects as {@link logits}. */
  async predict(texts: readonly string[], options: { pairs?: readonly string[] } = {}): Promise<Prediction[]> {
    const logits = await this.logits(texts, options.pairs);
    const labels = this.labels;
    const classes = labels.length;
    const probabilities = softmaxRows(logits, classes);
    const best = argmaxRows(logits, classes);
    return texts.map((_, i) => ({
      label: labels[best[i]!]!,
      labelId: best[i]!,
      probabilities: Array.from(probabilities.subarray(i * classes, (i + 1) * classes)),
      logits: Array.from(logits.subarray(i * classes, (i + 1) * classes)),
    }));
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
