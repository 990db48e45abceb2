/**
 * Dataset readers: a text column and an optional label column out of a CSV, TSV or JSONL
 * file.
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
}

/**
 * Parses RFC 4180 CSV text into rows of fields. Synchronous; throws `FileFormatError`
 * naming `file` and the line when a quoted field is never closed or a closing quote is
 * followed by something other than a comma or line break.
 */
export function parseCsv(text: string, file: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let rowHasContent = false;
  while (i < n) {
    const c = text[i]!;
    if (c === '"' && field.length === 0) {
      const startLine = line;
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
      row.push(field);
      field = '';
      rowHasContent = true;
      i++;
    } else if (c === '\n' || c === '\r') {
      if (rowHasContent || field.length > 0) {
        row.push(field);
        rows.push(row);
      }
      row = [];
      field = '';
      rowHasContent = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    } else {
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
    rows.push(row);
  }
  return rows;
}

/**
 * Parses tab-separated text without any quoting: one row per line, fields split at
 * every tab, a trailing `\r` dropped, blank lines skipped. Synchronous; never throws.
 */
export function parseTsv(text: string): string[][] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: string[][] = [];
  for (const rawLine of body.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.length > 0) rows.push(line.split('\t'));
  }
  return rows;
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

function fromRows(file: string, rows: string[][], options: ReadTableOptions): Table {
  if (rows.length === 0) throw new FileFormatError(file, 'empty file: no header row');
  const columns = rows[0]!;
  const textIndex = columns.indexOf(options.textColumn);
  if (textIndex < 0) throw missingColumnError(file, 'text', options.textColumn, columns);
  let labelIndex = -1;
  if (options.labelColumn !== undefined) {
    labelIndex = columns.indexOf(options.labelColumn);
    if (labelIndex < 0) throw missingColumnError(file, 'label', options.labelColumn, columns);
  }
  let pairIndex = -1;
  if (options.pairColumn !== undefined) {
    pairIndex = columns.indexOf(options.pairColumn);
    if (pairIndex < 0) throw missingColumnError(file, 'text pair', options.pairColumn, columns);
  }
  const texts: string[] = [];
  const labels: string[] | undefined = labelIndex >= 0 ? [] : undefined;
  const pairs: string[] | undefined = pairIndex >= 0 ? [] : undefined;
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.length !== columns.length) {
      throw new FileFormatError(file, `data row ${r} has ${row.length} fields, the header has ${columns.length}`);
    }
    texts.push(row[textIndex]!);
    labels?.push(row[labelIndex]!);
    pairs?.push(row[pairIndex]!);
  }
  return { file, columns, texts, labels, ...(pairs ? { pairs } : {}) };
}

function fromJsonLines(file: string, text: string, options: ReadTableOptions): Table {
  const texts: string[] = [];
  const labels: string[] | undefined = options.labelColumn !== undefined ? [] : undefined;
  const pairs: string[] | undefined = options.pairColumn !== undefined ? [] : undefined;
  const columns: string[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
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
    const fields = record as Record<string, unknown>;
    for (const key of Object.keys(fields)) if (!seen.has(key)) (seen.add(key), columns.push(key));
    const value = fields[options.textColumn];
    if (typeof value !== 'string') {
      if (value === undefined) throw missingColumnError(file, 'text', options.textColumn, Object.keys(fields), index + 1);
      throw new FileFormatError(file, `line ${index + 1}: text column ${JSON.stringify(options.textColumn)} is not a string`);
    }
    texts.push(value);
    if (pairs !== undefined) {
      const pair = fields[options.pairColumn!];
      if (pair === undefined) throw missingColumnError(file, 'text pair', options.pairColumn!, Object.keys(fields), index + 1);
      if (typeof pair !== 'string') throw new FileFormatError(file, `line ${index + 1}: text pair column ${JSON.stringify(options.pairColumn)} is not a string`);
      pairs.push(pair);
    }
    if (labels !== undefined) {
      const label = fields[options.labelColumn!];
      if (label === undefined || label === null) {
        throw missingColumnError(file, 'label', options.labelColumn!, Object.keys(fields), index + 1);
      }
      labels.push(typeof label === 'string' ? label : JSON.stringify(label));
    }
  }
  if (texts.length === 0) throw new FileFormatError(file, 'no records');
  return { file, columns, texts, labels, ...(pairs ? { pairs } : {}) };
}

/**
 * Reads the text (and label) column of a CSV, TSV or JSONL file; the format comes from
 * the extension unless `options.format` says otherwise. Async; throws `FileFormatError`
 * naming the file when it is missing, has an unknown extension, is not valid UTF-8 (with
 * the offset and line of the first bad byte and an iconv command), is malformed (with the
 * line), has a row with the wrong number of fields, or lacks a requested column (the
 * message lists the columns that exist).
 */
export async function readTable(file: string, options: ReadTableOptions): Promise<Table> {
  const format = formatOf(file, options.format);
  const text = await readTextFile(file);
  if (format === 'jsonl') return fromJsonLines(file, text, options);
  return fromRows(file, format === 'csv' ? parseCsv(text, file) : parseTsv(text), options);
}
