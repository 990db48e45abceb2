/**
 * Table columns turned into the targets of each task, with errors that name the file and the
 * line of the offending row:
 * - regression: numbers (`parseRegressionLabels`);
 * - multi-label: label names split at a delimiter (`parseMultiLabels`, `--label-delimiter`) or
 *   0/1 columns, one per label (`parseLabelColumns`, `--label-columns a,b,c`);
 * - token classification: IOB2 tags checked the way seqeval reads them (`validateIob2`).
 *
 * `lines` (from `Table.lines`) gives each value's line; without it a message names the row
 * (1-based) instead.
 */
import { FileFormatError } from '../io/files.js';
import type { TaggedSentence, TokenTable } from './conll.js';

function where(index: number, lines: readonly number[] | undefined): string {
  return lines?.[index] !== undefined ? `line ${lines[index]}` : `row ${index + 1}`;
}

/** A decimal number as Python's `float()` and pandas read one, without `nan`/`inf`, `_` or hex. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses regression targets: each value a finite decimal number (`3.5`, `-1`, `2e-3`; spaces
 * around it are ignored). Synchronous; throws `FileFormatError` naming `file`, the line and the
 * value for an empty value, text that is not a number, and `nan`/`inf` or a value out of range.
 */
export function parseRegressionLabels(values: readonly string[], file: string, lines?: readonly number[]): number[] {
  return values.map((raw, index) => {
    const value = raw.trim();
    const number = DECIMAL.test(value) ? Number(value) : Number.NaN;
    if (!Number.isFinite(number)) {
      const what = value === '' ? 'an empty label' : `label ${JSON.stringify(raw)}`;
      throw new FileFormatError(file, `${where(index, lines)}: ${what} is not a number; regression needs a finite number in every row of the label column (e.g. 3.5)`);
    }
    return number;
  });
}

/** Multi-label targets: the label names and, per row, a 0/1 target per name. */
export interface MultiLabels {
  /** The labels, in the order of the target columns. */
  names: string[];
  /** `targets[row][k]` is 1 when row `row` has label `names[k]`, else 0. */
  targets: number[][];
  /** Each row's labels, in the order of `names` (the label sets `Trainer.fit` takes). */
  sets: string[][];
}

function setsOf(names: readonly string[], targets: readonly (readonly number[])[]): string[][] {
  return targets.map((target) => names.filter((_, k) => target[k] === 1));
}

/** Python's `sorted` order for strings: by code point (JS's default sort compares UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const d = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return left.length - right.length;
}

/** Options of {@link parseMultiLabels}. */
export interface MultiLabelOptions {
  /** Lines of the rows (`Table.lines`), for errors. */
  lines?: readonly number[];
  /**
   * The known labels (a model's `id2label`, in id order): a row naming another label is an
   * error. Without it the labels are the data's, sorted by code point.
   */
  names?: readonly string[];
}

/**
 * Parses multi-label values: each value lists a row's labels separated by `delimiter` (`sports|music`);
 * spaces around a label are ignored, an empty value means no label, a label named twice counts
 * once. Synchronous; throws `FileFormatError` naming `file`, the line and the value for an empty
 * label between delimiters (`a||b`), for a label not in `options.names`, and for an empty
 * delimiter or data without any label.
 */
export function parseMultiLabels(values: readonly string[], delimiter: string, file: string, options: MultiLabelOptions = {}): MultiLabels {
  if (delimiter === '') throw new FileFormatError(file, 'the label delimiter is empty; give one with --label-delimiter (default "|")');
  const rows = values.map((raw, index) => {
    if (raw.trim() === '') return [];
    const parts = raw.split(delimiter).map((part) => part.trim());
    if (parts.includes('')) {
      throw new FileFormatError(file, `${where(index, options.lines)}: empty label in ${JSON.stringify(raw)}; separate labels with one ${JSON.stringify(delimiter)} (--label-delimiter)`);
    }
    return parts;
  });
  let names: string[];
  if (options.names !== undefined) {
    names = [...options.names];
    const known = new Set(names);
    rows.forEach((labels, index) => {
      const unknown = labels.find((label) => !known.has(label));
      if (unknown !== undefined) {
        const listed = names.map((name) => JSON.stringify(name)).join(', ');
        throw new FileFormatError(file, `${where(index, options.lines)}: unknown label ${JSON.stringify(unknown)} in ${JSON.stringify(values[index])}; the labels are ${listed}`);
      }
    });
  } else {
    names = [...new Set(rows.flat())].sort(compareCodePoints);
    if (names.length === 0) throw new FileFormatError(file, `no labels: every value of the label column is empty (labels are separated by ${JSON.stringify(delimiter)})`);
  }
  const id = new Map(names.map((name, k) => [name, k]));
  const targets = rows.map((labels) => {
    const target = new Array<number>(names.length).fill(0);
    for (const label of labels) target[id.get(label)!] = 1;
    return target;
  });
  return { names, targets, sets: setsOf(names, targets) };
}

