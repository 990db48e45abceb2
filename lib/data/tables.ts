/**
 * Dataset readers: a text column, an optional text pair column and label column(s) out of a
 * CSV, TSV or JSONL file, with the line of every row for later errors; and a CSV writer.
 *
 * - CSV: RFC 4180 (comma separated, fields may be double-quoted, `""` is a quote inside
 *   a quoted field, quoted fields may hold commas and line breaks, CRLF or LF rows).
 * - TSV: tab separated with NO quoting at all, one row per line (the OffensEval files,
 *   whose tweets contain bare `"` characters and `<LF>` for their line breaks).
 * - JSONL: one JSON object per line.
 * The first row of CSV/TSV is the header. A leading UTF-8 byte order mark is ignored; a
 * file that is not UTF-8 is refused (never read as U+FFFD replacement characters).
 */
import path from 'node:path';

import { FileFormatError, readTextFile } from '../io/files.js';

/** The file formats `readTable` understands. */
export type TableFormat = 'csv' | 'tsv' | 'jsonl';

/** Which columns to read. */
export interface ReadTableOptions {
  /** Column holding the text. */
  textColumn: string;
  /** Column holding the label; omit for unlabeled data. */
  labelColumn?: string;
  /**
   * Several label columns (multi-label data as 0/1 columns, `--label-columns a,b,c`): their
   * values come back in `Table.labelRows`, row by row, in this order.
   */
  labelColumns?: readonly string[];
  /** Column holding a second text segment (sentence pairs); omit for single texts. */
  pairColumn?: string;
  /** Override the format that the file extension implies. */
  format?: TableFormat;
}

/** The texts (and labels) of a table, row by row, plus the header it had. */
export interface Table {
  file: string;
  columns: string[];
  texts: string[];
  /** Present when `labelColumn` was given; labels as strings. */
  labels: string[] | undefined;
  /** Present when `pairColumn` was given: the second segments, row by row. */
  pairs?: string[];
  /** Present when `labelColumns` was given: per data row, the values of those columns in their order. */
  labelRows?: string[][];
  /**
   * The 1-based line of the file where each data row starts (a quoted CSV field may span
   * lines, blank lines are skipped), for errors about a row's values. `readTable` always
   * fills it; a table built in memory may leave it out.
   */
  lines?: number[];
}

/** One row of a CSV or TSV file and the 1-based line where it starts. */
export interface TextRecord {
  fields: string[];
  line: number;
}

/**
 * Parses RFC 4180 CSV text into rows of fields. Synchronous; throws `FileFormatError`
 * naming `file` and the line when a quoted field is never closed or a closing quote is
 * followed by something other than a comma or line break.
 */
export function parseCsv(text: string, file: string): string[][] {
  return parseCsvRecords(text, file).map((record) => record.fields);
}

/**
 * Parses RFC 4180 CSV text as {@link parseCsv} does, keeping the line where each row
 * starts. Synchronous; throws as {@link parseCsv}.
 */
export function parseCsvRecords(text: string, file: string): TextRecord[] {
  const rows: TextRecord[] = [];
  let row: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let rowHasContent = false;
  while (i < n) {
    const c = text[i]!;
    if (c === '"' && field.length === 0) {
      const startLine = line;
      if (!rowHasContent) rowLine = line;
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) throw new FileFormatError(file, `line ${startLine}: quoted field is never closed`);
        const chunk = text.slice(i, close);
        for (let k = 0; k < chunk.length; k++) if (chunk.charCodeAt(k) === 10) line++;
        field += chunk;
        if (text[close + 1] === '"') {
          field += '"';
          i = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new FileFormatError(file, `line ${line}: unexpected ${JSON.stringify(next)} after a closing quote`);
      }
      rowHasContent = true;
      continue;
    }
    if (c === ',') {
      if (!rowHasContent && field.length === 0) rowLine = line;
      row.push(field);
      field = '';
      rowHasContent = true;
      i++;
    } else if (c === '\n' || c === '\r') {
      if (rowHasContent || field.length > 0) {
        row.push(field);
        rows.push({ fields: row, line: rowLine });
      }
      row = [];
      field = '';
      rowHasContent = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    } else {
      if (!rowHasContent && field.length === 0) rowLine = line;
      let end = i + 1;
      while (end < n) {
        const d = text.charCodeAt(end);
        if (d === 44 || d === 10 || d === 13) break;
        end++;
      }
      field += text.slice(i, end);
      i = end;
    }
  }
  if (rowHasContent || field.length > 0) {
    row.push(field);
    rows.push({ fields: row, line: rowLine });
  }
  return rows;
}

