// A whole `pjrt-bert bench` run against PyTorch and JAX at a small shape: the DESIGN.md JSON
// object on the last line, every framework's step counts, the Markdown record (speeds are printed,
// never asserted: these machines are shared and noisy).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchReport } from '../../lib/bench/bench-run.js';
import { ensurePython, repoRoot } from '../reference/python.js';

const cli = path.join(repoRoot, 'bin', 'pjrt-bert.js');
const root = repoRoot;

t.test('a whole run against PyTorch and JAX prints the DESIGN.md object as its last line', async (t) => {
  await ensurePython();
  const record = path.join(mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-bench-')), 'RESULTS.md');
  const args = ['bench', '--json', '--configs', 'tiny', '--seq-len', '16', '--batch-size', '4', '--steps-per-execution', '2', '--steps', '6', '--warmup', '0', '--rounds', '2', '--matmul-n', '256', '--record', record];
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root, timeout: 600_000 });
  t.equal(run.status, 0, run.status === 0 ? 'exit 0' : run.stderr.slice(-2000));
  const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as BenchReport;
  t.match(report, { platform: 'cpu', versions: { torch: '2.15.0', jax: '0.10.2' } });
  t.equal(report.results.length, 1);
  const [r] = report.results;
  t.match(r, { name: 'tiny', layers: 2, hidden: 128, heads: 2, seqLen: 16, batchSize: 4, precision: 'f32', stepsPerExecution: 2, errors: {} });
  for (const key of ['ours_ms_per_step', 'torch_ms_per_step', 'jax_ms_per_step', 'ours_compile_s', 'jax_compile_s', 'ours_mfu', 'torch_mfu', 'jax_mfu'] as const) {
    t.ok(typeof r![key] === 'number' && r![key]! > 0, `${key} = ${r![key]}`);
  }
  t.equal(r!.torch_step_ms!.length, 12, 'PyTorch times the same six steps, in each of two rounds');
  t.equal(r!.jax_step_ms!.length, 6, 'JAX times three calls of K=2, as we do, in each round');
  t.equal(r!.ours_step_ms!.length, 6);
  t.equal(report.rounds, 2);
  t.ok(r!.ours_page_faults_per_step! >= 0);
  t.ok(Math.abs(r!.ours_vs_torch! - r!.ours_ms_per_step! / r!.torch_ms_per_step!) < 1e-12);
  t.match(readFileSync(record, 'utf8'), /\| tiny \| f32 \| 4 \| 16 \| 2 \|/);
  t.match(run.stderr, /\[bench\] tiny f32 B=4 S=16 K=2: jax \(round 2 of 2\)/, 'progress goes to stderr');
});
