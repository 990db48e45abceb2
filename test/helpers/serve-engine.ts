/**
 * A fake {@link ServeEngine} for the server tests: whitespace "tokenization", logits that are a
 * deterministic function of the text (so every answer can be checked against its own input), and
 * hooks to hold, delay or fail batches and warm-up. It records every batch it runs and any breach
 * of the engine contract (a run before warm-up, a batch over maxBatchSize, two batches at once on
 * one replica) so tests can assert none happened.
 */
import type { Test } from 'tap';

import type { EncodedInput, EngineInfo, EngineOutput, RunOptions, ServeEngine, ServeInput, ServeTask } from '../../lib/serve/engine.js';

/** What the fake's `encode` returns. */
export interface FakeEncoded extends EncodedInput {
  readonly input: ServeInput;
}

/** One batch the fake ran. */
export interface FakeRun {
  readonly replica: number;
  readonly texts: string[];
}

/** Words of `text` with their UTF-16 offsets. */
export function words(text: string): { word: string; start: number; end: number }[] {
  return [...text.matchAll(/\S+/g)].map((m) => ({ word: m[0], start: m.index!, end: m.index! + m[0].length }));
}

/** Tokens of an input with [CLS]/[SEP]: words + 2 (+ the pair's words + 1). */
export function fakeTokenCount(input: ServeInput): number {
  return words(input.text).length + 2 + (input.pair === undefined ? 0 : words(input.pair).length + 1);
}

/** The fake model's logits for an input: `count` values in [-4, 4) from a hash of its texts. */
export function fakeLogits(input: ServeInput, count: number): number[] {
  const key = `${input.text}\u0001${input.pair ?? ''}`;
  return Array.from({ length: count }, (_, k) => {
    let h = 2166136261 ^ k;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
    return (((h >>> 0) % 8000) - 4000) / 1000;
  });
}

/** The fake token tagger's label for a word: capitalized -> PER, @name -> LOC, else O. */
export function fakeTag(word: string, previous: string | undefined): string {
  if (word.startsWith('@')) return 'B-LOC';
  if (/^\p{Lu}/u.test(word)) return previous !== undefined && /^\p{Lu}/u.test(previous) ? 'I-PER' : 'B-PER';
  return 'O';
}

/** The fake tagger's winning logit for a word (the others are 0). */
export function fakeTagLogit(word: string): number {
  return 2 + (word.length % 3);
}

const TOKEN_LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

/** Options of {@link FakeEngine}. */
export interface FakeEngineOptions {
  readonly task?: ServeTask;
  readonly labels?: readonly string[];
  readonly maxInputLength?: number;
  readonly maxBatchSize?: number;
  readonly replicas?: number;
  /** Milliseconds each batch takes (default 0: resolves on the next macrotask). */
  readonly delayMs?: number;
  /** Programs warm-up compiles (default 3 bucket shapes per replica). */
  readonly buckets?: number;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The fake engine. */
export class FakeEngine implements ServeEngine<FakeEncoded> {
  readonly info: EngineInfo;
  compileCount = 0;
  readonly runs: FakeRun[] = [];
  /** Contract breaches seen (should stay empty). */
  readonly violations: string[] = [];
  running = 0;
  maxRunning = 0;
  delayMs: number;
  /** Inputs whose text matches this fail their whole batch. */
  failOn: RegExp | undefined;
  readonly #busy = new Set<number>();
  readonly #buckets: number;
  #warm = false;
  #held: { promise: Promise<void>; resolve: () => void } | undefined;
  #warmupHeld: { promise: Promise<void>; resolve: () => void } | undefined;
  #warmupError: Error | undefined;

  constructor(options: FakeEngineOptions = {}) {
    const task = options.task ?? 'classification';
    const labels = options.labels ?? (task === 'token-classification' ? TOKEN_LABELS : task === 'regression' ? ['LABEL_0'] : ['negative', 'neutral', 'positive']);
    this.info = {
      modelId: 'test/fake-bert',
      family: 'bert',
      task,
      labels,
      maxInputLength: options.maxInputLength ?? 16,
      maxBatchSize: options.maxBatchSize ?? 8,
      replicas: options.replicas ?? 1,
    };
    this.delayMs = options.delayMs ?? 0;
    this.#buckets = options.buckets ?? 3;
  }

