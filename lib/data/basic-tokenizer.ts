/**
 * BERT's "basic" tokenization: text cleaning, CJK splitting, whitespace splitting,
 * lowercasing and accent stripping, punctuation splitting. Its output words go to
 * WordPiece. Semantics follow Hugging Face's BERT tokenizers; see `HfImplementation` for
 * where the Rust-backed and the pure-Python implementations differ.
 */
/*
 * Character classes used by BERT's basic tokenization, computed once per code point and
 * cached in a flat table so the hot loop never runs a regular expression twice for the
 * same character.
 *
 * The definitions are those of Hugging Face's BERT tokenizers:
 * - dropped ("control"): NUL, U+FFFD and every code point of Unicode category C
 *   (Cc, Cf, Cs, Co, Cn) except tab, newline and carriage return;
 * - whitespace: space, tab, newline, carriage return, category Zs, and the line and
 *   paragraph separators U+2028/U+2029 (both implementations split words there);
 * - punctuation: the ASCII symbol ranges 33-47, 58-64, 91-96, 123-126 plus category P;
 * - CJK ideographs: the CJK Unified Ideographs blocks and their extensions, and the
 *   compatibility ideographs. The Rust `tokenizers` table starts extension E at U+2B920
 *   where the Python one starts at U+2B820; U+2B820-U+2B91F is flagged separately.
 * - nonspacing mark (category Mn): removed by accent stripping.
 */

/** Bit flag: the character is removed by text cleaning. */
const CHAR_DROPPED = 1;
/** Bit flag: the character separates words (it becomes a plain space). */
const CHAR_WHITESPACE = 2;
/** Bit flag: the character is punctuation and becomes a word of its own. */
const CHAR_PUNCTUATION = 4;
/** Bit flag: CJK ideograph in both the Python and the Rust tables. */
const CHAR_CJK = 8;
/** Bit flag: CJK ideograph in the Python table only (U+2B820-U+2B91F). */
const CHAR_CJK_PYTHON_ONLY = 16;
/** Bit flag: nonspacing mark (category Mn), removed when accents are stripped. */
const CHAR_NONSPACING_MARK = 32;
/** Bit that marks a table entry as computed (entries start at 0 = unknown). */
const CHAR_KNOWN = 128;

const OTHER_CATEGORY = /^\p{C}$/u;
const SPACE_SEPARATOR = /^\p{Zs}$/u;
const PUNCTUATION_CATEGORY = /^\p{P}$/u;
const NONSPACING_MARK = /^\p{Mn}$/u;

const table = new Uint8Array(0x110000);

function isAsciiSymbol(cp: number): boolean {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}

function isCjkInBothTables(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function computeClass(cp: number): number {
  if (cp === 9 || cp === 10 || cp === 13 || cp === 32 || cp === 0x2028 || cp === 0x2029) return CHAR_WHITESPACE;
  if (cp < 128) {
    if (cp < 32 || cp === 127) return CHAR_DROPPED;
    return isAsciiSymbol(cp) ? CHAR_PUNCTUATION : 0;
  }
  const ch = String.fromCodePoint(cp);
  if (cp === 0xfffd || (cp >= 0xd800 && cp <= 0xdfff) || OTHER_CATEGORY.test(ch)) return CHAR_DROPPED;
  if (SPACE_SEPARATOR.test(ch)) return CHAR_WHITESPACE;
  let flags = 0;
  if (PUNCTUATION_CATEGORY.test(ch)) flags |= CHAR_PUNCTUATION;
  if (NONSPACING_MARK.test(ch)) flags |= CHAR_NONSPACING_MARK;
  if (isCjkInBothTables(cp)) flags |= CHAR_CJK;
  else if (cp >= 0x2b820 && cp <= 0x2b91f) flags |= CHAR_CJK_PYTHON_ONLY;
  return flags;
}

/**
 * The class flags (`CHAR_*` bits) of one code point. Synchronous, never throws; the
 * first call for a code point computes it with Unicode property escapes, later calls
 * read a cached table.
 */
function charClass(cp: number): number {
  const cached = table[cp]!;
  if (cached !== 0) return cached & ~CHAR_KNOWN;
  const flags = computeClass(cp);
  table[cp] = flags | CHAR_KNOWN;
  return flags;
}

/**
 * Whether every UTF-16 code unit of `text` is ASCII. Synchronous, never throws; used to
 * skip Unicode normalization for the common all-ASCII word.
 */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 128) return false;
  return true;
}

