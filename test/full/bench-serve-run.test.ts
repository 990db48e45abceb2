// Short runs of the whole `pjrt-bert bench --serve` on a tiny model fine-tuned here: the stand-in
// for `pjrt-bert serve` (test/helpers/serve-standin.ts) and the PyTorch server, a failing server
// reported, and the CLI's --json/--record on a torch-only run (about 60 s: a test:full suite). The
// load generator, process and report units are test/bench-serve.test.ts; the run with
// transformers.js is test/full/bench-serve.test.ts. Speeds are printed, never asserted.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { referencePython } from '../../lib/bench/references.js';
import { type ServeReport, runServeBench } from '../../lib/bench/serve-bench.js';
import { formatServeMarkdown, formatServeTable } from '../../lib/bench/serve-report.js';
import { generatedTweets } from '../../lib/data/generated-tweets.js';
import { generateDemoDataset } from '../../lib/train/demo-data.js';
import { Trainer } from '../../lib/train/trainer.js';

const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'bin', 'pjrt-bert.js');
const standIn = path.join(root, 'test/helpers/serve-standin.ts');
const quiet = () => {};
const serverScript = (body: string) => ['--input-type=module', '-e', `import http from 'node:http';\n${body}`];

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
