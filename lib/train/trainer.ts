/**
 * `Trainer`: fine-tunes a BERT classifier with Keras-like ease.
 *
 *     const trainer = await Trainer.create({ model: './bert-dir', replicas: 8, epochs: 5, learningRate: 1e-5 });
 *     const history = await trainer.fit({ texts, labels }, { validationSplit: 0.2 });
 *     const preds = await trainer.predict(moreTexts);
 *     await trainer.save('./out');
 *
 * One train program is compiled per run (K steps per call, R replicas, gradients all-reduced);
 * parameters and optimizer state stay on the devices between calls (donated), and the host
 * only sends token slabs and reads three metric scalars per call.
 */
import path from 'node:path';
import { BertTokenizer } from '../data/bert-tokenizer.js';
import { OutputDirLock } from '../io/output-dir.js';
import { FAMILIES, bertPresetConfig, initModelParams, isBertPreset, modelSpec, numLabelsOf } from '../models/index.js';
import { type ModelTokenizer, type SeqLenChoice, chooseSeqLen, loadModelDir, loadModelTokenizer, readModelConfig, saveModelDir, tokenizerWriter } from '../pretrained/index.js';
import { compileCacheDir } from '../runtime/provision.js';
import { Runtime } from '../runtime/runtime.js';
import { claimOutputDir } from './checkpoint.js';
import { ConfigError, parseTrainerConfig, type EpochMetrics, type TrainerConfig, type TrainerConfigInput } from './config.js';
import { DataError, tokenizeExamples } from './data.js';
import { evaluateExamples, type Evaluation } from './evaluation.js';
import type { ModelState } from './model-state.js';
import { type Prediction, type TokenInputs, encodeForTokens, encodeWordsForTokens, formatPredictions } from './predictions.js';
import { checkBuckets } from './padding.js';
import { progressReporter } from './progress.js';
import type { Task, TaskName } from './task.js';
import { type LabelledTexts, type TaskData, concatTaskData, isWordData, prepareTaskData } from './task-data.js';
import { taskNamed, taskOfModel } from './tasks.js';
import { TrainingRun } from './training-run.js';

export type { LabelledTexts, LabelledWords, TaskData } from './task-data.js';

/** Whether a directory's `architectures` name a token-classification class. */
function isTokenModel(architectures: readonly string[]): boolean {
  return architectures.some((name) => name.endsWith('ForTokenClassification'));
}

/**
 * The task a Trainer for `model` runs: `task` when given, else a model directory's own (its
 * `problem_type`, or token classification for a token-classification class), else
 * classification. Async; rejects as readModelConfig for a bad directory.
 */
export async function resolveTask(model: string, task?: TaskName): Promise<TaskName> {
  if (task !== undefined || isBertPreset(model)) return task ?? 'classification';
  const { config, architectures } = await readModelConfig(model);
  return taskOfModel(config.problemType, isTokenModel(architectures)).name;
}

/** Options of {@link Trainer.fit}. */
export interface FitOptions {
  /** Hold out the last fraction of the rows (before shuffling) for validation; overrides the config. */
  validationSplit?: number;
  /** Explicit validation data (instead of a split), of the same kind as the training data. */
  validationData?: TaskData;
}

/** What {@link Trainer.create} accepts: the config, plus a vocabulary for presets. */
export type TrainerOptions = TrainerConfigInput & {
  /** Tokenizer to use (default: the model directory's). Required for presets unless `vocab` is given. */
  tokenizer?: ModelTokenizer;
  /** Vocabulary for a preset model (an uncased BERT tokenizer is built over it). */
  vocab?: readonly string[];
};


export type { ModelState } from './model-state.js';

/**
 * Fine-tunes and runs an encoder of any supported family for a task (classification of texts or
 * pairs, regression, multi-label, token classification). Create with {@link Trainer.create};
 * dispose when done.
 */
