/**
 * The Trainer's data preparation, on the host: a table's labels mapped to class ids, its
 * texts tokenized into `[N, S]` Int32Array slabs, and the Keras-style validation split (the
 * LAST fraction of the rows, in file order, before any shuffling). Batching into per-call
 * slabs for K steps x R replicas is in `data-batches.ts`.
 *
 *     const data = await loadTrainingData('data/GRGE_sentiment.csv', {
 *       textColumn: 'Text', labelColumn: 'Polarity1', tokenizer, seqLen: 128, validationSplit: 0.2,
 *     });
 *     data.train.count;       // 1312 rows, data.validation.count 328
 *     data.labels.id2label;   // ['Negative', 'Neutral', 'Positive'] (sorted) unless a label2id covered them
 */
import type { ModelTokenizer } from '../pretrained/index.js';
import { readTable, type Table, type TableFormat } from '../data/tables.js';

/** Thrown for data that cannot be trained on: no rows, no labels, labels the model does not know. */
export class DataError extends Error {
  override readonly name: string = 'DataError';
}

/** Class ids for label strings, and back. */
export interface LabelMapping {
  /** `id2label[id]` is the label of class `id`; ids are 0..n-1. */
  readonly id2label: readonly string[];
  /** The inverse of `id2label`. */
  readonly label2id: Readonly<Record<string, number>>;
  /** `model`: the model's label2id was used; `data`: the sorted unique labels of the data. */
  readonly source: 'model' | 'data';
}

/** How {@link mapLabels} chooses the mapping. */
export interface MapLabelsOptions {
  /** The model's `label2id` (from its config.json), used when it covers every label of the data. */
  readonly label2id?: Readonly<Record<string, number>>;
  /**
   * Fail when `label2id` is given but lacks labels of the data (default false: fall back to
   * the data's sorted labels, as for a base checkpoint whose config says LABEL_0, LABEL_1).
   */
  readonly requireLabel2id?: boolean;
}

/** Rows of tokenized examples: `inputIds`, `attentionMask`, `tokenTypeIds` are `[count, seqLen]` row-major. */
export interface TokenizedExamples {
  readonly count: number;
  readonly seqLen: number;
  readonly inputIds: Int32Array;
  readonly attentionMask: Int32Array;
  readonly tokenTypeIds: Int32Array;
  /**
   * The task's targets, `[count, targetWidth]` row-major (see train/task.ts): a class id, a
   * value, 0/1 per label, or a tag id per position (-100 where ignored); zeros for unlabeled data.
   */
  readonly targets: Int32Array | Float32Array;
  /** Values per example in `targets` (1, the label count, or `seqLen`). */
  readonly targetWidth: number;
}

/** Token classification examples: the rows plus how many words truncation cut off. */
export interface TokenizedWords extends TokenizedExamples {
  /** Words (over all sentences) that lost every token to truncation: they get no tag and no loss. */
  readonly truncatedWords: number;
  /** Sentences that lost words that way. */
  readonly truncatedSentences: number;
  /** Per example, the position of each word's first sub-token (-1 for a truncated word), for predictions. */
  readonly wordStarts: readonly Int32Array[];
}

/** Options of {@link prepareTrainingData}. */
export interface PrepareOptions extends MapLabelsOptions {
  /** The tokenizer of the model. */
  readonly tokenizer: ModelTokenizer;
  /** Tokens per row, `[CLS]` and `[SEP]` included (at least 2): longer texts are truncated, shorter padded. */
  readonly seqLen: number;
  /** Fraction of the rows, taken from the END of the file, held out for validation (default 0; Keras `validation_split`). */
  readonly validationSplit?: number;
}

/** Options of {@link loadTrainingData}: the table's columns and format, then {@link PrepareOptions}. */
export interface LoadOptions extends PrepareOptions {
  readonly textColumn: string;
  readonly labelColumn: string;
  readonly format?: TableFormat;
}

/** What {@link prepareTrainingData} returns. */
export interface TrainingData {
  readonly train: TokenizedExamples;
  /** Empty (`count` 0) without a validation split. */
  readonly validation: TokenizedExamples;
  readonly labels: LabelMapping;
}

/** Python's `sorted` order for strings: by code point (JS's default sort compares UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

/**
 * Maps label strings to class ids: through `options.label2id` when it names every label of
 * the data, else through the data's unique labels sorted by code point (Python's `sorted`),
 * ids 0..n-1. Sync; throws DataError when there are no labels, when `requireLabel2id` is set
 * and labels are missing from `label2id` (naming them), or when `label2id`'s ids are not
 * exactly 0..n-1.
 */
