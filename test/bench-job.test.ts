// `pjrt-bert bench --job` at a small scale: a generated CSV and the `tiny` preset at seq len 16
// instead of GRGE and `mini` (the real job is run by hand and recorded in bench/RESULTS.md). The
// errors, the parsing of train's output, the process measurement and the report formats; the whole
// run (ours and the Hugging Face Trainer reference, checked field by field) is
// test/full/bench-job-run.test.ts. Times are printed, never asserted: these machines are shared and noisy.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GNU_TIME, measureProcess } from '../lib/bench/job-measure.js';
import { type JobSummary, formatJobMarkdown, formatJobTable } from '../lib/bench/job-report.js';
import { type JobRow, paddingModesInHelp, parseTrainOutput, trainPaddingModes } from '../lib/bench/job-run.js';
import { JobDataError, resolveJobData } from '../lib/bench/job-setup.js';
import { TRAIN_FLAGS_HELP } from '../lib/cli/train-flags.js';
import { repoRoot } from './reference/python.js';

const cli = path.join(repoRoot, 'bin', 'pjrt-bert.js');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-bench-job-'));

t.test('no data: the command says where it looked and how to point at the data, and exits 1', async (t) => {
  const missing = path.join(scratch, 'nowhere');
  const run = spawnSync(process.execPath, [cli, 'bench', '--job'], { encoding: 'utf8', env: { ...process.env, PJRT_BERT_DATA: missing } });
  t.equal(run.status, 1);
  t.match(run.stderr, `pjrt-bert bench: no job data: ${path.join(missing, 'GRGE_sentiment.csv')} does not exist (from PJRT_BERT_DATA). Set PJRT_BERT_DATA to the folder holding GRGE_sentiment.csv`);
  t.match(run.stderr, /or pass --data FILE with --text-column and --label-column/);
  t.equal(run.stdout, '', 'nothing measured, nothing printed');
  t.throws(() => resolveJobData(path.join(scratch, 'none.csv')), new JobDataError(`--data ${path.join(scratch, 'none.csv')}: no such file`));
  // without PJRT_BERT_DATA: the shared/data folder beside the checkout, when there is one
  const beside = path.resolve(repoRoot, '..', 'shared', 'data', 'GRGE_sentiment.csv');
  if (existsSync(beside)) t.equal(resolveJobData(undefined, {}), beside, 'the data beside the checkout');
  else t.throws(() => resolveJobData(undefined, {}), { name: 'JobDataError', message: /PJRT_BERT_DATA is not set/ });
  writeFileSync(path.join(scratch, 'GRGE_sentiment.csv'), 'Text,Polarity1\n');
  t.equal(resolveJobData(undefined, { PJRT_BERT_DATA: scratch }), path.join(scratch, 'GRGE_sentiment.csv'));
});

