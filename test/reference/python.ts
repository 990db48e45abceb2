/**
 * Helpers for the parity tests: where the repository and the shared data are, and how
 * to run a Python reference script of test/reference with the pinned interpreter at
 * .cache/venv/bin/python (created on demand by scripts/setup-python.sh).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
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

interface WorkerAnswer {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The test process's Python worker (test/reference/worker.py): one interpreter that runs every
 * reference script of this process in turn, so torch and transformers are imported once, not per
 * script. Runs queue; a worker that dies fails its run and the next run starts a new one. It holds
 * the event loop only while a run is pending, and ends with the test process (its stdin closes).
 */
class PythonWorker {
  #child?: ChildProcess;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  #header?: { code: number; stderr: string; bytes: number };
  #pending: { resolve: (answer: WorkerAnswer) => void; reject: (error: Error) => void }[] = [];
  #keepAlive?: NodeJS.Timeout;

  run(script: string, args: string[], input: string): Promise<WorkerAnswer> {
    const child = this.#child ?? this.#start();
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#keepAlive ??= setInterval(() => undefined, 1 << 30);
      child.stdin!.write(`${JSON.stringify({ script, args, input })}\n`);
    });
  }

  #start(): ChildProcess {
    const child = spawn(pythonPath, [path.join(repoRoot, 'test/reference/worker.py')], {
      stdio: ['pipe', 'inherit', 'inherit', 'pipe'],
      env: { ...process.env, ...PYTHON_ENV },
    });
    this.#child = child;
    const answers = child.stdio[3] as unknown as NodeJS.ReadableStream & { unref(): void };
    answers.on('data', (chunk: Buffer) => this.#receive(chunk));
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      this.#buffered = [];
      this.#bufferedBytes = 0;
      this.#header = undefined;
      const error = new Error(`the Python worker exited (${signal ?? `code ${code}`}) during a run`);
      while (this.#pending.length > 0) this.#settle()!.reject(error);
    });
    child.on('error', (error) => {
      while (this.#pending.length > 0) this.#settle()!.reject(error);
    });
    child.unref();
    (child.stdin as unknown as { unref(): void }).unref();
    answers.unref();
    return child;
  }

  /** Collects answers: a JSON header line, then `bytes` bytes of stdout (chunks joined once, never rescanned). */
  #receive(chunk: Buffer): void {
    this.#buffered.push(chunk);
    this.#bufferedBytes += chunk.length;
    for (;;) {
      if (!this.#header) {
        const newline = chunk.indexOf(10);
        if (newline < 0) return;
        const all = Buffer.concat(this.#buffered);
        const end = all.indexOf(10);
        this.#header = JSON.parse(all.subarray(0, end).toString('utf8')) as { code: number; stderr: string; bytes: number };
        this.#buffered = [all.subarray(end + 1)];
        this.#bufferedBytes = all.length - end - 1;
      }
      if (this.#bufferedBytes < this.#header.bytes) return;
      const all = Buffer.concat(this.#buffered);
      const { code, stderr, bytes } = this.#header;
      this.#header = undefined;
      chunk = all.subarray(bytes);
      this.#buffered = [chunk];
      this.#bufferedBytes = chunk.length;
      this.#settle()?.resolve({ code, stderr, stdout: all.subarray(0, bytes).toString('utf8') });
    }
  }

  #settle() {
    const next = this.#pending.shift();
    if (this.#pending.length === 0 && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
    return next;
  }
}

const PYTHON_ENV = { HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' };
const worker = new PythonWorker();

/**
 * Runs test/reference/`script` with `args`, writes `input` (JSON-encoded unless a string)
 * to its stdin and returns its stdout. Async; rejects with the script's stderr when it
 * exits non-zero. The scripts run in this process's Python worker (see PythonWorker);
 * `PJRT_BERT_TEST_PYTHON_WORKER=0` runs each in a process of its own instead.
 */
export async function runPython(script: string, args: string[] = [], input?: unknown): Promise<string> {
  await ensurePython();
  if (!existsSync(pythonPath)) throw new Error(`${pythonPath} missing after scripts/setup-python.sh`);
  const file = path.join(repoRoot, 'test/reference', script);
  const text = input === undefined ? '' : typeof input === 'string' ? input : JSON.stringify(input);
  if (process.env.PJRT_BERT_TEST_PYTHON_WORKER !== '0') {
    const answer = await worker.run(file, args, text);
    if (answer.code === 0) return answer.stdout;
    throw new Error(`${script} exited ${answer.code}:\n${answer.stderr}`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath, [file, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...PYTHON_ENV } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${script} exited ${code}:\n${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.end(text);
  });
}

/** Runs a reference script and parses its stdout as JSON. Async; rejects as `runPython`. */
export async function runPythonJson<T>(script: string, args: string[] = [], input?: unknown): Promise<T> {
  return JSON.parse(await runPython(script, args, input)) as T;
}