export function mapLabels(labels: readonly string[], options: MapLabelsOptions = {}): { mapping: LabelMapping; ids: Int32Array } {
  if (labels.length === 0) throw new DataError('no labels: the data has no rows');
  const unique = [...new Set(labels)].sort(compareCodePoints);
  let mapping: LabelMapping | undefined;
  if (options.label2id !== undefined) {
    const missing = unique.filter((label) => !Object.hasOwn(options.label2id!, label));
    if (missing.length === 0) mapping = fromLabel2id(options.label2id);
    else if (options.requireLabel2id) {
      const known = Object.keys(options.label2id).map((l) => JSON.stringify(l)).join(', ');
      throw new DataError(`labels ${missing.map((l) => JSON.stringify(l)).join(', ')} of the data are not in the model's label2id (${known})`);
    }
  }
  mapping ??= { id2label: unique, label2id: Object.fromEntries(unique.map((label, id) => [label, id])), source: 'data' };
  const ids = Int32Array.from(labels, (label) => mapping.label2id[label]!);
  return { mapping, ids };
}

function fromLabel2id(label2id: Readonly<Record<string, number>>): LabelMapping {
  const entries = Object.entries(label2id);
  const id2label: string[] = [];
  for (const [label, id] of entries) {
    if (!Number.isInteger(id) || id < 0 || id >= entries.length || id2label[id] !== undefined) {
      throw new DataError(`the model's label2id must number its ${entries.length} labels 0..${entries.length - 1} once each; ${JSON.stringify(label)} has id ${id}`);
    }
    id2label[id] = label;
  }
  return { id2label, label2id: { ...label2id }, source: 'model' };
}

/**
 * Tokenizes `texts` (with second segments `pairs`, encoded as the tokenizer encodes pairs)
 * into `[N, seqLen]` rows (truncated, padded) with `targets` of `targetWidth` values per text
 * (class ids by default; zeros when omitted). Async (a tokenizer.json tokenizer encodes off the
 * main thread); rejects with RangeError when `seqLen` is not an integer of at least 2 (room for
 * the special tokens) or the targets or `pairs` do not fit `texts`.
 */
export async function tokenizeExamples(
  tokenizer: ModelTokenizer,
  texts: readonly string[],
  seqLen: number,
  targets?: Int32Array | Float32Array,
  pairs?: readonly string[],
  targetWidth = 1,
): Promise<TokenizedExamples> {
  if (!Number.isInteger(seqLen) || seqLen < 2) throw new RangeError(`seqLen must be an integer of at least 2 ([CLS] and [SEP]), got ${seqLen}`);
  if (targets !== undefined && targets.length !== texts.length * targetWidth) throw new RangeError(`${texts.length} texts but ${targets.length / targetWidth} labels`);
  if (pairs !== undefined && pairs.length !== texts.length) throw new RangeError(`${texts.length} texts but ${pairs.length} second segments (pairs)`);
  const batch = await tokenizer.encodeBatch(texts, { maxLength: seqLen, ...(pairs ? { pairs } : {}) });
  return {
    count: texts.length,
    seqLen,
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    tokenTypeIds: batch.tokenTypeIds,
    targets: targets ?? new Int32Array(texts.length * targetWidth),
    targetWidth,
  };
}

/**
 * Tokenizes pre-split sentences (token classification) into `[N, seqLen]` rows whose targets
 * are a tag id per position: the first sub-token of each word carries its word's tag, every
 * other position (later sub-tokens, special tokens, padding) is -100, Hugging Face's
 * convention. Words truncation cuts off are counted. `tags` may be omitted (prediction: all
 * -100). Async; rejects with RangeError for a bad `seqLen` or sentences whose tag count differs
 * from their word count.
 */