  /** Holds every batch (and those to come) until `release()`. */
  hold(): void {
    this.#held ??= deferred();
  }

  /** Lets held batches finish. */
  release(): void {
    this.#held?.resolve();
    this.#held = undefined;
  }

  /** Holds warm-up until `finishWarmup()`; `failWarmup(error)` makes it reject instead. */
  holdWarmup(): void {
    this.#warmupHeld ??= deferred();
  }

  finishWarmup(error?: Error): void {
    this.#warmupError = error;
    this.#warmupHeld?.resolve();
  }

  /** All texts the engine has run, in run order. */
  get seen(): string[] {
    return this.runs.flatMap((r) => r.texts);
  }

  encode(input: ServeInput): FakeEncoded {
    if (input.text.includes('\u0000')) throw new Error('the text holds a NUL character, which the vocabulary cannot encode');
    return { tokenCount: fakeTokenCount(input), input };
  }

  async warmup(): Promise<void> {
    await this.#warmupHeld?.promise;
    if (this.#warmupError) throw this.#warmupError;
    this.compileCount += this.#buckets * this.info.replicas;
    this.#warm = true;
  }

  async run(inputs: readonly FakeEncoded[], options: RunOptions): Promise<EngineOutput[]> {
    const { replica } = options;
    if (!this.#warm) (this.violations.push('run before warm-up'), this.compileCount++);
    if (inputs.length > this.info.maxBatchSize) this.violations.push(`batch of ${inputs.length} > maxBatchSize ${this.info.maxBatchSize}`);
    if (!(Number.isInteger(replica) && replica >= 0 && replica < this.info.replicas)) this.violations.push(`replica ${replica} out of range`);
    if (this.#busy.has(replica)) this.violations.push(`two batches at once on replica ${replica}`);
    this.#busy.add(replica);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.runs.push({ replica, texts: inputs.map((e) => e.input.text) });
    try {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      await this.#held?.promise;
      if (this.failOn && inputs.some((e) => this.failOn!.test(e.input.text))) throw new Error('device lost (simulated)');
      return inputs.map((e) => this.#output(e.input));
    } finally {
      this.#busy.delete(replica);
      this.running--;
    }
  }

  #output(input: ServeInput): EngineOutput {
    if (this.info.task !== 'token-classification') return { logits: new Float32Array(fakeLogits(input, this.info.labels.length)) };
    const list = words(input.text);
    const truncated = list.slice(0, this.info.maxInputLength - 2);
    return {
      tokens: truncated.map((w, i) => {
        const tag = fakeTag(w.word, list[i - 1]?.word);
        return {
          token: w.word.toLowerCase(),
          index: i + 1,
          start: w.start,
          end: w.end,
          logits: this.info.labels.map((label) => (label === tag ? fakeTagLogit(w.word) : 0)),
        };
      }),
    };
  }
}

/** A `{label, score}` prediction. */
export type Scored = { label: string; score: number };

/**
 * Independent reference for the server's scores: softmax/sigmoid in float64 of the float32
 * logits the fake returns, sorted by score (highest first).
 */
export function expectedScores(labels: readonly string[], logits: number[], how: 'softmax' | 'sigmoid' | 'raw'): Scored[] {
  const z = logits.map(Math.fround);
  const max = Math.max(...z);
  const sum = z.reduce((s, v) => s + Math.exp(v - max), 0);
  const scores = z.map((v) => (how === 'raw' ? v : how === 'sigmoid' ? 1 / (1 + Math.exp(-v)) : Math.exp(v - max) / sum));
  return labels.map((label, i) => ({ label, score: scores[i]! })).sort((a, b) => b.score - a.score);
}

/** Whether `got` lists the labels of `want` in its order with the same scores (1e-9). */
export function sameScores(got: unknown, want: Scored[]): boolean {
  const list = got as Scored[];
  return Array.isArray(list) && list.length === want.length && list.every((p, i) => p.label === want[i]!.label && Math.abs(p.score - want[i]!.score) < 1e-9);
}

/** Asserts `got` equals `want` (labels in order, scores to 1e-9), saying what differs. */
export function scoresClose(t: Test, got: unknown, want: Scored[], what: string): void {
  t.ok(sameScores(got, want), `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}
