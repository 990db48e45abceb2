/**
 * Our side of `pjrt-bert bench`, measured through the same runtime and programs the Trainer
 * uses: the device's matmul ceiling (a large f32 and bf16 matrix product) and the train step
 * (`makeTrainStep`: K optimizer steps per execution, parameters and Adam state donated).
 *
 *     const rt = await Runtime.open();
 *     const ceiling = await measureMatmulCeiling(rt, 'f32', 2048);
 *     const step = await measureTrainStep(rt, benchModel('mini', shape), { timedSteps: 5, warmupCalls: 1 });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initModelParams } from '../models/index.js';
import { SeededRandom } from '../nn/init.js';
import { adam } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { DeviceArray, Runtime, type RuntimeOptions } from '../runtime/index.js';
import { jit, ops, type Tensor } from '../trace/index.js';
import { putParams } from '../train/model-state.js';
import { placeOptimizerState } from '../train/optimizer-state.js';
import { makeTrainStep } from '../train/programs.js';
import { classificationTask } from '../train/task-classification.js';
import { benchSpec, median, type BenchModel } from './bench-models.js';

/** A matmul ceiling: the best FLOP/s of an N x N x N product over a few runs. */
export interface MatmulCeiling {
  dtype: 'f32' | 'bf16';
  n: number;
  /** Best of the timed runs, in FLOP/s. */
  flops: number;
  /** Every timed run, in ms. */
  runsMs: number[];
}

/** Our train step, measured. */
export interface TrainStepMeasurement {
  /** Median over timed executions of (execution ms / K). */
  msPerStep: number;
  /** Each timed execution's ms per step. */
  stepMs: number[];
  /** Trace + compile of the train program, seconds (as JAX's lower + compile). */
  compileS: number;
  /** Trace + compile with the program already in the compile cache, seconds. */
  cachedCompileS: number;
  /** Wall time of the first execution after compiling, seconds. */
  firstCallS: number;
  /** Mean loss of the last timed step's batch (a sanity check: finite, near ln(labels)). */
  lastLoss: number;
  /** Device memory high-water mark in MiB, where the plugin reports it. */
  peakDeviceMb: number | null;
  /**
   * Median minor page faults of this process per timed step: on the CPU, XLA maps its temp
   * buffer fresh for every execution (see bench/RESULTS.md), and this shows what it costs.
   */
  pageFaultsPerStep: number;
}

const now = () => performance.now();

/** Uniform floats in [-1, 1) as f32 or as bf16 bit patterns. */
function randomMatrix(count: number, dtype: 'f32' | 'bf16', random: SeededRandom): Float32Array | Uint16Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = random.nextUint32() / 2 ** 31 - 1;
  if (dtype === 'f32') return values;
  const bits = new Uint32Array(values.buffer);
  const bf16 = new Uint16Array(count);
  for (let i = 0; i < count; i++) bf16[i] = bits[i]! >>> 16; // truncation is fine for a timing input
  return bf16;
}

/**
 * The device's matrix-product ceiling for `dtype`: one [n, n] x [n, n] product per execution,
 * one warm-up and `runs` timed executions through our runtime, best FLOP/s kept. Async.
 * @throws PjrtError when the plugin cannot compile or run the product.
 */
export async function measureMatmulCeiling(runtime: Runtime, dtype: 'f32' | 'bf16', n: number, runs = 5): Promise<MatmulCeiling> {
  const random = new SeededRandom(1);
  const a = await runtime.put(randomMatrix(n * n, dtype, random), [n, n], { dtype });
  const b = await runtime.put(randomMatrix(n * n, dtype, random), [n, n], { dtype });
  const product = jit((x: Tensor, y: Tensor) => ops.matmul(x, y), { runtime, name: `matmul_${dtype}` });
  try {
    (await product(a, b)).dispose();
    const runsMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = now();
      const out: DeviceArray = await product(a, b);
      runsMs.push(now() - start);
      out.dispose();
    }
    return { dtype, n, flops: (2 * n ** 3) / (Math.min(...runsMs) / 1000), runsMs };
  } finally {
    product.dispose();
    a.dispose();
    b.dispose();
  }
}

/** Options of {@link measureTrainStep}. */
export interface TrainStepBenchOptions {
  /** Optimizer steps to time (rounded up to whole executions of K steps); at least 5. */
  timedSteps: number;
  /** Untimed executions after the first one. */
  warmupCalls: number;
  /** Called with progress lines. */
  log?: (line: string) => void;
}