/**
 * Parses tab-separated text without any quoting: one row per line, fields split at
 * every tab, a trailing `\r` dropped, blank lines skipped. Synchronous; never throws.
 */
export function parseTsv(text: string): string[][] {
  return parseTsvRecords(text).map((record) => record.fields);
}

/**
 * Parses tab-separated text as {@link parseTsv} does, keeping each row's line number.
 * Synchronous; never throws.
 */
export function parseTsvRecords(text: string): TextRecord[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: TextRecord[] = [];
  const lines = body.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const rawLine = lines[index]!;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.length > 0) rows.push({ fields: line.split('\t'), line: index + 1 });
  }
  return rows;
}

/** One record of a JSONL file and its 1-based line. */
export interface JsonRecord {
  fields: Record<string, unknown>;
  line: number;
}

/**
 * Parses JSON Lines text: one JSON object per line, blank lines skipped, a leading byte
 * order mark ignored. Synchronous; throws `FileFormatError` naming `file` and the line of
 * invalid JSON or of a value that is not an object.
 */
export function parseJsonLines(text: string, file: string): JsonRecord[] {
  const records: JsonRecord[] = [];
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line.length === 0) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new FileFormatError(file, `line ${index + 1}: invalid JSON: ${(error as Error).message}`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new FileFormatError(file, `line ${index + 1}: expected a JSON object`);
    }
    records.push({ fields: record as Record<string, unknown>, line: index + 1 });
  }
  return records;
}

