/**
 * The data flags of each task (`--task`), read into the Trainer's data: a table's text (and
 * pair) column with class labels, numbers (regression) or label sets (multi-label, delimited or
 * as 0/1 columns); tagged sentences from CoNLL or JSONL for token classification. Every bad
 * value is an error naming the file and line; IOB2 oddities seqeval accepts are counted.
 */
import type { ParseArgsConfig } from 'node:util';
import { FileFormatError } from '../io/files.js';
import { parseLabelColumns, parseMultiLabels, parseRegressionLabels, readTokenData, validateIob2 } from '../data/index.js';
import type { TaskName } from '../train/task.js';
import { TASKS } from '../train/tasks.js';
import { resolveTask } from '../train/trainer.js';
import type { LabelledTexts, LabelledWords } from '../train/task-data.js';
import { UsageError } from './flags.js';
import { readTableFromFlags } from './train-flags.js';

/** The task flags for node's parseArgs (shared by train and evaluate). */
export const TASK_OPTIONS = {
  task: { type: 'string' },
  'label-delimiter': { type: 'string' },
  'label-columns': { type: 'string' },
  'tokens-column': { type: 'string' },
  'tags-column': { type: 'string' },
  threshold: { type: 'string' },
} satisfies NonNullable<ParseArgsConfig['options']>;

/** Help text for the task flags. */
export const TASK_FLAGS_HELP = `task
  --task NAME                  classification (default; a model directory's own task when it has
                               one), regression, multi-label or token-classification
  --label-delimiter D          multi-label: labels in --label-column split at D (default |)
  --label-columns a,b,c        multi-label: 0/1 columns, one per label (instead of --label-column)
  --threshold P                multi-label: predict a label from probability P (default 0.5)
  --tokens-column NAME         token classification, JSONL: the field of the words (default tokens)
  --tags-column NAME           token classification, JSONL: the field of the tags (default tags);
                               .conll/.iob/.iob2/.bio/.txt files are CoNLL (word first, tag last)`;

/** Flags that only some tasks read: using them with another task is a usage error. */
const TASK_ONLY: Readonly<Record<string, readonly TaskName[]>> = {
  'label-delimiter': ['multi-label'],
  'label-columns': ['multi-label'],
  threshold: ['multi-label'],
  'tokens-column': ['token-classification'],
  'tags-column': ['token-classification'],
  'text-pair-column': ['classification', 'regression', 'multi-label'],
  'text-column': ['classification', 'regression', 'multi-label'],
};

/** Refuses flags that `task` does not read, naming the task that does. Sync; throws UsageError. */
export function checkTaskFlags(values: Record<string, unknown>, task: TaskName): void {
  for (const [flag, tasks] of Object.entries(TASK_ONLY)) {
    if (values[flag] !== undefined && !tasks.includes(task)) throw new UsageError(`--${flag} is for ${tasks.join(' or ')}, but the task is ${task}`);
  }
  if (values['label-columns'] !== undefined && values['label-column'] !== undefined) throw new UsageError('give --label-column (with --label-delimiter) or --label-columns, not both');
}

/**
 * The task of a run: `--task` (checked against the task table), else the model directory's own.
 * Async; rejects with UsageError for an unknown task, and as readModelConfig.
 */
export async function taskFromFlags(values: Record<string, unknown>): Promise<TaskName> {
  const asked = values.task as string | undefined;
  if (asked !== undefined && !Object.hasOwn(TASKS, asked)) throw new UsageError(`--task must be one of ${Object.keys(TASKS).join(', ')}, got '${asked}'`);
  return resolveTask(values.model as string, asked as TaskName | undefined);
}

/** What {@link readTaskData} read: the data, and notes for the user (counted IOB2 warnings). */
export interface ReadTaskData {
  data: LabelledTexts | LabelledWords;
  notes: string[];
}

/**
 * Reads `--data` for `task` as the flags say. Async; rejects with FileFormatError naming the
 * file and line of a bad value, UsageError for flags the task does not take.
 */
export async function readTaskData(values: Record<string, unknown>, task: TaskName): Promise<ReadTaskData> {
  checkTaskFlags(values, task);
  const file = values.data as string;
  if (task === 'token-classification') {
    const table = await readTokenData(file, { tokensColumn: (values['tokens-column'] as string) ?? 'tokens', tagsColumn: (values['tags-column'] as string) ?? 'tags' });
    const report = validateIob2(table);
    const notes: string[] = [];
    const iob = table.sentences.some((sentence) => sentence.tags.some((tag) => tag.startsWith('B-') || tag.startsWith('I-')));
    if (report.errorCount > 0 && iob) {
      // IOB2 tags mixed with others: the entity metrics would be wrong, so refuse
      const more = report.errorCount > report.errors.length ? `\n(and ${report.errorCount - report.errors.length} more)` : '';
      throw new FileFormatError(file, `${report.errorCount} tag(s) are not IOB2 (O, B-TYPE, I-TYPE) among IOB2 tags:\n${report.errors.join('\n')}${more}`);
    }
    if (!iob) notes.push(`${file}: no tag is IOB2 (B-TYPE or I-TYPE), so the tags are trained as plain per-word classes (part-of-speech tags, say); the entity scores will be 0, read token accuracy`);
    if (report.warningCount > 0) notes.push(`${file}: ${report.warningCount} I- tag(s) begin an entity (accepted and counted, as seqeval does); the first: ${report.warnings[0]}`);
    return { data: { words: table.sentences.map((s) => s.words), tags: table.sentences.map((s) => s.tags), source: file }, notes };
  }
  const columns = values['label-columns'] as string | undefined;
  const names = columns?.split(',').map((name) => name.trim());
  if (names && (names.length === 0 || names.some((name) => name === ''))) throw new UsageError(`--label-columns must name columns separated by commas, got '${columns}'`);
  const table = await readTableFromFlags(values, { labels: names === undefined, ...(names ? { labelColumns: names } : {}) });
  const base = { texts: table.texts, source: table.file, ...(table.pairs ? { pairs: table.pairs } : {}) };
  if (task === 'regression') return { data: { ...base, labels: parseRegressionLabels(table.labels!, table.file, table.lines) }, notes: [] };
  if (task === 'multi-label') {
    const parsed = names
      ? parseLabelColumns(names, table.labelRows!, table.file, table.lines)
      : parseMultiLabels(table.labels!, (values['label-delimiter'] as string) ?? '|', table.file, { ...(table.lines ? { lines: table.lines } : {}) });
    return { data: { ...base, labels: parsed.sets, ...(names ? { labelNames: parsed.names } : {}) }, notes: [] };
  }
  return { data: { ...base, labels: table.labels! }, notes: [] };
}
