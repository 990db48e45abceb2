/**
 * Token-classification data (named entities, part-of-speech tags): sentences as words with one
 * tag per word, read from
 * - CoNLL files (`readConll`): one token per line, the word in the first whitespace-separated
 *   column and the tag in the LAST one (CoNLL-2003's `EU NNP B-NP B-ORG`, or just `EU B-ORG`),
 *   blank lines between sentences, `-DOCSTART-` lines skipped;
 * - JSONL files (`readTokenTable`): one sentence per line, its words and tags as arrays of
 *   strings in two named fields (`--tokens-column`, `--tags-column`), as Hugging Face data sets
 *   are saved with `to_json`.
 * `readTokenData` picks one by the file's extension. All read strict UTF-8 (a leading byte order
 * mark is ignored) and name the file and line of every problem.
 *
 *     const data = await readConll('train.conll');
 *     data.sentences[0]; // { words: ['EU', 'rejects', ...], tags: ['B-ORG', 'O', ...], line: 3 }
 */
import path from 'node:path';

import { FileFormatError, readTextFile } from '../io/files.js';
import { parseJsonLines } from './tables.js';

/** A sentence without tags (data to predict on). */
export interface TokenSentence {
  /** The words, in order (never empty). */
  words: string[];
  /**
   * 1-based line of the sentence in its file: for CoNLL the line of its first word (word `k`
   * is on line `line + k`), for JSONL the line of its record.
   */
  line: number;
}

/** A sentence with one tag per word. */
export interface TaggedSentence extends TokenSentence {
  /** `tags[k]` is the tag of `words[k]`; as many as `words`. */
  tags: string[];
}

/** The sentences of one file. */
export interface TokenTable<S extends TokenSentence = TaggedSentence> {
  file: string;
  /** `conll`: one word per line; `jsonl`: one sentence per line (see {@link TokenSentence.line}). */
  format: TokenFormat;
  sentences: S[];
}

/** The file formats of token-classification data. */
export type TokenFormat = 'conll' | 'jsonl';

/**
 * Python's `str.split()` whitespace (`str.isspace`): what separates the columns of a CoNLL
 * line, so that a file splits here exactly as `line.split()` splits it in Python.
 */
const WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** The first line of a CoNLL-2003 document, not a token. */
const DOCSTART = '-DOCSTART-';

/** Splits a line into its whitespace-separated columns, as Python's `line.split()`. */
function columnsOf(line: string): string[] {
  const columns = line.split(WHITESPACE);
  if (columns[0] === '') columns.shift();
  if (columns.length > 0 && columns[columns.length - 1] === '') columns.pop();
  return columns;
}

/**
 * Parses CoNLL text (see the module comment): a sentence is a run of non-blank lines; a blank
 * (or whitespace-only) line or a `-DOCSTART-` line ends it; lines end with LF, CRLF or CR.
 * Synchronous; throws `FileFormatError` naming `file` and the line when a line has a single
 * column (no tag), when a line has another number of columns than the first line of its
 * sentence, and when the text holds no sentence at all.
 */
export function parseConll(text: string, file: string): TokenTable {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split(/\r\n|\r|\n/);
  const sentences: TaggedSentence[] = [];
  let current: TaggedSentence | undefined;
  let width = 0;
  let docstarts = 0;
  for (let index = 0; index < lines.length; index++) {
    const columns = columnsOf(lines[index]!);
    const line = index + 1;
    if (columns.length === 0 || columns[0] === DOCSTART) {
      if (columns.length > 0) docstarts++;
      if (current) sentences.push(current);
      current = undefined;
      continue;
    }
    if (columns.length === 1) {
      throw new FileFormatError(
        file,
        `line ${line}: one column ${JSON.stringify(columns[0])}, no tag; a CoNLL line holds the word first and its tag last, separated by whitespace (a blank line ends a sentence)`,
      );
    }
    if (!current) {
      current = { words: [], tags: [], line };
      width = columns.length;
    } else if (columns.length !== width) {
      throw new FileFormatError(
        file,
        `line ${line}: ${columns.length} columns, but the sentence starting at line ${current.line} has ${width}; every line of a sentence needs the same columns (is a word or tag missing, or a word containing a space?)`,
      );
    }
    current.words.push(columns[0]!);
    current.tags.push(columns[columns.length - 1]!);
  }
  if (current) sentences.push(current);
  if (sentences.length === 0) {
    const holds = docstarts > 0 ? `only ${DOCSTART} and blank lines` : 'only blank lines';
    throw new FileFormatError(file, `no sentences: the file is empty or holds ${holds}; expected one "word ... tag" line per token`);
  }
  return { file, format: 'conll', sentences };
}

/**
 * Reads a CoNLL file (see {@link parseConll}). Async; throws `FileFormatError` naming the file
 * when it is missing or unreadable, is not valid UTF-8 (with the offset and line of the first
 * bad byte), and as {@link parseConll} (with the line).
 */
export async function readConll(file: string): Promise<TokenTable> {
  return parseConll(await readTextFile(file), file);
}

/** Which fields of a JSONL file hold the words and the tags. */
export interface TokenColumns {
  /** Field holding the words: an array of strings (`--tokens-column`). */
  tokensColumn: string;
  /** Field holding the tags: an array of strings as long as the words (`--tags-column`); omit for data without tags. */
  tagsColumn?: string;
}

