/**
 * Runs one process of `pjrt-bert bench --job` and measures it from the outside: wall clock
 * from spawn to exit and the peak resident set size of that process (with its children).
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the kernel's `ru_maxrss` of the waited-for
 * child, exact) when it is installed; otherwise from polling `VmHWM` (the kernel's own high-water
 * mark of the process) in `/proc/PID/status` every 50 ms, which misses only growth in the last
 * interval before exit. The report says which was used.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** GNU time, when installed. */
export const GNU_TIME = '/usr/bin/time';

/** How the peak RSS of a measured process was read. */
export type RssSource = 'gnu-time' | 'proc-polling' | 'none';

/** What {@link measureProcess} saw. */
export interface MeasuredProcess {
  /** Exit status (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Spawn to exit, seconds. */
  seconds: number;
  /** Peak resident set size, MiB (null when it could not be read). */
  peakRssMb: number | null;
  rssSource: RssSource;
  stdout: string;
  /** Every stderr line. */
  stderr: string[];
}

/** Options of {@link measureProcess}. */
export interface MeasureOptions {
  /** Added to the environment of the child. */
  env?: NodeJS.ProcessEnv;
  /** Each stderr line of the child, as it comes. */
  log?: (line: string) => void;
  /** Each stdout line of the child, as it comes (stdout is also returned whole). */
  onStdoutLine?: (line: string) => void;
  /** Force the /proc polling path even where GNU time exists (tests). */
  noGnuTime?: boolean;
}

/** VmHWM of `pid` in KiB from /proc, or undefined when the process is gone. Async; never rejects. */
async function highWaterKib(pid: number): Promise<number | undefined> {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `command args`, forwarding its stderr lines to `options.log`, and measures it. Async;
 * resolves whatever the exit status (the caller decides what a failure means); rejects only
 * when the process cannot be started.
 */
export async function measureProcess(command: string, args: readonly string[], options: MeasureOptions = {}): Promise<MeasuredProcess> {
  const useTime = !options.noGnuTime && existsSync(GNU_TIME);
  const scratch = useTime ? await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-time-')) : undefined;
  const timeFile = scratch ? path.join(scratch, 'rusage') : undefined;
  const [file, argv] = timeFile ? [GNU_TIME, ['-f', '%M', '-o', timeFile, command, ...args]] : [command, [...args]];
  const started = performance.now();
  const child = spawn(file, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TF_CPP_MIN_LOG_LEVEL: '1', ...options.env },
  });
  let polledKib = 0;
  const poll = !timeFile && process.platform === 'linux' && child.pid !== undefined
    ? setInterval(() => void highWaterKib(child.pid!).then((kib) => (polledKib = Math.max(polledKib, kib ?? 0))), 50)
    : undefined;
  const out: Buffer[] = [];
  const errLines: string[] = [];
  let partial = '';
  let outPartial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out.push(chunk);
    if (!options.onStdoutLine) return;
    const lines = (outPartial + chunk.toString('utf8')).split('\n');
    outPartial = lines.pop()!;
    for (const line of lines) options.onStdoutLine(line);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      errLines.push(line);
      options.log?.(line);
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', (error) => reject(new Error(`could not start ${file}: ${error.message}`)));
    child.on('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  }).finally(() => clearInterval(poll));
  const seconds = (performance.now() - started) / 1000;
  if (partial) errLines.push(partial);
  let peakRssMb: number | null = null;
  let rssSource: RssSource = 'none';
  if (timeFile) {
    // GNU time writes "Command exited with non-zero status N" before the format on a failure.
    const text = await readFile(timeFile, 'utf8').catch(() => '');
    const kib = Number(text.trim().split('\n').pop());
    if (text.trim() && Number.isFinite(kib) && kib > 0) [peakRssMb, rssSource] = [kib / 1024, 'gnu-time'];
    await rm(scratch!, { recursive: true, force: true });
  } else if (polledKib > 0) {
    [peakRssMb, rssSource] = [polledKib / 1024, 'proc-polling'];
  }
  return { code, signal, seconds, peakRssMb, rssSource, stdout: Buffer.concat(out).toString('utf8'), stderr: errLines };
}