export async function tokenizeWords(tokenizer: ModelTokenizer, sentences: readonly (readonly string[])[], seqLen: number, tags?: readonly (readonly number[])[]): Promise<TokenizedWords> {
  if (!Number.isInteger(seqLen) || seqLen < 2) throw new RangeError(`seqLen must be an integer of at least 2, got ${seqLen}`);
  const n = sentences.length;
  const inputIds = new Int32Array(n * seqLen).fill(tokenizer.padId);
  const attentionMask = new Int32Array(n * seqLen);
  const tokenTypeIds = new Int32Array(n * seqLen);
  const targets = new Int32Array(n * seqLen).fill(-100);
  const wordStarts: Int32Array[] = [];
  let truncatedWords = 0;
  let truncatedSentences = 0;
  for (let e = 0; e < n; e++) {
    const words = sentences[e]!;
    const wordTags = tags?.[e];
    if (wordTags && wordTags.length !== words.length) throw new RangeError(`sentence ${e + 1} has ${words.length} words but ${wordTags.length} tags`);
    const encoded = await tokenizer.encodeWords(words, { maxLength: seqLen });
    const starts = new Int32Array(words.length).fill(-1);
    let previous: number | null = null;
    encoded.inputIds.forEach((id, position) => {
      inputIds[e * seqLen + position] = id;
      attentionMask[e * seqLen + position] = 1;
      tokenTypeIds[e * seqLen + position] = encoded.tokenTypeIds[position] ?? 0;
      const word = encoded.wordIds[position];
      if (word !== null && word !== undefined && word !== previous) {
        starts[word] = position;
        if (wordTags) targets[e * seqLen + position] = wordTags[word]!;
      }
      previous = word ?? null;
    });
    wordStarts.push(starts);
    if (encoded.truncatedWords > 0) {
      truncatedWords += encoded.truncatedWords;
      truncatedSentences++;
    }
  }
  return { count: n, seqLen, inputIds, attentionMask, tokenTypeIds, targets, targetWidth: seqLen, truncatedWords, truncatedSentences, wordStarts };
}

/** Rows `[start, end)` of `examples`, as views (no copy). Sync; throws RangeError for a bad range. */
export function selectRows(examples: TokenizedExamples, start: number, end: number): TokenizedExamples {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > examples.count) {
    throw new RangeError(`rows [${start}, ${end}) out of range for ${examples.count} examples`);
  }
  const s = examples.seqLen;
  return {
    count: end - start,
    seqLen: s,
    inputIds: examples.inputIds.subarray(start * s, end * s),
    attentionMask: examples.attentionMask.subarray(start * s, end * s),
    tokenTypeIds: examples.tokenTypeIds.subarray(start * s, end * s),
    targets: examples.targets.subarray(start * examples.targetWidth, end * examples.targetWidth),
    targetWidth: examples.targetWidth,
  };
}

/**
 * Where Keras' `validation_split` cuts `count` rows: the first `floor(count * (1 - fraction))`
 * train, the rest (the file's last rows) validate. Sync; throws RangeError unless
 * 0 <= fraction < 1, DataError when a non-zero fraction leaves either part empty.
 */
export function validationCut(count: number, fraction: number): number {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validationSplit must be in [0, 1), got ${fraction}`);
  if (fraction === 0) return count;
  const cut = Math.floor(count * (1 - fraction));
  if (cut === 0 || cut === count) {
    throw new DataError(`${count} rows are not enough to hold out validationSplit=${fraction} for validation and keep some for training`);
  }
  return cut;
}

/**
 * Labels mapped, texts tokenized, rows split into train (first) and validation (last
 * `validationSplit` of the file). Async; rejects with DataError for a table without rows or without
 * a label column, and as {@link mapLabels}, {@link tokenizeExamples} and {@link validationCut}.
 */
export async function prepareTrainingData(table: Table, options: PrepareOptions): Promise<TrainingData> {
  if (table.labels === undefined) throw new DataError(`${table.file}: training needs a label column`);
  if (table.texts.length === 0) throw new DataError(`${table.file}: no data rows`);
  const cut = validationCut(table.texts.length, options.validationSplit ?? 0);
  const { mapping, ids } = mapLabels(table.labels, options);
  const all = await tokenizeExamples(options.tokenizer, table.texts, options.seqLen, ids, table.pairs);
  return { train: selectRows(all, 0, cut), validation: selectRows(all, cut, all.count), labels: mapping };
}

/**
 * Reads a CSV/TSV/JSONL file with `readTable` and prepares it with {@link prepareTrainingData}.
 * Async; rejects with readTable's FileFormatError (missing file, unknown text or label column,
 * malformed rows), and as {@link prepareTrainingData}.
 */
export async function loadTrainingData(file: string, options: LoadOptions): Promise<TrainingData> {
  const table = await readTable(file, { textColumn: options.textColumn, labelColumn: options.labelColumn, format: options.format });
  return await prepareTrainingData(table, options);
}
