/**
 * Helpers for the parity tests: where the repository and the shared data are, and how
 * to run a Python reference script of test/reference with the pinned interpreter at
 * .cache/venv/bin/python (created on demand by scripts/setup-python.sh).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * The folder of the real data sets (GRGE_sentiment.csv, offenseval-gr/): `$PJRT_BERT_DATA`,
 * else the `shared/data` folder beside the repository when it exists; undefined without one.
 * The data sets are third-party and never copied into the repository.
 */
export const dataDir: string | undefined = (() => {
  const candidate = process.env.PJRT_BERT_DATA ? path.resolve(process.env.PJRT_BERT_DATA) : path.resolve(repoRoot, '..', 'shared', 'data');
  return existsSync(path.join(candidate, 'GRGE_sentiment.csv')) ? candidate : undefined;
})();

/** Where to get the real data sets, for the message of a skipped suite. */
export const DATA_SOURCES =
  'GRGE_sentiment.csv (the Greek tweets of the Colab TPU tutorial, README "Fine-tuning") and ' +
  'offenseval-gr/ (OffensEval 2020 Greek, https://sites.google.com/site/offensevalsharedtask/)';

/**
 * The real data folder, or undefined after printing plainly why the caller's suite is skipped.
 * Sync.
 */
export function realDataOrSkip(suite: string): string | undefined {
  if (dataDir) return dataDir;
  const looked = process.env.PJRT_BERT_DATA ?? path.resolve(repoRoot, '..', 'shared', 'data');
  process.stdout.write(`# SKIPPED ${suite}: no real data sets in ${looked}. Set PJRT_BERT_DATA to a folder holding ${DATA_SOURCES}.\n`);
  return undefined;
}
/** The pinned Python interpreter of the reference environment. */
export const pythonPath = path.join(repoRoot, '.cache/venv/bin/python');

let setupDone: Promise<void> | undefined;

/** Runs scripts/setup-python.sh once per process (a no-op when the venv is current). Async. */
export function ensurePython(): Promise<void> {
  setupDone ??= promisify(execFile)('bash', [path.join(repoRoot, 'scripts/setup-python.sh')], {
    maxBuffer: 1 << 24,
  }).then(() => undefined);
  return setupDone;
}

/**
 * Runs test/reference/`script` with `args`, writes `input` (JSON-encoded unless a string)
 * to its stdin and returns its stdout. Async; rejects with the script's stderr when it
 * exits non-zero.
 */
export async function runPython(script: string, args: string[] = [], input?: unknown): Promise<string> {
  await ensurePython();
  if (!existsSync(pythonPath)) throw new Error(`${pythonPath} missing after scripts/setup-python.sh`);
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath, [path.join(repoRoot, 'test/reference', script), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${script} exited ${code}:\n${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.end(input === undefined ? '' : typeof input === 'string' ? input : JSON.stringify(input));
  });
}

/** Runs a reference script and parses its stdout as JSON. Async; rejects as `runPython`. */
export async function runPythonJson<T>(script: string, args: string[] = [], input?: unknown): Promise<T> {
  return JSON.parse(await runPython(script, args, input)) as T;
}
