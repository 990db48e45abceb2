// How Runtime.open treats a plugin: it recognises a CPU plugin by the platform its client
// reports (not by the file name) and sends cpu_device_count to nothing else, it reports a plugin
// with a newer PJRT minor version once (unless it is a pinned CPU plugin that pjrt-bert
// installed and verified), and it leaves process.env alone.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CPU_PLUGINS, PjrtError, Runtime, Trainer, resolvePlugin } from '../lib/index.js';
import { testPlugin } from './helpers/runtime.js';

const root = path.resolve(import.meta.dirname, '..');
const fakePlugin = path.join(root, 'build', 'Release', 'libfake_pjrt_plugin.so');
const cpuOnly = testPlugin !== 'cpu' && 'CPU plugin only';

/** The CPU plugin under a file name without "cpu" in it. */
function anonymousCpuPlugin(): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-plugin-')), 'libxla_plugin.so');
  symlinkSync(resolvePlugin('cpu'), file);
  return file;
}

t.test('Runtime.open writes nothing to process.env', { skip: cpuOnly }, async (t) => {
  const saved = process.env.TF_CPP_MIN_LOG_LEVEL;
  delete process.env.TF_CPP_MIN_LOG_LEVEL;
  t.teardown(() => {
    if (saved !== undefined) process.env.TF_CPP_MIN_LOG_LEVEL = saved;
  });
  const before = { ...process.env };
  const rt = await Runtime.open({ plugin: 'cpu', cpuDevices: 2 });
  rt.dispose();
  t.same({ ...process.env }, before, 'the environment is unchanged');
});

