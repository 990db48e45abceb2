/**
 * One server of `pjrt-bert bench --serve` in its own process: started from a command line that
 * binds port 0 and prints `listening on http://HOST:PORT` on stdout (as `pjrt-bert serve`,
 * the transformers.js server and the PyTorch server do), ready once `GET /health` answers 200,
 * and stopped by its PID (SIGTERM, then SIGKILL after a grace period). Its stderr goes to the
 * log, line by line.
 *
 *     const server = await startServer({ name: 'ours', command: process.execPath, args: [cli, 'serve', '--model', dir, '--port', '0'], log });
 *     ... load against server.url ...
 *     const { peakRssMb } = await server.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import { loopbackUrl } from './serve-load.js';

/** How to start one server. */
export interface ServerCommand {
  /** Short name for logs and the report (`ours`, `transformers.js`, `torch`). */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the bench's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Options of {@link startServer}. */
export interface StartOptions extends ServerCommand {
  /** Progress lines, and the server's stderr lines prefixed with its name. */
  readonly log: (line: string) => void;
  /** How long to wait for the `listening on` line and then for `/health` (default 10 minutes: compiling can be slow). */
  readonly readyTimeoutMs?: number;
}

/** A running server. */
export interface RunningServer {
  readonly name: string;
  readonly pid: number;
  /** `http://HOST:PORT` from its `listening on` line. */
  readonly url: string;
  /** Seconds from the spawn to `/health` answering 200. */
  readonly startupSeconds: number;
  /**
   * Stops the process by its PID (SIGTERM; SIGKILL after `graceMs`, default 15 s) and waits for it
   * to exit. Async; never rejects. Resolves with its peak resident memory (VmHWM read just before
   * the signal; null where /proc is not there).
   */
  stop(graceMs?: number): Promise<{ peakRssMb: number | null }>;
}

const LISTENING = /listening on (http:\/\/\S+)/;

/** The peak resident set (VmHWM) of process `pid` in MiB, or null when unreadable. Sync. */
export function peakRssMb(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** `GET url/health`'s status code, or 0 when the connection failed. Async; never rejects. */
function healthStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/health`, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a server and waits until it is ready. Async; rejects (after killing what it started)
 * when the process exits first, prints no `listening on` line, listens on a non-loopback
 * address, or is not healthy within `readyTimeoutMs`; the error carries the server's last
 * stderr lines.
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { name, log } = options;
  const timeoutMs = options.readyTimeoutMs ?? 600_000;
  const started = performance.now();
  log(`${name}: starting ${options.command} ${options.args.join(' ')}`);
  const child = spawn(options.command, options.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  const tail: string[] = [];
  let stderrPartial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (stderrPartial + chunk.toString('utf8')).split('\n');
    stderrPartial = lines.pop()!;
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      log(`${name}: ${line}`);
    }
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
  const failure = (why: string) => new Error(`${name} server (${options.command} ${options.args.join(' ')}) ${why}${tail.length ? `; its last stderr lines:\n${tail.join('\n')}` : ''}`);
  const kill = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGKILL');
      await waitForExit(child);
    }
  };

  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stdoutPartial = '';
      const onData = (chunk: Buffer) => {
        const lines = (stdoutPartial + chunk.toString('utf8')).split('\n');
        stdoutPartial = lines.pop()!;
        for (const line of lines) {
          const match = LISTENING.exec(line);
          if (match) {
            cleanup();
            child.stdout!.resume(); // later stdout is not needed, but must not block the server
            return resolve(match[1]!);
          }
        }
      };
      const onExit = () => (cleanup(), reject(failure(`exited (${exited}) before printing 'listening on http://HOST:PORT'`)));
      const onError = (error: Error) => (cleanup(), reject(failure(`could not be started: ${error.message}`)));
      const timer = setTimeout(() => (cleanup(), reject(failure(`printed no 'listening on http://HOST:PORT' line within ${timeoutMs / 1000} s`))), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
    loopbackUrl(url);
    log(`${name}: listening on ${url}; waiting for /health`);
    for (;;) {
      if (exited) throw failure(`exited (${exited}) before /health answered 200`);
      const status = await healthStatus(url);
      if (status === 200) break;
      if (performance.now() - started > timeoutMs) throw failure(`was not healthy within ${timeoutMs / 1000} s (GET /health answered ${status || 'nothing'})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const startupSeconds = (performance.now() - started) / 1000;
    log(`${name}: ready after ${startupSeconds.toFixed(1)} s (pid ${child.pid})`);
    let stopped: Promise<{ peakRssMb: number | null }> | undefined;
    return {
      name,
      pid: child.pid!,
      url,
      startupSeconds,
      stop(graceMs = 15_000) {
        stopped ??= (async () => {
          const peak = peakRssMb(child.pid!);
          if (child.exitCode === null && child.signalCode === null) {
            process.kill(child.pid!, 'SIGTERM');
            const timer = setTimeout(() => {
              log(`${name}: still running ${graceMs / 1000} s after SIGTERM; sending SIGKILL to pid ${child.pid}`);
              if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
            }, graceMs);
            await waitForExit(child);
            clearTimeout(timer);
          }
          log(`${name}: stopped (${exited})`);
          return { peakRssMb: peak };
        })();
        return stopped;
      },
    };
  } catch (error) {
    await kill();
    throw error;
  }
}
