/**
 * Static shapes without padding waste (issue 13). A slab cut by `SlabBatcher` is `[K*A, m, S]`
 * per replica, every example padded to `--seq-len`; this module reshapes it, per call:
 *
 * - `fixed`: as cut.
 * - `bucket`: every row is cut to the smallest bucket length that holds the call's longest
 *   example (see {@link defaultBuckets}). One program per bucket used, each compiled once.
 * - `pack`: the examples of each micro-batch are packed, first-fit decreasing, into rows of
 *   `--seq-len` tokens: `segmentIds` (1, 2, ... per example in a row, 0 for padding) make
 *   attention block-diagonal, `positionIds` restart at each example, `exampleStarts` (flat
 *   index row * S + offset) tell sequence heads where each example's first token is. The row
 *   count is the smallest bucket (see {@link rowBuckets}) that holds every micro-batch of the
 *   call on every replica, so every replica's shard has one shape and the programs stay few.
 *   An example is never split across rows: longer than a row, it was already truncated to it.
 *
 * A call's shape is that of its most demanding step, so a call runs only consecutive steps of
 * one shape ({@link stepShapes}, {@link sameShapeRun}): a step of 48 tokens is not padded to
 * 64 because a later step of the same call needed 64. Which shapes exist at all is planned
 * before training ({@link planRun}): every step's need is known from the data order, and a
 * shape is compiled only where it saves more work than compiling it costs. Which examples form
 * a step never changes, so the mathematics is that of each example alone.
 */

/** How rows are padded. */
export type PaddingMode = 'fixed' | 'bucket' | 'pack';

/** The padding modes, in the order the help lists them. */
export const PADDING_MODES: readonly PaddingMode[] = ['fixed', 'bucket', 'pack'];

/** Whether `value` names a padding mode. Sync. */
export function isPaddingMode(value: string): value is PaddingMode {
  return (PADDING_MODES as readonly string[]).includes(value);
}

/**
 * The training sequence-length buckets for `seqLen`: multiples of 8 from 16 while a step of 8
 * is at most an eighth of the length (16, 24, ..., 128), then steps of an eighth rounded down
 * to a multiple of 8 (144, 160, 176, 192, 216, ...), then `seqLen`. Each bucket is within an
 * eighth of the next, so a step pads at most 8 tokens or an eighth beyond its longest row (the
 * Hugging Face Trainer pads to the longest row exactly); a program is compiled only for the
 * buckets a run uses. Sync.
 */
export function defaultBuckets(seqLen: number): number[] {
  const buckets: number[] = [];
  for (let length = 16; length < seqLen; length += Math.max(8, Math.floor(length / 64) * 8)) buckets.push(length);
  buckets.push(seqLen);
  return buckets;
}

/**
 * Checks a bucket list: increasing positive integers ending at `seqLen`. Sync; throws
 * RangeError naming the list and the rule.
 */
export function checkBuckets(buckets: readonly number[], seqLen: number): void {
  const increasing = buckets.every((length, i) => Number.isInteger(length) && length >= 2 && (i === 0 || length > buckets[i - 1]!));
  if (!increasing || buckets.at(-1) !== seqLen) {
    throw new RangeError(`the sequence-length buckets [${buckets.join(', ')}] must be increasing integers of at least 2 ending at --seq-len ${seqLen}`);
  }
}

/**
 * The row-count buckets of `rows` example slots: every count up to 16, then steps of an eighth
 * (rounded down), then `rows` (for m = 32: 1, 2, ..., 16, 18, 20, 22, 24, 27, 30, 32), so a
 * packed step carries at most one row or an eighth more than it needs. Only the counts a run
 * uses are compiled. Sync.
 */
export function rowBuckets(rows: number): number[] {
  const buckets: number[] = [];
  for (let count = 1; count < rows; count += Math.max(1, Math.floor(count / 8))) buckets.push(count);
  buckets.push(rows);
  return buckets;
}

/** The smallest bucket that holds `value` (the last one when none does). Sync. */
export function bucketFor(value: number, buckets: readonly number[]): number {
  return buckets.find((bucket) => bucket >= value) ?? buckets.at(-1)!;
}

/** Where first-fit decreasing puts each example: its row and offset, and the rows used. */
export interface Packing {
  row: Int32Array;
  offset: Int32Array;
  rows: number;
}

/**
 * Packs examples of `lengths` tokens into rows of `seqLen`, first-fit decreasing (longest
 * first, each into the first row with room; ties keep input order). Sync; throws RangeError for
 * an example longer than a row (callers truncate first).
 */
