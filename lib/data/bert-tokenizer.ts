/**
 * `BertTokenizer`: Hugging Face's BERT tokenization in TypeScript, token for token.
 *
 *     const tok = await BertTokenizer.fromPretrained('models/bert-base-greek-uncased-v1');
 *     const { inputIds, attentionMask } = tok.encode('Καλημέρα!', undefined, { maxLength: 128, padding: 'max_length' });
 *     const batch = tok.encodeBatch(texts, { maxLength: 128 }); // Int32Array slabs [N, 128]
 *
 * Pipeline: special tokens are cut out of the raw text first and never split; the rest
 * goes through `BasicTokenizer` (clean, CJK split, lowercase/strip accents, punctuation
 * split) and greedy WordPiece; then `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`,
 * truncation (longest first for pairs) and padding with `[PAD]`.
 */
import path from 'node:path';

import {
  type BertTokenizerSettings,
  DEFAULT_SPECIAL_TOKENS,
  type SpecialTokens,
  readTokenizerSettings,
  readVocabFile,
  writeTokenizerSettings,
  writeVocabFile,
} from '../io/hf-tokenizer-files.js';
import { type AlignedWord, BasicTokenizer, type HfImplementation } from './basic-tokenizer.js';
import { type EncodedBatch, type TextEncoding, type TextTokenizer, type WordsEncoding, checkEncodeArguments, longestFirstLengths } from './tokenizer.js';
import { CONTINUATION_PREFIX, type Vocabulary, WordPiece, vocabularyFromTokens } from './wordpiece.js';

export type { EncodedBatch } from './tokenizer.js';

/** Construction options; defaults are those of `transformers.BertTokenizer`. */
export interface BertTokenizerOptions {
  /** Lowercase the input (uncased models). Default `true`. */
  doLowerCase?: boolean;
  /** Strip accents; `null`/`undefined` = same as `doLowerCase`. */
  stripAccents?: boolean | null;
  /** Split CJK ideographs into single-character words. Default `true`. */
  tokenizeChineseChars?: boolean;
  /**
   * Which HF implementation to match token for token (see `HfImplementation`): `'fast'`
   * (default) = transformers 5 `BertTokenizer` / any fast tokenizer; `'legacy'` = the
   * pure-Python `BertTokenizerLegacy` (transformers 4 slow `BertTokenizer`).
   */
  implementation?: HfImplementation;
  /** Words longer than this (code points) become `[UNK]`. Default 100. */
  maxInputCharsPerWord?: number;
  /** Special token strings; default BERT's. */
  specialTokens?: Partial<SpecialTokens>;
  /** Default `maxLength` for `encode`/`encodeBatch` (HF `model_max_length`). */
  modelMaxLength?: number;
}

/** How `encode` shapes its output. */
export interface EncodeOptions {
  /** Total length including special tokens. Default: the tokenizer's `modelMaxLength`. */
  maxLength?: number;
  /** `'max_length'` pads with `[PAD]` to `maxLength`; `'none'` (default) does not pad. */
  padding?: 'max_length' | 'none';
  /** Cut to `maxLength` (longest first for pairs). Default `true` when a max length is known. */
  truncation?: boolean;
}

/** One encoded example, as `transformers` returns it (plain arrays of numbers). */
export interface Encoding {
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
}

/** Tokens of one text with their UTF-16 offsets and word indices (no special tokens added). */
interface AlignedTokens {
  ids: number[];
  offsets: [number, number][];
  words: number[];
}

/*
 * Truncation of token id sequences to a budget with Hugging Face's `longest_first`
 * strategy. Both implementations first cut the longer sequence down to the shorter one
 * (or to what the budget leaves after the shorter one), then share the budget equally;
 * they differ only in who gets the odd token when the budget is odd and both sequences
 * are cut:
 * - fast (Rust `tokenizers`): the longer sequence, the second one on ties;
 * - legacy (Python `truncate_sequences`): always the first sequence.
 */
/** Kept lengths of the legacy (Python) rule for lengths `a`, `b` over `budget` (a + b > budget). */
function legacyLengths(a: number, b: number, budget: number): [number, number] {
  const excess = a + b - budget;
  const unequal = Math.min(Math.abs(a - b), excess);
  const shared = excess - unequal;
  const half = Math.floor(shared / 2);
  if (a > b) return [a - unequal - half, b - (shared - half)];
  return [a - half, b - unequal - (shared - half)];
}

