// `pjrt-bert bench --serve`: the load generator against a fake server on loopback, starting and
// stopping server processes, the report, and one short run of the whole thing with a stand-in for
// `pjrt-bert serve` (test/helpers/serve-standin.ts) and the PyTorch server on a tiny model. The
// run with transformers.js (a ~470 MB install and an ONNX export) is test/full/bench-serve.test.ts.
// Speeds are printed, never asserted.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { referencePython } from '../lib/bench/references.js';
import { type ServeReport, runServeBench, serveGoal } from '../lib/bench/serve-bench.js';
import { isLoopbackHost, mergeLoads, percentile, runLoad, topLabel } from '../lib/bench/serve-load.js';
import { peakRssMb, startServer } from '../lib/bench/serve-process.js';
import { formatServeMarkdown, formatServeTable } from '../lib/bench/serve-report.js';
import { TRANSFORMERS_JS_VERSION } from '../lib/bench/serve-setup.js';
import { generatedTweets } from '../lib/data/generated-tweets.js';
import { generateDemoDataset } from '../lib/train/demo-data.js';
import { Trainer } from '../lib/train/trainer.js';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'bin', 'pjrt-bert.js');
const standIn = path.join(root, 'test/helpers/serve-standin.ts');
const quiet = () => {};

/** A fake TEI server on 127.0.0.1: answers after `delayMs`; texts 'FAIL' get 503; records every body. */
async function fakeServer(t: Test, options: { delayMs: number; answer?: string }) {
  const bodies: { inputs: string; truncate?: boolean }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: string; truncate?: boolean };
      bodies.push(body);
      setTimeout(() => {
        if (body.inputs === 'FAIL') res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"error":"queue full","error_type":"overloaded"}');
        else res.writeHead(200, { 'Content-Type': 'application/json' }).end(options.answer ?? '[{"label":"positive","score":0.875},{"label":"negative","score":0.125}]');
      }, options.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

t.test('percentiles, loopback hosts and answers', async (t) => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  t.equal(percentile(values, 50), 5, 'nearest rank: the 5th of 10 sorted');
  t.equal(percentile(values, 99), 10);
  t.equal(percentile(values, 10), 1);
  t.equal(percentile([42], 99), 42);
  t.equal(percentile([], 50), null);
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) t.ok(isLoopbackHost(host), host);
  for (const host of ['10.0.0.1', '192.168.1.1', '0.0.0.0', 'example.invalid', '::', '128.0.0.1']) t.notOk(isLoopbackHost(host), host);
  t.equal(topLabel('[{"label":"a","score":0.5}]'), 'a');
  t.throws(() => topLabel('{"label":"a"}'), /not a list of \{label, score\}/);
  t.throws(() => topLabel('[]'), /not a list/);
  t.throws(() => topLabel('oops'), /not JSON/);
  await t.rejects(runLoad({ url: 'http://example.invalid:80', texts: ['x'], clients: 1, durationMs: 10 }), /only targets loopback addresses.*example\.invalid/);
  await t.rejects(runLoad({ url: 'http://127.0.0.1:1', texts: [], clients: 1, durationMs: 10 }), /at least one text/);
  await t.rejects(runLoad({ url: 'http://127.0.0.1:1', texts: ['x'], clients: 0, durationMs: 10 }), /clients must be a positive integer/);
});

