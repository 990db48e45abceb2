/**
 * `pjrt-bert bench`, the run: the device's matmul ceilings, then for every model our train
 * step, PyTorch eager and the JAX reference, one after the other on the same machine (each in
 * its own process), gathered into the result object DESIGN.md specifies.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../native/package-root.js';
import { median, mfu, trainStepFlops, type BenchModel } from './bench-models.js';
import type { CeilingReport, StepReport, WorkerJob } from './bench-worker.js';
import { parseLastJsonLine, runLogged, runReference, type ReferenceFramework, type ReferenceResult } from './references.js';

/** A framework `bench` can time. */
export type BenchFramework = 'ours' | ReferenceFramework;

/** Options of {@link runBench}. */
export interface BenchOptions {
  plugin: string;
  models: BenchModel[];
  frameworks: BenchFramework[];
  /** Timed optimizer steps per framework and model (at least 5). */
  timedSteps: number;
  /** Untimed calls after the first. */
  warmupCalls: number;
  /**
   * Times each framework this many times, alternating (ours, torch, jax, ours, ...), so load
   * from other tenants of a shared machine falls on all of them alike; the medians are taken
   * over the steps of every round.
   */
  rounds: number;
  /** Side of the square matmuls that measure the ceiling. */
  matmulN: number;
  /** Python for the references (default: the package's venv). */
  python?: string;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

/** One model's row: the fields DESIGN.md names first, then everything else measured. */
export interface BenchResult {
  name: string;
  layers: number;
  hidden: number;
  heads: number;
  seqLen: number;
  batchSize: number;
  ours_ms_per_step: number | null;
  torch_ms_per_step: number | null;
  jax_ms_per_step: number | null;
  ours_compile_s: number | null;
  intermediate: number;
  precision: 'f32' | 'bf16';
  stepsPerExecution: number;
  /** Model FLOPs of one step (see trainStepFlops). */
  flops_per_step: number;
  /** ours / torch and ours / jax ms per step (below 1: we are faster). */
  ours_vs_torch: number | null;
  ours_vs_jax: number | null;
  ours_cached_compile_s: number | null;
  ours_first_call_s: number | null;
  jax_compile_s: number | null;
  ours_mfu: number | null;
  torch_mfu: number | null;
  jax_mfu: number | null;
  ours_peak_host_mb: number | null;
  torch_peak_host_mb: number | null;
  jax_peak_host_mb: number | null;
  ours_peak_device_mb: number | null;
  /** Minor page faults per step of our process (fresh temp memory each execution on the CPU). */
  ours_page_faults_per_step: number | null;
  torch_peak_device_mb: number | null;
  jax_peak_device_mb: number | null;
  ours_step_ms: number[] | null;
  torch_step_ms: number[] | null;
  jax_step_ms: number[] | null;
  /** Frameworks that failed on this model, with their error. */
  errors: Partial<Record<BenchFramework, string>>;
}

/** The whole report, printed as JSON by `bench --json`. */
export interface BenchReport {
  device: string;
  platform: string;
  date: string;
  versions: Record<string, string>;
  /** Matmul ceilings measured through our runtime in this run, FLOP/s. */
  ceiling: { f32_flops: number; bf16_flops: number; matmul_n: number };
  /** Rounds each framework was timed in (alternating). */
  rounds: number;
  results: BenchResult[];
}

const workerPath = fileURLToPath(new URL('./bench-worker.js', import.meta.url));

/** Runs one job in a fresh `bench-worker` process. Async; rejects with the worker's error. */
async function runWorker<T>(job: WorkerJob, log: (line: string) => void): Promise<T> {
  const stdout = await runLogged(process.execPath, [workerPath, JSON.stringify(job)], log, 'pjrt-bert train step');
  return parseLastJsonLine(stdout, 'bench worker') as T;
}

const maxOrNull = (values: readonly (number | null)[]) => (values.some((v) => v !== null) ? Math.max(...values.filter((v): v is number => v !== null)) : null);

/** Several rounds of our measurement as one: medians over all timed steps, peaks as maxima. */
function mergeOurs(runs: readonly StepReport[]): StepReport {
  const stepMs = runs.flatMap((r) => r.stepMs);
  return {
    ...runs[0]!,
    msPerStep: median(stepMs),
    stepMs,
    compileS: median(runs.map((r) => r.compileS)),
    cachedCompileS: median(runs.map((r) => r.cachedCompileS)),
    firstCallS: median(runs.map((r) => r.firstCallS)),
    peakHostMb: Math.max(...runs.map((r) => r.peakHostMb)),
    peakDeviceMb: maxOrNull(runs.map((r) => r.peakDeviceMb)),
    pageFaultsPerStep: median(runs.map((r) => r.pageFaultsPerStep)),
  };
}

/** Several rounds of a reference as one, like {@link mergeOurs}. */
function mergeReference(runs: readonly ReferenceResult[]): ReferenceResult {
  const stepMs = runs.flatMap((r) => r.step_ms);
  const compile = runs.map((r) => r.compile_s).filter((c): c is number => c !== null);
  return {
    ...runs[0]!,
    ms_per_step: median(stepMs),
    step_ms: stepMs,
    first_call_s: median(runs.map((r) => r.first_call_s)),
    compile_s: compile.length ? median(compile) : null,
    peak_host_mb: Math.max(...runs.map((r) => r.peak_host_mb)),
    peak_device_mb: maxOrNull(runs.map((r) => r.peak_device_mb)),
  };
}

const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Measures everything `options` asks for. Async; a framework that fails on a model is recorded
 * in that row's `errors` (and its columns are null) so the other measurements are kept.
 * @throws Error when the ceiling cannot be measured (the plugin does not work at all).
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const { log } = options;
  log(`measuring the matmul ceiling through ${options.plugin} (n=${options.matmulN}, f32 and bf16)`);
  const ceiling = await runWorker<CeilingReport>({ job: 'ceiling', plugin: options.plugin, matmulN: options.matmulN }, log);
  const ceilingOf = (precision: 'f32' | 'bf16') => ceiling.ceilings.find((c) => c.dtype === precision)!.flops;
  const versions: Record<string, string> = {
    pjrt_bert: (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version,
    node: process.version,
    pjrt_plugin_api: ceiling.pluginApi,
    platform_version: ceiling.platformVersion,
  };
  const device = ceiling.platform === 'cpu' ? 'cpu' : 'cuda';
  const results: BenchResult[] = [];
  for (const model of options.models) {
    const label = `${model.name} ${model.precision} B=${model.batchSize} S=${model.seqLen} K=${model.stepsPerExecution}`;
    const errors: BenchResult['errors'] = {};
    const oursRuns: StepReport[] = [];
    const referenceRuns: Record<ReferenceFramework, ReferenceResult[]> = { torch: [], jax: [] };
    for (let round = 1; round <= options.rounds; round++) {
      for (const framework of options.frameworks) {
        if (errors[framework]) continue;
        log(`${label}: ${framework}${options.rounds > 1 ? ` (round ${round} of ${options.rounds})` : ''}`);
        try {
          if (framework === 'ours') {
            oursRuns.push(await runWorker<StepReport>({ job: 'step', plugin: options.plugin, model, timedSteps: options.timedSteps, warmupCalls: options.warmupCalls }, log));
          } else {
            const result = await runReference(framework, model, options.timedSteps, options.warmupCalls, { device, log, ...(options.python ? { python: options.python } : {}) });
            referenceRuns[framework].push(result);
            versions[framework] = result.version;
          }
        } catch (error) {
          errors[framework] = message(error);
          log(`${label}: ${framework} failed: ${message(error)}`);
        }
      }
    }
    const ours = oursRuns.length ? mergeOurs(oursRuns) : undefined;
    const references: Partial<Record<ReferenceFramework, ReferenceResult>> = {};
    for (const framework of ['torch', 'jax'] as const) if (referenceRuns[framework].length) references[framework] = mergeReference(referenceRuns[framework]);
    const flops = trainStepFlops(model);
    const oursMs = ours?.msPerStep ?? null;
    const torchMs = references.torch?.ms_per_step ?? null;
    const jaxMs = references.jax?.ms_per_step ?? null;
    const ceilingFlops = ceilingOf(model.precision);
    results.push({
      name: model.name,
      layers: model.layers,
      hidden: model.hidden,
      heads: model.heads,
      seqLen: model.seqLen,
      batchSize: model.batchSize,
      ours_ms_per_step: oursMs,
      torch_ms_per_step: torchMs,
      jax_ms_per_step: jaxMs,
      ours_compile_s: ours?.compileS ?? null,
      intermediate: model.intermediate,
      precision: model.precision,
      stepsPerExecution: model.stepsPerExecution,
      flops_per_step: flops,
      ours_vs_torch: ratio(oursMs, torchMs),
      ours_vs_jax: ratio(oursMs, jaxMs),
      ours_cached_compile_s: ours?.cachedCompileS ?? null,
      ours_first_call_s: ours?.firstCallS ?? null,
      jax_compile_s: references.jax?.compile_s ?? null,
      ours_mfu: mfu(flops, oursMs, ceilingFlops),
      torch_mfu: mfu(flops, torchMs, ceilingFlops),
      jax_mfu: mfu(flops, jaxMs, ceilingFlops),
      ours_peak_host_mb: ours?.peakHostMb ?? null,
      torch_peak_host_mb: references.torch?.peak_host_mb ?? null,
      jax_peak_host_mb: references.jax?.peak_host_mb ?? null,
      ours_peak_device_mb: ours?.peakDeviceMb ?? null,
      ours_page_faults_per_step: ours?.pageFaultsPerStep ?? null,
      torch_peak_device_mb: references.torch?.peak_device_mb ?? null,
      jax_peak_device_mb: references.jax?.peak_device_mb ?? null,
      ours_step_ms: ours?.stepMs ?? null,
      torch_step_ms: references.torch?.step_ms ?? null,
      jax_step_ms: references.jax?.step_ms ?? null,
      errors,
    });
  }
  return {
    device: ceiling.device,
    platform: ceiling.platform,
    date: new Date().toISOString(),
    versions,
    ceiling: { f32_flops: ceilingOf('f32'), bf16_flops: ceilingOf('bf16'), matmul_n: options.matmulN },
    rounds: options.rounds,
    results,
  };
}