export function packRows(lengths: ArrayLike<number>, seqLen: number): Packing {
  const count = lengths.length;
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const free: number[] = [];
  const row = new Int32Array(count);
  const offset = new Int32Array(count);
  for (const example of order) {
    const length = lengths[example]!;
    if (length === 0) continue; // a padding example: row 0, offset 0 (its weight is 0)
    if (length > seqLen) throw new RangeError(`an example of ${length} tokens does not fit a row of ${seqLen}: truncate it first`);
    let target = free.findIndex((room) => room >= length);
    if (target < 0) {
      target = free.length;
      free.push(seqLen);
    }
    row[example] = target;
    offset[example] = seqLen - free[target]!;
    free[target]! -= length;
  }
  return { row, offset, rows: free.length };
}

/** One replica's reshaped part of a call (see the module comment); `[micro, rows, S]` slabs. */
export interface ShapedSlab {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  /** pack only: the 1-based example of each token in its row (0 for padding). */
  segmentIds?: Int32Array;
  /** pack only: each token's position within its example. */
  positionIds?: Int32Array;
  /** pack only: `[micro, m]` flat index (row * S + offset) of each example's first token. */
  exampleStarts?: Int32Array;
  /** `[micro, m, width]`; for a token task `[micro, rows, S]` (tags at the packed positions). */
  targets: Int32Array | Float32Array;
  /** `[micro, m]`; for a packed token task `[micro, rows]` of ones (the tags carry the weights). */
  weights: Float32Array;
}

/** A call's layout after reshaping: the row length and rows per micro-batch, and its padding. */
export interface ShapedCall {
  seqLen: number;
  rows: number;
  replicas: ShapedSlab[];
  /** Token slots of the call's real steps, and how many hold real tokens (for the padding fraction). */
  slots: number;
  realTokens: number;
}

/** What {@link shapeCall} reshapes: one replica's fixed slab. */
export interface FixedSlab {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  targets: Int32Array | Float32Array;
  weights: Float32Array;
}

/** Real tokens of row `r` of a `[rows, S]` attention mask (right padding). Sync. */
export function rowLength(mask: Int32Array, r: number, seqLen: number): number {
  let length = 0;
  for (let s = 0; s < seqLen; s++) length += mask[r * seqLen + s]!;
  return length;
}

/**
 * Reshapes one call's fixed slabs (`[micro, m, S]` per replica; `realSteps * A` micro-batches
 * hold real examples) for `mode`. `tokenTask`: targets are per position (width S). Sync.
 */
export function shapeCall(
  fixed: readonly FixedSlab[],
  options: { mode: PaddingMode; micro: number; m: number; seqLen: number; buckets: readonly number[]; rowCounts?: readonly number[]; tokenTask: boolean; realMicro: number },
): ShapedCall {
  const { mode, micro, m, seqLen: S, tokenTask } = options;
  const width = fixed[0]!.targets.length / (micro * m);
  let longest = 0;
  let realTokens = 0;
  for (const slab of fixed) {
    for (let r = 0; r < options.realMicro * m; r++) {
      if (slab.weights[r] === 0) continue;
      const length = rowLength(slab.attentionMask, r, S);
      longest = Math.max(longest, length);
      realTokens += length;
    }
  }
  if (mode === 'fixed') return { seqLen: S, rows: m, replicas: [...fixed], slots: fixed.length * options.realMicro * m * S, realTokens };
  if (mode === 'bucket') {
    const Sb = bucketFor(longest, options.buckets);
    const cut = (source: Int32Array, rows: number, from: number, to: number) => {
      const out = new Int32Array(rows * to);
      for (let r = 0; r < rows; r++) out.set(source.subarray(r * from, r * from + to), r * to);
      return out;
    };
    const replicas = fixed.map((slab) => ({
      inputIds: cut(slab.inputIds, micro * m, S, Sb),
      attentionMask: cut(slab.attentionMask, micro * m, S, Sb),
      tokenTypeIds: cut(slab.tokenTypeIds, micro * m, S, Sb),
      targets: tokenTask ? cut(slab.targets as Int32Array, micro * m, S, Sb) : slab.targets,
      weights: slab.weights,
    }));
    return { seqLen: Sb, rows: m, replicas, slots: fixed.length * options.realMicro * m * Sb, realTokens };
  }
  // pack: lay out each micro-batch of each replica, then pad every one to the call's row bucket
  const packings = fixed.map((slab) => Array.from({ length: micro }, (_, u) => packRows(microLengths(slab, u, m, S), S)));
  const rows = bucketFor(Math.max(1, ...packings.flat().map((p) => p.rows)), options.rowCounts ?? rowBuckets(m));
  const replicas = fixed.map((slab, replica) => {
    const out: ShapedSlab = {
      inputIds: new Int32Array(micro * rows * S),
      attentionMask: new Int32Array(micro * rows * S),
      tokenTypeIds: new Int32Array(micro * rows * S),
      segmentIds: new Int32Array(micro * rows * S),
      positionIds: new Int32Array(micro * rows * S),
      exampleStarts: new Int32Array(micro * m),
      targets: tokenTask ? new Int32Array(micro * rows * S).fill(-100) : slab.targets,
      weights: tokenTask ? new Float32Array(micro * rows).fill(1) : slab.weights,
    };
    const fill = out.inputIds;
    for (let u = 0; u < micro; u++) {
      const packing = packings[replica]![u]!;
      const segmentOfRow = new Int32Array(rows);
      for (let j = 0; j < m; j++) {
        const source = u * m + j;
        const length = slab.weights[source] === 0 ? 0 : rowLength(slab.attentionMask, source, S);
        const start = (u * rows + packing.row[j]!) * S + packing.offset[j]!;
        out.exampleStarts![u * m + j] = packing.row[j]! * S + packing.offset[j]!;
        if (length === 0) continue;
        const segment = ++segmentOfRow[packing.row[j]!]!;
        fill.set(slab.inputIds.subarray(source * S, source * S + length), start);
        out.tokenTypeIds.set(slab.tokenTypeIds.subarray(source * S, source * S + length), start);
        out.attentionMask.fill(1, start, start + length);
        out.segmentIds!.fill(segment, start, start + length);
        for (let p = 0; p < length; p++) out.positionIds![start + p] = p;
        if (tokenTask) (out.targets as Int32Array).set((slab.targets as Int32Array).subarray(source * width, source * width + length), start);
      }
    }
    return out;
  });
  return { seqLen: S, rows, replicas, slots: fixed.length * options.realMicro * rows * S, realTokens };
}

