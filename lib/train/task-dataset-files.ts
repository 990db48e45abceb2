/**
 * The generated task data sets of `task-datasets.ts` written as the files the CLI reads, for the
 * README's worked examples: CSV or JSONL tables for pairs, regression and multi-label data, CoNLL
 * or JSONL for token classification. The column names are fixed ({@link TASK_DATASET_COLUMNS})
 * so an example's flags can name them:
 *
 *     await writeTaskDataset(generateMultiLabelDataset(), 'topics.csv');
 *     // pjrt-bert train --task multi-label --data topics.csv --text-column text --label-column labels
 *     // (or --label-columns food,music,sports,technology,travel,weather)
 */
import path from 'node:path';

import { formatCsv } from '../data/tables.js';
import { writeFileAtomic } from '../io/files.js';
import type { TaskDataset } from './task-datasets.js';

/** The file formats a generated data set is written as. */
export type TaskFileFormat = 'csv' | 'jsonl' | 'conll';

/**
 * The columns of the written files, per task: the text (and pair) column, the label column
 * (`labels` of multi-label data joins the topics with `|`, the default `--label-delimiter`; each
 * topic also has a 0/1 column of its own name), and the fields of JSONL token data.
 */
export const TASK_DATASET_COLUMNS = {
  pairs: { text: 'premise', pair: 'hypothesis', label: 'label' },
  regression: { text: 'sentence1', pair: 'sentence2', label: 'score' },
  'multi-label': { text: 'text', label: 'labels', delimiter: '|' },
  'token-classification': { tokens: 'tokens', tags: 'ner_tags' },
} as const;

/** The header row and the data rows of a table task. */
function tableRows(dataset: Exclude<TaskDataset, { task: 'token-classification' }>): { header: string[]; rows: (string | number)[][] } {
  if (dataset.task === 'pairs') {
    const { text, pair, label } = TASK_DATASET_COLUMNS.pairs;
    return { header: [text, pair, label], rows: dataset.texts.map((premise, i) => [premise, dataset.pairs[i]!, dataset.labels[i]!]) };
  }
  if (dataset.task === 'regression') {
    const { text, pair, label } = TASK_DATASET_COLUMNS.regression;
    return { header: [text, pair, label], rows: dataset.texts.map((first, i) => [first, dataset.pairs[i]!, dataset.scores[i]!]) };
  }
  const { text, label, delimiter } = TASK_DATASET_COLUMNS['multi-label'];
  return {
    header: [text, label, ...dataset.names],
    rows: dataset.texts.map((body, i) => {
      const labels = dataset.labels[i]!;
      return [body, labels.join(delimiter), ...dataset.names.map((name) => (labels.includes(name) ? 1 : 0))];
    }),
  };
}

/**
 * A generated data set as the text of a file in `format`: CSV (header row first) or JSONL (one
 * object per example; numbers stay numbers) for every task but token classification, CoNLL
 * (`word tag` lines, a `-DOCSTART-` line first, a blank line after each sentence) or JSONL
 * (`tokens` and `ner_tags` arrays) for token classification. Sync; throws RangeError for a
 * format the task is not written as.
 */
export function formatTaskDataset(dataset: TaskDataset, format: TaskFileFormat): string {
  if (dataset.task === 'token-classification') {
    const { tokens, tags } = TASK_DATASET_COLUMNS['token-classification'];
    if (format === 'conll') {
      return '-DOCSTART- -X- -X- O\n\n' + dataset.sentences.map((s) => s.words.map((word, k) => `${word} ${s.tags[k]}\n`).join('') + '\n').join('');
    }
    if (format === 'jsonl') return dataset.sentences.map((s) => JSON.stringify({ [tokens]: s.words, [tags]: s.tags }) + '\n').join('');
    throw new RangeError(`token classification data is written as conll or jsonl, not ${JSON.stringify(format)}`);
  }
  const { header, rows } = tableRows(dataset);
  if (format === 'csv') return formatCsv([header, ...rows.map((row) => row.map(String))]);
  if (format === 'jsonl') return rows.map((row) => JSON.stringify(Object.fromEntries(header.map((name, k) => [name, row[k]]))) + '\n').join('');
  throw new RangeError(`${dataset.task} data is written as csv or jsonl, not ${JSON.stringify(format)}`);
}

/**
 * Writes a generated data set to `file` (atomically, creating its folder) in `format`, by
 * default the one its extension names (`.csv`, `.jsonl`, `.conll`). Async; throws RangeError for
 * an extension or format the task is not written as (see {@link formatTaskDataset}), and the file
 * system's error when the write fails.
 */
export async function writeTaskDataset(dataset: TaskDataset, file: string, format?: TaskFileFormat): Promise<void> {
  const ext = path.extname(file).toLowerCase().slice(1);
  const chosen = format ?? (ext === 'csv' || ext === 'jsonl' || ext === 'conll' ? ext : undefined);
  if (chosen === undefined) throw new RangeError(`${file}: cannot tell the format from ${JSON.stringify(path.extname(file))}; name a .csv, .jsonl or .conll file, or pass the format`);
  await writeFileAtomic(file, formatTaskDataset(dataset, chosen));
}
