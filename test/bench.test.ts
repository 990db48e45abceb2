// `pjrt-bert bench`: the FLOP count MFU rests on, the flags, the report formats, our train-step
// measurement (a whole run against PyTorch and JAX is test/full/bench-run.test.ts; numbers are
// printed by the bench, never asserted as speeds: these machines are shared and noisy).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { benchModel, mfu, trainStepFlops } from '../lib/bench/bench-models.js';
import { formatBenchMarkdown, formatBenchTable } from '../lib/bench/bench-report.js';
import type { BenchReport, BenchResult } from '../lib/bench/bench-run.js';
import { measureMatmulCeiling, measureTrainStep } from '../lib/bench/our-bench.js';
import { benchModelsFromFlags } from '../lib/cli/bench-command.js';
import { Runtime } from '../lib/runtime/index.js';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'bin', 'pjrt-bert.js');
const shape = { seqLen: 16, batchSize: 4, precision: 'f32' as const, stepsPerExecution: 2, dropout: 0.1, vocabSize: 30522, labels: 3 };

t.test('model FLOPs: DESIGN.md gives 2.15 TFLOP for a BERT-base step at B=32, S=128', async (t) => {
  const base = benchModel('base', { ...shape, seqLen: 128, batchSize: 32 });
  t.ok(Math.abs(trainStepFlops(base) / 2.15e12 - 1) < 0.005, `${trainStepFlops(base)}`);
  // 12·L·d² of DESIGN.md is the I = 4d case of L·(4d² + 2dI); other shapes follow the general form.
  const narrow = { layers: 1, hidden: 8, intermediate: 16, seqLen: 2, batchSize: 1 };
  t.equal(trainStepFlops(narrow), 6 * 1 * 2 * (4 * 64 + 2 * 8 * 16) + 12 * 1 * 1 * 4 * 8);
  t.equal(mfu(1e12, 1000, 2e12), 0.5);
  t.equal(mfu(1e12, null, 2e12), null);
});

t.test('flags: configs x precisions x batch sizes, and clear errors', async (t) => {
  const values = { configs: 'tiny,mini', precision: 'f32,bf16', 'batch-size': '32,256', 'seq-len': '128', dropout: '0.1' };
  const models = benchModelsFromFlags(values);
  t.equal(models.length, 8);
  t.same(models.map((m) => `${m.name}/${m.precision}/${m.batchSize}`).slice(0, 4), ['tiny/f32/32', 'tiny/f32/256', 'tiny/bf16/32', 'tiny/bf16/256']);
  t.equal(models[0]!.stepsPerExecution, 8, 'eight steps per call, as the Trainer runs them');
  t.equal(benchModelsFromFlags({ ...values, 'steps-per-execution': '1' })[0]!.stepsPerExecution, 1, '--steps-per-execution');
  t.match(models[7], { name: 'mini', layers: 4, hidden: 256, heads: 4, intermediate: 1024 });
  t.throws(() => benchModelsFromFlags({ ...values, configs: 'mini,huge' }), /--configs takes a comma-separated list of tiny, mini, base; got 'mini,huge'/);
  t.throws(() => benchModelsFromFlags({ ...values, precision: 'f16' }), /--precision .* f32, bf16/);
  t.throws(() => benchModelsFromFlags({ ...values, 'seq-len': '1024' }), /at most 512/);
  const steps = spawnSync(process.execPath, [cli, 'bench', '--steps', '3'], { encoding: 'utf8' });
  t.equal(steps.status, 2);
  t.match(steps.stderr, /--steps must be at least 5/);
});

