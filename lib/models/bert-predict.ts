/**
 * Batch prediction with a saved BERT classifier: one program compiled for a fixed batch
 * size and sequence length, run over the texts batch by batch; the last partial batch is
 * padded with empty rows (dropped from the results), never recompiled.
 *
 *     using predictor = await BertPredictor.open(runtime, 'out/model', { batchSize: 32 }); // seqLen: the model's training length
 *     predictor.seqLenChoice; // { seqLen: 64, source: 'trained', trained: 64, ... }
 *     const predictions = await predictor.predict(['Καλημέρα!', 'so bad']); // [{ label, labelId, probabilities, logits }]
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

import { BertTokenizer } from '../data/index.js';
import type { DeviceArray, Runtime } from '../runtime/index.js';
import { jit, ops, type JitFunction, type Tensor } from '../trace/index.js';
import { type BertParams, type BertSpec, bertForward, numLabelsOf } from './bert.js';
import { type LoadedBert, type SeqLenChoice, chooseSeqLen, loadBertParams, putBertParams } from './bert-files.js';

/** One text's prediction. */
export interface BertPrediction {
  /** The winning class's name (`id2label`). */
  label: string;
  /** The winning class's id. */
  labelId: number;
  /** Softmax of the logits, by class id. */
  probabilities: number[];
  /** The raw logits, by class id. */
  logits: number[];
}

/** Options of {@link BertPredictor.open}. */
export interface BertPredictorOptions {
  /**
   * Tokens per text, [CLS] and [SEP] included (texts are truncated, then padded). Default: the
   * length the model was trained at (config.json `pjrt_bert_seq_len`), else 128 capped at
   * max_position_embeddings; `seqLenChoice` says which.
   */
  readonly seqLen?: number;
  /** Texts per program run (default 32). */
  readonly batchSize?: number;
  /** Device index (default 0). */
  readonly device?: number;
}

type PredictFn = (params: BertParams<Tensor>, inputIds: Tensor, tokenTypeIds: Tensor, attentionMask: Tensor) => Tensor[];

/** A loaded classifier with its compiled predict program. Dispose it when done. */
export class BertPredictor implements Disposable {
  readonly #program: JitFunction<PredictFn>;

  private constructor(
    readonly runtime: Runtime,
    readonly loaded: LoadedBert,
    readonly tokenizer: BertTokenizer,
    readonly params: BertParams<DeviceArray>,
    /** The sequence length used, and whether it was asked for, the training length or the default. */
    readonly seqLenChoice: SeqLenChoice,
    readonly batchSize: number,
    readonly device: number,
  ) {
    const spec: BertSpec = loaded.spec;
    this.#program = jit<PredictFn>(
      (p, inputIds, tokenTypeIds, attentionMask) => {
        const logits = bertForward(spec, p, { inputIds, tokenTypeIds, attentionMask }, { train: false });
        return [logits, ops.softmax(logits, -1)];
      },
      { runtime, name: 'bert_predict' },
    );
  }

  /**
   * Loads the model directory `dir` (config.json, weights, vocab.txt and tokenizer files) onto
   * `runtime` and checks the sizes. The program is compiled on the first `predict`. Async;
   * rejects with FileFormatError naming a missing directory or file or a malformed one,
   * RangeError for a sequence length over `max_position_embeddings` or under 2, or a batch
   * size that is not a positive integer; PjrtError from the device.
   */
  static async open(runtime: Runtime, dir: string, options: BertPredictorOptions): Promise<BertPredictor> {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new RangeError(`model directory ${dir} does not exist`);
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
    const loaded = await loadBertParams(dir);
    const { maxPositionEmbeddings } = loaded.spec.config;
    const choice = chooseSeqLen(loaded.spec.config, options.seqLen, path.join(dir, 'config.json'));
    const { seqLen } = choice;
    if (!Number.isInteger(seqLen) || seqLen < 2) throw new RangeError(`sequence length must be an integer of at least 2 ([CLS] and [SEP]), got ${seqLen}`);
    if (seqLen > maxPositionEmbeddings) {
      throw new RangeError(`sequence length ${seqLen} exceeds the model's max_position_embeddings ${maxPositionEmbeddings}`);
    }
    const tokenizer = await BertTokenizer.fromPretrained(dir);
    if (tokenizer.vocabSize !== loaded.spec.config.vocabSize) {
      throw new RangeError(`${dir}: vocab.txt has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${loaded.spec.config.vocabSize}`);
    }
    const device = options.device ?? 0;
    const params = await putBertParams(runtime, loaded.params, device);
    return new BertPredictor(runtime, loaded, tokenizer, params, choice, batchSize, device);
  }

  /** Tokens per text, [CLS] and [SEP] included. */
  get seqLen(): number {
    return this.seqLenChoice.seqLen;
  }

  /** Class names by id. */
  get labels(): readonly string[] {
    const { config } = this.loaded.spec;
    return config.labels ?? Array.from({ length: numLabelsOf(config) }, (_, i) => `LABEL_${i}`);
  }

  /** How many programs were compiled (1 after any number of `predict` calls). */
  get compileCount(): number {
    return this.#program.compileCount;
  }

  /**
   * Predictions for `texts` (and optional second segments `pairs`), in order. Async; rejects
   * with RangeError when `pairs` has another length, PjrtError from compiling or running.
   * `onBatch` is told after each batch how many texts are done.
   */
  async predict(texts: readonly string[], options: { pairs?: readonly string[]; onBatch?: (done: number) => void } = {}): Promise<BertPrediction[]> {
    if (options.pairs && options.pairs.length !== texts.length) throw new RangeError(`predict: ${texts.length} texts but ${options.pairs.length} pairs`);
    const results: BertPrediction[] = [];
    const { batchSize, seqLen } = this;
    const labels = this.labels;
    for (let start = 0; start < texts.length; start += batchSize) {
      const count = Math.min(batchSize, texts.length - start);
      const chunk = texts.slice(start, start + count);
      const pairs = options.pairs?.slice(start, start + count);
      // pad the last batch with empty texts ([CLS] [SEP]); their rows are dropped below
      while (chunk.length < batchSize) chunk.push('');
      while (pairs && pairs.length < batchSize) pairs.push('');
      const encoded = this.tokenizer.encodeBatch(chunk, { maxLength: seqLen, ...(pairs ? { pairs } : {}) });
      const put = (slab: Int32Array) => this.runtime.put(slab, [batchSize, seqLen], { device: this.device });
      const inputs = await Promise.all([put(encoded.inputIds), put(encoded.tokenTypeIds), put(encoded.attentionMask)]);
      const [logitsArray, probsArray] = (await this.#program(this.params, ...inputs)) as DeviceArray[];
      const logits = (await logitsArray!.toHost()) as Float32Array;
      const probs = (await probsArray!.toHost()) as Float32Array;
      for (const array of [...inputs, logitsArray!, probsArray!]) array.dispose();
      const classes = labels.length;
      for (let row = 0; row < count; row++) {
        const rowLogits = Array.from(logits.subarray(row * classes, (row + 1) * classes));
        const rowProbs = Array.from(probs.subarray(row * classes, (row + 1) * classes));
        const labelId = rowLogits.indexOf(Math.max(...rowLogits));
        results.push({ label: labels[labelId]!, labelId, probabilities: rowProbs, logits: rowLogits });
      }
      options.onBatch?.(start + count);
    }
    return results;
  }

  /** Frees the program and the device parameters. Sync. */
  dispose(): void {
    this.#program.dispose();
    for (const array of Object.values(this.params)) array.dispose();
  }

  /** Same as `dispose()`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
