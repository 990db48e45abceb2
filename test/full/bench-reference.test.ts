/**
 * The Python references of `pjrt-bert bench` (bench/reference/torch_bert_step.py and
 * jax_bert_step.py) train the same BERT: from the initial weights torch saves, the plain-JAX
 * model with torch.optim.Adam semantics gives torch's loss at every step (f32 to 1e-5
 * relative, one step per call and three steps in one call; from 10x larger initial weights,
 * where the loss depends on the encoder's details, to 1e-4; bf16 to 5e-3), and both print one
 * well-formed JSON result. Tiny model on the CPU, dropout off.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReferenceResult } from '../../lib/bench/references.js';
import { ensurePython, pythonPath, repoRoot } from '../reference/python.js';

/** Layers 2, hidden 64, heads 2, intermediate 128, vocab 1200, labels 3, seq 16, batch 4. */
const TINY = ['--layers', '2', '--hidden', '64', '--heads', '2', '--intermediate', '128', '--vocab', '1200', '--labels', '3', '--seq-len', '16', '--batch-size', '4'];
const STEPS = 3;
/** Deterministic training: no dropout, a learning rate large enough that the losses move. */
const TRAIN = [...TINY, '--dropout', '0', '--lr', '1e-3', '--warmup', '0', '--print-losses'];

