/**
 * On-disk cache of compiled programs: the serialized executable, keyed by everything that
 * decides what the compiler produces (program text, compile options, plugin file, PJRT API and
 * platform versions). A second run of the same job loads instead of compiling.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What identifies the compiler a program was built with. */
export interface CompilerIdentity {
  pluginPath: string;
  apiVersion: string;
  platform: string;
  platformVersion: string;
}

/** Counts of what `Runtime.compile` did, for reporting. */
export interface CompileStats {
  /** Programs compiled by the plugin. */
  compiled: number;
  /** Programs loaded from the on-disk cache instead. */
  cacheHits: number;
}

/**
 * The cache key of a program: sha256 over the code, the serialized compile options and the
 * compiler identity (including the plugin file's size and modification time). Sync.
 */
export function compileCacheKey(code: string | Uint8Array, options: Uint8Array, compiler: CompilerIdentity): string {
  const hash = createHash('sha256');
  const plugin = statSync(compiler.pluginPath);
  for (const part of [compiler.pluginPath, String(plugin.size), String(plugin.mtimeMs), compiler.apiVersion, compiler.platform, compiler.platformVersion]) {
    hash.update(part).update('\0');
  }
  hash.update(options).update('\0');
  hash.update(code);
  return hash.digest('hex');
}

/** A folder of `<key>.pjrt` files. */
export class CompileCache {
  /** @param dir the cache folder, created on first write. */
  constructor(readonly dir: string) {}

  #file(key: string): string {
    return path.join(this.dir, `${key}.pjrt`);
  }

  /** The cached executable bytes for `key`, or undefined. Sync; never throws. */
  read(key: string): Uint8Array | undefined {
    try {
      return new Uint8Array(readFileSync(this.#file(key)));
    } catch {
      return undefined;
    }
  }

  /** Stores `bytes` under `key` atomically (temp file + rename). Sync; a failure only warns. */
  write(key: string, bytes: Uint8Array): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      const temp = `${this.#file(key)}.${process.pid}.tmp`;
      writeFileSync(temp, bytes);
      renameSync(temp, this.#file(key));
    } catch (error) {
      process.emitWarning(`pjrt-bert: could not write the compile cache in ${this.dir}: ${(error as Error).message}`);
    }
  }
}
