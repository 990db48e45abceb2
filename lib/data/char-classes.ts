/**
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
export const CHAR_DROPPED = 1;
/** Bit flag: the character separates words (it becomes a plain space). */
export const CHAR_WHITESPACE = 2;
/** Bit flag: the character is punctuation and becomes a word of its own. */
export const CHAR_PUNCTUATION = 4;
/** Bit flag: CJK ideograph in both the Python and the Rust tables. */
export const CHAR_CJK = 8;
/** Bit flag: CJK ideograph in the Python table only (U+2B820-U+2B91F). */
export const CHAR_CJK_PYTHON_ONLY = 16;
/** Bit flag: nonspacing mark (category Mn), removed when accents are stripped. */
export const CHAR_NONSPACING_MARK = 32;
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
export function charClass(cp: number): number {
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
export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 128) return false;
  return true;
}