/**
 * Cuts `first` (and `second`, when given) from the end so that together they hold at
 * most `budget` tokens, as `implementation` does. Returns new arrays (or the inputs when
 * they already fit). Synchronous; throws `RangeError` when `budget` is negative.
 */
export function truncatePair(
  first: number[],
  second: number[] | undefined,
  budget: number,
  implementation: HfImplementation,
): [number[], number[] | undefined] {
  if (budget < 0) throw new RangeError(`truncatePair: negative budget ${budget}`);
  if (second === undefined) {
    return [first.length > budget ? first.slice(0, budget) : first, undefined];
  }
  if (first.length + second.length <= budget) return [first, second];
  const lengths = implementation === 'fast' ? longestFirstLengths : legacyLengths;
  const [keepFirst, keepSecond] = lengths(first.length, second.length, budget);
  return [first.slice(0, keepFirst), second.slice(0, keepSecond)];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * BERT WordPiece tokenizer identical to Hugging Face's `BertTokenizer`. All methods are
 * synchronous except the `from*` factories and `save`; as a `TextTokenizer` its encode methods
 * return values, not Promises.
 */
export class BertTokenizer implements TextTokenizer {
  /** The model kind (`TextTokenizer`). */
  readonly kind = 'wordpiece' as const;
  /** BERT returns `token_type_ids` (`TextTokenizer`). */
  readonly hasTokenTypeIds = true;
  /** The vocabulary (`tokens[id]`, `ids.get(token)`). */
  readonly vocabulary: Vocabulary;
  /** The special token strings. */
  readonly specialTokens: Readonly<SpecialTokens>;
  /** Id of the classification token (`[CLS]`), first of every encoding. */
  readonly clsId: number;
  /** Id of the separator token (`[SEP]`), after each sequence. */
  readonly sepId: number;
  /** Id of the padding token (`[PAD]`). */
  readonly padId: number;
  /** Id of the unknown token (`[UNK]`). */
  readonly unkId: number;
  /** Id of the mask token (`[MASK]`), when the vocabulary has one. */
  readonly maskId: number | undefined;
  /** Default max length (HF `model_max_length`), if known. */
  readonly modelMaxLength: number | undefined;
  /** The HF implementation this tokenizer reproduces. */
  readonly implementation: HfImplementation;
  /** The effective settings, as written back to `tokenizer_config.json`. */
  readonly settings: Readonly<BertTokenizerSettings>;

  private readonly basic: BasicTokenizer;
  private readonly wordPiece: WordPiece;
  private readonly specialPattern: RegExp | undefined;

  /**
   * Builds a tokenizer over `tokens` (in id order). Synchronous; throws `Error` when the
   * vocabulary lacks the unknown, CLS, SEP or PAD token, naming the missing ones.
   */
  constructor(tokens: readonly string[], options: BertTokenizerOptions = {}) {
    this.vocabulary = vocabularyFromTokens(tokens);
    const special: SpecialTokens = { ...DEFAULT_SPECIAL_TOKENS, ...options.specialTokens };
    this.specialTokens = special;
    const ids = this.vocabulary.ids;
    const required = [special.unkToken, special.clsToken, special.sepToken, special.padToken];
    const missing = required.filter((token) => !ids.has(token));
    if (missing.length > 0) throw new Error(`BertTokenizer: vocabulary lacks ${missing.join(', ')}`);
    this.unkId = ids.get(special.unkToken)!;
    this.clsId = ids.get(special.clsToken)!;
    this.sepId = ids.get(special.sepToken)!;
    this.padId = ids.get(special.padToken)!;
    this.maskId = ids.get(special.maskToken);
    this.modelMaxLength = options.modelMaxLength;
    const doLowerCase = options.doLowerCase ?? true;
    this.implementation = options.implementation ?? 'fast';
    this.settings = {
      doLowerCase,
      stripAccents: options.stripAccents ?? null,
      tokenizeChineseChars: options.tokenizeChineseChars ?? true,
      modelMaxLength: options.modelMaxLength,
      special,
    };
    this.basic = new BasicTokenizer({
      doLowerCase,
      stripAccents: options.stripAccents ?? undefined,
      tokenizeChineseChars: this.settings.tokenizeChineseChars,
      implementation: this.implementation,
    });
    this.wordPiece = new WordPiece(this.vocabulary, this.unkId, options.maxInputCharsPerWord ?? 100);
    const never = [special.unkToken, special.sepToken, special.padToken, special.clsToken, special.maskToken];
    const neverSplit = [...new Set([...never, ...special.additional])].filter((token) => token.length > 0);
    neverSplit.sort((a, b) => b.length - a.length);
    this.specialPattern =
      neverSplit.length > 0 ? new RegExp(neverSplit.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /**
   * Reads a `vocab.txt` and builds a tokenizer with `options`. Async; throws
   * `FileFormatError` naming the file when it is missing or lacks a required special token.
   */
  static async fromVocabFile(vocabFile: string, options: BertTokenizerOptions = {}): Promise<BertTokenizer> {
    const special = { ...DEFAULT_SPECIAL_TOKENS, ...options.specialTokens };
    const tokens = await readVocabFile(vocabFile, [special.unkToken, special.clsToken, special.sepToken, special.padToken]);
    return new BertTokenizer(tokens, options);
  }

  /**
   * Loads the tokenizer of a Hugging Face model directory: `vocab.txt` plus the optional
   * `tokenizer_config.json` and `special_tokens_map.json` (missing or `{}` = uncased with
   * accent stripping). `overrides` win over the files. Async; throws `FileFormatError`
   * naming the file that is missing or malformed.
   */
  static async fromPretrained(dir: string, overrides: BertTokenizerOptions = {}): Promise<BertTokenizer> {
    const settings = await readTokenizerSettings(dir);
    return BertTokenizer.fromVocabFile(path.join(dir, 'vocab.txt'), {
      doLowerCase: settings.doLowerCase,
      stripAccents: settings.stripAccents,
      tokenizeChineseChars: settings.tokenizeChineseChars,
      modelMaxLength: settings.modelMaxLength,
      ...overrides,
      specialTokens: { ...settings.special, ...overrides.specialTokens },
    });
  }

  /** Number of entries of the vocabulary (lines of `vocab.txt`): the id space. */
  get vocabSize(): number {
    return this.vocabulary.tokens.length;
  }

  /** Special tokens around one text (`[CLS] A [SEP]`: 2) or a pair (`[CLS] A [SEP] B [SEP]`: 3). Sync; never throws. */
  specialTokenCount(pair: boolean): number {
    return pair ? 3 : 2;
  }

  /**
   * Token ids of `text` without special tokens, truncation or padding. Synchronous;
   * never throws.
   */
  tokenizeToIds(text: string): number[] {
    const ids: number[] = [];
    const words: string[] = [];
    const appendSegment = (segment: string): void => {
      words.length = 0;
      this.basic.splitWords(segment, words);
      for (const word of words) this.wordPiece.appendIds(word, ids);
    };
    const pattern = this.specialPattern;
    if (pattern === undefined) {
      appendSegment(text);
      return ids;
    }
    pattern.lastIndex = 0;
    let last = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      if (match.index > last) appendSegment(text.slice(last, match.index));
      ids.push(this.vocabulary.ids.get(match[0]) ?? this.unkId);
      last = match.index + match[0].length;
    }
    if (last < text.length) appendSegment(last === 0 ? text : text.slice(last));
    return ids;
  }

  /**
   * The WordPiece tokens of `text` (as `transformers`' `tokenize`). Synchronous; never throws.
   */
  tokenize(text: string): string[] {
    return this.tokenizeToIds(text).map((id) => this.vocabulary.tokens[id]!);
  }

  /** Token strings of ids (unknown ids give the unknown token). Synchronous; never throws. */
  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.vocabulary.tokens[id] ?? this.specialTokens.unkToken);
  }

  /**
   * Encodes one text or a text pair as `[CLS] A [SEP] (B [SEP])`, truncated and padded
   * per `options`. Synchronous; throws `RangeError` when `maxLength` cannot hold the
   * special tokens (less than 2 for a text, 3 for a pair) or padding is asked without a
   * max length.
   */
  encode(text: string, pair?: string, options: EncodeOptions = {}): Encoding {
    const maxLength = options.maxLength ?? this.modelMaxLength;
    const truncation = options.truncation ?? maxLength !== undefined;
    const padding = options.padding ?? 'none';
    if (padding === 'max_length' && maxLength === undefined) {
      throw new RangeError("BertTokenizer.encode: padding 'max_length' needs maxLength");
    }
    let first = this.tokenizeToIds(text);
    let second = pair === undefined ? undefined : this.tokenizeToIds(pair);
    const specials = second === undefined ? 2 : 3;
    if (truncation && maxLength !== undefined) {
      if (maxLength < specials) {
        throw new RangeError(`BertTokenizer.encode: maxLength ${maxLength} leaves no room for ${specials} special tokens`);
      }
      [first, second] = truncatePair(first, second, maxLength - specials, this.implementation);
    }
    const inputIds = [this.clsId, ...first, this.sepId];
    const tokenTypeIds = new Array<number>(inputIds.length).fill(0);
    if (second !== undefined) {
      for (const id of second) inputIds.push(id);
      inputIds.push(this.sepId);
      for (let i = 0; i <= second.length; i++) tokenTypeIds.push(1);
    }
    const attentionMask = new Array<number>(inputIds.length).fill(1);
    if (padding === 'max_length') {
      while (inputIds.length < maxLength!) {
        inputIds.push(this.padId);
        tokenTypeIds.push(0);
        attentionMask.push(0);
      }
    }
    return { inputIds, tokenTypeIds, attentionMask };
  }

  /**
   * Encodes many texts (or pairs, when `pairs` is given) into `[N, maxLength]` Int32Array
   * slabs, truncated and padded to exactly `maxLength`. Synchronous; throws `RangeError`
   * when `pairs` has another length than `texts`, or as `encode`.
   */
  encodeBatch(
    texts: readonly string[],
    options: { maxLength?: number; pairs?: readonly string[] } = {},
  ): EncodedBatch {
    const seqLen = options.maxLength ?? this.modelMaxLength;
    if (seqLen === undefined) throw new RangeError('BertTokenizer.encodeBatch: needs maxLength');
    if (options.pairs !== undefined && options.pairs.length !== texts.length) {
      throw new RangeError(
        `BertTokenizer.encodeBatch: ${texts.length} texts but ${options.pairs.length} pairs`,
      );
    }
    const batchSize = texts.length;
    const inputIds = new Int32Array(batchSize * seqLen).fill(this.padId);
    const tokenTypeIds = new Int32Array(batchSize * seqLen);
    const attentionMask = new Int32Array(batchSize * seqLen);
    const lengths = new Int32Array(batchSize);
    for (let row = 0; row < batchSize; row++) {
      const encoding = this.encode(texts[row]!, options.pairs?.[row], { maxLength: seqLen, truncation: true });
      const offset = row * seqLen;
      inputIds.set(encoding.inputIds, offset);
      tokenTypeIds.set(encoding.tokenTypeIds, offset);
      attentionMask.fill(1, offset, offset + encoding.inputIds.length);
      lengths[row] = encoding.inputIds.length;
    }
    return { inputIds, tokenTypeIds, attentionMask, lengths, batchSize, seqLen };
  }

  /** Tokens of `text` with their UTF-16 offsets and word indices, as the Rust BERT pipeline aligns them. */
  private alignedTokens(text: string): AlignedTokens {
    const out: AlignedTokens = { ids: [], offsets: [], words: [] };
    const words: AlignedWord[] = [];
    let word = 0;
    const appendSegment = (start: number, end: number): void => {
      words.length = 0;
      this.basic.splitWordsAligned(text.slice(start, end), start, words);
      const ids: number[] = [];
      for (const aligned of words) {
        ids.length = 0;
        this.wordPiece.appendIds(aligned.text, ids);
        // Pieces are substrings of the word; an unknown word is one piece spanning all of it.
        const lengths = ids.map((id, k) => this.vocabulary.tokens[id]!.length - (k > 0 ? CONTINUATION_PREFIX.length : 0));
        const whole = lengths.reduce((a, b) => a + b, 0) !== aligned.text.length;
        let at = 0;
        ids.forEach((id, k) => {
          const from = whole ? 0 : at;
          const to = whole ? aligned.text.length : at + lengths[k]!;
          out.ids.push(id);
          out.offsets.push([aligned.starts[from]!, aligned.ends[to - 1]!]);
          out.words.push(word);
          at = to;
        });
        word++;
      }
    };
    let last = 0;
    const pattern = this.specialPattern;
    if (pattern !== undefined) {
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        if (match.index > last) appendSegment(last, match.index);
        out.ids.push(this.vocabulary.ids.get(match[0]) ?? this.unkId);
        out.offsets.push([match.index, match.index + match[0].length]);
        out.words.push(word++);
        last = match.index + match[0].length;
      }
    }
    if (last < text.length) appendSegment(last, text.length);
    return out;
  }

  /**
   * One text (or pair) with UTF-16 offsets into its own text, word indices and sequence ids,
   * identical to Hugging Face's fast `BertTokenizer` (`return_offsets_mapping=True`,
   * `word_ids()`, `sequence_ids()`), truncated to `maxLength`, not padded. Synchronous; throws
   * `RangeError` when `maxLength` cannot hold the special tokens, `Error` for the 'legacy'
   * implementation (Python's slow tokenizer has no offsets).
   */
  encodeWithOffsets(text: string, options: { maxLength: number; pair?: string }): TextEncoding {
    const { maxLength, pair } = options;
    checkEncodeArguments('BertTokenizer.encodeWithOffsets', maxLength, this.specialTokenCount(pair !== undefined));
    if (this.implementation !== 'fast') {
      throw new Error("BertTokenizer.encodeWithOffsets: offsets need implementation 'fast' (Python's slow tokenizer has none)");
    }
    const first = this.alignedTokens(text);
    const second = pair === undefined ? undefined : this.alignedTokens(pair);
    const [keptFirst, keptSecond] = truncatePair(first.ids, second?.ids, maxLength - this.specialTokenCount(pair !== undefined), 'fast');
    const result: TextEncoding = { inputIds: [this.clsId], tokenTypeIds: [0], offsets: [[0, 0]], wordIds: [null], sequenceIds: [null] };
    const append = (tokens: AlignedTokens, count: number, sequence: number): void => {
      for (let i = 0; i < count; i++) {
        result.inputIds.push(tokens.ids[i]!);
        result.tokenTypeIds.push(sequence);
        result.offsets.push(tokens.offsets[i]!);
        result.wordIds.push(tokens.words[i]!);
        result.sequenceIds.push(sequence);
      }
      result.inputIds.push(this.sepId);
      result.tokenTypeIds.push(sequence);
      result.offsets.push([0, 0]);
      result.wordIds.push(null);
      result.sequenceIds.push(null);
    };
    append(first, keptFirst.length, 0);
    if (second !== undefined) append(second, keptSecond!.length, 1);
    return result;
  }

  /**
   * Pre-split words (Hugging Face `is_split_into_words=True`: each word tokenized on its own),
   * with the word index of each token, truncated to `maxLength`, not padded. Synchronous; throws
   * `RangeError` when `maxLength` is below 2.
   */
  encodeWords(words: readonly string[], options: { maxLength: number }): WordsEncoding {
    const { maxLength } = options;
    checkEncodeArguments('BertTokenizer.encodeWords', maxLength, 2);
    const inputIds = [this.clsId];
    const wordIds: (number | null)[] = [null];
    const budget = maxLength - 2;
    let truncatedWords = 0;
    let emptyWords = 0;
    words.forEach((word, index) => {
      const ids = this.tokenizeToIds(word);
      if (ids.length === 0) emptyWords++;
      else if (inputIds.length - 1 >= budget) truncatedWords++;
      for (const id of ids) {
        if (inputIds.length - 1 >= budget) break;
        inputIds.push(id);
        wordIds.push(index);
      }
    });
    inputIds.push(this.sepId);
    wordIds.push(null);
    return { inputIds, tokenTypeIds: new Array<number>(inputIds.length).fill(0), wordIds, truncatedWords, emptyWords };
  }

  /**
   * Writes `vocab.txt`, `tokenizer_config.json` and `special_tokens_map.json` into `dir`, as
   * `transformers.BertTokenizer` reads them. Async; rejects with the file system's error.
   */
  async save(dir: string): Promise<void> {
    await writeVocabFile(path.join(dir, 'vocab.txt'), this.vocabulary.tokens);
    await writeTokenizerSettings(dir, this.settings);
  }
}
