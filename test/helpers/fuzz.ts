/**
 * Shared pieces of the reader fuzz tests: the run budget (small by default so `npm test`
 * stays fast; `PJRT_BERT_FUZZ_RUNS=N` for a longer campaign, `PJRT_BERT_FUZZ_SEED=S` to
 * replay one), byte-level mutations of valid files (bit flips, byte and integer overwrites
 * with boundary values, truncations, insertions, deletions, duplicated ranges), and the
 * property every reader must hold: a result or a typed error whose message starts with the
 * file's name.
 */
import fc from 'fast-check';

import { FileFormatError } from '../../lib/io/files.js';

/** Runs per property: `PJRT_BERT_FUZZ_RUNS` when set, else `fallback`. */
export function fuzzRuns(fallback: number): number {
  const value = Number(process.env.PJRT_BERT_FUZZ_RUNS);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** fast-check parameters: the budget above and a fixed seed (or `PJRT_BERT_FUZZ_SEED`). */
export function fuzzParameters(fallbackRuns: number): fc.Parameters<unknown> {
  const seed = Number(process.env.PJRT_BERT_FUZZ_SEED);
  return { numRuns: fuzzRuns(fallbackRuns), seed: Number.isInteger(seed) ? seed : 20251130, endOnFailure: true };
}

type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'u64'; at: number; value: bigint }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number };

const BOUNDARY_U32 = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const BOUNDARY_U64 = [0n, 1n, 8n, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n];

/** Positions are fractions of the length, so one edit list applies to any file. */
const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

const edit: fc.Arbitrary<[Edit['kind'], number, number, Uint8Array]> = fc.tuple(
  fc.constantFrom<Edit['kind']>('flip', 'flip', 'byte', 'u32', 'u64', 'truncate', 'insert', 'delete', 'duplicate'),
  position,
  fc.nat(),
  fc.uint8Array({ minLength: 1, maxLength: 16 }),
);

function apply(bytes: Uint8Array, [kind, where, n, extra]: [Edit['kind'], number, number, Uint8Array], near: number): Uint8Array {
  // Half the edits land in the last `near` bytes (headers and directories live at the ends).
  const length = bytes.length;
  const at = n % 2 === 0 || near >= length ? Math.floor(where * length) : length - near + Math.floor(where * near);
  const out = Buffer.from(bytes);
  switch (kind) {
    case 'flip':
      if (length > 0) out[at]! ^= 1 << (n % 8);
      return out;
    case 'byte':
      if (length > 0) out[at] = n % 256;
      return out;
    case 'u32':
      if (at + 4 <= length) out.writeUInt32LE(BOUNDARY_U32[n % BOUNDARY_U32.length]!, at);
      return out;
    case 'u64':
      if (at + 8 <= length) out.writeBigUInt64LE(BOUNDARY_U64[n % BOUNDARY_U64.length]!, at);
      return out;
    case 'truncate':
      return out.subarray(0, at);
    case 'insert':
      return Buffer.concat([out.subarray(0, at), extra, out.subarray(at)]);
    case 'delete':
      return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + (n % 64))]);
    case 'duplicate': {
      const chunk = out.subarray(at, at + 1 + (n % 256));
      return Buffer.concat([out.subarray(0, at), chunk, chunk, out.subarray(at)]);
    }
  }
}

/**
 * Mutants of one of `seeds`: 1 to 4 edits, half of them within the last `near` bytes
 * (default 128), where ZIP directories and the like are. Sync.
 */
export function mutants(seeds: readonly Uint8Array[], near = 128): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([which, edits]) => edits.reduce((bytes, e) => apply(bytes, e, near), seeds[which]!));
}

/**
 * The error classes a reader may throw: FileFormatError and its subclasses
 * (UnsafePickleError), naming `file` (or one of several files) first.
 */
export function isTypedError(error: unknown, file: string | readonly string[]): boolean {
  const files = typeof file === 'string' ? [file] : file;
  return error instanceof FileFormatError && files.some((name) => error.message.startsWith(`${name}: `));
}

/**
 * Runs `read`; true when it returns (and `check` accepts the result) or throws a
 * FileFormatError naming `file`. Any other error is rethrown, so fast-check reports it
 * with the input that caused it. Sync.
 */
export function endsWell<T>(file: string | readonly string[], read: () => T, check: (value: T) => boolean = () => true): boolean {
  let value: T;
  try {
    value = read();
  } catch (error) {
    if (isTypedError(error, file)) return true;
    throw error;
  }
  return check(value);
}

/** As {@link endsWell} for an async reader. */
export async function endsWellAsync<T>(file: string | readonly string[], read: () => Promise<T>, check: (value: T) => boolean = () => true): Promise<boolean> {
  let value: T;
  try {
    value = await read();
  } catch (error) {
    if (isTypedError(error, file)) return true;
    throw error;
  }
  return check(value);
}
