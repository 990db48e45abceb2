// Where pjrt-bert keeps files: compiled programs in the user's cache folder (never inside the
// installed package), the CPU plugin in the package's .cache/ or $PJRT_BERT_PLUGIN_CACHE, and the
// two settings independent of each other.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CPU_PLUGINS, Trainer, compileCacheDir, installCacheDir, pluginCacheDir, pluginCandidates, resolvePlugin } from '../lib/index.js';
import { packageRoot } from '../lib/native/package-root.js';
import { testPlugin } from './helpers/runtime.js';

const root = path.resolve(import.meta.dirname, '..');
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-dirs-'));

/** Runs `body` with the given environment variables set (undefined: unset), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(vars);
  try {
    return await body();
  } finally {
    apply(saved);
  }
}

t.test('the compile cache follows PJRT_BERT_CACHE, then XDG_CACHE_HOME, then ~/.cache', async (t) => {
  const dir = tmp();
  await withEnv({ PJRT_BERT_CACHE: dir, XDG_CACHE_HOME: '/somewhere/else' }, () => {
    t.equal(compileCacheDir(), path.join(dir, 'compiled'), 'PJRT_BERT_CACHE wins');
  });
  await withEnv({ PJRT_BERT_CACHE: undefined, XDG_CACHE_HOME: dir }, () => {
    t.equal(compileCacheDir(), path.join(dir, 'pjrt-bert', 'compiled'));
  });
  await withEnv({ PJRT_BERT_CACHE: undefined, XDG_CACHE_HOME: 'relative/dir', HOME: dir }, () => {
    t.equal(compileCacheDir(), path.join(dir, '.cache', 'pjrt-bert', 'compiled'), 'a relative XDG_CACHE_HOME is ignored, as the XDG spec says');
  });
  await withEnv({ PJRT_BERT_CACHE: undefined, XDG_CACHE_HOME: undefined, HOME: dir }, () => {
    t.equal(compileCacheDir(), path.join(dir, '.cache', 'pjrt-bert', 'compiled'));
    t.notOk(compileCacheDir().startsWith(packageRoot()), 'never inside the installed package');
  });
});

t.test('a Trainer caches compiled programs in the user cache folder by default', { skip: testPlugin !== 'cpu' && 'CPU plugin only' }, async (t) => {
  const xdg = tmp();
  await withEnv({ PJRT_BERT_CACHE: undefined, XDG_CACHE_HOME: xdg }, async () => {
    using trainer = await Trainer.create({ model: 'tiny', vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a'], progress: 'none' });
    t.equal(trainer.runtime.compileCacheDir, path.join(xdg, 'pjrt-bert', 'compiled'));
    using off = await Trainer.create({ model: 'tiny', vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a'], progress: 'none', compileCache: false });
    t.equal(off.runtime.compileCacheDir, undefined, 'compileCache: false still turns it off');
  });
});

t.test('PJRT_BERT_CACHE does not move the CPU plugin', async (t) => {
  const packaged = path.join(installCacheDir(), 'registry', `${CPU_PLUGINS[0]!.project}-${CPU_PLUGINS[0]!.version}`, path.basename(CPU_PLUGINS[0]!.member));
  t.equal(installCacheDir(), path.join(packageRoot(), '.cache'));
  await withEnv({ PJRT_BERT_CACHE: tmp(), PJRT_BERT_PLUGIN_CACHE: undefined }, () => {
    t.equal(pluginCacheDir(), installCacheDir());
    t.ok(pluginCandidates('cpu').includes(packaged), 'the package cache is still searched');
    if (testPlugin === 'cpu') t.ok(resolvePlugin('cpu'), 'and the plugin is found');
  });
  const own = tmp();
  await withEnv({ PJRT_BERT_PLUGIN_CACHE: own }, () => {
    t.equal(pluginCacheDir(), own);
    const candidates = pluginCandidates('cpu');
    const mine = candidates.indexOf(path.join(own, 'registry', `${CPU_PLUGINS[0]!.project}-${CPU_PLUGINS[0]!.version}`, path.basename(CPU_PLUGINS[0]!.member)));
    t.ok(mine >= 0 && mine < candidates.indexOf(packaged), 'PJRT_BERT_PLUGIN_CACHE is searched before the package cache');
    t.notOk(compileCacheDir().startsWith(own), 'and does not move the compile cache');
  });
});

t.test('`pjrt-bert plugin where cpu` finds the plugin with PJRT_BERT_CACHE set', { skip: testPlugin !== 'cpu' && 'CPU plugin only' }, async (t) => {
  const result = spawnSync(process.execPath, [path.join(root, 'bin', 'pjrt-bert.js'), 'plugin', 'where', 'cpu'], {
    cwd: root,
    env: { ...process.env, PJRT_BERT_CACHE: tmp(), PJRT_PLUGIN_PATH: '', PJRT_BERT_PYTHON: '/nonexistent/python3' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(result.status, 0, result.stdout + result.stderr);
  t.match(result.stdout, new RegExp(`^cpu\\s+${installCacheDir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/registry/.*\\(PJRT API 0\\.\\d+\\)`, 'm'));
});

t.test('every pinned CPU plugin build is recognised by its file name, and the first of CPU_PLUGINS wins', async (t) => {
  const names = CPU_PLUGINS.map((spec) => path.basename(spec.member));
  t.equal(new Set(names).size, names.length, 'the file names tell the builds apart');
  t.ok(CPU_PLUGINS.every((spec) => /^[0-9a-f]{64}$/.test(spec.sha256)), 'each is pinned by a sha256');
  const dir = tmp();
  for (const name of [...names].reverse()) writeFileSync(path.join(dir, name), '');
  await withEnv({ PJRT_PLUGIN_PATH: dir }, () => {
    const candidates = pluginCandidates('cpu');
    for (const name of names) t.ok(candidates.includes(path.join(dir, name)), `${name} in a PJRT_PLUGIN_PATH folder is a candidate`);
    t.equal(resolvePlugin('cpu'), path.join(dir, names[0]!), `with all of them there, ${CPU_PLUGINS[0]!.project} is chosen`);
  });
  t.ok(
    CPU_PLUGINS.some((spec) => spec.project === 'fastatomstruct-xla-cpu' && spec.member === 'fastatomstruct_xla_cpu/libpjrt_cpu.so'),
    'the XLA build of fastatomstruct-xla-cpu is among the pinned fallbacks (bench/RESULTS.md, 2026-11-30)',
  );
});
