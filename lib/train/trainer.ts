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
import type { Table } from '../data/tables.js';
import { OutputDirLock } from '../io/output-dir.js';
import { FAMILIES, bertPresetConfig, initModelParams, isBertPreset, modelSpec, numLabelsOf } from '../models/index.js';
import { type ModelTokenizer, type SeqLenChoice, chooseSeqLen, loadModelDir, loadModelTokenizer, readModelConfig, saveModelDir, tokenizerWriter } from '../pretrained/index.js';
import { compileCacheDir } from '../runtime/provision.js';
import { Runtime } from '../runtime/runtime.js';
import { claimOutputDir } from './checkpoint.js';
import { parseTrainerConfig, type EpochMetrics, type TrainerConfig, type TrainerConfigInput } from './config.js';
import { DataError, mapLabels, prepareTrainingData, selectRows, tokenizeExamples, type TokenizedExamples } from './data.js';
import { evaluateExamples, type Evaluation } from './evaluation.js';
import { argmaxRows, softmaxRows } from './metrics.js';
import type { ModelState } from './model-state.js';
import { progressReporter } from './progress.js';
import type { Prediction } from './predictor.js';
import { TrainingRun } from './training-run.js';

/** Labelled texts. */
export interface LabelledTexts {
  texts: readonly string[];
  labels: readonly string[];
  /** Second segments, one per text, for sentence-pair tasks (encoded as the tokenizer encodes pairs). */
  pairs?: readonly string[];
  /** Where they come from (a file name, say), named in error messages; default `the training data`. */
  source?: string;
}

/** Options of {@link Trainer.fit}. */
export interface FitOptions {
  /** Hold out the last fraction of the rows (before shuffling) for validation; overrides the config. */
  validationSplit?: number;
  /** Explicit validation data (instead of a split). */
  validationData?: LabelledTexts;
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
 * Fine-tunes and runs a BERT classifier. Create with {@link Trainer.create}; dispose when done.
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
  #model: ModelState | undefined;
  #modelDir: string | undefined;
  readonly #outLock: OutputDirLock | undefined;
  #fitted = false;