t.test('the pjrt-bert command keeps the plugins\' INFO logs off stderr by itself', { skip: cpuOnly }, async (t) => {
  const env = { ...process.env };
  delete env.TF_CPP_MIN_LOG_LEVEL;
  const quiet = spawnSync(process.execPath, [path.join(root, 'bin', 'pjrt-bert.js'), 'devices', '--cpu-devices', '2'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  t.equal(quiet.status, 0, quiet.stderr);
  t.match(quiet.stdout, /devices\s+2/);
  t.notMatch(quiet.stderr, /cpu_device_count set via create_options/, 'no INFO line about the create option');
  // The same run with the level the user asked for shows it, so the check above can fail.
  const loud = spawnSync(process.execPath, [path.join(root, 'bin', 'pjrt-bert.js'), 'devices', '--cpu-devices', '2'], { cwd: root, env: { ...env, TF_CPP_MIN_LOG_LEVEL: '0' }, encoding: 'utf8', timeout: 60_000 });
  t.match(loud.stderr, /cpu_device_count set via create_options: 2/, 'TF_CPP_MIN_LOG_LEVEL=0 from the user still wins');
});

t.test('a CPU plugin is recognised by its platform, whatever its file is called', { skip: cpuOnly }, async (t) => {
  const plugin = anonymousCpuPlugin();
  const rt = await Runtime.open({ plugin, cpuDevices: 3 });
  t.equal(rt.platformName, 'cpu');
  t.equal(rt.devices.length, 3, 'cpu_device_count reached it');
  rt.dispose();
  const again = await Runtime.open({ plugin, cpuDevices: 5 });
  t.equal(again.devices.length, 5, 'a second open (platform known) sends the option at once');
  again.dispose();
  using trainer = await Trainer.create({ model: 'tiny', vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b'], plugin, replicas: 8, batchSize: 8, progress: 'none', compileCache: false });
  t.equal(trainer.runtime.devices.length, 8, 'the Trainer gets its 8 replicas from a plugin named without "cpu"');
});

t.test('with a plugin of another platform', async (t) => {
  // Read by the fake plugin's GetPjrtApi, which runs once: at the first load below.
  process.env.FAKE_PJRT_CLIENT = '1';
  process.env.FAKE_PJRT_MINOR = String(Runtime.headerApiVersion.minor + 5);
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  t.teardown(() => {
    process.off('warning', onWarning);
    delete process.env.FAKE_PJRT_CLIENT;
    delete process.env.FAKE_PJRT_MINOR;
  });

  const rt = await Runtime.open({ plugin: fakePlugin, cpuDevices: 8 });
  t.equal(rt.platformName, 'fake');
  t.same(rt.devices, [], 'cpu_device_count was not sent: the fake plugin refuses any create option');
  rt.dispose();
  const refused = await Runtime.open({ plugin: fakePlugin, createOptions: { cpu_device_count: 8 } }).catch((e: unknown) => e);
  t.type(refused, PjrtError, 'the fake plugin does refuse an option it is sent');
  t.match((refused as Error).message, /unknown create option 'cpu_device_count'/);
  (await Runtime.open({ plugin: fakePlugin, cpuDevices: 2 })).dispose();

  await new Promise((resolve) => setImmediate(resolve));
  const { minor } = Runtime.headerApiVersion;
  t.equal(warnings.length, 1, 'one warning for three opens of the plugin');
  t.equal(warnings[0]?.name, 'PjrtVersionWarning');
  t.match(warnings[0]?.message, `PJRT plugin ${fakePlugin} implements PJRT C API 0.${minor + 5}, newer than the 0.${minor} header`);
  t.match(warnings[0]?.message, /npm run build:native/, 'it says what to do if a call fails');
});

t.test('a pinned CPU plugin that pjrt-bert installed is not reported for its newer API', async (t) => {
  // Copies of the fake plugin (each its own dlopen, so each reads the variables below): one where
  // `plugin install cpu` puts the default CPU plugin, with its verified sha256 stamp, one there
  // with a wrong stamp, one elsewhere. All three report a newer API than the header.
  const cache = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-pinned-'));
  const spec = CPU_PLUGINS[0]!;
  const place = (dir: string, stamp: string | undefined) => {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, path.basename(spec.member));
    copyFileSync(fakePlugin, file);
    if (stamp !== undefined) writeFileSync(`${file}.sha256`, `${stamp}\n`);
    return file;
  };
  const pinned = place(path.join(cache, 'registry', `${spec.project}-${spec.version}`), spec.sha256);
  const saved = { ...process.env };
  process.env.PJRT_BERT_PLUGIN_CACHE = cache;
  process.env.FAKE_PJRT_CLIENT = '1';
  process.env.FAKE_PJRT_MINOR = String(Runtime.headerApiVersion.minor + 7);
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  t.teardown(() => {
    process.off('warning', onWarning);
    for (const key of ['PJRT_BERT_PLUGIN_CACHE', 'FAKE_PJRT_CLIENT', 'FAKE_PJRT_MINOR']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  const rt = await Runtime.open({ plugin: pinned });
  t.equal(rt.apiVersion.minor, Runtime.headerApiVersion.minor + 7, 'the pinned copy does report the newer API');
  rt.dispose();
  await new Promise((resolve) => setImmediate(resolve));
  t.same(warnings.map((w) => w.message), [], 'no warning for the pinned, verified plugin');

  const unverified = place(path.join(mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-pinned-')), 'registry', `${spec.project}-${spec.version}`), 'f'.repeat(64));
  process.env.PJRT_BERT_PLUGIN_CACHE = path.dirname(path.dirname(path.dirname(unverified)));
  (await Runtime.open({ plugin: unverified })).dispose();
  const elsewhere = place(mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-unpinned-')), undefined);
  (await Runtime.open({ plugin: elsewhere })).dispose();
  await new Promise((resolve) => setImmediate(resolve));
  t.same(
    warnings.map((w) => w.message.split(' implements')[0]),
    [`PJRT plugin ${unverified}`, `PJRT plugin ${elsewhere}`],
    'a wrong sha256 stamp, or a file outside the plugin cache, is still reported',
  );
});
