/**
 * The child process `pjrt-bert bench` runs each of our measurements in, so each one starts
 * from a fresh process (its own peak host memory, no earlier config's buffers or compile
 * caches) the same way the PyTorch and JAX references do.
 *
 *     node dist/lib/bench/bench-worker.js '{"job":"step","plugin":"cpu","model":{...},...}'
 *
 * Progress goes to stderr; the result is one JSON line on stdout. Exit code 1 on failure, with
 * the message on stderr.
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Runtime } from '../runtime/index.js';
import type { BenchModel } from './bench-models.js';
import { measureMatmulCeiling, measureTrainStep, type MatmulCeiling, type TrainStepMeasurement } from './our-bench.js';

/** A job for the worker: the device description and ceilings, or one train-step measurement. */
export type WorkerJob =
  | { job: 'ceiling'; plugin: string; matmulN: number }
  | { job: 'step'; plugin: string; model: BenchModel; timedSteps: number; warmupCalls: number };

/** What a `ceiling` job reports. */
export interface CeilingReport {
  /** e.g. `cpu (2 cores: AMD EPYC 7B13)` or `NVIDIA H100 80GB HBM3`. */
  device: string;
  platform: string;
  platformVersion: string;
  pluginApi: string;
  ceilings: MatmulCeiling[];
}

/** What a `step` job reports. */
export type StepReport = TrainStepMeasurement & { peakHostMb: number };

/** How this machine's device is described in the results. Sync. */
export function describeDevice(runtime: Runtime): string {
  const kind = runtime.devices[0]?.kind ?? 'unknown';
  if (runtime.platformName !== 'cpu') return kind;
  const cpus = os.cpus();
  return `cpu (${cpus.length} cores: ${cpus[0]?.model.trim() ?? 'unknown model'})`;
}

/** Runs one job. Async; rejects with the runtime's errors. */
export async function runWorkerJob(job: WorkerJob, log: (line: string) => void): Promise<CeilingReport | StepReport> {
  if (job.job === 'ceiling') {
    using runtime = await Runtime.open({ plugin: job.plugin });
    const ceilings: MatmulCeiling[] = [];
    for (const dtype of ['f32', 'bf16'] as const) {
      log(`matmul ceiling, ${dtype}, n=${job.matmulN}`);
      ceilings.push(await measureMatmulCeiling(runtime, dtype, job.matmulN));
    }
    const { major, minor } = runtime.apiVersion;
    return { device: describeDevice(runtime), platform: runtime.platformName, platformVersion: runtime.platformVersion, pluginApi: `${major}.${minor}`, ceilings };
  }
  const result = await measureTrainStep({ plugin: job.plugin }, job.model, { timedSteps: job.timedSteps, warmupCalls: job.warmupCalls, log });
  return { ...result, peakHostMb: process.resourceUsage().maxRSS / 1024 };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const log = (line: string) => process.stderr.write(`  ${line}\n`);
  runWorkerJob(JSON.parse(process.argv[2] ?? '{}') as WorkerJob, log).then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
