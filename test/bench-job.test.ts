// `pjrt-bert bench --job` at a small scale: a generated CSV and the `tiny` preset at seq len 16
// instead of GRGE and `mini` (the real job is run by hand and recorded in bench/RESULTS.md). The
// errors, the parsing of train's output, the process measurement, the report formats, and one
// whole run (ours and the Hugging Face Trainer reference) checked field by field. Times are
// printed, never asserted: these machines are shared and noisy.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GNU_TIME, measureProcess } from '../lib/bench/job-measure.js';
import { type JobSummary, formatJobMarkdown, formatJobTable } from '../lib/bench/job-report.js';
import { type JobRow, paddingModesInHelp, parseTrainOutput, trainPaddingModes } from '../lib/bench/job-run.js';
import { JobDataError, resolveJobData } from '../lib/bench/job-setup.js';
import { TRAIN_FLAGS_HELP } from '../lib/cli/train-flags.js';
import { generateDemoDataset } from '../lib/train/demo-data.js';
import { ensurePython, repoRoot } from './reference/python.js';

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
  t.throws(() => resolveJobData(undefined, {}), { name: 'JobDataError', message: /PJRT_BERT_DATA is not set/ });
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

t.test('a whole job on a generated CSV: ours and the Hugging Face Trainer, the JSON object, the record', async (t) => {
  await ensurePython();
  const data = generateDemoDataset(100, 11);
  const quote = (text: string) => `"${text.replace(/"/g, '""')}"`;
  const csv = path.join(scratch, 'reviews.csv');
  writeFileSync(csv, ['review,stars', ...data.texts.map((text, i) => `${quote(text)},${data.labels[i]}`)].join('\n') + '\n');
  const record = path.join(scratch, 'RESULTS.md');
  const work = path.join(scratch, 'work');
  const args = ['bench', '--job', '--json', '--data', csv, '--text-column', 'review', '--label-column', 'stars', '--model', 'tiny', '--seq-len', '16',
    '--batch-size', '8', '--vocab-size', '400', '--lr', '1e-3', '--work-dir', work, '--record', record];
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 900_000 });
  t.equal(run.status, 0, run.status === 0 ? 'exit 0' : run.stderr.slice(-3000));
  const { job } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { job: JobSummary };
  t.comment(formatJobTable(job));
  t.match(job, { model: 'tiny', data: 'reviews.csv', epochs: 1, seqLen: 16, batchSize: 8, train_examples: 80, validation_examples: 20, errors: {} });
  for (const key of ['ours_fixed_s', 'hf_trainer_s', 'hf_process_s', 'hf_import_s', 'ours_fixed_peak_rss_mb', 'hf_trainer_peak_rss_mb'] as const) {
    t.ok(typeof job[key] === 'number' && job[key]! > 0, `${key} = ${job[key]}`);
  }
  t.ok(job.hf_process_s! > job.hf_trainer_s!, 'the Trainer row leaves out its imports');
  for (const key of ['ours_val_accuracy', 'hf_val_accuracy'] as const) {
    const correct = job[key]! * job.validation_examples;
    t.ok(Math.abs(correct - Math.round(correct)) < 1e-9 && correct >= 0 && correct <= 20, `${key} = ${job[key]} counts the 20 validation rows`);
  }
  t.equal(job.hf_order_followed, true, "the Trainer's dataloader drew the rows in our trainer's order");
  t.equal(job.hf_train_tokens, job.train_tokens, 'both sides tokenize the training rows to the same number of tokens');
  t.ok(Math.abs(job.padding_fraction_fixed! - (1 - job.train_tokens / (80 * 16))) < 1e-12, 'fixed padding: all but the real tokens of 80 rows x 16');
  t.ok(job.padding_fraction_hf! >= 0 && job.padding_fraction_hf! < job.padding_fraction_fixed!, `dynamic padding (${job.padding_fraction_hf}) pads less than fixed (${job.padding_fraction_fixed})`);
  for (const r of job.rows.filter((r) => r.status === 'measured')) t.ok(r.loop_s! > 0 && r.loop_s! < r.seconds!, `${r.run}: the training loop (${r.loop_s} s) is part of the job (${r.seconds} s)`);
  t.ok(job.programs_compiled_fixed! >= 1, `programs compiled: ${job.programs_compiled_fixed}`);
  for (const mode of ['bucket', 'pack'] as const) {
    const measured = job.padding_modes.includes(mode);
    if (measured) t.ok(job[`ours_${mode}_s`]! > 0 && job[`ours_${mode}_peak_rss_mb`]! > 0, `${mode} measured: ${job[`ours_${mode}_s`]} s`);
    else t.match(job.not_measured[mode], /--padding/, `${mode}: not measured, with the reason: ${job.not_measured[mode]}`);
  }
  for (const dir of ['ours-fixed', 'hf-trainer', 'initial-model']) t.ok(existsSync(path.join(work, dir, 'model.safetensors')), `${dir} holds a saved model`);
  t.equal(readFileSync(path.join(work, 'initial-model', 'vocab.txt'), 'utf8').trim().split('\n').length, job.vocab_size, 'the trained vocabulary is the model\'s');
  const order = JSON.parse(readFileSync(path.join(work, 'order.json'), 'utf8')) as number[][];
  t.same([...order[0]!].sort((a, b) => a - b), Array.from({ length: 80 }, (_, i) => i), 'one permutation of the training rows per epoch');
  const markdown = readFileSync(record, 'utf8');
  t.match(markdown, /^### \d{4}-\d\d-\d\d: `pjrt-bert bench --job`, tiny on reviews\.csv/m);
  t.match(markdown, /^\| ours --padding fixed \| \d+\.\d \|/m);
  t.match(markdown, /^\| HF Trainer \| \d+\.\d \| 1\.00x \|/m);
  t.match(markdown, /Command: `pjrt-bert bench --job --json --data /);
  t.match(run.stderr, /\[bench --job\] Hugging Face Trainer: bench\/reference\/hf_trainer_job\.py/, 'progress goes to stderr');
});