t.test('load generator: counts, latencies, errors and warm-up against a fake server', async (t) => {
  const delayMs = 25;
  const fake = await fakeServer(t, { delayMs });
  const texts = ['one', 'two', 'FAIL', 'four', 'five', 'six', 'seven', 'eight'];
  const result = await runLoad({ url: fake.url, texts, clients: 4, durationMs: 1200, warmupMs: 400 });
  t.comment(JSON.stringify(result));
  t.ok(result.requests > 20, `answered requests counted: ${result.requests}`);
  t.ok(result.errors > 0 && result.errors < result.requests, `the 503s are errors: ${result.errors}`);
  t.match(result.error_samples[0], /^\d+x HTTP 503: .*queue full/);
  t.ok(fake.bodies.length > result.requests + result.errors, 'the warm-up requests reached the server but are not counted');
  t.ok(fake.bodies.every((b) => b.truncate === true && texts.includes(b.inputs)), 'TEI bodies {"inputs": text, "truncate": true} with the given texts');
  t.ok(result.p50_ms! >= delayMs && result.p50_ms! < delayMs + 150, `p50 ${result.p50_ms} ms against a ${delayMs} ms server`);
  t.ok(result.p99_ms! >= result.p50_ms! && result.max_ms! >= result.p99_ms!);
  // each client has one request out at a time: at most clients / delay requests per second
  t.ok(result.rps <= (4 * 1000) / delayMs, `${result.rps.toFixed(1)} req/s <= ${(4 * 1000) / delayMs}`);
  t.ok(Math.abs(result.rps - result.requests / result.duration_s) < 1e-9);
  t.ok(result.duration_s >= 1.0 && result.duration_s < 3.0, `measured period ${result.duration_s} s`);

  // one client goes through the texts in order
  const one = await fakeServer(t, { delayMs: 1 });
  await runLoad({ url: one.url, texts: ['a', 'b', 'c'], clients: 1, durationMs: 100 });
  t.same(one.bodies.slice(0, 6).map((b) => b.inputs), ['a', 'b', 'c', 'a', 'b', 'c']);
});

t.test('slices merge: counts and durations add up, percentiles over all latencies', async (t) => {
  const slice = (latencies: number[], errors: number, duration: number) => ({ result: { ...summary(latencies, errors, duration) }, latencies });
  const summary = (latencies: number[], errors: number, duration: number) => ({ clients: 4, requests: latencies.length, errors, rps: latencies.length / duration, p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99), mean_ms: null, max_ms: null, duration_s: duration, error_samples: errors ? ['1x HTTP 503: full'] : [] });
  const merged = mergeLoads([slice([10, 20, 30], 0, 1), slice([40, 50, 60, 70, 80, 90, 100, 110], 1, 3)]);
  t.match(merged, { clients: 4, requests: 11, errors: 1, duration_s: 4, rps: 11 / 4, p50_ms: 60, p99_ms: 110, mean_ms: 60, max_ms: 110, error_samples: ['1x HTTP 503: full'] });
  t.throws(() => mergeLoads([]), /no load slices/);
  t.throws(() => mergeLoads([slice([1], 0, 1), { ...slice([1], 0, 1), result: { ...summary([1], 0, 1), clients: 8 } }]), /different client counts: 4, 8/);
});

t.test('load generator: wrong answers and a dead server are errors, never throws', async (t) => {
  const wrong = await fakeServer(t, { delayMs: 1, answer: '{"label":"x"}' });
  const bad = await runLoad({ url: wrong.url, texts: ['a'], clients: 2, durationMs: 200 });
  t.equal(bad.requests, 0);
  t.ok(bad.errors > 0);
  t.match(bad.error_samples[0], /not a list of \{label, score\}/);
  t.equal(bad.p50_ms, null);
  t.equal(bad.rps, 0);

  const dead = await fakeServer(t, { delayMs: 1 });
  await new Promise<void>((resolve) => dead.server.close(() => resolve()));
  const refused = await runLoad({ url: dead.url, texts: ['a'], clients: 2, durationMs: 150 });
  t.equal(refused.requests, 0);
  t.ok(refused.errors > 0);
  t.match(refused.error_samples[0], /ECONNREFUSED/);
});

/** `node -e` programs standing in for server processes. */
const serverScript = (body: string) => ['--input-type=module', '-e', `import http from 'node:http';\n${body}`];