export class Trainer implements Disposable {
  /** The validated configuration, defaults applied. */
  readonly config: TrainerConfig;
  /** The runtime the programs run on. */
  readonly runtime: Runtime;
  /** The tokenizer of the model. */
  readonly tokenizer: ModelTokenizer;
  /**
   * `config.seqLen` and where it came from: asked for, the length a model directory was trained
   * at (config.json `pjrt_bert_seq_len`), or the default 128 capped at max_position_embeddings.
   */
  readonly seqLenChoice: SeqLenChoice;
  /** The task: the config's, or a model directory's own (its problem_type, or a token head) when none was asked for. */
  readonly task: Task;
  #model: ModelState | undefined;
  #modelDir: string | undefined;
  readonly #outLock: OutputDirLock | undefined;
  #fitted = false;

  private constructor(config: TrainerConfig, runtime: Runtime, tokenizer: ModelTokenizer, modelDir: string | undefined, seqLenChoice: SeqLenChoice, task: Task, outLock: OutputDirLock | undefined) {
    this.config = config;
    this.task = task;
    this.runtime = runtime;
    this.tokenizer = tokenizer;
    this.#modelDir = modelDir;
    this.seqLenChoice = seqLenChoice;
    this.#outLock = outLock;
  }

  /**
   * Validates the config, opens the runtime and loads the tokenizer. Parameters are loaded (or
   * initialised, for presets) when the labels are known: at `fit`, or now for a model
   * directory. Without `seqLen`, a model directory's training length (`pjrt_bert_seq_len`) is
   * used, else 128 capped at max_position_embeddings (`seqLenChoice` says which). Async.
   * @throws ConfigError naming bad fields; Error for a missing model directory or plugin, or a
   *   preset without a vocabulary; FileFormatError for a directory's malformed config.json;
   *   PjrtError from the runtime.
   */
  static async create(options: TrainerOptions): Promise<Trainer> {
    const { tokenizer: givenTokenizer, vocab, ...rest } = options;
    let config = parseTrainerConfig(rest);
    const preset = isBertPreset(config.model);
    let tokenizer = givenTokenizer;
    if (!tokenizer && vocab) tokenizer = new BertTokenizer(vocab);
    if (!tokenizer && preset) {
      throw new Error(`model '${config.model}' is a preset, which has no vocabulary: pass a tokenizer or vocab (CLI: --vocab FILE), or use a Hugging Face model directory`);
    }
    const { family, config: modelConfig, file: configFile, architectures } = preset
      ? { family: FAMILIES.bert, config: bertPresetConfig(config.model), file: `preset ${config.model}`, architectures: [] }
      : await readModelConfig(config.model);
    const task = rest.task === undefined && !preset ? taskOfModel(modelConfig.problemType, isTokenModel(architectures), config) : taskNamed(config.task, config);
    config = { ...config, task: task.name };
    tokenizer ??= await loadModelTokenizer(config.model, family, modelConfig);
    const seqLenChoice = chooseSeqLen(family, modelConfig, rest.seqLen === undefined ? undefined : config.seqLen, configFile);
    config = { ...config, seqLen: seqLenChoice.seqLen };
    if (config.buckets) {
      try {
        checkBuckets(config.buckets, config.seqLen);
      } catch (error) {
        throw new ConfigError([{ field: 'buckets', message: (error as Error).message, given: JSON.stringify(config.buckets) }]);
      }
    }
    // The output directory is checked and locked before any long work, so a bad --out or a
    // second run into the same one fails at once.
    const outLock = config.out ? await OutputDirLock.acquire(config.out, { purpose: 'pjrt-bert train' }) : undefined;
    try {
      if (config.out) await claimOutputDir(config.out);
      // cpuDevices reaches only a plugin whose platform is 'cpu' (Runtime.open asks the plugin).
      const runtime = await Runtime.open({
        plugin: config.plugin,
        cpuDevices: config.cpuDevices ?? Math.max(config.replicas, 1),
        ...(config.compileCache === false ? {} : { compileCache: config.compileCache ?? compileCacheDir() }),
      });
      if (runtime.devices.length < config.replicas) {
        const cpu = runtime.platformName === 'cpu';
        runtime.dispose();
        throw new Error(`replicas ${config.replicas} needs ${config.replicas} devices; plugin ${config.plugin} has ${runtime.devices.length}${cpu ? ' (pass cpuDevices)' : ''}`);
      }
      return new Trainer(config, runtime, tokenizer, preset ? undefined : config.model, seqLenChoice, task, outLock);
    } catch (error) {
      outLock?.release();
      throw error;
    }
  }

