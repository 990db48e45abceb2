// The whole `pjrt-bert bench --job` on a small generated CSV: ours with every padding mode and the
// Hugging Face Trainer, each a process of its own, the JSON object and the Markdown record
// (about 40 s: a test:full suite). The parsing, measuring and reporting units are test/bench-job.test.ts.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobSummary } from '../../lib/bench/job-report.js';
import { formatJobTable } from '../../lib/bench/job-report.js';
import { generateDemoDataset } from '../../lib/train/demo-data.js';
import { ensurePython, repoRoot } from '../reference/python.js';

const cli = path.join(repoRoot, 'bin', 'pjrt-bert.js');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-bench-job-'));

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
