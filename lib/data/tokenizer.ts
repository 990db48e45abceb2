/**
 * `TextTokenizer`: the one tokenizer interface every consumer (Trainer, predict, serve) uses,
 * whatever the model directory holds. Two implementations:
 * - `BertTokenizer` (our WordPiece, for directories with only `vocab.txt`, e.g. nlpaueb's Greek BERT);
 * - `HfTokenizer` (a Hugging Face `tokenizer.json`, WordPiece / byte-level BPE / Unigram, run by
 *   the official `tokenizers` package).
 * `loadTokenizer(dir)` (load-tokenizer.ts) picks one.
 *
 * Sync or async: the `tokenizers` package encodes only asynchronously (on libuv's thread pool),
 * so the encode methods return `Awaitable<T>`: `BertTokenizer` returns the value itself,
 * `HfTokenizer` a Promise. Always `await` them through this interface.
 *
 * Offsets are UTF-16 code unit indices into the JavaScript string (`text.slice(start, end)` is
 * the token's source text). Python's offsets count code points; the two agree on text without
 * characters outside the Basic Multilingual Plane (emoji), and the parity tests convert.
 */

/** The model of a tokenizer: greedy WordPiece, BPE (byte-level or not), or Unigram (SentencePiece). */
export type TokenizerKind = 'wordpiece' | 'bpe' | 'unigram';

/** A value, or a Promise of it: what the encode methods return (await it). */
export type Awaitable<T> = T | Promise<T>;

/** A batch as row-major `[batchSize, seqLen]` Int32Array slabs, ready for a device. */
export interface EncodedBatch {
  /** Token ids; padding positions hold the tokenizer's `padId`. */
  inputIds: Int32Array;
  /**
   * Segment ids (0 for the first text, 1 for the pair where the tokenizer's template says so);
   * all 0 when the Hugging Face tokenizer does not return `token_type_ids` (RoBERTa, XLM-R,
   * DistilBERT: `hasTokenTypeIds` false), since the model then sees zeros.
   */
  tokenTypeIds: Int32Array;
  /** 1 on real tokens (special tokens included), 0 on padding. */
  attentionMask: Int32Array;
  /** Real (unpadded, truncated) length of each row: the number of 1s in its attention mask. */
  lengths: Int32Array;
  batchSize: number;
  seqLen: number;
}

/** One text (or pair) encoded with where each token comes from; not padded. */
export interface TextEncoding {
  /** Token ids, special tokens included, truncated to `maxLength`. */
  inputIds: number[];
  /** Segment ids, as `EncodedBatch.tokenTypeIds` (all 0 when `hasTokenTypeIds` is false). */
  tokenTypeIds: number[];
  /**
   * `[start, end)` UTF-16 offsets of each token in its own text (the pair's tokens index the
   * pair); `[0, 0]` for special tokens added by the template.
   */
  offsets: [number, number][];
  /** Index of the word (pre-tokenizer split) of each token within its text; null for added special tokens. */
  wordIds: (number | null)[];
  /** 0 for tokens of the text, 1 for tokens of the pair, null for added special tokens. */
  sequenceIds: (number | null)[];
}

/** Pre-split words encoded for token classification; not padded. */
export interface WordsEncoding {
  /** Token ids, special tokens included, truncated to `maxLength`. */
  inputIds: number[];
  /** Segment ids (all 0 for one sequence). */
  tokenTypeIds: number[];
  /** Index into the input words of each token; null for special tokens. */
  wordIds: (number | null)[];
  /** Words that produced tokens but lost all of them to truncation (they get no prediction). */
  truncatedWords: number;
  /** Words that produced no token at all (empty, or only characters the tokenizer drops). */
  emptyWords: number;
}

/** Options of `encodeBatch`. */
export interface EncodeBatchOptions {
  /** Row length: every row is truncated (longest first for pairs) and padded to exactly this. */
  maxLength: number;
  /** Second texts, one per text (sentence pairs); same length as `texts`. */
  pairs?: readonly string[];
}