  /** The model's architecture and last host copy of its parameters, once loaded. Sync. */
  get model(): ModelState | undefined {
    return this.#model;
  }

  /** Loads or initialises the parameters for `labels` (class names in id order). Async. */
  async #ensureModel(labels: readonly string[]): Promise<ModelState> {
    if (this.#model) {
      const known = this.#model.spec.config.labels ?? [];
      if (known.length !== labels.length || known.some((label, i) => label !== labels[i])) {
        throw new DataError(`the model was set up for labels [${known.join(', ')}] but the data has [${labels.join(', ')}]`);
      }
      return this.#model;
    }
    let state: ModelState;
    // Token classification takes HF's token head; otherwise the default head ('linear') lets a
    // directory say which head it has (pjrt_bert_head).
    const head = this.task.granularity === 'token' ? 'token' : this.config.head === 'linear' ? undefined : this.config.head;
    if (this.#modelDir) {
      const loaded = await loadModelDir(this.#modelDir, { labels, ...(head ? { head } : {}), seed: this.config.seed });
      state = { spec: loaded.spec, params: loaded.params };
    } else {
      const spec = modelSpec(FAMILIES.bert, bertPresetConfig(this.config.model, { vocabSize: this.tokenizer.vocabSize, labels }), head ?? 'linear');
      state = { spec, params: initModelParams(spec, this.config.seed) };
    }
    state.spec = { ...state.spec, config: { ...state.spec.config, problemType: this.task.problemType } };
    const rate = this.config.dropout;
    if (rate !== undefined) {
      // every dropout rate of the family's config (hidden, attention, classifier, and the
      // family's own, such as ModernBERT's mlpDropout)
      const c = state.spec.config as unknown as Record<string, unknown>;
      const rates = Object.keys(c).filter((key) => /Dropout(Prob)?$/.test(key) && (typeof c[key] === 'number' || c[key] === null));
      state.spec = { ...state.spec, config: { ...state.spec.config, ...Object.fromEntries(rates.map((key) => [key, rate])) } };
    }
    const positions = state.spec.family.maxSequenceLength(state.spec.config);
    if (positions < this.config.seqLen) {
      throw new DataError(`seqLen ${this.config.seqLen} is over the model's max_position_embeddings ${positions}; use --seq-len ${positions} or less`);
    }
    this.#model = state;
    return state;
  }

