/**
 * Batching for the train program: each call gets a slab of K steps x (B/R) examples x S
 * tokens per replica, cut from a per-epoch order of the rows.
 *
 * - Order: with `shuffle` (default) epoch `e` visits the rows in a Fisher–Yates permutation
 *   drawn from SplitMix64 seeded by `(seed, e)` (see {@link shuffledOrder}); the same seed
 *   gives the same order on every machine. With `shuffle: false` every epoch is file order.
 *   With `groupByLength`, chunks of 50 batches of that order are each sorted longest first.
 * - Steps: an epoch has `ceil(N / B)` steps of B examples; global batch j of step k holds
 *   order[k*B + j], replica r gets j in [r*B/R, (r+1)*B/R).
 * - Padding: the last batch of an epoch is filled up to B with padding rows of weight 0
 *   (never a smaller shape). A padding row repeats the epoch's first example, so every row
 *   is a valid input (no all-masked row that could make NaNs that a zero weight would not
 *   cancel); loss = sum(w * ce) / sum(w) over the global batch ignores it.
 * - Calls: a call covers K consecutive steps of ONE epoch; the last call of an epoch may have
 *   fewer real steps (`Slab.steps`), its remaining steps are all padding (all weights 0): the
 *   program must not apply them (loop `steps` times, or skip an update whose weights sum to 0,
 *   since Adam moves parameters even for a zero gradient).
 * - Position: `{ epoch, step }` = steps done in that epoch; a slab is a pure function of its
 *   position, so saving the position (or just the global step count) resumes exactly.
 * - Dropout keys: example j of the global batch of global step g gets the key
 *   {@link exampleDropoutKey}(seed, g, j), whatever the replica count, gradient accumulation
 *   or steps per call, so those change nothing but float rounding with dropout on too.
 */
import type { TokenizedExamples } from './data.js';
import { DataError } from './data.js';

/** How {@link SlabBatcher} cuts the data. */
export interface BatchingOptions {
  /** Examples per optimizer step, over all replicas (B). */
  readonly globalBatchSize: number;
  /** Devices sharing each step (R, default 1); must divide `globalBatchSize`. */
  readonly replicas?: number;
  /** Steps per program call (K, Keras `steps_per_execution`; default 1). */
  readonly stepsPerCall?: number;
  /** Shuffle each epoch (default true); false keeps file order (`--no-shuffle`). */
  readonly shuffle?: boolean;
  /** Seed of the shuffle (a non-negative safe integer, default 0). */
  readonly seed?: number;
  /**
   * Sort each chunk of {@link GROUP_BY_LENGTH_BATCHES} batches of the epoch's order by length,
   * longest first (Hugging Face's `group_by_length`), so the rows of a batch have similar lengths.
   */
  readonly groupByLength?: boolean;
}

/** Batches per chunk that `groupByLength` sorts (HF's LengthGroupedSampler uses 50). */
export const GROUP_BY_LENGTH_BATCHES = 50;

/**
 * `order` with each run of `chunk` entries sorted by `lengths`, longest first (stable: equal
 * lengths keep their order). Sync.
 */
export function groupedByLength(order: Int32Array, lengths: Int32Array, chunk: number): Int32Array {
  const grouped = new Int32Array(order.length);
  for (let start = 0; start < order.length; start += chunk) {
    const part = Array.from(order.subarray(start, start + chunk));
    part.sort((a, b) => lengths[b]! - lengths[a]!); // Array.prototype.sort is stable
    grouped.set(part, start);
  }
  return grouped;
}

/** Where training stands in the data: `step` optimizer steps of epoch `epoch` are done. */
export interface DataPosition {
  readonly epoch: number;
  readonly step: number;
}

/** One replica's part of a call: `[K, B/R, S]` token slabs, `[K, B/R, width]` targets, `[K, B/R]` weights. */
export interface ReplicaSlab {
  readonly inputIds: Int32Array;
  readonly attentionMask: Int32Array;
  readonly tokenTypeIds: Int32Array;
  /** The examples' targets (`targetWidth` values each, the dtype of the examples' targets). */
  readonly targets: Int32Array | Float32Array;
  /** 1 for a real example, 0 for padding. */
  readonly weights: Float32Array;
}

