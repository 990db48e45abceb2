/**
 * The Trainer's data for any task: labels (class names, numbers, label sets or tags per word)
 * turned into the task's targets under one label mapping, texts (or pairs, or pre-split
 * sentences) tokenized, and the Keras-style validation split (the LAST fraction of the rows,
 * in file order).
 *
 *     const prepared = await prepareTaskData(task, { texts, labels: [['sports', 'politics'], ['tech']] }, { tokenizer, seqLen: 128, validationSplit: 0.2 });
 *     prepared.labels;   // ['politics', 'sports', 'tech']: sorted, unless the model's label2id covers them
 */
import type { ModelTokenizer } from '../pretrained/index.js';
import { DataError, type LabelMapping, type MapLabelsOptions, type TokenizedExamples, mapLabels, selectRows, tokenizeExamples, tokenizeWords, validationCut } from './data.js';
import type { Task } from './task.js';

/** Texts (or pairs) with their labels: class names, numbers (regression) or label sets (multi-label). */
export interface LabelledTexts {
  texts: readonly string[];
  labels: readonly (string | number | readonly string[])[];
  /** Second segments, one per text, for sentence-pair tasks (encoded as the tokenizer encodes pairs). */
  pairs?: readonly string[];
  /**
   * Multi-label: every label name in id order (0/1 columns name them all, even one no row has);
   * a row's label outside them is an error. Default: the labels seen, sorted.
   */
  labelNames?: readonly string[];
  /** Where they come from (a file name, say), named in error messages; default `the training data`. */
  source?: string;
}

/** Pre-split sentences with a tag per word (token classification). */
export interface LabelledWords {
  words: readonly (readonly string[])[];
  tags: readonly (readonly string[])[];
  /** Where they come from, named in error messages. */
  source?: string;
}

/** Data of any task. */
export type TaskData = LabelledTexts | LabelledWords;

/** True for token-classification data. */
export function isWordData(data: TaskData): data is LabelledWords {
  return 'words' in data;
}

/** What {@link prepareTaskData} makes. */
export interface PreparedTaskData {
  train: TokenizedExamples;
  /** Empty (count 0) without a validation split. */
  validation: TokenizedExamples;
  /** Label names in id order (`['LABEL_0']` for regression, as HF). */
  labels: readonly string[];
  /** Words truncation cut off (token classification). */
  truncatedWords: number;
}

/** How {@link prepareTaskData} runs. */
export interface PrepareTaskOptions extends MapLabelsOptions {
  readonly tokenizer: ModelTokenizer;
  readonly seqLen: number;
  /** Fraction of the rows, from the END, held out for validation (default 0). */
  readonly validationSplit?: number;
  /** Hold out exactly this many rows from the end instead (explicit validation data appended to the training data). */
  readonly validationRows?: number;
}

/** Where the validation part starts among `count` rows. */
function cutOf(count: number, options: PrepareTaskOptions): number {
  if (options.validationRows !== undefined) return count - options.validationRows;
  return validationCut(count, options.validationSplit ?? 0);
}

/** `data` followed by `more` (the same kind), for explicit validation data. Sync; throws DataError when they differ in kind. */
export function concatTaskData(data: TaskData, more: TaskData): TaskData {
  if (isWordData(data) !== isWordData(more)) throw new DataError('the training and validation data must be of the same kind (texts with labels, or words with tags)');
  if (isWordData(data)) {
    const extra = more as LabelledWords;
    return { words: [...data.words, ...extra.words], tags: [...data.tags, ...extra.tags], ...(data.source ? { source: data.source } : {}) };
  }
  const extra = more as LabelledTexts;
  if ((data.pairs === undefined) !== (extra.pairs === undefined)) throw new DataError('the training and validation data must both be pairs, or both single texts');
  return {
    texts: [...data.texts, ...extra.texts],
    labels: [...data.labels, ...extra.labels],
    ...(data.pairs ? { pairs: [...data.pairs, ...extra.pairs!] } : {}),
    ...(data.source ? { source: data.source } : {}),
    ...(data.labelNames ? { labelNames: data.labelNames } : {}),
  };
}

function sourceOf(data: TaskData): string {
  return data.source ?? 'the training data';
}

/** Numbers of a regression label column. Sync; throws DataError naming the row and value. */
function regressionTargets(labels: LabelledTexts['labels'], source: string): Float32Array {
  return Float32Array.from(labels, (label, row) => {
    const value = typeof label === 'number' ? label : typeof label === 'string' && label.trim() !== '' ? Number(label) : Number.NaN;
    if (!Number.isFinite(value)) throw new DataError(`${source}: row ${row + 1}: the regression label ${JSON.stringify(label)} is not a number`);
    return value;
  });
}