/**
 * Which of Hugging Face's two BERT tokenizer implementations to reproduce exactly:
 * - `'fast'`: `transformers.BertTokenizer` in transformers 5 and every "fast" tokenizer
 *   (e.g. `AutoTokenizer` in transformers 4), backed by the Rust `tokenizers` library. Its
 *   BertNormalizer lowercases each character alone, so a word-final capital sigma becomes
 *   "σ" ("ΟΔΟΣ" -> "οδοσ"); accents are stripped before lowercasing; no NFC step; pair
 *   truncation gives the odd token to the longer sequence (the second on ties).
 * - `'legacy'`: the pure-Python tokenizer (`BertTokenizerLegacy` in transformers 5, the
 *   slow `BertTokenizer` of transformers 4): `str.lower()` per whitespace-separated word,
 *   so a word-final capital sigma becomes "ς" ("ΟΔΟΣ" -> "οδος"); the text is
 *   NFC-normalized first; the CJK table includes U+2B820-U+2B91F; pair truncation
 *   differs from the fast one in where an odd token goes (see `truncatePair`).
 */
export type HfImplementation = 'fast' | 'legacy';

/** Options of the basic tokenizer; the names mirror `tokenizer_config.json`. */
export interface BasicTokenizerOptions {
  /** Lowercase the text (uncased models). */
  doLowerCase: boolean;
  /** Strip accents (NFD, then drop nonspacing marks); `undefined` = same as `doLowerCase`. */
  stripAccents: boolean | undefined;
  /** Put spaces around CJK ideographs so each becomes a word. */
  tokenizeChineseChars: boolean;
  /** Which Hugging Face implementation to match; see `HfImplementation`. */
  implementation: HfImplementation;
}

function lowercaseAscii(word: string): string {
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c >= 65 && c <= 90) return word.toLowerCase();
  }
  return word;
}

/** Lowercases each code point on its own: no final-sigma context, as Rust's char::to_lowercase. */
function lowercaseEachChar(word: string): string {
  if (!word.includes('\u03a3')) return word.toLowerCase();
  let out = '';
  for (const ch of word) out += ch.toLowerCase();
  return out;
}

function stripAccents(word: string): string {
  const decomposed = word.normalize('NFD');
  let out = '';
  let runStart = 0;
  for (let i = 0; i < decomposed.length; ) {
    const cp = decomposed.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if ((charClass(cp) & CHAR_NONSPACING_MARK) !== 0) {
      out += decomposed.slice(runStart, i);
      runStart = i + width;
    }
    i += width;
  }
  return runStart === 0 ? decomposed : out + decomposed.slice(runStart);
}

/**
 * A normalized word with, for each of its UTF-16 code units, the `[start, end)` UTF-16 range of
 * the original text it comes from (a whole original character: an accent stripped from "é" leaves
 * "e" aligned to all of "é"; "İ" lowercased to "i̇" aligns both units to "İ").
 */
export interface AlignedWord {
  text: string;
  starts: number[];
  ends: number[];
}

/** One normalized character (a code point as a string) and the original range it comes from. */
interface AlignedChar {
  ch: string;
  start: number;
  end: number;
}

/**
 * Splits raw text into normalized words ready for WordPiece, appending them to `out`.
 * Synchronous; never throws.
 */
export class BasicTokenizer {
  private readonly lower: boolean;
  private readonly strip: boolean;
  private readonly cjkMask: number;
  private readonly legacy: boolean;

  /** Creates a basic tokenizer. Synchronous; never throws. */
  constructor(options: BasicTokenizerOptions) {
    this.lower = options.doLowerCase;
    this.strip = options.stripAccents ?? options.doLowerCase;
    this.legacy = options.implementation === 'legacy';
    this.cjkMask = options.tokenizeChineseChars ? CHAR_CJK | (this.legacy ? CHAR_CJK_PYTHON_ONLY : 0) : 0;
  }

  /**
   * Appends the words of `text` to `out` (cleaned, split, normalized, split on
   * punctuation). Synchronous; never throws.
   */
  splitWords(text: string, out: string[]): void {
    let wordStart = -1;
    let word = '';
    const flush = (end: number): void => {
      if (wordStart >= 0) word += text.slice(wordStart, end);
      wordStart = -1;
      if (word.length > 0) this.normalizeAndSplit(word, out);
      word = '';
    };
    for (let i = 0; i < text.length; ) {
      const code = text.charCodeAt(i);
      if (code < 128) {
        const cls = ASCII_CLASS[code]!;
        if (cls === 0 || cls === CHAR_PUNCTUATION) {
          if (wordStart < 0) wordStart = i;
        } else if (cls === CHAR_WHITESPACE) {
          flush(i);
        } else {
          // A dropped control character: keep what precedes it, skip it.
          if (wordStart >= 0) word += text.slice(wordStart, i);
          wordStart = -1;
        }
        i++;
        continue;
      }
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      const cls = charClass(cp);
      if ((cls & CHAR_WHITESPACE) !== 0) {
        flush(i);
      } else if ((cls & CHAR_DROPPED) !== 0) {
        if (wordStart >= 0) word += text.slice(wordStart, i);
        wordStart = -1;
      } else if ((cls & this.cjkMask) !== 0) {
        flush(i);
        word = text.slice(i, i + width);
        flush(i);
      } else if (wordStart < 0) {
        wordStart = i;
      }
      i += width;
    }
    flush(text.length);
  }