/** The data of one call of the train program. */
export interface Slab {
  /** The position this slab starts at. */
  readonly position: DataPosition;
  /** The position after it (the next epoch's start after an epoch's last call). */
  readonly next: DataPosition;
  /** Real steps in the slab (K except in an epoch's last call); later steps are all padding. */
  readonly steps: number;
  /** Real examples per step (`[K]`; B except in the last step of an epoch, 0 for padding steps). */
  readonly examplesPerStep: readonly number[];
  /** One entry per replica, in replica order. */
  readonly replicas: readonly ReplicaSlab[];
}

const MASK64 = (1n << 64n) - 1n;

/** SplitMix64's output function (Steele, Lea, Flood 2014): a bijective mix of a 64-bit value. */
function mix64(value: bigint): bigint {
  let z = value & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * SplitMix64: state += 0x9E3779B97F4A7C15 per draw, output mix64(state). Deterministic and
 * the same on every platform (BigInt arithmetic).
 */
export class SplitMix64 {
  #state: bigint;

  /** Starts from a 64-bit `state` (taken modulo 2^64). Sync. */
  constructor(state: bigint) {
    this.#state = state & MASK64;
  }

  /** The next 64-bit output. Sync. */
  next(): bigint {
    this.#state = (this.#state + 0x9e3779b97f4a7c15n) & MASK64;
    return mix64(this.#state);
  }

  /** An integer in [0, bound) (the 64-bit output modulo bound; bias below 2^-40 for bound < 2^24). Sync. */
  below(bound: number): number {
    return Number(this.next() % BigInt(bound));
  }
}

/** Separates the dropout keys' hash from the shuffle's, which also starts from the seed ('dropout'). */
const DROPOUT_DOMAIN = 0x64726f706f7574n;

/** mix64(mix64(seed ^ DROPOUT_DOMAIN) ^ step): the part of a dropout key shared by one step's examples. */
function dropoutStepState(seed: number, step: number): bigint {
  return mix64(mix64(BigInt(seed) ^ DROPOUT_DOMAIN) ^ BigInt(step));
}

/**
 * The dropout key of example `index` (its position in the global batch, 0..B-1) of global
 * step `step` (optimizer steps since the start of training): the two 32-bit halves, low
 * first, of mix64(mix64(mix64(seed ^ 'dropout') ^ step) ^ index). Sync; throws RangeError
 * for a seed, step or index that is not a non-negative safe integer.
 */
export function exampleDropoutKey(seed: number, step: number, index: number): [number, number] {
  for (const [name, value] of [['seed', seed], ['step', step], ['index', index]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`exampleDropoutKey: ${name} must be a non-negative safe integer, got ${value}`);
  }
  const z = mix64(dropoutStepState(seed, step) ^ BigInt(index));
  return [Number(z & 0xffffffffn), Number(z >> 32n)];
}

/** Real tokens of each example (its attention mask's ones). Sync. */
export function exampleLengths(examples: TokenizedExamples): Int32Array {
  const { count, seqLen, attentionMask } = examples;
  const lengths = new Int32Array(count);
  for (let i = 0; i < count; i++) for (let s = 0; s < seqLen; s++) lengths[i]! += attentionMask[i * seqLen + s]!;
  return lengths;
}

/**
 * The row order of epoch `epoch`: a Fisher–Yates shuffle (for i = n-1 down to 1, swap i with
 * a uniform j in [0, i]) of 0..count-1 driven by SplitMix64 from the state
 * `mix64(mix64(seed) XOR epoch)`. Sync; throws RangeError for a seed or epoch that is not a
 * non-negative safe integer.
 */
export function shuffledOrder(count: number, seed: number, epoch: number): Int32Array {
  for (const [name, value] of [['seed', seed], ['epoch', epoch]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const random = new SplitMix64(mix64(mix64(BigInt(seed)) ^ BigInt(epoch)));
  for (let i = count - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}

/**
 * Cuts tokenized examples into per-call slabs (see the module comment for the rules).
 * Construction is sync and throws RangeError for a batch size that is not a positive
 * multiple of the replica count, a bad K or seed; DataError for no examples.
 */
export class SlabBatcher {
  /** B. */
  readonly globalBatchSize: number;
  /** R. */
  readonly replicas: number;
  /** K. */
  readonly stepsPerCall: number;
  /** B / R, the examples of one replica per step. */
  readonly shardSize: number;
  /** `ceil(N / B)`. */
  readonly stepsPerEpoch: number;
  /** `ceil(stepsPerEpoch / K)`. */
  readonly callsPerEpoch: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly groupByLength: boolean;
  #cachedOrder: { epoch: number; order: Int32Array } | undefined;

  constructor(
    readonly examples: TokenizedExamples,
    options: BatchingOptions,
  ) {
    const { globalBatchSize } = options;
    const replicas = options.replicas ?? 1;
    const stepsPerCall = options.stepsPerCall ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicas must be a positive integer, got ${replicas}`);
    if (!Number.isInteger(globalBatchSize) || globalBatchSize < 1) throw new RangeError(`the global batch size must be a positive integer, got ${globalBatchSize}`);
    if (globalBatchSize % replicas !== 0) {
      throw new RangeError(`the global batch size ${globalBatchSize} is not divisible by ${replicas} replicas (each replica takes an equal share of every batch)`);
    }
    if (!Number.isInteger(stepsPerCall) || stepsPerCall < 1) throw new RangeError(`stepsPerCall must be a positive integer, got ${stepsPerCall}`);
    if (examples.count === 0) throw new DataError('no examples to batch');
    this.seed = options.seed ?? 0;
    if (!Number.isSafeInteger(this.seed) || this.seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${this.seed}`);
    this.globalBatchSize = globalBatchSize;
    this.replicas = replicas;
    this.stepsPerCall = stepsPerCall;
    this.shardSize = globalBatchSize / replicas;
    this.stepsPerEpoch = Math.ceil(examples.count / globalBatchSize);
    this.callsPerEpoch = Math.ceil(this.stepsPerEpoch / stepsPerCall);
    this.shuffle = options.shuffle ?? true;
    this.groupByLength = options.groupByLength ?? false;
  }

  /** The row order of `epoch` (file order without shuffle). Sync; throws RangeError for a bad epoch. */
  order(epoch: number): Int32Array {
    if (this.#cachedOrder?.epoch === epoch) return this.#cachedOrder.order;
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative safe integer, got ${epoch}`);
    let order = this.shuffle ? shuffledOrder(this.examples.count, this.seed, epoch) : Int32Array.from({ length: this.examples.count }, (_, i) => i);
    if (this.groupByLength) order = groupedByLength(order, exampleLengths(this.examples), GROUP_BY_LENGTH_BATCHES * this.globalBatchSize);
    this.#cachedOrder = { epoch, order };
    return order;
  }

  /** Optimizer steps done before `position` since the start of training. Sync; throws RangeError for an invalid position. */
  globalStep(position: DataPosition): number {
    this.check(position);
    return position.epoch * this.stepsPerEpoch + position.step;
  }

  /** The position after `globalStep` steps since the start (the inverse of {@link globalStep}). Sync; throws RangeError for a negative or fractional count. */
  positionAt(globalStep: number): DataPosition {
    if (!Number.isSafeInteger(globalStep) || globalStep < 0) throw new RangeError(`global step must be a non-negative integer, got ${globalStep}`);
    return { epoch: Math.floor(globalStep / this.stepsPerEpoch), step: globalStep % this.stepsPerEpoch };
  }

  /**
   * The slab for the call starting at `position`: steps [step, min(step + K, step + maxSteps,
   * stepsPerEpoch)) of that epoch, padded to K steps and B examples. Sync; throws RangeError for
   * an invalid position (negative, fractional, or `step` not below `stepsPerEpoch`) or a
   * `maxSteps` below 1.
   */
  slab(position: DataPosition, maxSteps: number = this.stepsPerCall): Slab {
    this.check(position);
    if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new RangeError(`maxSteps must be a positive integer, got ${maxSteps}`);
    const { epoch, step } = position;
    const K = this.stepsPerCall;
    const b = this.shardSize;
    const S = this.examples.seqLen;
    const W = this.examples.targetWidth;
    const B = this.globalBatchSize;
    const order = this.order(epoch);
    const steps = Math.min(K, maxSteps, this.stepsPerEpoch - step);
    const replicas: ReplicaSlab[] = Array.from({ length: this.replicas }, () => ({
      inputIds: new Int32Array(K * b * S),
      attentionMask: new Int32Array(K * b * S),
      tokenTypeIds: new Int32Array(K * b * S),
      targets: this.examples.targets instanceof Float32Array ? new Float32Array(K * b * W) : new Int32Array(K * b * W),
      weights: new Float32Array(K * b),
    }));
    const examplesPerStep: number[] = [];
    const { inputIds, attentionMask, tokenTypeIds, targets } = this.examples;
    for (let k = 0; k < K; k++) {
      const first = (step + k) * B; // position in the epoch's order of this step's first example
      const real = k < steps ? Math.min(B, order.length - first) : 0;
      examplesPerStep.push(real);
      for (let j = 0; j < B; j++) {
        const row = j < real ? order[first + j]! : order[0]!;
        const target = replicas[Math.floor(j / b)]!;
        const slot = k * b + (j % b);
        target.inputIds.set(inputIds.subarray(row * S, (row + 1) * S), slot * S);
        target.attentionMask.set(attentionMask.subarray(row * S, (row + 1) * S), slot * S);
        target.tokenTypeIds.set(tokenTypeIds.subarray(row * S, (row + 1) * S), slot * S);
        target.targets.set(targets.subarray(row * W, (row + 1) * W), slot * W);
        target.weights[slot] = j < real ? 1 : 0;
      }
    }
    const nextStep = step + steps;
    const next = nextStep === this.stepsPerEpoch ? { epoch: epoch + 1, step: 0 } : { epoch, step: nextStep };
    return { position: { epoch, step }, next, steps, examplesPerStep, replicas };
  }

  /**
   * The real tokens of each step's examples, in global-batch order (B entries, 0 for a padding
   * example), for every step of epochs 0..epochs-1 (what the shape plan of lib/train/padding
   * reads, without building slabs). Sync generator.
   */
  *stepLengths(epochs: number): Generator<Int32Array> {
    const lengths = exampleLengths(this.examples);
    const B = this.globalBatchSize;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = this.order(epoch);
      for (let step = 0; step < this.stepsPerEpoch; step++) {
        const real = Math.min(B, order.length - step * B);
        yield Int32Array.from({ length: B }, (_, j) => (j < real ? lengths[order[step * B + j]!]! : 0));
      }
    }
  }

  /**
   * The dropout keys of replica `replica`'s part of the call whose first step is global step
   * `firstStep`: u32 [K, B/R, 2] (row-major), row (k, i) holding {@link exampleDropoutKey} of
   * step firstStep + k and global-batch position replica * B/R + i, the example that
   * {@link slab} puts there (padding rows get keys too; their weight is 0). Sync; throws
   * RangeError for a negative step or a replica out of range.
   */
  dropoutKeys(firstStep: number, replica: number): Uint32Array {
    if (!Number.isInteger(replica) || replica < 0 || replica >= this.replicas) throw new RangeError(`replica must be an integer in [0, ${this.replicas}), got ${replica}`);
    if (!Number.isSafeInteger(firstStep) || firstStep < 0) throw new RangeError(`global step must be a non-negative integer, got ${firstStep}`);
    const b = this.shardSize;
    const keys = new Uint32Array(this.stepsPerCall * b * 2);
    for (let k = 0; k < this.stepsPerCall; k++) {
      const state = dropoutStepState(this.seed, firstStep + k);
      for (let i = 0; i < b; i++) {
        const z = mix64(state ^ BigInt(replica * b + i)); // as exampleDropoutKey, the step's part computed once
        keys[2 * (k * b + i)] = Number(z & 0xffffffffn);
        keys[2 * (k * b + i) + 1] = Number(z >> 32n);
      }
    }
    return keys;
  }

  /**
   * The slabs from `from` (default the start) to the end of epoch `epochs - 1`, one per call.
   * Sync generator; throws RangeError for an invalid position.
   */
  *slabs(epochs: number, from: DataPosition = { epoch: 0, step: 0 }): Generator<Slab> {
    for (let position = from; position.epoch < epochs; ) {
      const slab = this.slab(position);
      yield slab;
      position = slab.next;
    }
  }

  private check({ epoch, step }: DataPosition): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isInteger(step) || step < 0 || step >= this.stepsPerEpoch) {
      throw new RangeError(`invalid data position {epoch: ${epoch}, step: ${step}}: an epoch has steps 0..${this.stepsPerEpoch - 1}`);
    }
  }
}