const row = (over: Partial<BenchResult>): BenchResult => ({
  ...benchModel('mini', { ...shape, seqLen: 128, batchSize: 32, stepsPerExecution: 1 }),
  ours_ms_per_step: 1500, torch_ms_per_step: 1200, jax_ms_per_step: 1450, ours_compile_s: 5.25, flops_per_step: 8.4e10,
  ours_vs_torch: 1.25, ours_vs_jax: 1500 / 1450, ours_cached_compile_s: 0.61, ours_first_call_s: 1.7, jax_compile_s: 4.5,
  ours_mfu: 0.4, torch_mfu: 0.5, jax_mfu: 0.41, ours_peak_host_mb: 1400, torch_peak_host_mb: 900, jax_peak_host_mb: 1100,
  ours_peak_device_mb: null, ours_page_faults_per_step: 128000, torch_peak_device_mb: null, jax_peak_device_mb: null, ours_step_ms: [1500], torch_step_ms: [1200], jax_step_ms: [1450], errors: {},
  ...over,
});

t.test('table and Markdown show every measured column and leave out empty ones', async (t) => {
  const report: BenchReport = {
    device: 'cpu (2 cores: test)', platform: 'cpu', date: '2026-11-27T12:00:00.000Z', versions: { torch: '2.15.0', jax: '0.10.2' },
    ceiling: { f32_flops: 8.3e10, bf16_flops: 7.3e10, matmul_n: 2048 }, rounds: 1,
    results: [row({}), row({ name: 'base', torch_ms_per_step: null, ours_vs_torch: null, errors: { torch: 'torch reference failed (exit 1):\nNo module named torch' } })],
  };
  const table = formatBenchTable(report);
  t.match(table, /f32 0\.083 TFLOP\/s, bf16 0\.073 TFLOP\/s/);
  t.match(table, /mini\s+f32\s+32\s+128\s+1\s+1500\s+1200\s+1450\s+1\.25x\s+1\.03x\s+5\.25\s+4\.50\s+0\.61\s+40\.0%\s+50\.0%\s+41\.0%\s+1400\s+900\s+1100/);
  t.match(table, /base\s+f32\s+32\s+128\s+1\s+1500\s+-\s+1450\s+-/);
  t.match(table, /base f32: torch failed: torch reference failed \(exit 1\):$/m);
  t.notMatch(table, /dev MiB/, 'no device-memory columns when nothing reports device memory');
  const markdown = formatBenchMarkdown(report, 'Command: `x`.');
  t.match(markdown, /^### 2026-11-27: cpu \(2 cores: test\)$/m);
  t.match(markdown, /\| mini \| f32 \| 32 \| 128 \| 1 \| 1500 \| 1200 \| 1450 \| 1\.25x \|/);
  t.match(markdown, /Command: `x`\./);
});

t.test('the matmul ceiling and our train step, measured in process', async (t) => {
  using runtime = await Runtime.open();
  const ceiling = await measureMatmulCeiling(runtime, 'f32', 256, 3);
  t.equal(ceiling.runsMs.length, 3);
  t.ok(ceiling.flops > 1e8 && ceiling.flops < 1e14, `${ceiling.flops} FLOP/s`);
  const lines: string[] = [];
  const result = await measureTrainStep({ plugin: 'cpu' }, benchModel('tiny', shape), { timedSteps: 6, warmupCalls: 1, log: (line) => lines.push(line) });
  t.equal(result.stepMs.length, 3, 'six timed steps are three calls of K=2');
  t.ok(result.stepMs.every((ms) => ms > 0 && Number.isFinite(ms)));
  t.ok(result.msPerStep >= Math.min(...result.stepMs) && result.msPerStep <= Math.max(...result.stepMs), 'the median is among the steps');
  t.ok(Math.abs(result.lastLoss - Math.log(3)) < 0.3, `a fresh 3-label classifier's loss is near ln 3: ${result.lastLoss}`);
  t.ok(result.compileS > result.cachedCompileS, `a cached compile (${result.cachedCompileS} s) beats compiling (${result.compileS} s)`);
  t.equal(result.peakDeviceMb, null, 'the CPU plugin reports no device memory');
  t.equal(lines.filter((line) => line.startsWith('timed')).length, 3);
});