t.test('server processes: ready once /health answers 200, stopped by PID; failures carry stderr', async (t) => {
  const slowHealth = `
    let healthy = false; setTimeout(() => (healthy = true), 600);
    const server = http.createServer((req, res) => res.writeHead(req.url === '/health' && healthy ? 200 : 503).end());
    server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
    process.on('SIGTERM', () => { console.error('got SIGTERM'); server.close(); process.exit(0); });`;
  const lines: string[] = [];
  const server = await startServer({ name: 'fake', command: process.execPath, args: serverScript(slowHealth), log: (line) => lines.push(line) });
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.ok(server.startupSeconds >= 0.5, `waited for /health: ${server.startupSeconds.toFixed(2)} s`);
  t.ok((peakRssMb(server.pid) ?? 1) > 0);
  const { peakRssMb: peak } = await server.stop();
  t.ok(peak === null || peak > 1, `peak RSS ${peak} MiB`);
  t.throws(() => process.kill(server.pid, 0), { code: 'ESRCH' }, 'the process is gone');
  t.ok(lines.some((l) => l === 'fake: got SIGTERM'), 'stderr lines reach the log with the server name');

  await t.rejects(startServer({ name: 'crash', command: process.execPath, args: serverScript(`console.error('cannot load the model'); process.exit(3);`), log: quiet }), /crash server .* exited \(exit 3\) before printing 'listening on.*\n.*cannot load the model/s);
  const silent = startServer({ name: 'silent', command: process.execPath, args: serverScript('setInterval(() => {}, 1000);'), log: quiet, readyTimeoutMs: 800 });
  await t.rejects(silent, /printed no 'listening on http:\/\/HOST:PORT' line within 0.8 s/);
  const remote = serverScript(`console.log('listening on http://203.0.113.7:8080'); setInterval(() => {}, 1000);`);
  await t.rejects(startServer({ name: 'remote', command: process.execPath, args: remote, log: quiet }), /only targets loopback addresses/);
});

/** A tiny BERT classifier fine-tuned here (one epoch on 64 demo reviews), saved as a model directory. */
async function tinyModel(): Promise<string> {
  const data = generateDemoDataset(64, 3);
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-bench-serve-')), 'model');
  using trainer = await Trainer.create({ model: 'tiny', vocab: data.vocab, seqLen: 32, batchSize: 16, epochs: 1, stepsPerExecution: 4, learningRate: 1e-3 });
  await trainer.fit({ texts: data.texts, labels: data.labels });
  await trainer.save(dir);
  return dir;
}

t.test('a short run of the whole thing: the stand-in for pjrt-bert serve and the PyTorch server; a server that fails is reported, the others measured', async (t) => {
  const modelDir = await tinyModel();
  const python = await referencePython({ device: 'cpu', log: quiet });
  const lines: string[] = [];
  const texts = [...generateDemoDataset(24, 5).texts, ...generatedTweets(24, 5)];
  const report: ServeReport = await runServeBench({
    models: [{ name: 'tiny', modelDir }],
    frameworks: ['ours', 'transformers.js', 'torch'],
    clients: [1, 6],
    durationMs: 1600,
    warmupMs: 200,
    rounds: 2,
    settings: { seqLen: 32, maxBatchSize: 8, maxWaitMs: 5, plugin: 'cpu' },
    tools: { python },
    texts: { texts, source: 'test texts' },
    versions: { test: '1' },
    commandFor: (framework, model) => {
      if (framework === 'ours') return { name: 'ours', command: process.execPath, args: [...process.execArgv, standIn, '--model', model.modelDir, '--port', '0', '--seq-len', '32', '--max-batch-size', '8', '--max-wait-ms', '5', '--plugin', 'cpu'] };
      // transformers.js's place is taken by a server that cannot load its model
      if (framework === 'transformers.js') return { name: framework, command: process.execPath, args: serverScript(`console.error('loading...'); console.error('Error: onnx/model.onnx is missing'); process.exit(1);`) };
      return undefined;
    },
    log: (line) => lines.push(line),
  });
  const text = formatServeTable(report, 'cpu (test)');
  t.comment(text);
  const [model] = report.models;
  t.equal(model!.model, 'tiny');
  t.equal(report.load_average.start.length, 3);
  t.equal(report.load_average.end.length, 3);
  const failed = model!.servers.find((s) => s.framework === 'transformers.js')!;
  t.match(failed.error, /transformers\.js server .* exited \(exit 1\) before printing 'listening on/s);
  t.same(failed.levels, []);
  t.match(text, /tiny \/ transformers\.js FAILED: transformers\.js server .* \.\.\. Error: onnx\/model\.onnx is missing/);
  for (const server of model!.servers.filter((s) => s !== failed)) {
    t.equal(server.error, undefined, `${server.framework} ran: ${server.error ?? ''}`);
    t.same(server.levels.map((l) => l.clients), [1, 6]);
    for (const level of server.levels) {
      t.ok(level.requests > 0 && level.errors === 0, `${server.framework} @${level.clients}: ${level.requests} answered, ${level.errors} errors`);
      t.ok(level.p50_ms! <= level.p99_ms!);
      t.same(Object.keys(level).sort(), ['clients', 'duration_s', 'error_samples', 'errors', 'max_ms', 'mean_ms', 'p50_ms', 'p99_ms', 'requests', 'rps']);
    }
    t.ok(server.startup_s! > 0);
    t.equal(server.sample.length, 16);
  }
  // the same weights answer the same on both servers (fp32 both; ours pads to 32, torch to the longest)
  t.same(model!.agreement.map((a) => [a.framework, a.against, a.same_label]), [['ours', 'torch', 1]]);
  t.ok(model!.agreement[0]!.max_score_diff < 1e-4, `top scores within ${model!.agreement[0]!.max_score_diff}`);
  t.same(model!.goal.met, null, 'transformers.js failed: the goal is not measured');
  t.match(text, /tiny\s+1\s+[\d.]+\s+-\s+[\d.]+/, 'a row per client count, - where transformers.js failed');
  t.match(text, /Load average \(1\/5\/15 min\) [\d.]+\/[\d.]+\/[\d.]+ before/);
  t.match(text, /goal .* not measured/);
  t.ok(lines.some((l) => /ours: listening on http:\/\/127\.0\.0\.1/.test(l)), 'the stand-in printed its listening line');
  const slices = lines.filter((l) => / client.* \(round \d of 2\)/.test(l)).map((l) => /\/ (\S+): (\d+) client.*round (\d)/.exec(l)!.slice(1).join(' '));
  t.same(slices, ['ours 1 1', 'torch 1 1', 'torch 1 2', 'ours 1 2', 'ours 6 1', 'torch 6 1', 'torch 6 2', 'ours 6 2'], 'the servers alternate, the order rotating each round');
  for (const server of model!.servers.filter((s) => s !== failed)) t.ok(server.levels.every((l) => l.duration_s > 0.8 && l.duration_s < 4), `${server.framework}: two slices of 0.8 s merged`);
  const markdown = formatServeMarkdown(report, 'cpu (test)', '2026-11-30T00:00:00Z');
  t.match(markdown, /^### 2026-11-30: serving, cpu \(test\)/);
  t.match(markdown, /\| model \| clients \| req\/s ours \| tjs \| torch \| p50 ms ours \| tjs \| torch \| p99 ms ours \| tjs \| torch \| ours\/tjs req\/s \|/);
});

t.test('transformers.js is pinned: the version the bench names is the one its package.json and lockfile install', async (t) => {
  const dir = path.join(root, 'bench/reference/transformers-js');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; integrity?: string }> };
  t.same(manifest.dependencies, { '@huggingface/transformers': TRANSFORMERS_JS_VERSION });
  t.equal(lock.packages['node_modules/@huggingface/transformers']?.version, TRANSFORMERS_JS_VERSION);
  const locked = Object.entries(lock.packages).filter(([name]) => name !== '');
  t.ok(locked.length > 10 && locked.every(([, p]) => p.version && p.integrity), `${locked.length} packages, each with a version and an integrity hash`);
});

t.test('the goal: 1.5x transformers.js at the most clients, p99 no worse', async (t) => {
  const level = (clients: number, rps: number, p99: number) => ({ clients, requests: 100, errors: 0, rps, p50_ms: p99 / 2, p99_ms: p99, mean_ms: p99 / 2, max_ms: p99, duration_s: 1, error_samples: [] });
  const server = (framework: 'ours' | 'transformers.js', levels: ReturnType<typeof level>[]) => ({ framework, startup_s: 1, peak_rss_mb: 1, sample: [], levels });
  t.match(serveGoal([server('ours', [level(1, 10, 50), level(64, 160, 400)]), server('transformers.js', [level(1, 20, 30), level(64, 100, 400)])]), { clients: 64, throughput_ratio: 1.6, met: true });
  t.match(serveGoal([server('ours', [level(64, 160, 401)]), server('transformers.js', [level(64, 100, 400)])]), { met: false }, 'a worse p99 misses the goal');
  t.match(serveGoal([server('ours', [level(64, 140, 300)]), server('transformers.js', [level(64, 100, 400)])]), { throughput_ratio: 1.4, met: false });
  t.match(serveGoal([server('ours', [level(64, 140, 300)])]), { throughput_ratio: null, met: null });
});

t.test('CLI: bench --serve flags, and --json/--record on a torch-only run', async (t) => {
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'bench', '--serve', ...args], { encoding: 'utf8' });
  const help = run('--help');
  t.equal(help.status, 0);
  t.match(help.stdout, /usage: pjrt-bert bench --serve/);
  t.match(run('--clients', '1,0').stderr, /--clients must be a positive integer, got '0'/);
  t.equal(run('--frameworks', 'ours,onnx').status, 2);
  t.match(run('--frameworks', 'ours,onnx').stderr, /--frameworks takes a comma-separated list of ours, transformers.js, torch; got 'ours,onnx'/);
  t.match(run('--duration', '0').stderr, /--duration must be a number of seconds >= 1/);
  t.match(run('--seq-len', '600').stderr, /--seq-len must be from 2 to 512/);

  const modelDir = await tinyModel();
  const record = path.join(path.dirname(modelDir), 'RESULTS.md');
  const result = run('--json', '--model', modelDir, '--frameworks', 'torch', '--clients', '2', '--duration', '1', '--warmup', '0', '--seq-len', '32', '--record', record);
  t.equal(result.status, 0, result.stderr.split('\n').slice(-6).join('\n'));
  const report = JSON.parse(result.stdout.trim().split('\n').pop()!) as { device: string; date: string; versions: Record<string, string>; serve: ServeReport };
  t.match(report.device, /^cpu \(\d+ cores/);
  t.ok(report.versions.torch && report.versions.transformers && report.versions.node);
  t.same(report.serve.settings, { seq_len: 32, max_batch_size: 32, max_wait_ms: 5, duration_s: 1, warmup_s: 0, rounds: 1, clients: [2], plugin: 'cpu' });
  t.equal(report.serve.models[0]!.model_dir, modelDir);
  t.equal(report.serve.models[0]!.servers[0]!.framework, 'torch');
  t.ok(report.serve.models[0]!.servers[0]!.levels[0]!.requests > 0);
  t.match(report.serve.texts.source, /generated tweets|GRGE/);
  const markdown = readFileSync(record, 'utf8');
  t.match(markdown, /### \d{4}-\d\d-\d\d: serving, cpu/);
  t.match(markdown, /Command: `pjrt-bert bench --serve --json --model .* --frameworks torch/);
  t.notMatch(markdown, /--record/);
});