/** 0/1 rows of label sets under one mapping (the model's when it covers every label). Sync; throws DataError. */
function multiLabelTargets(labels: LabelledTexts['labels'], source: string, options: MapLabelsOptions): { names: readonly string[]; targets: Float32Array } {
  const sets = labels.map((label, row) => {
    if (!Array.isArray(label)) throw new DataError(`${source}: row ${row + 1}: a multi-label task needs a set of labels per row, got ${JSON.stringify(label)}`);
    return label as readonly string[];
  });
  const flat = sets.flat();
  if (flat.length === 0) throw new DataError(`${source}: no row has any label`);
  const { mapping } = mapLabels(flat, options);
  const width = mapping.id2label.length;
  const targets = new Float32Array(sets.length * width);
  sets.forEach((set, row) => {
    for (const label of set) targets[row * width + mapping.label2id[label]!] = 1;
  });
  return { names: mapping.id2label, targets };
}

/**
 * Targets, tokenized rows and the validation split of `data` for `task`. Async; rejects with
 * DataError naming the source and row for data that does not fit the task (a label that is
 * not a number for regression, a row without a label set for multi-label, a tag count that
 * differs from the word count, labels the model's label2id lacks when it is required, no
 * rows), and as tokenizeExamples and validationCut.
 */
export async function prepareTaskData(task: Task, data: TaskData, options: PrepareTaskOptions): Promise<PreparedTaskData> {
  const source = sourceOf(data);
  if (task.granularity === 'token') {
    if (!isWordData(data)) throw new DataError(`${source}: token classification needs sentences split into words with a tag per word (CoNLL, or JSONL with tokens and tags columns)`);
    if (data.words.length === 0) throw new DataError(`${source}: no sentences`);
    if (data.tags.length !== data.words.length) throw new DataError(`${source}: ${data.words.length} sentences but ${data.tags.length} tag lists`);
    data.words.forEach((words, i) => {
      if (words.length === 0) throw new DataError(`${source}: sentence ${i + 1} is empty`);
      if (data.tags[i]!.length !== words.length) throw new DataError(`${source}: sentence ${i + 1} has ${words.length} words but ${data.tags[i]!.length} tags`);
    });
    const { mapping } = mapLabels(data.tags.flat(), options);
    const ids = data.tags.map((tags) => tags.map((tag) => mapping.label2id[tag]!));
    const cut = cutOf(data.words.length, options);
    const all = await tokenizeWords(options.tokenizer, data.words, options.seqLen, ids);
    return { train: selectRows(all, 0, cut), validation: selectRows(all, cut, all.count), labels: mapping.id2label, truncatedWords: all.truncatedWords };
  }
  if (isWordData(data)) throw new DataError(`${source}: ${task.name} takes texts with labels, not sentences of words with tags`);
  if (data.texts.length === 0) throw new DataError(`${source}: no data rows`);
  if (data.labels.length !== data.texts.length) throw new DataError(`${source}: ${data.texts.length} texts but ${data.labels.length} labels`);
  if (data.pairs && data.pairs.length !== data.texts.length) throw new DataError(`${source}: ${data.texts.length} texts but ${data.pairs.length} second segments (pairs)`);
  const cut = cutOf(data.texts.length, options);
  let names: readonly string[];
  let targets: Int32Array | Float32Array;
  let width = 1;
  if (task.name === 'regression') {
    names = ['LABEL_0'];
    targets = regressionTargets(data.labels, source);
  } else if (task.name === 'multi-label') {
    const declared = data.labelNames && !options.label2id ? { ...options, label2id: Object.fromEntries(data.labelNames.map((name, i) => [name, i])), requireLabel2id: true } : options;
    ({ names, targets } = multiLabelTargets(data.labels, source, declared));
    width = names.length;
  } else {
    const strings = data.labels.map((label, row) => {
      if (typeof label !== 'string') throw new DataError(`${source}: row ${row + 1}: a classification label must be a class name, got ${JSON.stringify(label)}`);
      return label;
    });
    const distinct = new Set(strings);
    if (distinct.size === 1) {
      throw new DataError(`${source}: every row has the label ${JSON.stringify(strings[0])} (${strings.length} rows); a classifier needs at least two classes: check the label column`);
    }
    const mapped: { mapping: LabelMapping; ids: Int32Array } = mapLabels(strings, options);
    names = mapped.mapping.id2label;
    targets = mapped.ids;
  }
  const all = await tokenizeExamples(options.tokenizer, data.texts, options.seqLen, targets, data.pairs, width);
  return { train: selectRows(all, 0, cut), validation: selectRows(all, cut, all.count), labels: names, truncatedWords: 0 };
}
