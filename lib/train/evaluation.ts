/**
 * Evaluation and prediction: one compiled eval program (K batches per call, R replicas) run
 * over examples in file order; the last partial batch is padded, never recompiled. Loss,
 * accuracy and macro-F1 are computed on the host from the logits (in float64).
 */
import { type ModelParams, type ModelSpec, numLabelsOf } from '../models/index.js';
import type { DeviceArray, Runtime } from '../runtime/index.js';
import { jit, type JitFunction } from '../trace/index.js';
import type { TokenizedExamples } from './data.js';
import { SlabBatcher } from './data-batches.js';
import { argmaxRows, classificationReport } from './metrics.js';
import { makeEvalStep } from './programs.js';
import { type ModelState, disposeAll, putParams } from './model-state.js';

/** Results of one evaluation. */
export interface Evaluation {
  examples: number;
  /** Mean cross-entropy over the examples. */
  loss: number;
  accuracy: number;
  macroF1: number;
  /** Logits [examples, labels], row-major. */
  logits: Float32Array;
}

/** What the eval runner needs from the Trainer. */
export interface EvalHost {
  readonly runtime: Runtime;
  readonly config: { readonly replicas: number; readonly batchSize: number; readonly stepsPerExecution: number; readonly precision: 'f32' | 'bf16' };
}

/** Runs the eval program for one model; compiles once. */
export class EvalRunner implements Disposable {
  readonly #program: JitFunction<ReturnType<typeof makeEvalStep>>;
  readonly #host: EvalHost;
  readonly #labels: number;

  /** Sync; nothing is compiled until the first call. */
  constructor(host: EvalHost, spec: ModelSpec) {
    this.#host = host;
    this.#labels = numLabelsOf(spec.config);
    const { replicas, stepsPerExecution, precision } = host.config;
    this.#program = jit(makeEvalStep(spec, stepsPerExecution, precision), { runtime: host.runtime, replicas, name: 'eval' });
  }

  /** Programs compiled so far (one). */
  get compileCount(): number {
    return this.#program.compileCount;
  }

  /** Seconds spent tracing and compiling the eval program so far. */
  compileSeconds = 0;

  /**
   * Logits [N, labels] of `examples` with the parameters on each replica's device. Async.
   * @throws PjrtError from the runtime.
   */
  async logits(params: readonly ModelParams<DeviceArray>[], examples: TokenizedExamples): Promise<Float32Array> {
    const { runtime, config } = this.#host;
    const labels = this.#labels;
    const out = new Float32Array(examples.count * labels);
    if (examples.count === 0) return out;
    const batcher = new SlabBatcher(examples, { globalBatchSize: config.batchSize, replicas: config.replicas, stepsPerCall: config.stepsPerExecution, shuffle: false });
    const shard = batcher.shardSize;
    const S = examples.seqLen;
    const K = config.stepsPerExecution;
    for (const slab of batcher.slabs(1)) {
      const args = await Promise.all(
        slab.replicas.map(async (part, r) => {
          const device = r;
          const put = (data: Int32Array) => runtime.put(data, [K, shard, S], { device });
          const steps = await runtime.put(Int32Array.of(slab.steps), [], { device });
          return [params[r]!, { inputIds: await put(part.inputIds), attentionMask: await put(part.attentionMask), tokenTypeIds: await put(part.tokenTypeIds), steps }] as const;
        }),
      );
      if (this.#program.compileCount === 0) {
        const started = performance.now();
        await this.#program.compile(...args[0]!);
        this.compileSeconds += (performance.now() - started) / 1000;
      }
      const results = await this.#program.replicated(args);
      for (let r = 0; r < results.length; r++) {
        const values = (await (results[r] as DeviceArray).toHost()) as Float32Array; // [K, shard, labels]
        for (let k = 0; k < K; k++) {
          for (let j = 0; j < shard; j++) {
            const example = (slab.position.step + k) * config.batchSize + r * shard + j;
            if (k >= slab.steps || example >= examples.count) continue;
            out.set(values.subarray((k * shard + j) * labels, (k * shard + j + 1) * labels), example * labels);
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

/** Loss (mean cross-entropy, float64), accuracy and macro-F1 of `logits` against `labels`. Sync. */
export function scoreLogits(logits: Float32Array, labels: Int32Array, classes: number): Omit<Evaluation, 'logits'> {
  const count = labels.length;
  let loss = 0;
  for (let i = 0; i < count; i++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[i * classes + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[i * classes + c]! - max);
    loss += max + Math.log(sum) - logits[i * classes + labels[i]!]!;
  }
  const report = classificationReport(labels, argmaxRows(logits, classes), classes);
  return { examples: count, loss: count ? loss / count : 0, accuracy: report.accuracy, macroF1: report.macroF1 };
}

/**
 * Evaluates host parameters on examples: puts them on each replica's device, runs the eval
 * program, scores. Async. @throws PjrtError from the runtime.
 */
export async function evaluateExamples(host: EvalHost, model: ModelState, examples: TokenizedExamples): Promise<Evaluation> {
  const runner = new EvalRunner(host, model.spec);
  const params = await Promise.all(Array.from({ length: host.config.replicas }, (_, r) => putParams(host.runtime, model.params, r)));
  try {
    const logits = await runner.logits(params, examples);
    return { ...scoreLogits(logits, examples.labels, numLabelsOf(model.spec.config)), logits };
  } finally {
    runner.dispose();
    for (const replica of params) disposeAll(replica);
  }
}