/**
 * Formats rows as RFC 4180 CSV (the first row is usually the header): a field is quoted
 * when it holds a comma, a double quote, a line break or leading/trailing spaces, with
 * `""` for a quote; rows end with `\n`. `parseCsv` reads the result back unchanged (as
 * does Python's csv module). Synchronous; never throws.
 */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  const quote = (field: string): string => (/[",\r\n]|^\s|\s$/.test(field) ? `"${field.replace(/"/g, '""')}"` : field);
  // A row of one empty field is written `""`: an empty line would be skipped as blank.
  const format = (row: readonly string[]): string => (row.length === 1 && row[0] === '' ? '""' : row.map(quote).join(','));
  return rows.map(format).join('\n') + (rows.length > 0 ? '\n' : '');
}

function formatOf(file: string, override: TableFormat | undefined): TableFormat {
  if (override !== undefined) return override;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new FileFormatError(file, `unknown table format ${JSON.stringify(ext)} (expected .csv, .tsv or .jsonl)`);
}

function missingColumnError(file: string, role: string, column: string, columns: readonly string[], line?: number): FileFormatError {
  const listed = columns.map((name) => JSON.stringify(name)).join(', ');
  const where = line === undefined ? '' : `line ${line}: `;
  return new FileFormatError(file, `${where}no ${role} column ${JSON.stringify(column)}; the columns are ${listed}`);
}

function columnIndex(file: string, columns: readonly string[], role: string, column: string | undefined): number {
  if (column === undefined) return -1;
  const index = columns.indexOf(column);
  if (index < 0) throw missingColumnError(file, role, column, columns);
  return index;
}

function checkLabelColumns(file: string, options: ReadTableOptions): readonly string[] | undefined {
  const names = options.labelColumns;
  if (names === undefined) return undefined;
  if (names.length === 0) throw new FileFormatError(file, 'labelColumns is empty: name at least one label column (--label-columns a,b,c)');
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) throw new FileFormatError(file, `label column ${JSON.stringify(repeated)} is named twice in labelColumns`);
  return names;
}

function fromRows(file: string, rows: TextRecord[], options: ReadTableOptions): Table {
  if (rows.length === 0) throw new FileFormatError(file, 'empty file: no header row');
  const columns = rows[0]!.fields;
  const textIndex = columnIndex(file, columns, 'text', options.textColumn);
  const labelIndex = columnIndex(file, columns, 'label', options.labelColumn);
  const pairIndex = columnIndex(file, columns, 'text pair', options.pairColumn);
  const labelIndices = checkLabelColumns(file, options)?.map((name) => columnIndex(file, columns, 'label', name));
  const texts: string[] = [];
  const labels: string[] | undefined = labelIndex >= 0 ? [] : undefined;
  const pairs: string[] | undefined = pairIndex >= 0 ? [] : undefined;
  const labelRows: string[][] | undefined = labelIndices ? [] : undefined;
  const lines: number[] = [];
  for (let r = 1; r < rows.length; r++) {
    const { fields: row, line } = rows[r]!;
    if (row.length !== columns.length) {
      throw new FileFormatError(file, `line ${line}: data row ${r} has ${row.length} fields, the header has ${columns.length}`);
    }
    texts.push(row[textIndex]!);
    labels?.push(row[labelIndex]!);
    pairs?.push(row[pairIndex]!);
    labelRows?.push(labelIndices!.map((index) => row[index]!));
    lines.push(line);
  }
  return { file, columns, texts, labels, ...(pairs ? { pairs } : {}), ...(labelRows ? { labelRows } : {}), lines };
}

/** A JSONL value as a label string: strings as they are, other JSON values as JSON text (`1`, `true`). */
function labelText(file: string, fields: Record<string, unknown>, column: string, line: number): string {
  const label = fields[column];
  if (label === undefined || label === null) throw missingColumnError(file, 'label', column, Object.keys(fields), line);
  return typeof label === 'string' ? label : JSON.stringify(label);
}

function fromJsonLines(file: string, text: string, options: ReadTableOptions): Table {
  const texts: string[] = [];
  const labels: string[] | undefined = options.labelColumn !== undefined ? [] : undefined;
  const pairs: string[] | undefined = options.pairColumn !== undefined ? [] : undefined;
  const labelColumns = checkLabelColumns(file, options);
  const labelRows: string[][] | undefined = labelColumns ? [] : undefined;
  const lines: number[] = [];
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const { fields, line } of parseJsonLines(text, file)) {
    for (const key of Object.keys(fields)) if (!seen.has(key)) (seen.add(key), columns.push(key));
    const value = fields[options.textColumn];
    if (typeof value !== 'string') {
      if (value === undefined) throw missingColumnError(file, 'text', options.textColumn, Object.keys(fields), line);
      throw new FileFormatError(file, `line ${line}: text column ${JSON.stringify(options.textColumn)} is not a string`);
    }
    texts.push(value);
    if (pairs !== undefined) {
      const pair = fields[options.pairColumn!];
      if (pair === undefined) throw missingColumnError(file, 'text pair', options.pairColumn!, Object.keys(fields), line);
      if (typeof pair !== 'string') throw new FileFormatError(file, `line ${line}: text pair column ${JSON.stringify(options.pairColumn)} is not a string`);
      pairs.push(pair);
    }
    labels?.push(labelText(file, fields, options.labelColumn!, line));
    labelRows?.push(labelColumns!.map((column) => labelText(file, fields, column, line)));
    lines.push(line);
  }
  if (texts.length === 0) throw new FileFormatError(file, 'no records');
  return { file, columns, texts, labels, ...(pairs ? { pairs } : {}), ...(labelRows ? { labelRows } : {}), lines };
}

/**
 * Reads the text (and label) column of a CSV, TSV or JSONL file; the format comes from
 * the extension unless `options.format` says otherwise. Async; throws `FileFormatError`
 * naming the file when it is missing, has an unknown extension, is not valid UTF-8 (with
 * the offset and line of the first bad byte and an iconv command), is malformed (with the
 * line), has a row with the wrong number of fields (with its line), or lacks a requested
 * column (the message lists the columns that exist), or when `labelColumns` is empty or
 * names a column twice.
 */
export async function readTable(file: string, options: ReadTableOptions): Promise<Table> {
  const format = formatOf(file, options.format);
  const text = await readTextFile(file);
  if (format === 'jsonl') return fromJsonLines(file, text, options);
  return fromRows(file, format === 'csv' ? parseCsvRecords(text, file) : parseTsvRecords(text), options);
}