/**
 * What the rest of pjrt-bert needs from a tokenizer. Every encode method truncates as Hugging
 * Face's tokenizer does with `truncation=True, max_length=maxLength` (longest first for pairs)
 * and throws `RangeError` when `maxLength` cannot hold the special tokens.
 */
export interface TextTokenizer {
  /** The model kind, for the model family to compare with the one it expects. */
  readonly kind: TokenizerKind;
  /** Size of the id space (largest id + 1, added tokens included), to compare with the embeddings. */
  readonly vocabSize: number;
  /** Id used to pad rows. */
  readonly padId: number;
  /** Hugging Face `model_max_length`, when the directory gives a sane one (below 1e9). */
  readonly modelMaxLength?: number;
  /** Whether Hugging Face's tokenizer returns `token_type_ids` (BERT, ELECTRA: yes; RoBERTa, XLM-R, DistilBERT: no). */
  readonly hasTokenTypeIds: boolean;

  /** Number of special tokens added around a single text (`pair` false) or a pair (2/3 for BERT, 2/4 for RoBERTa). Sync; never throws. */
  specialTokenCount(pair: boolean): number;

  /**
   * Encodes texts (or pairs) into `[N, maxLength]` slabs, truncated and padded as Hugging Face's
   * `tokenizer(texts, pairs, truncation=True, max_length=maxLength, padding='max_length')`.
   * Awaitable; throws (or rejects with) `RangeError` when `pairs` has another length than
   * `texts` or `maxLength` cannot hold the special tokens.
   */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions): Awaitable<EncodedBatch>;

  /**
   * One text (or pair) with offsets, word ids and sequence ids, for token classification and
   * span predictions. Awaitable; throws/rejects `RangeError` as `encodeBatch`.
   */
  encodeWithOffsets(text: string, options: { maxLength: number; pair?: string }): Awaitable<TextEncoding>;

  /**
   * Pre-split words (Hugging Face `is_split_into_words=True`), e.g. a CoNLL sentence: ids plus
   * the word index of each token. Awaitable; throws/rejects `RangeError` as `encodeBatch`.
   */
  encodeWords(words: readonly string[], options: { maxLength: number }): Awaitable<WordsEncoding>;

  /** Token strings of ids (an unknown id gives the unknown token, or '' without one). Sync; never throws. */
  convertIdsToTokens(ids: readonly number[]): string[];

  /**
   * Writes the tokenizer files into `dir` so that this tokenizer and `AutoTokenizer` load them
   * back identically. Async; rejects with the file system's error.
   */
  save(dir: string): Promise<void>;
}

/**
 * Kept lengths of a text pair of `a` and `b` tokens cut to `budget` tokens by Hugging Face's
 * `longest_first` rule, as the Rust `tokenizers` (Python 0.23.3, hence transformers) applies it:
 * when both fit nothing is cut; when the shorter fits in half the budget the longer takes the
 * rest; otherwise both get half and the longer sequence the odd token (the second on ties).
 * Sync; never throws.
 */
export function longestFirstLengths(a: number, b: number, budget: number): [number, number] {
  if (a + b <= budget) return [a, b];
  const shorter = Math.min(a, b);
  if (shorter <= budget - shorter) return a <= b ? [a, budget - a] : [budget - b, b];
  const half = Math.floor(budget / 2);
  const rest = budget - half;
  return a > b ? [rest, half] : [half, rest];
}

/**
 * Checks the shared preconditions of an encode call. Sync; throws `RangeError` naming `who`
 * when `maxLength` is not a positive integer, is below `specials`, or `pairs` has another
 * length than `texts`.
 */
export function checkEncodeArguments(who: string, maxLength: number, specials: number, texts?: number, pairs?: number): void {
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new RangeError(`${who}: maxLength must be a positive integer, got ${maxLength}`);
  }
  if (maxLength < specials) {
    throw new RangeError(`${who}: maxLength ${maxLength} leaves no room for ${specials} special tokens`);
  }
  if (texts !== undefined && pairs !== undefined && texts !== pairs) {
    throw new RangeError(`${who}: ${texts} texts but ${pairs} pairs`);
  }
}
