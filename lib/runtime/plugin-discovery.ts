/**
 * Finds the PJRT plugin file for `cpu`, `tpu`, `cuda` or an explicit path. Order: the explicit
 * path, `$PJRT_PLUGIN_PATH` (files or folders, `:`-separated), the places pip installs the
 * plugin wheels (every site-packages of `python3`), then the plugin cache
 * (`$PJRT_BERT_PLUGIN_CACHE`) and the package's own `.cache/`. The compile cache
 * (`$PJRT_BERT_CACHE`) plays no part here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CPU_PLUGINS, cachedMemberPath, installCacheDir, pluginCacheDir, pythonCommand, type WheelMember } from './provision.js';

/** A plugin by name, or a path to a PJRT plugin `.so`. */
export type PluginName = 'cpu' | 'tpu' | 'cuda';

/** The paths inside site-packages where each plugin's wheel puts its library. */
const SITE_PACKAGES_MEMBERS: Record<PluginName, string[]> = {
  cpu: CPU_PLUGINS.map((spec) => spec.member),
  tpu: ['libtpu/libtpu.so'],
  cuda: ['jax_plugins/xla_cuda13/xla_cuda_plugin.so', 'jax_plugins/xla_cuda12/xla_cuda_plugin.so'],
};

/** The one command that installs each plugin. */
export const INSTALL_COMMANDS: Record<PluginName, string> = {
  cpu: 'npx pjrt-bert plugin install cpu',
  tpu: 'pip install libtpu   (Cloud TPU VMs usually have it already)',
  cuda: 'pip install jax-cuda13-pjrt   (it brings the nvidia-* CUDA wheels it needs)',
};

/** True for the three plugin names (anything else is treated as a path). Sync. */
export function isPluginName(value: string): value is PluginName {
  return value === 'cpu' || value === 'tpu' || value === 'cuda';
}

let sitePackagesCache: string[] | undefined;

/** Every site-packages folder of the Python interpreter (empty if there is none). Sync. */
export function sitePackages(): string[] {
  if (sitePackagesCache) return sitePackagesCache;
  const result = spawnSync(
    pythonCommand(),
    ['-c', 'import site, sys; print("\\n".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))'],
    { encoding: 'utf8', timeout: 10_000 },
  );
  const dirs = result.status === 0 ? result.stdout.split('\n').map((line) => line.trim()).filter(Boolean) : [];
  sitePackagesCache = [...new Set(dirs)].filter((dir) => existsSync(dir) && statSync(dir).isDirectory());
  return sitePackagesCache;
}

/** Every candidate path for `name`, in search order (existing or not). Sync. */
export function pluginCandidates(name: PluginName): string[] {
  const fileNames = SITE_PACKAGES_MEMBERS[name].map((member) => path.basename(member));
  const fromEnv = (process.env.PJRT_PLUGIN_PATH ?? '')
    .split(':')
    .filter(Boolean)
    .flatMap((entry) => (existsSync(entry) && statSync(entry).isDirectory() ? fileNames.map((f) => path.join(entry, f)) : [entry]))
    .filter((entry) => fileNames.includes(path.basename(entry)));
  const extra = name === 'tpu' && process.env.TPU_LIBRARY_PATH ? [process.env.TPU_LIBRARY_PATH] : [];
  const fromPip = sitePackages().flatMap((dir) => SITE_PACKAGES_MEMBERS[name].map((member) => path.join(dir, member)));
  const cacheRoots = [pluginCacheDir(), installCacheDir()];
  const fromCache = name === 'cpu' ? cacheRoots.flatMap((root) => CPU_PLUGINS.map((spec) => cachedMemberPath(spec, root))) : [];
  return [...new Set([...fromEnv, ...extra, ...fromPip, ...fromCache])];
}

/**
 * Resolves a plugin name or path to an existing file. Sync.
 * @throws Error naming every path searched and the one command that installs the plugin.
 */
export function resolvePlugin(plugin: string): string {
  if (!isPluginName(plugin)) {
    const file = path.resolve(plugin);
    if (!existsSync(file)) {
      throw new Error(`pjrt-bert: PJRT plugin file ${file} does not exist. Pass 'cpu', 'tpu', 'cuda' or the path of a PJRT plugin .so.`);
    }
    return file;
  }
  const candidates = pluginCandidates(plugin);
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found) return found;
  throw new Error(
    `pjrt-bert: the ${plugin} PJRT plugin is not installed (searched ${candidates.length ? candidates.join(', ') : 'no locations'}). ` +
      `Install it with: ${INSTALL_COMMANDS[plugin]}`,
  );
}

/**
 * The pinned CPU plugin that `file` is, when it is one that `pjrt-bert plugin install cpu` put in
 * a plugin cache and verified (its `.sha256` stamp matches the pin): a build the test suite runs
 * with this header, so a newer PJRT API than the header's is expected of it. Undefined for any
 * other file. Sync; reads a few bytes, never throws.
 */
export function pinnedCpuPlugin(file: string): WheelMember | undefined {
  const resolved = path.resolve(file);
  for (const root of new Set([pluginCacheDir(), installCacheDir()])) {
    for (const spec of CPU_PLUGINS) {
      if (cachedMemberPath(spec, root) !== resolved) continue;
      try {
        if (readFileSync(`${resolved}.sha256`, 'utf8').trim() === spec.sha256) return spec;
      } catch {
        // no stamp: not installed by pjrt-bert
      }
    }
  }
  return undefined;
}
