/**
 * The reference frameworks of `pjrt-bert bench`: PyTorch eager (`transformers`
 * BertForSequenceClassification + `torch.optim.Adam`) and a jitted JAX BERT train step, both
 * in `bench/reference/`, run with the pinned Python environment that `scripts/setup-python.sh`
 * installs into `.cache/venv` (created on first use).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../native/package-root.js';
import type { BenchModel } from './bench-models.js';

/** A reference framework. */
export type ReferenceFramework = 'torch' | 'jax';

/** What a reference script reports (its last stdout line). */
export interface ReferenceResult {
  framework: ReferenceFramework;
  version: string;
  device: string;
  dtype: string;
  ms_per_step: number;
  step_ms: number[];
  first_call_s: number;
  /** JAX: lower + compile, seconds; PyTorch (eager): null. */
  compile_s: number | null;
  peak_host_mb: number;
  peak_device_mb: number | null;
}

/** Where the reference scripts and their Python environment are. */
export interface ReferenceSetup {
  /** Python interpreter; default `.cache/venv/bin/python` of the package, installed on demand. */
  python?: string;
  /** `cpu` or `cuda`: where the reference runs. */
  device: 'cpu' | 'cuda';
  /** Called with progress lines (including the scripts' stderr). */
  log: (line: string) => void;
}

const SCRIPTS: Record<ReferenceFramework, string> = { torch: 'torch_bert_step.py', jax: 'jax_bert_step.py' };

let setupDone: Promise<string> | undefined;

/**
 * The Python interpreter to run references with: the one given, or the package's pinned venv,
 * created by `scripts/setup-python.sh` when missing (about a minute, once). Async.
 * @throws Error naming the setup command when the venv cannot be created.
 */
export function referencePython(setup: ReferenceSetup): Promise<string> {
  if (setup.python) return Promise.resolve(setup.python);
  setupDone ??= (async () => {
    const root = packageRoot();
    const python = path.join(root, '.cache/venv/bin/python');
    setup.log('checking the Python reference environment (scripts/setup-python.sh; installs torch, transformers and jax once)');
    try {
      await promisify(execFile)('bash', [path.join(root, 'scripts/setup-python.sh')], { maxBuffer: 1 << 26 });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(`could not set up the Python references (bash scripts/setup-python.sh failed):\n${stderr.trim().split('\n').slice(-8).join('\n')}\nRun it by hand to see why, or pass --python PATH, or --frameworks ours.`);
    }
    if (!existsSync(python)) throw new Error(`scripts/setup-python.sh did not create ${python}`);
    return python;
  })();
  return setupDone;
}

/**
 * The script's command-line flags for `model`: the first call and `warmupCalls` untimed, then
 * as many timed calls as ours makes (ceil(timedSteps / K) for JAX with K steps per call;
 * PyTorch eager runs one step per call). Sync.
 */
export function referenceArgs(framework: ReferenceFramework, model: BenchModel, device: 'cpu' | 'cuda', timedSteps: number, warmupCalls: number): string[] {
  const stepsPerCall = framework === 'jax' ? model.stepsPerExecution : 1;
  return [
    '--layers', `${model.layers}`,
    '--hidden', `${model.hidden}`,
    '--heads', `${model.heads}`,
    '--intermediate', `${model.intermediate}`,
    '--vocab', `${model.vocabSize}`,
    '--labels', `${model.labels}`,
    '--seq-len', `${model.seqLen}`,
    '--batch-size', `${model.batchSize}`,
    '--dtype', model.precision,
    '--device', device,
    '--dropout', `${model.dropout}`,
    '--steps-per-call', `${stepsPerCall}`,
    '--warmup', `${1 + warmupCalls}`,
    '--steps', `${Math.ceil(Math.max(5, timedSteps) / stepsPerCall)}`,
  ];
}

/**
 * Runs one reference framework on `model` and returns its report. Async.
 * @throws Error with the script's last stderr lines when it fails.
 */
export async function runReference(framework: ReferenceFramework, model: BenchModel, timedSteps: number, warmupCalls: number, setup: ReferenceSetup): Promise<ReferenceResult> {
  const python = await referencePython(setup);
  const script = path.join(packageRoot(), 'bench/reference', SCRIPTS[framework]);
  const args = [script, ...referenceArgs(framework, model, setup.device, timedSteps, warmupCalls)];
  const stdout = await runLogged(python, args, setup.log, `${framework} reference`);
  return parseLastJsonLine(stdout, `${framework} reference`) as ReferenceResult;
}

/**
 * Runs a child process, forwarding its stderr lines to `log`, and resolves to its stdout.
 * Async; rejects with the last stderr lines when it exits non-zero.
 */
export function runLogged(command: string, args: string[], log: (line: string) => void, what: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TF_CPP_MIN_LOG_LEVEL: '1', ...env },
    });
    const out: Buffer[] = [];
    const errLines: string[] = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        errLines.push(line);
        log(line);
      }
    });
    child.on('error', (error) => reject(new Error(`${what}: could not start ${command}: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (partial) errLines.push(partial);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${what} failed (${signal ?? `exit ${code}`}):\n${errLines.slice(-12).join('\n')}`));
    });
  });
}

/** The last non-empty stdout line, parsed as JSON. Sync; throws Error naming `what`. */
export function parseLastJsonLine(stdout: string, what: string): unknown {
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`${what} printed no JSON result (last line: ${JSON.stringify(last.slice(0, 200))})`);
  }
}