t.test('bad flags are usage errors (exit 2) naming the flag', async (t) => {
  for (const [args, message] of [
    [['--runs', 'fixed,fast'], /--runs takes a comma-separated list of fixed, bucket, pack, hf; got 'fixed,fast'/],
    [['--model', 'huge'], /--model must be a preset \(tiny, mini, base\), got 'huge'/],
    [['--seq-len', '1024'], /--seq-len must be in 2\.\.512/],
    [['--lr', '0'], /--lr must be a positive number, got '0'/],
    [['--validation-split', '1'], /--validation-split must be a fraction in \(0, 1\), got '1'/],
    [['--bogus'], /Unknown option '--bogus'/],
  ] as const) {
    const run = spawnSync(process.execPath, [cli, 'bench', '--job', ...args], { encoding: 'utf8' });
    t.equal(run.status, 2, args.join(' '));
    t.match(run.stderr, message);
  }
  const help = spawnSync(process.execPath, [cli, 'bench', '--job', '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  t.match(help.stdout, /usage: pjrt-bert bench --job/);
  t.match(spawnSync(process.execPath, [cli, 'bench', '--help'], { encoding: 'utf8' }).stdout, /bench --job \[--json\]/, 'bench --help points at --job');
});

t.test("which padding modes train's help lists", async (t) => {
  t.same(paddingModesInHelp('  --seq-len N  tokens\n  --padding fixed|bucket|pack  how to pad (default bucket)\n  --group-by-length'), ['fixed', 'bucket', 'pack']);
  t.same(paddingModesInHelp('  --padding MODE   fixed or bucket:\n                   more words\n  --lr X  pack it'), ['fixed', 'bucket'], 'a later flag does not count');
  t.same(paddingModesInHelp('  --epochs N (3)  --padding fixed|pack (fixed)  --lr X (5e-5) bucket'), ['fixed', 'pack']);
  t.same(paddingModesInHelp('  --seq-len N   tokens per example, padded'), [], 'no --padding flag');
  t.same(await trainPaddingModes(), paddingModesInHelp(TRAIN_FLAGS_HELP), "this build: what `pjrt-bert train --help` prints is train's flag table");
});

t.test("train's output: validation from the last epoch, programs and compile time from the summary, padding when reported", async (t) => {
  const stdout = [
    JSON.stringify({ event: 'step', epoch: 1, step: 8, loss: 1 }),
    JSON.stringify({ event: 'epoch', epoch: 1, val_accuracy: 0.5, val_loss: 1.2, compileSeconds: 3 }),
    'not json',
    JSON.stringify({ event: 'epoch', epoch: 2, val_accuracy: 0.625, val_loss: 0.9, compileSeconds: 0 }),
  ].join('\n');
  const stderr = ['trained 2 epoch(s) in this run', 'programs: 3 compiled, 0 loaded from the compile cache', 'time: compile 4.5 s, training 10.0 s, validation 1.0 s'];
  t.same(parseTrainOutput(stdout, stderr), { epochs: 2, valAccuracy: 0.625, valLoss: 0.9, paddingFraction: null, programsCompiled: 3, compileSeconds: 4.5, loopSeconds: 11 });
  const reported = JSON.stringify({ event: 'epoch', epoch: 1, val_accuracy: 0.5, paddingFraction: 0.125, programsCompiled: 4 });
  t.match(parseTrainOutput(reported, []), { paddingFraction: 0.125, programsCompiled: 4, compileSeconds: null, loopSeconds: null });
  t.match(parseTrainOutput(JSON.stringify({ event: 'epoch', padding_fraction: 0.25 }), []), { paddingFraction: 0.25 });
  t.match(parseTrainOutput('', ['epoch 1: padding 37.5% of the tokens']), { epochs: 0, valAccuracy: null, paddingFraction: 0.375 });
});

t.test("a process's wall time and peak RSS, measured from outside (GNU time, else /proc)", async (t) => {
  // holds 160 MiB of touched memory, then exits 3
  const script = 'const b = Buffer.alloc(160 * 1024 * 1024, 1); setTimeout(() => { console.log(b[5]); process.exit(3); }, 300);';
  const ways = [...(existsSync(GNU_TIME) ? [false] : []), true];
  for (const noGnuTime of ways) {
    const lines: string[] = [];
    const outLines: string[] = [];
    const run = await measureProcess(process.execPath, ['-e', `${script} console.error('to stderr');`], { noGnuTime, log: (line) => lines.push(line), onStdoutLine: (line) => outLines.push(line) });
    t.equal(run.code, 3, 'the exit status is the child\'s');
    t.equal(run.stdout, '1\n');
    t.same(lines, ['to stderr']);
    t.same(outLines, ['1'], 'stdout lines as they come');
    t.ok(run.seconds >= 0.3, `${run.seconds} s covers the child's 0.3 s wait`);
    t.equal(run.rssSource, noGnuTime ? 'proc-polling' : 'gnu-time');
    t.ok(run.peakRssMb! >= 160 && run.peakRssMb! < 1000, `${run.rssSource}: peak ${run.peakRssMb} MiB holds the 160 MiB buffer`);
  }
  await t.rejects(measureProcess(path.join(scratch, 'no-such-program'), [], { noGnuTime: true }), /could not start/);
});

const row = (over: Partial<JobRow>): JobRow => ({
  run: 'fixed', status: 'measured', reason: null, seconds: 42.25, process_s: 42.25, val_accuracy: 0.6402, val_loss: 0.9, padding_fraction: 0.773,
  padding_source: 'computed', programs_compiled: 3, compile_s: 5.5, loop_s: 30.25, peak_rss_mb: 1400, rss_source: 'gnu-time', ...over,
});

t.test('the table and the Markdown record show every row, the reasons and the settings', async (t) => {
  const notMeasured = "this build's pjrt-bert train has no --padding flag (fixed padding only)";
  const job = {
    model: 'mini', data: 'GRGE_sentiment.csv', epochs: 1, seqLen: 128, batchSize: 32, hf_trainer_s: 21, hf_import_s: 4.5, hf_process_s: 27.5,
    train_examples: 1312, validation_examples: 328, validation_split: 0.2, learning_rate: 1e-4, warmup_steps: 4, weight_decay: 0.01, clip_norm: 1, seed: 42,
    vocab_size: 19315, tokens_mean: 29, tokens_p90: 39, tokens_max: 63, truncated_examples: 0, device: 'AMD EPYC (2 cores)', load_average_start: 3.5,
    load_average_end: 4, plugin: 'cpu', threads: 2, versions: { pjrt_bert: '0.1.0', torch: '2.15.0' }, date: '2026-11-30T12:00:00.000Z',
    not_measured: { bucket: notMeasured, pack: notMeasured }, errors: {},
    rows: [row({}), row({ run: 'bucket', status: 'not measured', reason: notMeasured, seconds: null, val_accuracy: null, val_loss: null, padding_fraction: null, padding_source: null, programs_compiled: null, compile_s: null, loop_s: null, peak_rss_mb: null }),
      row({ run: 'hf', seconds: 21, process_s: 27.5, val_accuracy: 0.6341, padding_fraction: 0.35, programs_compiled: null, compile_s: null, loop_s: 15, peak_rss_mb: 1600 })],
  } as unknown as JobSummary;
  const table = formatJobTable(job);
  t.match(table, /^job: mini on GRGE_sentiment\.csv \(1312 training \/ 328 validation rows, the last 20%\), 1 epoch\(s\), seq len 128, global batch 32, AdamW lr 0\.0001/);
  t.match(table, /vocabulary: 19315 WordPiece entries .* mean 29\.0, 90th percentile 39, max 63/);
  t.match(table, /^ours --padding fixed\s+42\.3\s+2\.01x\s+0\.6402\s+0\.9000\s+77\.3%\*\s+3\s+5\.5\s+30\.3\s+1400$/m);
  t.match(table, /^ours --padding bucket\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-$/m);
  t.match(table, /^HF Trainer\s+21\.0\s+1\.00x\s+0\.6341\s+0\.9000\s+35\.0%\*\s+-\s+-\s+15\.0\s+1600$/m);
  t.match(table, `ours --padding bucket: not measured: ${notMeasured}`);
  t.match(table, /after 4\.5 s of Python imports \(whole process 27\.5 s\)/);
  const markdown = formatJobMarkdown(job, 'Command: `x`.');
  t.match(markdown, /^### 2026-11-30: `pjrt-bert bench --job`, mini on GRGE_sentiment\.csv, AMD EPYC \(2 cores\)$/m);
  t.match(markdown, /^\| ours --padding fixed \| 42\.3 \| 2\.01x \| 0\.6402 \| 0\.9000 \| 77\.3%\* \| 3 \| 5\.5 \| 30\.3 \| 1400 \|$/m);
  t.match(markdown, /^Command: `x`\.$/m);
});

