/**
 * Greedy longest-match-first WordPiece over a BERT vocabulary, as in Hugging Face's
 * `WordpieceTokenizer` and the Rust `tokenizers` WordPiece model: a word is split into
 * the longest vocabulary entry that starts it, then the longest `##`-prefixed entry that
 * continues it, and so on; a word with an unmatched rest, or longer than
 * `maxInputCharsPerWord` code points, becomes the single unknown token.
 */

/** Prefix of vocabulary entries that continue a word. */
export const CONTINUATION_PREFIX = '##';

/** Words above this many cached entries clear the cache (bounded memory on huge corpora). */
const MAX_CACHED_WORDS = 200_000;

/**
 * A vocabulary: `tokens[id]` is the string of an id; `ids` maps a string to its id (the
 * last line wins for duplicates, as in Python's `load_vocab`).
 */
export interface Vocabulary {
  readonly tokens: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
}

/**
 * Builds a `Vocabulary` from token strings in id order. Synchronous; never throws.
 */
export function vocabularyFromTokens(tokens: readonly string[]): Vocabulary {
  const ids = new Map<string, number>();
  tokens.forEach((token, id) => ids.set(token, id));
  return { tokens, ids };
}

function countCodePoints(word: string): number {
  let count = word.length;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) count--;
  }
  return count;
}

/**
 * WordPiece splitter with a per-word cache. Synchronous methods; never throws.
 */
export class WordPiece {
  private readonly wordStarts = new Map<string, number>();
  private readonly continuations = new Map<string, number>();
  private readonly longestStart: number;
  private readonly longestContinuation: number;
  private readonly cache = new Map<string, readonly number[]>();

  /**
   * @param vocabulary the vocabulary to split into.
   * @param unknownId id emitted for a word that cannot be split.
   * @param maxInputCharsPerWord words longer than this (in code points) are unknown.
   */
  constructor(
    vocabulary: Vocabulary,
    private readonly unknownId: number,
    private readonly maxInputCharsPerWord = 100,
  ) {
    let longestStart = 0;
    let longestContinuation = 0;
    for (const [token, id] of vocabulary.ids) {
      if (token.startsWith(CONTINUATION_PREFIX)) {
        const rest = token.slice(CONTINUATION_PREFIX.length);
        this.continuations.set(rest, id);
        longestContinuation = Math.max(longestContinuation, rest.length);
      }
      this.wordStarts.set(token, id);
      longestStart = Math.max(longestStart, token.length);
    }
    this.longestStart = longestStart;
    this.longestContinuation = longestContinuation;
  }

  /** Appends the piece ids of one normalized word to `out`. Synchronous; never throws. */
  appendIds(word: string, out: number[]): void {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = this.split(word);
      if (this.cache.size >= MAX_CACHED_WORDS) this.cache.clear();
      this.cache.set(word, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  private split(word: string): readonly number[] {
    if (word.length > this.maxInputCharsPerWord && countCodePoints(word) > this.maxInputCharsPerWord) {
      return [this.unknownId];
    }
    const pieces: number[] = [];
    let start = 0;
    while (start < word.length) {
      const table = start === 0 ? this.wordStarts : this.continuations;
      const longest = start === 0 ? this.longestStart : this.longestContinuation;
      let end = Math.min(word.length, start + longest);
      let id: number | undefined;
      // Ends that fall inside a surrogate pair yield strings no vocabulary holds.
      for (; end > start; end--) {
        id = table.get(word.slice(start, end));
        if (id !== undefined) break;
      }
      if (id === undefined) return [this.unknownId];
      pieces.push(id);
      start = end;
    }
    return pieces;
  }
}