  /**
   * As `splitWords`, with alignments: appends the words of `text` to `out`, each normalized
   * character aligned to the original one it comes from, as the Rust BertNormalizer and
   * BertPreTokenizer align them (offsets are `base` + UTF-16 indices into `text`). Follows the
   * 'fast' (Rust) normalization whatever `implementation` was chosen. Synchronous; never throws.
   */
  splitWordsAligned(text: string, base: number, out: AlignedWord[]): void {
    let word: AlignedChar[] = [];
    const flush = (): void => {
      if (word.length > 0) this.normalizeAligned(word, out);
      word = [];
    };
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      const cls = charClass(cp);
      if ((cls & CHAR_WHITESPACE) !== 0) {
        flush();
      } else if ((cls & CHAR_DROPPED) !== 0) {
        // removed by cleaning; the word goes on across it
      } else if ((cls & this.cjkMask & CHAR_CJK) !== 0) {
        flush();
        word.push({ ch: text.slice(i, i + width), start: base + i, end: base + i + width });
        flush();
      } else {
        word.push({ ch: text.slice(i, i + width), start: base + i, end: base + i + width });
      }
      i += width;
    }
    flush();
  }

  private normalizeAligned(word: readonly AlignedChar[], out: AlignedWord[]): void {
    let current: AlignedWord = { text: '', starts: [], ends: [] };
    const push = (ch: string, start: number, end: number): void => {
      current.text += ch;
      for (let k = 0; k < ch.length; k++) {
        current.starts.push(start);
        current.ends.push(end);
      }
    };
    const close = (): void => {
      if (current.text.length > 0) out.push(current);
      current = { text: '', starts: [], ends: [] };
    };
    for (const { ch, start, end } of word) {
      let normalized = ch;
      if (this.strip) {
        let kept = '';
        for (const part of ch.normalize('NFD')) if ((charClass(part.codePointAt(0)!) & CHAR_NONSPACING_MARK) === 0) kept += part;
        normalized = kept;
      }
      if (this.lower) {
        let lowered = '';
        for (const part of normalized) lowered += part.toLowerCase(); // per character, no final-sigma context
        normalized = lowered;
      }
      for (const part of normalized) {
        if ((charClass(part.codePointAt(0)!) & CHAR_PUNCTUATION) !== 0) {
          close();
          push(part, start, end);
          close();
        } else {
          push(part, start, end);
        }
      }
    }
    close();
  }

  private normalizeAndSplit(word: string, out: string[]): void {
    let normalized = word;
    if (isAscii(word)) {
      if (this.lower) normalized = lowercaseAscii(word);
    } else if (this.legacy) {
      normalized = word.normalize('NFC');
      if (this.lower) normalized = normalized.toLowerCase();
      if (this.strip) normalized = stripAccents(normalized);
    } else {
      if (this.strip) normalized = stripAccents(normalized);
      if (this.lower) normalized = lowercaseEachChar(normalized);
    }
    splitOnPunctuation(normalized, out);
  }
}

const ASCII_CLASS: Uint8Array = Uint8Array.from({ length: 128 }, (_, cp) => charClass(cp));

function splitOnPunctuation(word: string, out: string[]): void {
  let start = 0;
  for (let i = 0; i < word.length; ) {
    const code = word.charCodeAt(i);
    let width = 1;
    let punctuation: boolean;
    if (code < 128) {
      punctuation = ASCII_CLASS[code] === CHAR_PUNCTUATION;
    } else {
      const cp = word.codePointAt(i)!;
      width = cp > 0xffff ? 2 : 1;
      punctuation = (charClass(cp) & CHAR_PUNCTUATION) !== 0;
    }
    if (punctuation) {
      if (i > start) out.push(word.slice(start, i));
      out.push(word.slice(i, i + width));
      start = i + width;
    }
    i += width;
  }
  if (start < word.length) out.push(start === 0 ? word : word.slice(start));
}