/** The token slab of one execution of `benchTrainStep`: K batches of random ids, all-ones mask, one segment. Async. */
export async function putSlab(runtime: Runtime, model: BenchModel, random: SeededRandom) {
  const { stepsPerExecution: K, batchSize: B, seqLen: S, vocabSize: V, labels: C } = model;
  const ids = new Int32Array(K * B * S);
  const low = V > 1000 ? 1000 : 1; // skip BERT's special and unused ids, as real text does
  for (let i = 0; i < ids.length; i++) ids[i] = i % S === 0 && V > 101 ? 101 : low + (random.nextUint32() % (V - low));
  const labels = new Int32Array(K * B).map(() => random.nextUint32() % C);
  const keys = new Uint32Array(K * B * 2).map(() => random.nextUint32()); // one dropout key per example, as the Trainer's
  return {
    inputIds: await runtime.put(ids, [K, B, S]),
    attentionMask: await runtime.put(new Int32Array(K * B * S).fill(1), [K, B, S]),
    tokenTypeIds: await runtime.put(new Int32Array(K * B * S), [K, B, S]),
    targets: await runtime.put(labels, [K, B, 1]),
    weights: await runtime.put(new Float32Array(K * B).fill(1), [K, B]),
    keys: await runtime.put(keys, [K, B, 2]),
    steps: await runtime.put(Int32Array.of(K), []),
  };
}

/** The train step `pjrt-bert bench` times for `model`: classification, one replica, K = model.stepsPerExecution, no clipping. */
export function benchTrainStep(model: BenchModel, optimizer: Optimizer) {
  return makeTrainStep({
    spec: benchSpec(model),
    task: classificationTask,
    optimizer,
    replicas: 1,
    steps: model.stepsPerExecution,
    accumulation: 1,
    clipNorm: 0,
    computeDtype: model.precision,
    dropout: model.dropout > 0,
  });
}

/**
 * Times our train program for `model` on device 0 of `runtime`: trace + compile, the first
 * execution, `warmupCalls` more, then ceil(timedSteps / K) timed executions, each timed until
 * its outputs are ready; the parameters and Adam state are donated from call to call as in the
 * Trainer. The cached compile is timed with a second jit of the same step against a compile
 * cache filled by the first compile. Async.
 * @throws PjrtError from the runtime; Error if the loss is not finite.
 */
export async function measureTrainStep(runtimeOptions: RuntimeOptions, model: BenchModel, options: TrainStepBenchOptions): Promise<TrainStepMeasurement> {
  const log = options.log ?? (() => undefined);
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-bench-cache-'));
  const runtime = await Runtime.open({ ...runtimeOptions, compileCache: cacheDir });
  try {
    const spec = benchSpec(model);
    const K = model.stepsPerExecution;
    const optimizer = adam({ lr: 1e-5 });
    const step = benchTrainStep(model, optimizer);
    const program = jit(step, { runtime, donateArgnums: [0, 1], name: 'train' });
    const hostParams = initModelParams(spec, 0);
    let params = await putParams(runtime, hostParams);
    let state = (await placeOptimizerState(runtime, optimizer, [params]))[0]!;
    const random = new SeededRandom(2);
    const timedCalls = Math.ceil(Math.max(5, options.timedSteps) / K);
    const slabs = [];
    for (let i = 0; i < 1 + options.warmupCalls + timedCalls; i++) slabs.push(await putSlab(runtime, model, random));

    log(`compiling the ${model.name} train program (K=${K}, ${model.precision})`);
    let start = now();
    await program.compile(params, state, slabs[0]);
    const compileS = (now() - start) / 1000;

    const stepMs: number[] = [];
    const faults: number[] = [];
    let firstCallS = 0;
    let lastLoss = NaN;
    for (const [i, slab] of slabs.entries()) {
      const faultsBefore = process.resourceUsage().minorPageFault;
      start = now();
      const out = await program(params, state, slab);
      const ms = now() - start;
      if (i > options.warmupCalls) faults.push((process.resourceUsage().minorPageFault - faultsBefore) / K);
      params = out.params as typeof params;
      state = (out as { state: unknown }).state as typeof state;
      if (i === 0) firstCallS = ms / 1000;
      else if (i > options.warmupCalls) stepMs.push(ms / K);
      const [lossSum] = (await out.metrics.lossSum.toHost()) as Float32Array;
      const [examples] = (await out.metrics.examples.toHost()) as Float32Array;
      lastLoss = lossSum! / examples!;
      for (const metric of Object.values(out.metrics) as DeviceArray[]) metric.dispose();
      log(`${i === 0 ? 'first call' : i > options.warmupCalls ? 'timed' : 'warm-up'} ${(ms / K).toFixed(1)} ms/step, loss ${lastLoss.toFixed(4)}`);
    }
    if (!Number.isFinite(lastLoss)) throw new Error(`the ${model.name} train step produced a non-finite loss (${lastLoss})`);
    const peak = runtime.memoryStats(0)?.peakBytesInUse;

    const again = jit(step, { runtime, donateArgnums: [0, 1], name: 'train' });
    start = now();
    await again.compile(params, state, slabs[0]);
    const cachedCompileS = (now() - start) / 1000;
    if (runtime.compileStats.cacheHits !== 1) throw new Error(`the cached compile missed the compile cache (${JSON.stringify(runtime.compileStats)})`);
    again.dispose();
    program.dispose();
    return { msPerStep: median(stepMs), stepMs, compileS, cachedCompileS, firstCallS, lastLoss, peakDeviceMb: peak === undefined ? null : peak / 2 ** 20, pageFaultsPerStep: median(faults) };
  } finally {
    runtime.dispose();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
