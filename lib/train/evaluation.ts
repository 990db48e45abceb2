/**
 * Evaluation and prediction: one compiled eval program (K batches per call, R replicas) run
 * over examples in file order; the last partial batch is padded, never recompiled. The task's
 * metrics (loss, accuracy, F1, correlations...) are computed on the host from the logits.
 */
import { type ModelParams, type ModelSpec, isTokenHead, numLabelsOf } from '../models/index.js';
import type { DeviceArray, Runtime } from '../runtime/index.js';
import { jit, type JitFunction } from '../trace/index.js';
import type { TokenizedExamples } from './data.js';
import { SlabBatcher } from './data-batches.js';
import { type PaddingMode, defaultBuckets, planRun, rowLength, sameShapeSlab, shapeCall } from './padding.js';
import { type ModelState, disposeAll, putParams } from './model-state.js';
import { makeEvalStep } from './programs.js';
import type { Task, TaskMetrics, TaskReport } from './task.js';

/** Results of one evaluation. */
export interface Evaluation {
  examples: number;
  /** The task's metrics: `loss` always, then e.g. `accuracy` and `f1` (macro) for classification. */
  metrics: TaskMetrics;
  /** The task's tables (per class and confusion matrix, per label, per entity type) as text and JSON. */
  report: Omit<TaskReport, 'metrics'>;
  /** Logits [examples, labels] ([examples, S, labels] for token classification), row-major. */
  logits: Float32Array;
}

/** What the eval runner needs from the Trainer. */
export interface EvalHost {
  readonly runtime: Runtime;
  readonly config: {
    readonly replicas: number;
    readonly batchSize: number;
    readonly stepsPerExecution: number;
    readonly precision: 'f32' | 'bf16';
    /** How rows are padded (default `fixed`); see padding.ts. */
    readonly padding?: PaddingMode;
    /** Bucket lengths for `bucket` mode (default {@link defaultBuckets} of the sequence length). */
    readonly buckets?: readonly number[] | undefined;
  };
}

/** Runs the eval program for one model; compiles once. */
export class EvalRunner implements Disposable {
  readonly #program: JitFunction<ReturnType<typeof makeEvalStep>>;
  readonly #host: EvalHost;
  readonly #labels: number;
  readonly #tokenHead: boolean;

  /** Sync; nothing is compiled until the first call. */
  constructor(host: EvalHost, spec: ModelSpec) {
    this.#host = host;
    this.#labels = numLabelsOf(spec.config);
    this.#tokenHead = isTokenHead(spec);
    const { replicas, stepsPerExecution, precision } = host.config;
    this.#program = jit(makeEvalStep(spec, stepsPerExecution, precision), { runtime: host.runtime, replicas, name: 'eval' });
  }

  /** Programs compiled so far: one per distinct slab shape (one in `fixed` mode, one per bucket or row count used otherwise). */
  get compileCount(): number {
    return this.#program.compileCount;
  }

  /** Seconds spent tracing and compiling the eval program so far. */
  compileSeconds = 0;