/** Real tokens of each example of micro-batch `u` of a fixed slab (0 for a padding example). Sync. */
function microLengths(slab: FixedSlab, u: number, m: number, seqLen: number): number[] {
  return Array.from({ length: m }, (_, j) => (slab.weights[u * m + j] === 0 ? 0 : rowLength(slab.attentionMask, u * m + j, seqLen)));
}

/**
 * The shape each step of a call needs on its own, in {@link shapeCall}'s terms: for `bucket`
 * the bucket length of the step's longest example, for `pack` the row-count bucket of its
 * fullest micro-batch, for `fixed` `seqLen`; over every replica and the `accumulation`
 * micro-batches of the step. `steps` entries (a step without real examples needs the least).
 * Sync.
 */
export function stepShapes(
  fixed: readonly FixedSlab[],
  options: { mode: PaddingMode; steps: number; accumulation: number; m: number; seqLen: number; buckets: readonly number[]; rowCounts?: readonly number[] },
): number[] {
  const { mode, steps, accumulation: A, m, seqLen: S } = options;
  if (mode === 'fixed') return new Array<number>(steps).fill(S);
  const candidates = mode === 'bucket' ? options.buckets : (options.rowCounts ?? rowBuckets(m));
  // each step's examples in global-batch order (replica by replica, micro-batch by micro-batch), as stepNeed reads them
  return Array.from({ length: steps }, (_, k) => {
    const lengths = fixed.flatMap((slab) => Array.from({ length: A }, (_, a) => microLengths(slab, k * A + a, m, S)).flat());
    return stepNeed(lengths, { mode, replicas: fixed.length, accumulation: A, seqLen: S, candidates });
  });
}

/**
 * How many of the first `steps` steps share the first step's shape: the steps one call runs,
 * so that no step pays for a longer neighbour. Sync; at least 1 when `steps` is.
 */
export function sameShapeRun(shapes: readonly number[], steps: number): number {
  let run = Math.min(1, steps);
  while (run < steps && shapes[run] === shapes[0]) run++;
  return run;
}

/**
 * The slab of the next call, cut to the run of steps that share its first step's shape:
 * `slabAt(maxSteps)` cuts a slab of at most that many steps at the call's position (a
 * SlabBatcher's `slab`). For `fixed` every step has one shape and the slab is whole. Sync.
 */
export function sameShapeSlab<T extends { readonly steps: number; readonly replicas: readonly FixedSlab[] }>(
  slabAt: (maxSteps?: number) => T,
  options: { mode: PaddingMode; accumulation: number; m: number; seqLen: number; buckets: readonly number[]; rowCounts?: readonly number[] },
): T {
  const slab = slabAt();
  if (options.mode === 'fixed' || slab.steps <= 1) return slab;
  const run = sameShapeRun(stepShapes(slab.replicas, { ...options, steps: slab.steps }), slab.steps);
  return run < slab.steps ? slabAt(run) : slab;
}

/**
 * What compiling one program costs, in steps at the largest shape: measured on the CPU (a
 * `mini` train program of K=8 steps compiles in 2.6-3.0 s; a step of 32 rows of 128 tokens ran
 * in about 0.9 s, 0.7 s since weight gradients stopped copying their activations, which makes
 * it 4 steps; 3 and 4 plan the same shapes for the GRGE job). Unmeasured on TPU and GPU, where
 * compiling costs more steps: the compile cache then pays for the shapes of the first run.
 */