  /** The model's own label2id (from config.json), unless it is HF's placeholder LABEL_i. */
  async #modelLabel2id(): Promise<Record<string, number> | undefined> {
    if (!this.#modelDir) return undefined;
    const { config } = await readModelConfig(this.#modelDir);
    const labels = config.labels;
    if (!labels || labels.every((label, i) => label === `LABEL_${i}`)) return undefined;
    return Object.fromEntries(labels.map((label, i) => [label, i]));
  }

  /**
   * Trains on `data`, evaluating on the validation part after each epoch, writing checkpoints
   * to `out` (when set) and resuming from one there. Async; resolves to one entry per epoch run.
   * @throws DataError for unusable data (no rows, labels the model lacks, ...); Error when the
   *   loss becomes NaN (no checkpoint is written for that epoch); PjrtError from the runtime.
   */
  async fit(data: TaskData, options: FitOptions = {}): Promise<EpochMetrics[]> {
    const label2id = await this.#modelLabel2id();
    const all = options.validationData ? concatTaskData(data, options.validationData) : data;
    const heldOut = options.validationData ? (isWordData(options.validationData) ? options.validationData.words.length : options.validationData.texts.length) : undefined;
    // A fine-tuned model's head has fixed classes: its label2id must cover the data's labels.
    const prepared = await prepareTaskData(this.task, all, {
      tokenizer: this.tokenizer,
      seqLen: this.config.seqLen,
      validationSplit: options.validationSplit ?? this.config.validationSplit,
      ...(heldOut !== undefined ? { validationRows: heldOut } : {}),
      label2id,
      requireLabel2id: label2id !== undefined,
    });
    if (prepared.truncatedWords > 0 && this.config.progress !== 'none') {
      progressReporter(this.config.progress).message(`${prepared.truncatedWords} word(s) lost every token to truncation at seqLen ${this.config.seqLen}: they get no tag and no loss (raise --seq-len to keep them)`);
    }
    const { train, validation } = prepared;
    const labelNames = prepared.labels;
    const model = await this.#ensureModel(labelNames);
    const run = new TrainingRun(this, model, this.task, train, validation, progressReporter(this.config.progress));
    try {
      const history = await run.fit();
      this.#model = { spec: model.spec, params: await run.hostParams() };
      this.#fitted = true;
      return history;
    } finally {
      run.dispose();
    }
  }

  /**
   * The task's metrics (loss, accuracy and F1, MSE and correlations, entity F1, ...) on
   * labelled data of the task's kind. Async.
   * @throws DataError for labels the model does not know or data of another kind; Error before fit for a preset.
   */
  async evaluate(data: TaskData): Promise<Evaluation> {
    const model = await this.#modelForInference();
    const names = model.spec.config.labels ?? [];
    const label2id = Object.fromEntries(names.map((label, i) => [label, i]));
    const prepared = await prepareTaskData(this.task, data, { tokenizer: this.tokenizer, seqLen: this.config.seqLen, label2id, requireLabel2id: this.task.name !== 'regression' });
    return evaluateExamples(this, model, this.task, prepared.train);
  }

  /**
   * Predictions in input order, in the task's shape (see predictions.ts): texts (with second
   * segments in `pairs`), or pre-split sentences for token classification. Async.
   * @throws Error before fit for a preset, RangeError for pairs of another length.
   */
  async predict(inputs: readonly string[] | { words: readonly (readonly string[])[] }, options: { pairs?: readonly string[] } = {}): Promise<Prediction[]> {
    const model = await this.#modelForInference();
    const names = model.spec.config.labels ?? [];
    let tokens: TokenInputs | undefined;
    let examples;
    if (this.task.granularity === 'token') {
      tokens = Array.isArray(inputs) ? await encodeForTokens(this.tokenizer, inputs as readonly string[], this.config.seqLen) : await encodeWordsForTokens(this.tokenizer, (inputs as { words: readonly (readonly string[])[] }).words, this.config.seqLen);
      examples = tokens.examples;
    } else {
      if (!Array.isArray(inputs)) throw new DataError(`${this.task.name} predicts texts, not pre-split words`);
      examples = await tokenizeExamples(this.tokenizer, inputs as readonly string[], this.config.seqLen, undefined, options.pairs);
    }
    const { logits } = await evaluateExamples(this, model, this.task, examples);
    return formatPredictions(this.task, logits, names, examples.count, { threshold: this.config.threshold, ...(tokens ? { tokens } : {}) });
  }

  async #modelForInference(): Promise<ModelState> {
    if (this.#model) return this.#model;
    if (!this.#modelDir) throw new Error(`model '${this.config.model}' is an untrained preset: call fit first`);
    const { config } = await readModelConfig(this.#modelDir);
    return this.#ensureModel(config.labels ?? Array.from({ length: numLabelsOf(config) }, (_, i) => `LABEL_${i}`));
  }

  /**
   * Saves the model as a Hugging Face directory (loadable by transformers), recording the
   * sequence length once trained. Async. @throws Error before fit for a preset.
   */
  async save(dir: string): Promise<void> {
    const model = await this.#modelForInference();
    const trained = this.#fitted ? { seqLen: this.config.seqLen } : {};
    await saveModelDir(dir, model.spec, model.params, { writeTokenizer: tokenizerWriter(this.tokenizer), ...trained });
  }

  /** Releases the runtime, everything compiled, and the lock on the output directory. Sync. */
  dispose(): void {
    this.runtime.dispose();
    this.#outLock?.release();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
