/**
 * Truncation of token id sequences to a budget, with Hugging Face's `longest_first`
 * strategy: tokens are removed from the end of the longer sequence until both are equal,
 * then alternately, the odd one from the second sequence. Equivalent to removing one
 * token at a time from whichever sequence is longer (the second on ties).
 */

/**
 * Cuts `first` (and `second`, when given) so that together they hold at most `budget`
 * tokens, longest first. Returns new arrays (or the inputs when they already fit).
 * Synchronous; throws `RangeError` when `budget` is negative.
 */
export function truncatePair(
  first: number[],
  second: number[] | undefined,
  budget: number,
): [number[], number[] | undefined] {
  if (budget < 0) throw new RangeError(`truncatePair: negative budget ${budget}`);
  if (second === undefined) {
    return [first.length > budget ? first.slice(0, budget) : first, undefined];
  }
  const excess = first.length + second.length - budget;
  if (excess <= 0) return [first, second];
  const unequal = Math.min(Math.abs(first.length - second.length), excess);
  const shared = excess - unequal;
  let removeFirst: number;
  let removeSecond: number;
  if (first.length > second.length) {
    removeFirst = unequal + Math.floor(shared / 2);
    removeSecond = shared - Math.floor(shared / 2);
  } else {
    removeFirst = Math.floor(shared / 2);
    removeSecond = unequal + shared - Math.floor(shared / 2);
  }
  return [first.slice(0, first.length - removeFirst), second.slice(0, second.length - removeSecond)];
}
