/**
 * Several CPU PJRT plugin builds timed against each other in ONE process, step by step: each
 * plugin gets its own runtime and its own copy of the train program of `pjrt-bert bench`
 * (`makeTrainStep`, parameters and Adam state donated, dropout on), then the steps alternate
 * A, B, C, B, C, A, ... so that load from other tenants of a shared machine falls on every plugin
 * within seconds. The ratio of each plugin to the first is taken per cycle (steps seconds
 * apart), then its median. Compile and cached-compile (deserialize) times alternate the same way.
 *
 *     npm run build
 *     node dist/bench/cpu-plugins-bench.js --config mini --precision f32 --cycles 20 A.so B.so C.so
 *
 * Prints progress on stderr and one JSON object as the last stdout line. Every runtime holds its
 * model, optimizer state and XLA's temp buffer at once: at base that is about 6 GB per plugin.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchModel, benchSpec, median, type BenchModel } from '../lib/bench/bench-models.js';
import { benchTrainStep, putSlab } from '../lib/bench/our-bench.js';
import { initModelParams } from '../lib/models/index.js';
import { SeededRandom } from '../lib/nn/init.js';
import { adam } from '../lib/optim/adam.js';
import { Runtime, type DeviceArray } from '../lib/runtime/index.js';
import { jit } from '../lib/trace/index.js';
import { putParams } from '../lib/train/model-state.js';
import { placeOptimizerState } from '../lib/train/optimizer-state.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: 'mini' },
    precision: { type: 'string', default: 'f32' },
    'batch-size': { type: 'string', default: '32' },
    'seq-len': { type: 'string', default: '128' },
    cycles: { type: 'string', default: '20' },
    compiles: { type: 'string', default: '2' },
  },
});
if (positionals.length < 2) {
  process.stderr.write('usage: cpu-plugins-bench.js [--config mini] [--precision f32|bf16] [--cycles N] [--compiles N] BASELINE.so OTHER.so [...]\n');
  process.exit(2);
}
const precision = values.precision as 'f32' | 'bf16';
if (precision !== 'f32' && precision !== 'bf16') throw new Error(`--precision takes f32 or bf16, got '${values.precision}'`);
const model: BenchModel = benchModel(values.config!, {
  seqLen: Number(values['seq-len']),
  batchSize: Number(values['batch-size']),
  precision,
  stepsPerExecution: 1,
  dropout: 0.1,
  vocabSize: 30522,
  labels: 3,
});
const cycles = Number(values.cycles);
const compiles = Number(values.compiles);
const log = (line: string) => process.stderr.write(`[cpu-plugins] ${line}\n`);
const now = () => performance.now();

/** One plugin's runtime, program, state and what was measured. */
interface Contender {
  file: string;
  runtime: Runtime;
  cacheDir: string;
  api: string;
  compileS: number[];
  cachedCompileS: number[];
  stepMs: number[];
  program?: ReturnType<typeof jit>;
  params?: unknown;
  state?: unknown;
  slabs: Record<string, DeviceArray>[];
}

const optimizer = adam({ lr: 1e-5 });
const spec = benchSpec(model);
const step = benchTrainStep(model, optimizer);
const rotate = <T>(items: T[], by: number) => items.map((_, i) => items[(i + by) % items.length]!);

const contenders: Contender[] = [];
for (const file of positionals) {
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-cpu-plugins-'));
  const runtime = await Runtime.open({ plugin: file, cpuDevices: 1, compileCache: cacheDir });
  const random = new SeededRandom(2);
  const slabs = [];
  for (let i = 0; i < 4; i++) slabs.push(await putSlab(runtime, model, random));
  contenders.push({ file, runtime, cacheDir, api: `${runtime.apiVersion.major}.${runtime.apiVersion.minor}`, compileS: [], cachedCompileS: [], stepMs: [], slabs });
  log(`${file}: PJRT API ${runtime.apiVersion.major}.${runtime.apiVersion.minor}`);
}

// Compiles, alternating: a fresh compile (cache emptied) then a load from the compile cache.
for (let round = 0; round < compiles; round++) {
  for (const c of rotate(contenders, round)) {
    for (const entry of readdirSync(c.cacheDir)) rmSync(path.join(c.cacheDir, entry), { force: true });
    c.params ??= await putParams(c.runtime, initModelParams(spec, 0));
    c.state ??= (await placeOptimizerState(c.runtime, optimizer, [c.params as never]))[0];
    const fresh = jit(step, { runtime: c.runtime, donateArgnums: [0, 1], name: 'train' });
    let start = now();
    await fresh.compile(c.params, c.state, c.slabs[0]);
    c.compileS.push((now() - start) / 1000);
    const cached = jit(step, { runtime: c.runtime, donateArgnums: [0, 1], name: 'train' });
    start = now();
    await cached.compile(c.params, c.state, c.slabs[0]);
    c.cachedCompileS.push((now() - start) / 1000);
    c.program?.dispose();
    fresh.dispose();
    c.program = cached;
    log(`${path.basename(path.dirname(c.file))}: compile ${c.compileS.at(-1)!.toFixed(2)} s, from the cache ${c.cachedCompileS.at(-1)!.toFixed(2)} s`);
  }
}

/** One train step on `c`, timed until its outputs are ready; returns ms. */
async function runStep(c: Contender, i: number): Promise<number> {
  const start = now();
  const out = (await c.program!(c.params, c.state, c.slabs[i % c.slabs.length])) as { params: unknown; state: unknown; metrics: Record<string, DeviceArray> };
  const ms = now() - start;
  c.params = out.params;
  c.state = out.state;
  const [lossSum] = (await out.metrics.lossSum!.toHost()) as Float32Array;
  for (const metric of Object.values(out.metrics)) metric.dispose();
  if (!Number.isFinite(lossSum)) throw new Error(`${c.file}: non-finite loss ${lossSum}`);
  return ms;
}

for (const c of contenders) await runStep(c, 0); // first call and warm-up, untimed
const ratios: number[][] = contenders.map(() => []);
for (let cycle = 0; cycle < cycles; cycle++) {
  const ms = new Map<Contender, number>();
  for (const c of rotate(contenders, cycle)) ms.set(c, await runStep(c, cycle + 1));
  contenders.forEach((c, k) => {
    c.stepMs.push(ms.get(c)!);
    ratios[k]!.push(ms.get(c)! / ms.get(contenders[0]!)!);
  });
  log(`cycle ${cycle + 1}/${cycles}: ${contenders.map((c) => `${path.basename(path.dirname(c.file))} ${ms.get(c)!.toFixed(0)}`).join(', ')} ms`);
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
};
const result = {
  date: new Date().toISOString(),
  config: model.name,
  precision,
  batchSize: model.batchSize,
  seqLen: model.seqLen,
  cycles,
  loadavg: os.loadavg(),
  plugins: contenders.map((c, k) => ({
    file: c.file,
    api: c.api,
    ms_per_step: median(c.stepMs),
    ms_p25: quantile(c.stepMs, 0.25),
    ms_p75: quantile(c.stepMs, 0.75),
    vs_first: median(ratios[k]!),
    vs_first_p25: quantile(ratios[k]!, 0.25),
    vs_first_p75: quantile(ratios[k]!, 0.75),
    compile_s: median(c.compileS),
    cached_compile_s: median(c.cachedCompileS),
    step_ms: c.stepMs.map((x) => Math.round(x)),
  })),
};
for (const c of contenders) {
  c.program?.dispose();
  c.runtime.dispose();
  rmSync(c.cacheDir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(result)}\n`);