  private constructor(config: TrainerConfig, runtime: Runtime, tokenizer: ModelTokenizer, modelDir: string | undefined, seqLenChoice: SeqLenChoice, outLock: OutputDirLock | undefined) {
    this.config = config;
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
    const { family, config: modelConfig, file: configFile } = preset ? { family: FAMILIES.bert, config: bertPresetConfig(config.model), file: `preset ${config.model}` } : await readModelConfig(config.model);
    tokenizer ??= await loadModelTokenizer(config.model, family, modelConfig);
    const seqLenChoice = chooseSeqLen(family, modelConfig, rest.seqLen === undefined ? undefined : config.seqLen, configFile);
    config = { ...config, seqLen: seqLenChoice.seqLen };
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
      return new Trainer(config, runtime, tokenizer, preset ? undefined : config.model, seqLenChoice, outLock);
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
    if (this.#modelDir) {
      // The default head ('linear') lets the directory say which head it has (pjrt_bert_head).
      const loaded = await loadModelDir(this.#modelDir, { labels, head: this.config.head === 'linear' ? undefined : this.config.head, seed: this.config.seed });
      state = { spec: loaded.spec, params: loaded.params };
    } else {
      const spec = modelSpec(FAMILIES.bert, bertPresetConfig(this.config.model, { vocabSize: this.tokenizer.vocabSize, labels }), this.config.head);
      state = { spec, params: initModelParams(spec, this.config.seed) };
    }
    const rate = this.config.dropout;
    if (rate !== undefined) {
      const c = state.spec.config;
      state.spec = { ...state.spec, config: { ...c, hiddenDropoutProb: rate, attentionProbsDropoutProb: rate, classifierDropout: rate } };
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
  async fit(data: LabelledTexts, options: FitOptions = {}): Promise<EpochMetrics[]> {
    if (data.texts.length !== data.labels.length) throw new DataError(`${data.texts.length} texts but ${data.labels.length} labels`);
    if (data.pairs && data.pairs.length !== data.texts.length) throw new DataError(`${data.texts.length} texts but ${data.pairs.length} second segments (pairs)`);
    if (options.validationData && (data.pairs === undefined) !== (options.validationData.pairs === undefined)) throw new DataError('the training and validation data must both be pairs, or both single texts');
    const split = options.validationSplit ?? this.config.validationSplit;
    const label2id = await this.#modelLabel2id();
    const labels = [...data.labels, ...(options.validationData?.labels ?? [])];
    const source = data.source ?? 'the training data';
    const pairs = data.pairs ? [...data.pairs, ...(options.validationData?.pairs ?? [])] : undefined;
    const table: Table = { file: source, columns: [], texts: [...data.texts, ...(options.validationData?.texts ?? [])], labels, ...(pairs ? { pairs } : {}) };
    const distinct = new Set(data.labels);
    if (distinct.size === 1) {
      throw new DataError(`${source}: every row has the label ${JSON.stringify(data.labels[0])} (${data.labels.length} rows); a classifier needs at least two classes: check the label column`);
    }
    let train: TokenizedExamples;
    let validation: TokenizedExamples;
    let labelNames: readonly string[];
    if (options.validationData) {
      const { mapping, ids } = mapLabels(labels, { label2id, requireLabel2id: label2id !== undefined });
      const all = await tokenizeExamples(this.tokenizer, table.texts, this.config.seqLen, ids, table.pairs);
      train = selectRows(all, 0, data.texts.length);
      validation = selectRows(all, data.texts.length, all.count);
      labelNames = mapping.id2label;
    } else {
      // A fine-tuned model's head has fixed classes: its label2id must cover the data's labels.
      const prepared = await prepareTrainingData(table, { tokenizer: this.tokenizer, seqLen: this.config.seqLen, validationSplit: split, label2id, requireLabel2id: label2id !== undefined });
      train = prepared.train;
      validation = prepared.validation;
      labelNames = prepared.labels.id2label;
    }
    const model = await this.#ensureModel(labelNames);
    const run = new TrainingRun(this, model, train, validation, progressReporter(this.config.progress));
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
   * Loss, accuracy and macro-F1 on labelled texts. Async.
   * @throws DataError for labels the model does not know; Error before fit for a preset.
   */
  async evaluate(data: LabelledTexts): Promise<Evaluation> {
    const model = await this.#modelForInference();
    const names = model.spec.config.labels ?? [];
    const missing = [...new Set(data.labels)].filter((label) => !names.includes(label));
    if (missing.length) throw new DataError(`labels not known to the model: ${missing.join(', ')} (it has ${names.join(', ')})`);
    const ids = Int32Array.from(data.labels, (label) => names.indexOf(label));
    const examples = await tokenizeExamples(this.tokenizer, data.texts, this.config.seqLen, ids, data.pairs);
    return evaluateExamples(this, model, examples);
  }

  /** Class, probabilities and logits for each text (with its second segment in `pairs`), in order. Async. @throws Error before fit for a preset, RangeError for pairs of another length. */
  async predict(texts: readonly string[], options: { pairs?: readonly string[] } = {}): Promise<Prediction[]> {
    const model = await this.#modelForInference();
    const names = model.spec.config.labels ?? [];
    const examples = await tokenizeExamples(this.tokenizer, texts, this.config.seqLen, undefined, options.pairs);
    const { logits } = await evaluateExamples(this, model, examples);
    const classes = names.length;
    const probabilities = softmaxRows(logits, classes);
    const best = argmaxRows(logits, classes);
    return texts.map((_, i) => ({
      label: names[best[i]!]!,
      labelId: best[i]!,
      probabilities: Array.from(probabilities.subarray(i * classes, (i + 1) * classes)),
      logits: Array.from(logits.subarray(i * classes, (i + 1) * classes)),
    }));
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
