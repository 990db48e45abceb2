/**
 * `npm run bench:runtime`: the cost of going through pjrt-bert's TypeScript runtime instead of
 * calling PJRT from C++, measured in one run on one machine:
 *
 * - per-call overhead of `Executable.execute` for a tiny program, against a C++ loop calling
 *   `PJRT_LoadedExecutable_Execute` directly (goal: under 50 us added per call);
 * - host<->device transfer rate of 64 MiB arrays (`put` / `toHost`), against plain `memcpy`
 *   (goal: at least 80%) and against PJRT's own transfer called from C++.
 *
 * Prints a table, then one JSON line (`--json` prints only the JSON).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../lib/native/package-root.js';
import { Runtime } from '../lib/index.js';

interface Baseline {
  execute_us: number;
  memcpy_gbps: number;
  memcpy_fresh_gbps: number;
  h2d_gbps: number;
  d2h_gbps: number;
  bytes: number;
}

const json = process.argv.includes('--json');
const log = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const rt = await Runtime.open({ plugin: process.env.PJRT_BERT_BENCH_PLUGIN ?? 'cpu' });
const baselineBinary = path.join(packageRoot(), 'build', 'Release', 'runtime_baseline');
const baselineRun = spawnSync(baselineBinary, [rt.pluginPath, '20000'], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '1' } });
if (baselineRun.status !== 0) throw new Error(`${baselineBinary} failed: ${baselineRun.stderr || baselineRun.error?.message}`);
const baseline = JSON.parse(baselineRun.stdout.trim().split('\n').pop()!) as Baseline;

// Execute overhead: the same tiny program as the C++ baseline.
const exe = await rt.compile(`func.func public @main(%arg0: tensor<16xf32>) -> tensor<16xf32> {
  %0 = stablehlo.negate %arg0 : tensor<16xf32>
  return %0 : tensor<16xf32>
}`);
const input = await rt.put(new Float32Array(16).fill(1), [16]);
const executeRound = async (n: number) => {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const [[out]] = await exe.execute([input]);
    out!.dispose();
  }
  return ((performance.now() - start) / n) * 1000;
};
await executeRound(2000);
const executeSamples: number[] = [];
for (let round = 0; round < 5; round++) executeSamples.push(await executeRound(4000));
const executeUs = median(executeSamples);

// Transfers: 64 MiB of f32, median of 7 after one warm-up.
const count = baseline.bytes / 4;
const host = new Float32Array(count).fill(0.5);
const into = new Float32Array(count);
const putSeconds: number[] = [];
const toHostSeconds: number[] = [];
const toHostIntoSeconds: number[] = [];
for (let i = 0; i < 8; i++) {
  host[i] = i;
  let start = performance.now();
  const array = await rt.put(host, [count]);
  const up = (performance.now() - start) / 1000;
  start = performance.now();
  const back = await array.toHost();
  const down = (performance.now() - start) / 1000;
  start = performance.now();
  await array.toHost(into);
  const downInto = (performance.now() - start) / 1000;
  if (back[i] !== i || into[i] !== i) throw new Error('transfer corrupted the data');
  array.dispose();
  if (i > 0) {
    putSeconds.push(up);
    toHostSeconds.push(down);
    toHostIntoSeconds.push(downInto);
  }
}
const putGbps = baseline.bytes / median(putSeconds) / 1e9;
const toHostGbps = baseline.bytes / median(toHostSeconds) / 1e9;
const toHostIntoGbps = baseline.bytes / median(toHostIntoSeconds) / 1e9;

const result = {
  device: `${rt.platformName} (${rt.devices[0]!.kind}), plugin ${path.basename(rt.pluginPath)} API ${rt.apiVersion.major}.${rt.apiVersion.minor}`,
  execute: { ours_us: executeUs, cpp_pjrt_us: baseline.execute_us, added_us: executeUs - baseline.execute_us, goal_added_us: 50 },
  transfer_64mib: {
    memcpy_gbps: baseline.memcpy_gbps,
    put_gbps: putGbps,
    to_host_gbps: toHostGbps,
    to_host_into_gbps: toHostIntoGbps,
    cpp_pjrt_h2d_gbps: baseline.h2d_gbps,
    cpp_pjrt_d2h_gbps: baseline.d2h_gbps,
    put_vs_memcpy: putGbps / baseline.memcpy_gbps,
    to_host_vs_memcpy: toHostGbps / baseline.memcpy_gbps,
    to_host_into_vs_memcpy: toHostIntoGbps / baseline.memcpy_gbps,
    memcpy_fresh_gbps: baseline.memcpy_fresh_gbps,
    to_host_vs_memcpy_fresh: toHostGbps / baseline.memcpy_fresh_gbps,
    put_vs_cpp_pjrt: putGbps / baseline.h2d_gbps,
    to_host_vs_cpp_pjrt: toHostGbps / baseline.d2h_gbps,
    goal_vs_memcpy: 0.8,
  },
};

const f = (x: number, digits = 2) => x.toFixed(digits);
log(`device: ${result.device}`);
log('');
log(`execute, tiny program    ours ${f(executeUs, 1)} us/call   C++ PJRT ${f(baseline.execute_us, 1)} us/call   added ${f(result.execute.added_us, 1)} us (goal < 50)`);
log(`64 MiB host->device      ours ${f(putGbps)} GB/s   C++ PJRT ${f(baseline.h2d_gbps)} GB/s   memcpy ${f(baseline.memcpy_gbps)} GB/s   ours/memcpy ${f(result.transfer_64mib.put_vs_memcpy * 100, 0)}% (goal >= 80%)`);
log(`64 MiB device->host      ours ${f(toHostGbps)} GB/s into a new array, ${f(toHostIntoGbps)} GB/s into a reused one   C++ PJRT ${f(baseline.d2h_gbps)} GB/s   memcpy ${f(baseline.memcpy_gbps)} GB/s`);
log(`                         ours/memcpy ${f(result.transfer_64mib.to_host_vs_memcpy * 100, 0)}% new, ${f(result.transfer_64mib.to_host_into_vs_memcpy * 100, 0)}% reused (goal >= 80%)`);
log(`                         a new array pays first-touch page faults: memcpy into new memory runs at ${f(baseline.memcpy_fresh_gbps)} GB/s, ours/that ${f(result.transfer_64mib.to_host_vs_memcpy_fresh * 100, 0)}%`);
process.stdout.write(`${JSON.stringify(result)}\n`);
exe.dispose();
input.dispose();
rt.dispose();