  /**
   * Logits [N, labels] (or [N, S, labels], 0 at padding positions) of `examples` with the
   * parameters on each replica's device, padded as the config says. Async.
   * @throws PjrtError from the runtime.
   */
  async logits(params: readonly ModelParams<DeviceArray>[], examples: TokenizedExamples): Promise<Float32Array> {
    const { runtime, config } = this.#host;
    const S = examples.seqLen;
    const labels = this.#labels;
    const perExample = this.#tokenHead ? S * labels : labels;
    const out = new Float32Array(examples.count * perExample);
    if (examples.count === 0) return out;
    const batcher = new SlabBatcher(examples, { globalBatchSize: config.batchSize, replicas: config.replicas, stepsPerCall: config.stepsPerExecution, shuffle: false });
    const shard = batcher.shardSize;
    const K = config.stepsPerExecution;
    const mode = config.padding ?? 'fixed';
    const shapes = planRun(batcher.stepLengths(1), { mode, replicas: config.replicas, accumulation: 1, seqLen: S, buckets: config.buckets ?? defaultBuckets(S), plan: config.buckets === undefined });
    for (let position = { epoch: 0, step: 0 }; position.epoch === 0; ) {
      const at = position;
      const slab = sameShapeSlab((maxSteps) => batcher.slab(at, maxSteps), { mode, accumulation: 1, m: shard, seqLen: S, ...shapes });
      position = slab.next;
      const call = shapeCall(slab.replicas, { mode, micro: K, m: shard, seqLen: S, ...shapes, tokenTask: this.#tokenHead, realMicro: slab.steps });
      const { rows, seqLen: width } = call;
      const args = await Promise.all(
        call.replicas.map(async (part, r) => {
          const device = { device: r };
          const put = (data: Int32Array) => runtime.put(data, [K, rows, width], device);
          const tokens = { inputIds: await put(part.inputIds), attentionMask: await put(part.attentionMask), tokenTypeIds: await put(part.tokenTypeIds) };
          const packed = part.segmentIds && part.positionIds && part.exampleStarts ? { segmentIds: await put(part.segmentIds), positionIds: await put(part.positionIds), exampleStarts: await runtime.put(part.exampleStarts, [K, shard], device) } : {};
          return [params[r]!, { ...tokens, ...packed, steps: await runtime.put(Int32Array.of(slab.steps), [], device) }] as const;
        }),
      );
      const compiled = this.#program.compileCount;
      const started = performance.now();
      await this.#program.compile(...args[0]!);
      if (this.#program.compileCount > compiled) this.compileSeconds += (performance.now() - started) / 1000;
      const results = await this.#program.replicated(args);
      for (let r = 0; r < results.length; r++) {
        const values = (await (results[r] as DeviceArray).toHost()) as Float32Array; // [K, m, labels], or [K, rows, width, labels]
        const part = call.replicas[r]!;
        for (let k = 0; k < slab.steps; k++) {
          for (let j = 0; j < shard; j++) {
            const example = (slab.position.step + k) * config.batchSize + r * shard + j;
            if (example >= examples.count) continue;
            if (!this.#tokenHead) {
              out.set(values.subarray((k * shard + j) * labels, (k * shard + j + 1) * labels), example * labels);
              continue;
            }
            // the example's tokens: from its row (bucket, fixed) or its place in a packed row
            const length = rowLength(slab.replicas[r]!.attentionMask, k * shard + j, S);
            const start = k * rows * width + (part.exampleStarts ? part.exampleStarts[k * shard + j]! : j * width);
            out.set(values.subarray(start * labels, (start + length) * labels), example * perExample);
          }
        }
        (results[r] as DeviceArray).dispose();
      }
      for (const [, tokens] of args) for (const array of Object.values(tokens)) array.dispose();
    }
    return out;
  }

  /** Frees the compiled program. Sync. */
  dispose(): void {
    this.#program.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The task's report of `logits` against the examples' targets (labels in the model's id order). Sync. */
export function scoreLogits(task: Task, spec: ModelSpec, logits: Float32Array, examples: TokenizedExamples): TaskReport {
  const labels = spec.config.labels ?? Array.from({ length: numLabelsOf(spec.config) }, (_, i) => `LABEL_${i}`);
  return task.report(logits, examples.targets, labels, examples.seqLen);
}

/**
 * Evaluates host parameters on examples: puts them on each replica's device, runs the eval
 * program, scores them with the task. Async. @throws PjrtError from the runtime.
 */
export async function evaluateExamples(host: EvalHost, model: ModelState, task: Task, examples: TokenizedExamples): Promise<Evaluation> {
  const runner = new EvalRunner(host, model.spec);
  const params = await Promise.all(Array.from({ length: host.config.replicas }, (_, r) => putParams(host.runtime, model.params, r)));
  try {
    const logits = await runner.logits(params, examples);
    const { metrics, text, details } = scoreLogits(task, model.spec, logits, examples);
    return { examples: examples.count, metrics, report: { text, details }, logits };
  } finally {
    runner.dispose();
    for (const replica of params) disposeAll(replica);
  }
}
