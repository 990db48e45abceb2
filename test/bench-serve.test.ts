// `pjrt-bert bench --serve`: the load generator against a fake server on loopback, starting and
// stopping server processes, the report and the goal. Runs of the whole thing on a tiny model are
// test/full/bench-serve-run.test.ts; the run with transformers.js (a ~470 MB install and an ONNX
// export) is test/full/bench-serve.test.ts. Speeds are printed, never asserted.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { serveGoal } from '../lib/bench/serve-bench.js';
import { isLoopbackHost, mergeLoads, percentile, runLoad, topLabel } from '../lib/bench/serve-load.js';
import { peakRssMb, startServer } from '../lib/bench/serve-process.js';
import { TRANSFORMERS_JS_VERSION } from '../lib/bench/serve-setup.js';

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

