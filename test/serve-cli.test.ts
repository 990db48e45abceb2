/**
 * `pjrt-bert serve` as a user runs it (bin/pjrt-bert.js, loopback only, port 0): the
 * `listening on` line once healthy, answers equal to `predict`'s, one debug line per batch when
 * asked, and SIGTERM with requests still queued: they are answered, then the process exits 0.
 * Usage errors exit 2 before anything is loaded.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';

import { softmax } from '../lib/serve/responses.js';
import { Predictor } from '../lib/train/predictor.js';
import { generateDemoDataset } from '../lib/train/demo-data.js';
import { openTestRuntime } from './helpers/runtime.js';
import { call, predict, sampleValue, scrape } from './helpers/serve-http.js';
import { centerHead, logitRows, modelsFolder, saveServeModel } from './helpers/serve-models.js';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'bin', 'pjrt-bert.js');
const rt = await openTestRuntime();
const demo = generateDemoDataset(60, 11);
const modelDir = await saveServeModel(path.join(modelsFolder(), 'reviews'), { vocab: demo.vocab, labels: ['negative', 'neutral', 'positive'] });
await centerHead(modelDir, rt, demo.texts);

/** A started `pjrt-bert serve`, its output so far, and its exit. */
interface Served {
  child: ChildProcess;
  url: string;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `pjrt-bert serve ...args` and waits for its `listening on` line (ending only this process, by PID, if the test fails). */
async function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [cli, 'serve', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const served: Served = { child, url: '', stdout: '', stderr: '', exited };
  child.stderr!.on('data', (chunk: Buffer) => (served.stderr += chunk.toString('utf8')));
  served.url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'listening on' line after 300 s; stderr: ${served.stderr}`)), 300_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      served.stdout += chunk.toString('utf8');
      const match = /^listening on (http:\/\/\S+)\n/m.exec(served.stdout);
      if (match) (clearTimeout(timer), resolve(match[1]!));
    });
    void served.exited.then(({ code }) => (clearTimeout(timer), reject(new Error(`serve exited with ${code} before listening; stderr: ${served.stderr}`))));
  });
  return served;
}

t.test('usage errors exit 2 and name the flag', async (t) => {
  const run = (args: string[]) => spawnSync(process.execPath, [cli, 'serve', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const none = run([]);
  t.equal(none.status, 2);
  t.match(none.stderr, /--model DIR is required/);
  for (const [args, pattern] of [
    [['--model', modelDir, '--port', '70000'], /--port must be an integer from 0 to 65535/],
    [['--model', modelDir, '--max-wait-ms=-1'], /--max-wait-ms must be a number of milliseconds >= 0, got '-1'/],
    [['--model', modelDir, '--max-wait-ms', 'soon'], /--max-wait-ms must be a number of milliseconds >= 0, got 'soon'/],
    [['--model', modelDir, '--batch-buckets', '1,x'], /--batch-buckets must be a comma-separated list of positive integers/],
    [['--model', modelDir, '--log-level', 'loud'], /--log-level must be one of debug, info, warn, error, got 'loud'/],
    [['--model', 'tiny'], /untrained preset/],
    [['--model', modelDir, '--epochs', '3'], /Unknown option '--epochs'/],
  ] as const) {
    const result = run([...args]);
    t.equal(result.status, 2, args.join(' '));
    t.match(result.stderr, pattern);
  }
  const help = run(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /usage: pjrt-bert serve --model DIR/);
  const top = spawnSync(process.execPath, [cli, '--help'], { cwd: root, encoding: 'utf8' });
  t.match(top.stdout, /^ {2}serve +serve a fine-tuned model over HTTP/m, 'listed in the command summary');
  const missing = run(['--model', path.join(root, 'no-such-model'), '--port', '0']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /no-such-model: no such model directory/);
});

t.test('serves predict\'s answers, then drains queued requests on SIGTERM and exits 0', async (t) => {
  const served = await serve(['--model', modelDir, '--port', '0', '--max-batch-size', '8', '--batch-buckets', '1', '--length-buckets', '24', '--max-wait-ms', '600000', '--log-level', 'debug']);
  t.match(served.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to loopback by default');
  t.equal((await call(served.url, '/health')).status, 200, 'healthy once it says listening');
  using predictor = await Predictor.open(modelDir, { runtime: rt, batchSize: 8 });
  const texts = demo.texts.slice(0, 5);
  const labels = ['negative', 'neutral', 'positive'];
  const want = logitRows(await predictor.logits(texts), labels.length).map(softmax);

  // With --max-wait-ms 600000 and batches of 8, five requests wait in the queue until the signal.
  const answers = texts.map((text) => predict(served.url, { inputs: text }));
  for (let i = 0; i < 600 && sampleValue(await scrape(served.url), 'pjrt_bert_queue_size') < texts.length; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(sampleValue(await scrape(served.url), 'pjrt_bert_queue_size'), texts.length, 'five inputs queued');
  t.notMatch(served.stderr, /batch of/, 'nothing ran yet');
  process.kill(served.child.pid!, 'SIGTERM');
  const results = await Promise.all(answers);
  results.forEach((answer, i) => {
    t.equal(answer.status, 200, answer.text);
    const [top, ...rest] = answer.json() as { label: string; score: number }[];
    t.equal(top!.label, labels[want[i]!.indexOf(Math.max(...want[i]!))], `text ${i}: predict's label`);
    for (const { label, score } of [top!, ...rest]) t.ok(Math.abs(score - want[i]![labels.indexOf(label)]!) < 1e-4, `text ${i} ${label}`);
  });
  const { code, signal } = await served.exited;
  t.equal(code, 0, `exit code (stderr: ${served.stderr})`);
  t.equal(signal, null);
  t.equal(served.stdout, `listening on ${served.url}\n`, 'stdout holds only the listening line');
  t.match(served.stderr, /warm-up done: 2 programs compiled/);
  t.match(served.stderr, /SIGTERM: finishing queued requests, then exiting/);
  t.match(served.stderr, /pjrt-bert serve: debug: batch of 5 inputs from 5 requests on replica 0/, 'one debug line for the one batch');
  t.equal(served.stderr.match(/batch of/g)?.length, 1);
  await t.rejects(call(served.url, '/health'), 'nothing listens afterwards');
});

t.test('without --log-level debug no batch is logged; SIGINT also exits 0', async (t) => {
  const served = await serve(['--model', modelDir, '--port', '0', '--max-batch-size', '8', '--batch-buckets', '1', '--length-buckets', '24']);
  const answer = await predict(served.url, { inputs: [[demo.texts[0]!], [demo.texts[1]!, demo.texts[2]!]] });
  t.equal(answer.status, 200, answer.text);
  t.equal((answer.json() as unknown[]).length, 2);
  const info = (await call(served.url, '/info')).json() as Record<string, unknown>;
  t.match(info, { model_id: 'reviews', family: 'bert', task: 'classification', max_input_length: 24, max_batch_size: 8, replicas: 1 });
  process.kill(served.child.pid!, 'SIGINT');
  t.same(await served.exited, { code: 0, signal: null });
  t.notMatch(served.stderr, /batch of/);
  t.match(served.stderr, /--seq-len 24, the length .*reviews was trained at/);
});
