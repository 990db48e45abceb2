/**
 * Truncation of token id sequences to a budget with Hugging Face's `longest_first`
 * strategy. Both implementations first cut the longer sequence down to the shorter one
 * (or to what the budget leaves after the shorter one), then share the budget equally;
 * they differ only in who gets the odd token when the budget is odd and both sequences
 * are cut:
 * - fast (Rust `tokenizers`): the longer sequence, the second one on ties;
 * - legacy (Python `truncate_sequences`): always the first sequence.
 */
import type { HfImplementation } from './basic-tokenizer.js';

/** Kept lengths of the fast (Rust) rule for lengths `a`, `b` over `budget` (a + b > budget). */
function fastLengths(a: number, b: number, budget: number): [number, number] {
  const shorter = Math.min(a, b);
  if (shorter <= budget - shorter) return a <= b ? [a, budget - a] : [budget - b, b];
  const half = Math.floor(budget / 2);
  const rest = budget - half;
  return a > b ? [rest, half] : [half, rest];
}

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
  const lengths = implementation === 'fast' ? fastLengths : legacyLengths;
  const [keepFirst, keepSecond] = lengths(first.length, second.length, budget);
  return [first.slice(0, keepFirst), second.slice(0, keepSecond)];
}