/** A reference's JSON result, with the fields only the tests ask for. */
type BenchResult = ReferenceResult & { steps_per_call: number; threads: number | null; losses?: number[] };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bench/reference/`script` with the venv's python; resolves with its exit code and output. */
async function runScript(script: string, args: string[]): Promise<Run> {
  await ensurePython();
  if (!existsSync(pythonPath)) throw new Error(`${pythonPath} missing after scripts/setup-python.sh`);
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath, [path.join(repoRoot, 'bench/reference', script), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', JAX_PLATFORMS: 'cpu' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Runs a reference that must succeed and parses the JSON object on the last line of its stdout. */
async function runBench(script: string, args: string[]): Promise<BenchResult> {
  const run = await runScript(script, args);
  if (run.code !== 0) throw new Error(`${script} exited ${run.code}:\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as BenchResult;
}

/** Checks the fields every result must have, for `framework` at K steps per call, `calls` timed calls after `warmup`. */
function checkResult(t: Test, r: BenchResult, framework: 'torch' | 'jax', k: number, calls: number, dtype = 'f32', warmup = 0): void {
  const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;
  t.equal(r.framework, framework, 'framework');
  t.match(r.version, /^\d+\.\d+/, 'version');
  t.ok(typeof r.device === 'string' && r.device.length > 0, 'device names the CPU');
  t.equal(r.dtype, dtype, 'dtype');
  t.equal(r.steps_per_call, k, 'steps per call');
  t.ok(positive(r.ms_per_step), `ms_per_step positive and finite (${r.ms_per_step})`);
  t.equal(r.step_ms.length, calls, 'one step_ms per timed call');
  t.ok(r.step_ms.every(positive), 'step_ms positive and finite');
  const sorted = [...r.step_ms].sort((a, b) => a - b);
  t.equal(r.ms_per_step, (sorted[(calls - 1) >> 1]! + sorted[calls >> 1]!) / 2, 'ms_per_step is the median of step_ms');
  t.ok(positive(r.first_call_s), 'first_call_s positive');
  t.ok(positive(r.peak_host_mb), 'peak_host_mb positive');
  t.equal(r.peak_device_mb, null, 'no device memory on the CPU');
  if (framework === 'jax') {
    t.ok(positive(r.compile_s), 'jax reports its compile time');
    t.ok(r.first_call_s >= r.compile_s!, 'the first call includes the compile');
    t.equal(r.threads, null, 'jax reports no thread count');
  } else {
    t.equal(r.compile_s, null, 'torch compiles nothing');
    t.ok(Number.isInteger(r.threads) && r.threads! >= 1, 'torch reports its threads');
  }
  t.equal(r.losses?.length, k * (warmup + calls), 'one loss per step, warm-up included');
  t.ok(r.losses?.every((x) => Number.isFinite(x) && x > 0), 'losses positive and finite');
}

/** Asserts that `actual` equals `expected` step by step within `rtol` relative. */
function sameLosses(t: Test, actual: number[] | undefined, expected: number[] | undefined, rtol: number, what: string): void {
  t.equal(actual?.length, expected?.length, `${what}: as many losses`);
  const worst = Math.max(...(expected ?? []).map((e, i) => Math.abs(actual![i]! - e) / Math.abs(e)));
  t.ok(worst <= rtol, `${what}: every loss within ${rtol} relative (worst ${worst.toExponential(2)})\n  ${JSON.stringify(actual)}\n  ${JSON.stringify(expected)}`);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-bench-ref-'));
const init = path.join(work, 'init.safetensors');

t.test('f32: jax gives torch losses from torch initial weights', async (t) => {
  const torch = await runBench('torch_bert_step.py', [...TRAIN, '--steps', String(STEPS), '--save-init', init]);
  checkResult(t, torch, 'torch', 1, STEPS);
  t.ok(existsSync(init), 'torch saved its initial weights');
  t.not(torch.losses![0], torch.losses![STEPS - 1], 'the loss moves: Adam updates the weights');

  const jax1 = await runBench('jax_bert_step.py', [...TRAIN, '--steps', String(STEPS), '--steps-per-call', '1', '--init', init]);
  checkResult(t, jax1, 'jax', 1, STEPS);
  sameLosses(t, jax1.losses, torch.losses, 1e-5, 'jax, one step per call');

  const jax3 = await runBench('jax_bert_step.py', [...TRAIN, '--steps', '1', '--steps-per-call', String(STEPS), '--init', init]);
  checkResult(t, jax3, 'jax', STEPS, 1);
  sameLosses(t, jax3.losses, torch.losses, 1e-5, `jax, ${STEPS} steps in one call`);
});

t.test('f32 with large initial weights: the losses see the encoder, jax still gives torch losses', async (t) => {
  // HF's init (std 0.02) gives logits near 0 and losses near ln(C) that hardly depend on the
  // encoder: tanh-gelu instead of erf-gelu moves them by < 1e-6. With std 0.2 it moves them by
  // ~1e-3 while the two frameworks stay ~1e-5 apart, so 1e-4 tells the math apart from rounding.
  const bigInit = path.join(work, 'big-init.safetensors');
  const args = [...TRAIN, '--init-std', '0.2'];
  const torch = await runBench('torch_bert_step.py', [...args, '--steps', String(STEPS), '--save-init', bigInit]);
  checkResult(t, torch, 'torch', 1, STEPS);
  const jax = await runBench('jax_bert_step.py', [...args, '--steps', '1', '--steps-per-call', String(STEPS), '--init', bigInit]);
  checkResult(t, jax, 'jax', STEPS, 1);
  sameLosses(t, jax.losses, torch.losses, 1e-4, 'init std 0.2');
});

t.test('bf16: torch autocast and jax bf16 matmuls agree to bf16 precision', async (t) => {
  if (!existsSync(init)) {
    t.fail('needs the initial weights of the f32 test');
    return;
  }
  const bf16 = [...TRAIN, '--dtype', 'bf16', '--steps', String(STEPS), '--init', init];
  const torch = await runBench('torch_bert_step.py', bf16);
  checkResult(t, torch, 'torch', 1, STEPS, 'bf16');
  const jax = await runBench('jax_bert_step.py', bf16);
  checkResult(t, jax, 'jax', 1, STEPS, 'bf16');
  sameLosses(t, jax.losses, torch.losses, 5e-3, 'bf16');
});

t.test('jax with dropout and its own init: two steps per call, finite losses, runs differ by seed', async (t) => {
  const args = [...TINY, '--dropout', '0.1', '--warmup', '1', '--steps', '1', '--steps-per-call', '2', '--print-losses'];
  const seed0 = await runBench('jax_bert_step.py', args);
  checkResult(t, seed0, 'jax', 2, 1, 'f32', 1);
  const seed1 = await runBench('jax_bert_step.py', [...args, '--seed', '1']);
  t.notSame(seed1.losses, seed0.losses, 'another seed, other weights, inputs and dropout');
});

t.test('bad flags exit 1 with a message on stderr', async (t) => {
  for (const script of ['torch_bert_step.py', 'jax_bert_step.py']) {
    const uneven = await runScript(script, [...TINY.slice(0, 2), '--hidden', '65', ...TINY.slice(4)]);
    t.equal(uneven.code, 1, `${script}: hidden not a multiple of heads`);
    t.match(uneven.stderr, /--hidden 65 is not a multiple of --heads 2/, `${script}: says why`);
    t.equal(uneven.stdout, '', `${script}: no result`);
    const missing = await runScript(script, [...TINY, '--init', path.join(work, 'absent.safetensors')]);
    t.equal(missing.code, 1, `${script}: --init file missing`);
    t.match(missing.stderr, /no such file/, `${script}: names the problem`);
  }
  const saveJax = await runScript('jax_bert_step.py', [...TINY, '--save-init', path.join(work, 'x.safetensors')]);
  t.equal(saveJax.code, 1, 'jax refuses --save-init');
  t.match(saveJax.stderr, /only supported by torch/);
});