function stringArray(file: string, fields: Record<string, unknown>, column: string, role: string, line: number): string[] {
  const value = fields[column];
  if (value === undefined) {
    const listed = Object.keys(fields).map((name) => JSON.stringify(name)).join(', ');
    throw new FileFormatError(file, `line ${line}: no ${role} column ${JSON.stringify(column)}; the columns are ${listed}`);
  }
  if (!Array.isArray(value)) throw new FileFormatError(file, `line ${line}: ${role} column ${JSON.stringify(column)} is not an array of strings`);
  for (let k = 0; k < value.length; k++) {
    if (typeof value[k] !== 'string') {
      const hint = role === 'tags' && typeof value[k] === 'number' ? ' (class ids need their tag names: write the names, e.g. "B-PER", not numbers)' : '';
      throw new FileFormatError(file, `line ${line}: ${role} column ${JSON.stringify(column)}: item ${k} is ${JSON.stringify(value[k])}, not a string${hint}`);
    }
  }
  return value as string[];
}

/**
 * Parses JSONL token data: one JSON object per non-blank line with the words (and tags) of one
 * sentence. Synchronous; throws `FileFormatError` naming `file` and the line for invalid JSON, a
 * missing field (listing the fields there are), a field that is not an array of strings, an
 * empty sentence, tags not as many as the words, and a file without records.
 */
export function parseTokenJsonLines(text: string, file: string, columns: TokenColumns & { tagsColumn: string }): TokenTable;
export function parseTokenJsonLines(text: string, file: string, columns: TokenColumns): TokenTable<TokenSentence>;
export function parseTokenJsonLines(text: string, file: string, columns: TokenColumns): TokenTable<TokenSentence> {
  const sentences: TokenSentence[] = [];
  for (const { fields, line } of parseJsonLines(text, file)) {
    const words = stringArray(file, fields, columns.tokensColumn, 'tokens', line);
    if (words.length === 0) throw new FileFormatError(file, `line ${line}: empty sentence: tokens column ${JSON.stringify(columns.tokensColumn)} is []`);
    if (columns.tagsColumn === undefined) {
      sentences.push({ words, line });
      continue;
    }
    const tags = stringArray(file, fields, columns.tagsColumn, 'tags', line);
    if (tags.length !== words.length) {
      throw new FileFormatError(file, `line ${line}: ${words.length} tokens but ${tags.length} tags; every token needs exactly one tag`);
    }
    sentences.push({ words, tags, line } as TaggedSentence);
  }
  if (sentences.length === 0) throw new FileFormatError(file, 'no records: the file is empty or holds only blank lines');
  return { file, format: 'jsonl', sentences };
}

/**
 * Reads a JSONL file of token data (see {@link parseTokenJsonLines}). Async; throws
 * `FileFormatError` naming the file when it is missing, unreadable or not UTF-8, and as
 * {@link parseTokenJsonLines} (with the line).
 */
export async function readTokenTable(file: string, columns: TokenColumns & { tagsColumn: string }): Promise<TokenTable>;
export async function readTokenTable(file: string, columns: TokenColumns): Promise<TokenTable<TokenSentence>>;
export async function readTokenTable(file: string, columns: TokenColumns): Promise<TokenTable<TokenSentence>> {
  return parseTokenJsonLines(await readTextFile(file), file, columns);
}

/** File extensions read as CoNLL by {@link readTokenData}. */
export const CONLL_EXTENSIONS: readonly string[] = ['.conll', '.iob', '.iob2', '.bio', '.txt'];

/** Options of {@link readTokenData}. */
export interface ReadTokenDataOptions extends Partial<TokenColumns> {
  /** Override the format that the file extension implies. */
  format?: TokenFormat;
}

/**
 * Reads tagged sentences from a CoNLL file (extensions in {@link CONLL_EXTENSIONS}) or a JSONL
 * file (`.jsonl`, `.ndjson`: `tokensColumn` and `tagsColumn` name its fields). Async; throws
 * `FileFormatError` naming the file for another extension, for JSONL without `tokensColumn` or
 * `tagsColumn`, and as {@link readConll} / {@link readTokenTable}.
 */
export async function readTokenData(file: string, options: ReadTokenDataOptions = {}): Promise<TokenTable> {
  const ext = path.extname(file).toLowerCase();
  const format = options.format ?? (CONLL_EXTENSIONS.includes(ext) ? 'conll' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : undefined);
  if (format === undefined) {
    throw new FileFormatError(file, `unknown token data format ${JSON.stringify(ext)} (expected CoNLL: ${CONLL_EXTENSIONS.join(', ')}; or JSONL: .jsonl, .ndjson)`);
  }
  if (format === 'conll') return readConll(file);
  const { tokensColumn, tagsColumn } = options;
  if (tokensColumn === undefined || tagsColumn === undefined) {
    throw new FileFormatError(file, 'JSONL token data needs the fields of the words and of the tags: give --tokens-column and --tags-column (options tokensColumn, tagsColumn)');
  }
  return readTokenTable(file, { tokensColumn, tagsColumn });
}