export const COMPILE_COST_STEPS = 3;

/**
 * The shape a step of `lengths` (its B examples' real tokens in global-batch order, 0 for a
 * padding example) needs among `candidates`: for `bucket` the smallest length holding its
 * longest example; for `pack` the smallest row count holding the packing of its fullest
 * micro-batch (replica r's micro-batch a is examples r*b + a*m .. + m, b = B/replicas, m =
 * b/accumulation, as SlabBatcher lays them out). Sync.
 */
export function stepNeed(lengths: ArrayLike<number>, options: { mode: 'bucket' | 'pack'; replicas: number; accumulation: number; seqLen: number; candidates: readonly number[] }): number {
  const { mode, replicas, accumulation, seqLen, candidates } = options;
  if (mode === 'bucket') {
    let longest = 0;
    for (let i = 0; i < lengths.length; i++) longest = Math.max(longest, lengths[i]!);
    return bucketFor(longest, candidates);
  }
  const m = lengths.length / (replicas * accumulation);
  let rows = 1;
  for (let start = 0; start < lengths.length; start += m) rows = Math.max(rows, packRows(Array.from({ length: m }, (_, i) => lengths[start + i]!), seqLen).rows);
  return bucketFor(rows, candidates);
}

/**
 * Which shapes to compile, given the shape each step needs: the subset minimising the run's
 * work plus compiling, sum over steps of the shape run at + `compileCost` per program, where a
 * step runs at the smallest chosen shape that holds its need (a shape is a bucket's length or a
 * row count, proportional to a step's work; compileCost in the same units times steps). A dynamic programme over the needed
 * shapes, ascending: the cheapest plan whose largest shape is u_j extends the cheapest plan
 * ending at some u_i < u_j with one program for the needs in (u_i, u_j]. A long run compiles
 * every shape it needs; a short one runs rare shapes at a larger one. Sync; the largest need is
 * always chosen; empty for no steps.
 */
export function planShapes(needs: readonly number[], compileCost: number): number[] {
  const counts = new Map<number, number>();
  for (const need of needs) counts.set(need, (counts.get(need) ?? 0) + 1);
  const shapes = [...counts.keys()].sort((a, b) => a - b);
  const best = [0]; // best[j]: cheapest cost of the needs up to shapes[j - 1], that shape chosen
  const previous = [-1];
  for (let j = 1; j <= shapes.length; j++) {
    let steps = 0;
    best.push(Infinity);
    previous.push(0);
    for (let i = j - 1; i >= 0; i--) {
      steps += counts.get(shapes[i]!)!; // the needs in (shapes[i - 1], shapes[j - 1]]
      const cost = best[i]! + compileCost + steps * shapes[j - 1]!;
      if (cost < best[j]!) [best[j], previous[j]] = [cost, i];
    }
  }
  const chosen: number[] = [];
  for (let j = shapes.length; j > 0; j = previous[j]!) chosen.unshift(shapes[j - 1]!);
  return chosen;
}

/** The shapes a run may use: sequence lengths for `bucket`, row counts for `pack`. */
export interface ShapePlan {
  readonly buckets: readonly number[];
  readonly rowCounts: readonly number[];
}

/**
 * The shapes of a run whose steps hold examples of `stepLengths` (one entry per step, as
 * {@link stepNeed} reads it): {@link planShapes} over the steps' needs with a compile cost of
 * {@link COMPILE_COST_STEPS} steps at the largest shape, the largest shape (`seqLen`, or every
 * row) always kept last. `buckets` are the candidates of `bucket` mode; `plan: false` keeps
 * them as given (the user chose them). Sync.
 */
export function planRun(
  stepLengths: Iterable<ArrayLike<number>>,
  options: { mode: PaddingMode; replicas: number; accumulation: number; seqLen: number; buckets: readonly number[]; plan: boolean },
): ShapePlan {
  const { mode, replicas, accumulation, seqLen, buckets } = options;
  const steps = [...stepLengths];
  const m = steps.length > 0 ? steps[0]!.length / (replicas * accumulation) : 1;
  const rowCounts = rowBuckets(m);
  if (mode === 'fixed' || (mode === 'bucket' && !options.plan)) return { buckets, rowCounts };
  const candidates = mode === 'bucket' ? buckets : rowCounts;
  const largest = candidates.at(-1)!;
  const needs = steps.map((lengths) => stepNeed(lengths, { mode, replicas, accumulation, seqLen, candidates }));
  const chosen = planShapes(needs, COMPILE_COST_STEPS * largest);
  const kept = chosen.at(-1) === largest ? chosen : [...chosen, largest];
  return mode === 'bucket' ? { buckets: kept, rowCounts } : { buckets, rowCounts: kept };
}