/**
 * Parses multi-label targets given as 0/1 columns, one per label (`Table.labelRows` of
 * `readTable({ labelColumns })`): `names` are the columns, `rows[r][k]` the value of column `k` in
 * row `r` (spaces around it are ignored). Synchronous; throws `FileFormatError` naming `file`,
 * the line, the column and the value for a value other than 0 or 1, and for a row with another
 * number of values than `names`.
 */
export function parseLabelColumns(names: readonly string[], rows: readonly (readonly string[])[], file: string, lines?: readonly number[]): MultiLabels {
  const targets = rows.map((row, index) => {
    if (row.length !== names.length) throw new FileFormatError(file, `${where(index, lines)}: ${row.length} label values for ${names.length} label columns`);
    return row.map((raw, k) => {
      const value = raw.trim();
      if (value === '0' || value === '1') return Number(value);
      throw new FileFormatError(file, `${where(index, lines)}: label column ${JSON.stringify(names[k])} holds ${JSON.stringify(raw)}; label columns hold 1 (the row has the label) or 0 (it does not)`);
    });
  });
  return { names: [...names], targets, sets: setsOf(names, targets) };
}

/** What {@link validateIob2} found. */
export interface Iob2Report {
  /** Tags that are not `O`, `B-X` or `I-X` (X not empty): how many there are. */
  errorCount: number;
  /** The first 20 of those, each naming the file, line and tag. */
  errors: string[];
  /**
   * `I-X` tags that begin an entity (after `O`, after another type, or first in a sentence): valid
   * for seqeval's default mode, which starts an entity there, but unusual in IOB2.
   */
  warningCount: number;
  /** The first 20 of those, each naming the file, line and the tag before. */
  warnings: string[];
  /** Entity types seen (`PER`, `LOC`), sorted by code point. */
  types: string[];
}

const SHOWN = 20;

/**
 * Checks tags against IOB2 as seqeval's default mode reads them (see {@link Iob2Report}).
 * `data.format` says where a word's line is (CoNLL: one word per line; JSONL: the record's).
 * Synchronous; never throws: see {@link assertIob2}.
 */
export function validateIob2(data: Pick<TokenTable, 'file' | 'format' | 'sentences'>): Iob2Report {
  const report: Iob2Report = { errorCount: 0, errors: [], warningCount: 0, warnings: [], types: [] };
  const types = new Set<string>();
  const at = (sentence: TaggedSentence, k: number): string =>
    data.format === 'conll' ? `${data.file}: line ${sentence.line + k}` : `${data.file}: line ${sentence.line}, word ${k + 1}`;
  for (const sentence of data.sentences) {
    let previous = 'O';
    sentence.tags.forEach((tag, k) => {
      const prefix = tag.slice(0, 2);
      const type = tag.slice(2);
      const valid = tag === 'O' || ((prefix === 'B-' || prefix === 'I-') && type.length > 0);
      if (!valid) {
        report.errorCount++;
        if (report.errors.length < SHOWN) report.errors.push(`${at(sentence, k)}: tag ${JSON.stringify(tag)} of word ${JSON.stringify(sentence.words[k])} is not IOB2 (O, B-TYPE or I-TYPE)`);
        previous = 'O';
        return;
      }
      if (tag !== 'O') types.add(type);
      if (prefix === 'I-' && previous !== `B-${type}` && previous !== `I-${type}`) {
        report.warningCount++;
        const before = k === 0 ? 'first in its sentence' : `after ${previous}`;
        if (report.warnings.length < SHOWN) report.warnings.push(`${at(sentence, k)}: ${tag} ${before} begins an entity (accepted, as seqeval does)`);
      }
      previous = tag;
    });
  }
  report.types = [...types].sort(compareCodePoints);
  return report;
}

/**
 * {@link validateIob2}, throwing on errors. Synchronous; returns the report (with its warnings)
 * when every tag is IOB2; throws `FileFormatError` naming the file, the number of bad tags and the
 * first ones with their lines otherwise.
 */
export function assertIob2(data: Pick<TokenTable, 'file' | 'format' | 'sentences'>): Iob2Report {
  const report = validateIob2(data);
  if (report.errorCount > 0) {
    const more = report.errorCount > report.errors.length ? `\n(and ${report.errorCount - report.errors.length} more)` : '';
    throw new FileFormatError(data.file, `${report.errorCount} tag(s) are not IOB2 (O, B-TYPE, I-TYPE):\n${report.errors.join('\n')}${more}`);
  }
  return report;
}
