/**
 * Output directories that a long job owns: checked up front (created if missing, a probe file
 * written and removed, free space compared with what the job will write) and locked for the
 * job's lifetime, so a second run into the same directory refuses at once instead of mixing
 * its files with the first one's.
 *
 *     const lock = await OutputDirLock.acquire('./run', { flag: '--out' });   // throws OutputDirError
 *     try { ... } finally { lock.release(); }
 *
 * The lock is a file, `<dir>/.pjrt-bert.lock`, created exclusively and holding the owner's pid,
 * host and process start time. A lock whose process is gone (killed, crashed) is stale and is
 * taken over; a lock of a live process, or of another host, is refused with its holder named.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, rm, stat, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeDirectory } from './files.js';

/** The name of the lock file inside a locked directory. */
export const LOCK_FILE = '.pjrt-bert.lock';

/** An output directory that cannot be used: the message names the path, the reason and the fix. */
export class OutputDirError extends Error {
  override readonly name = 'OutputDirError';

  /** @param dir the directory as given. */
  constructor(
    readonly dir: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How a directory is referred to in messages (`--out ./run`, or just the path). */
interface Naming {
  /** The flag the user typed, e.g. `--out`; default none. */
  readonly flag?: string;
}

function named(dir: string, naming: Naming): string {
  return naming.flag ? `${naming.flag} ${dir}` : dir;
}

/** The first component of `dir` that exists and is not a directory, if any. Sync. */
function fileInPath(dir: string): string | undefined {
  const parts: string[] = [];
  for (let current = path.resolve(dir); current !== path.dirname(current); current = path.dirname(current)) parts.unshift(current);
  for (const part of parts) {
    try {
      if (!statSync(part).isDirectory()) return part;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Turns an errno from creating or writing `dir` into a sentence that says what to do. Sync. */
export function describeDirError(dir: string, error: unknown, naming: Naming = {}): OutputDirError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = code === 'ENOTDIR' ? (fileInPath(dir) ?? dir) : ((error as NodeJS.ErrnoException | undefined)?.path ?? dir);
  const subject = named(dir, naming);
  const reasons: Record<string, string> = {
    ENOTDIR: `${where} is a file, not a directory, so ${dir} cannot be created below it; choose another path`,
    EEXIST: `${dir} exists and is not a directory; choose another path`,
    EACCES: `no permission to write in ${where}; choose a directory you can write to, or fix its permissions`,
    EPERM: `the system does not allow writing in ${where}; choose a directory you can write to`,
    EROFS: `${where} is on a read-only file system; choose a writable directory`,
    ENOSPC: `the disk holding ${where} is full; free some space or choose another disk`,
    EDQUOT: `the disk quota for ${where} is used up; free some space or choose another disk`,
    ENOENT: `${where} cannot be created (its parent does not accept new entries, as in /proc); choose a normal directory`,
    ENAMETOOLONG: `the path ${dir} is too long; choose a shorter one`,
  };
  const reason = (code && reasons[code]) ?? `${(error as Error)?.message ?? String(error)}; choose another directory`;
  return new OutputDirError(dir, `cannot use ${subject}: ${reason}`, { cause: error });
}

/**
 * Makes sure `dir` exists and accepts a file: creates it (and its parents) if missing, writes a
 * small probe file, flushes and removes it, and when `bytesNeeded` is given checks that the
 * file system has that much free space. Async.
 * @throws OutputDirError naming the path, the reason (a file in the way, no permission, a
 *   read-only or full disk) and what to do.
 */
export async function probeWritableDir(dir: string, options: Naming & { bytesNeeded?: number } = {}): Promise<void> {
  try {
    const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info && !info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'EEXIST' });
    await makeDirectory(dir);
    const probe = path.join(dir, `.pjrt-bert-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    const handle = await open(probe, 'wx');
    try {
      await handle.write(Buffer.alloc(4096));
      await handle.sync();
    } finally {
      await handle.close();
      await rm(probe, { force: true });
    }
  } catch (error) {
    throw describeDirError(dir, error, options);
  }
  if (options.bytesNeeded !== undefined) {
    const fs = await statfs(dir);
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (free < options.bytesNeeded) {
      throw new OutputDirError(
        dir,
        `cannot use ${named(dir, options)}: it needs about ${formatBytes(options.bytesNeeded)} for checkpoints but its disk has ${formatBytes(free)} free; free some space or choose another disk`,
      );
    }
  }
}

/** `1.5 GB`-style sizes for messages. Sync. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** What a lock file holds. */
export interface LockHolder {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (Linux), telling a reused pid apart. */
  startTicks?: number;
  /** ISO time the lock was taken. */
  since: string;
  /** What the holder is doing, e.g. `pjrt-bert train`. */
  purpose?: string;
}

/** Start time of process `pid` in clock ticks since boot, from /proc (undefined elsewhere). Sync. */
function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 of stat(5); fields[0] is field 3
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** True while the holder's process runs on this host (a dead or reused pid is false). Sync. */
function holderAlive(holder: LockHolder): boolean {
  if (holder.host !== os.hostname()) return true; // cannot tell: assume it runs
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (holder.startTicks === undefined) return true;
  const ticks = processStartTicks(holder.pid);
  return ticks === undefined || ticks === holder.startTicks;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** An exclusive lock on a directory, held until {@link release}. */
export class OutputDirLock implements Disposable {
  #released = false;

  private constructor(
    /** The locked directory. */
    readonly dir: string,
    /** The lock file. */
    readonly file: string,
    /** What the lock file says (this process). */
    readonly holder: LockHolder,
    /** A stale lock of a dead process that was taken over, if any. */
    readonly recovered: LockHolder | undefined,
  ) {}

  /**
   * Checks that `dir` can be written (see {@link probeWritableDir}, which also creates it) and
   * locks it for this process. A stale lock (its process is gone) is taken over and reported
   * in `recovered`. Async.
   * @throws OutputDirError when the directory cannot be used, or when another live process
   *   (or a process on another host sharing the file system) holds the lock: the message names
   *   its pid, host and start, and says how to proceed.
   */
  static async acquire(dir: string, options: Naming & { purpose?: string } = {}): Promise<OutputDirLock> {
    await probeWritableDir(dir, options);
    const file = path.join(dir, LOCK_FILE);
    const holder: LockHolder = { pid: process.pid, host: os.hostname(), startTicks: processStartTicks(process.pid), since: new Date().toISOString(), purpose: options.purpose };
    const content = `${JSON.stringify(holder)}\n`;
    let recovered: LockHolder | undefined;
    // The lock appears with its content in one step: written to a temporary name, then linked
    // to the lock's name (which fails if the lock exists), so no one ever reads a half lock.
    const temp = `${file}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const fd = openSync(temp, 'wx');
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      throw describeDirError(dir, error, options);
    }
    try {
      for (let attempt = 0; attempt < 4; attempt++) {
        try {
          linkSync(temp, file);
          return new OutputDirLock(dir, file, holder, recovered);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw describeDirError(dir, error, options);
        }
        const current = readHolder(file);
        if (current && holderAlive(current)) {
          const who = `process ${current.pid} on ${current.host}${current.purpose ? ` (${current.purpose})` : ''}, since ${current.since}`;
          const remedy =
            current.host === os.hostname()
              ? 'wait for it to finish, stop it, or choose another directory'
              : `if no run on ${current.host} uses it any more, delete ${file}; otherwise choose another directory`;
          throw new OutputDirError(dir, `${named(dir, options)} is in use by ${who}; ${remedy}`);
        }
        // Stale (its process is gone) or unreadable: move it aside atomically, so two runs that
        // both saw it stale cannot both take it over.
        const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
        try {
          renameSync(file, aside);
        } catch {
          continue; // someone else moved it first: try again
        }
        const moved = readHolder(aside);
        const same = moved !== undefined && current !== undefined && moved.pid === current.pid && moved.since === current.since;
        if (moved && !same && holderAlive(moved)) {
          // A live run's lock replaced the stale one before we moved it: give it back.
          try {
            linkSync(aside, file);
          } catch {
            // a third run locked it in between; that one keeps the lock
          }
          unlinkSync(aside);
          continue;
        }
        rmSync(aside, { force: true });
        recovered = current ?? { pid: 0, host: 'unknown', since: 'unknown' };
      }
    } finally {
      rmSync(temp, { force: true });
    }
    throw new OutputDirError(dir, `${named(dir, options)}: could not take the lock ${file} (other runs keep taking it); try again`);
  }

  /** Removes the lock file, if this process still holds it. Sync; never throws. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const current = readHolder(this.file);
    if (current && current.pid === this.holder.pid && current.since === this.holder.since) rmSync(this.file, { force: true });
  }

  /** Same as {@link release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** True when `dir` is missing or holds no entries. Async. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}
