// `pjrt-bert train` as a user runs it: clear errors for bad input, a process killed in the
// middle of training resumes from its last checkpoint, and `evaluate` runs the saved model at
// the length it was trained at.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { microModel as writeMicroModel } from './helpers/micro-model.js';
import { generateDemoDataset } from '../lib/train/demo-data.js';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'bin', 'pjrt-bert.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-cli-'));
const data = generateDemoDataset(192, 9);
const csv = path.join(dir, 'reviews.csv');
writeFileSync(csv, `review,sentiment\n${data.texts.map((text, i) => `"${text}",${data.labels[i]}`).join('\n')}\n`);
const empty = path.join(dir, 'empty.csv');
writeFileSync(empty, 'review,sentiment\n');

/** The micro model (1 layer, hidden 32) over the demo vocabulary, rewritten in place. */
const microModel = (): Promise<string> => writeMicroModel(data.vocab, ['negative', 'neutral', 'positive'], { dir: path.join(dir, 'model'), seed: 1 });

const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root, timeout: 300_000 });
const trainArgs = (model: string, out: string, extra: string[] = []) => [
  'train', '--model', model, '--data', csv, '--text-column', 'review', '--label-column', 'sentiment', '--seq-len', '12',
  '--batch-size', '16', '--steps-per-execution', '2', '--epochs', '3', '--lr', '2e-3', '--progress', 'json', '--no-compile-cache', '--out', out, ...extra,
];

t.test('bad input is one clear message and exit code 1', async (t) => {
  const model = await microModel();
  const unknown = run(['train', '--model', model, '--data', csv, '--text-column', 'review', '--label-column', 'polarity']);
  t.equal(unknown.status, 1);
  t.match(unknown.stderr, /polarity/);
  t.match(unknown.stderr, /review.*sentiment|sentiment.*review/s, 'names the columns that exist');
  const nothing = run(['train', '--model', model, '--data', empty, '--text-column', 'review', '--label-column', 'sentiment']);
  t.equal(nothing.status, 1);
  t.match(nothing.stderr, /no (data )?rows/i);
  const flag = run(['train', '--model', model, '--data', csv, '--batch-size', 'ten']);
  t.equal(flag.status, 2);
  t.match(flag.stderr, /--batch-size must be a number, got 'ten'/);
});

/** Complete checkpoints in `out` (their folders hold COMPLETE, written last). */
function completeCheckpoints(out: string): string[] {
  const dir = path.join(out, 'trainer_state');
  return existsSync(dir) ? readdirSync(dir).filter((name) => existsSync(path.join(dir, name, 'COMPLETE'))) : [];
}

t.test('a process killed mid-training resumes from its last checkpoint', async (t) => {
  const model = await microModel();
  const out = path.join(dir, 'run');
  // Start training and kill the process (SIGKILL: no cleanup) as soon as epoch 1 is checkpointed.
  const child = spawn(process.execPath, [cli, ...trainArgs(model, out)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let killedAfter = 0;
  await new Promise<void>((resolve) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const epochs = buffered.split('\n').filter((line) => line.includes('"event":"epoch"')).length;
      if (epochs >= 1 && killedAfter === 0 && completeCheckpoints(out).length > 0) {
        killedAfter = epochs;
        child.kill('SIGKILL');
      }
    });
    child.on('close', () => resolve());
  });
  t.ok(killedAfter >= 1, `killed after ${killedAfter} epoch(s)`);
  t.ok(existsSync(path.join(out, '.pjrt-bert.lock')), 'SIGKILL left the lock behind');
  const saved = completeCheckpoints(out);
  t.ok(saved.length >= 1, `a complete checkpoint survived the kill: ${saved.join(', ')}`);

  const resumed = run(trainArgs(model, out));
  t.equal(resumed.status, 0, resumed.stderr);
  t.match(resumed.stdout, /resuming .* from step/, 'says where it resumes (the dead run\'s lock is taken over)');
  const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { epoch: number });
  t.same(metrics.map((m) => m.epoch), [1, 2, 3], 'every epoch exactly once in metrics.jsonl');
  t.ok(existsSync(path.join(out, 'model.safetensors')) && existsSync(path.join(out, 'config.json')), 'a Hugging Face model directory');
  t.notOk(existsSync(path.join(out, '.pjrt-bert.lock')), 'the lock is released at the end');
  t.match(resumed.stderr, /time: compile [\d.]+ s, training [\d.]+ s, validation [\d.]+ s/, 'compile, train and validation time apart');

  const again = run(trainArgs(model, out));
  t.equal(again.status, 0, again.stderr);
  t.match(again.stdout, /is already complete \(all 3 epoch\(s\) are trained/, 'a finished job says so instead of resuming');
  t.notMatch(again.stdout, /resuming/);
});

t.test('two runs into one --out: the second refuses at once, naming the first', async (t) => {
  const model = await microModel();
  const out = path.join(dir, 'shared-run');
  const first = spawn(process.execPath, [cli, ...trainArgs(model, out, ['--epochs', '30'])], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const firstExit = new Promise((resolve) => first.on('close', resolve));
  while (!existsSync(path.join(out, '.pjrt-bert.lock'))) await new Promise((resolve) => setTimeout(resolve, 100));
  const second = run(trainArgs(model, out, ['--epochs', '30']));
  t.equal(second.status, 1);
  t.match(second.stderr, new RegExp(`is in use by process ${first.pid} on .*pjrt-bert train`));
  first.kill('SIGTERM');
  await firstExit;
});

t.test('--out problems are found before any training, with the path and the fix', async (t) => {
  const model = await microModel();
  const file = path.join(dir, 'not-a-dir');
  writeFileSync(file, 'x');
  const started = performance.now();
  const under = run(trainArgs(model, path.join(file, 'run')));
  t.equal(under.status, 1);
  t.match(under.stderr, /not-a-dir is a file, not a directory.*choose another path/);
  t.notMatch(under.stdout, /"event":"step"/, 'no training happened');
  const proc = run(trainArgs(model, '/proc/pjrt-bert-run'));
  t.equal(proc.status, 1, 'under /proc: an error, not a hang');
  t.match(proc.stderr, /\/proc\/pjrt-bert-run cannot be created/);
  t.ok(performance.now() - started < 60_000, 'both in seconds');
  // A user's siblings named like the old scratch folders are left alone.
  const out = path.join(dir, 'mine');
  mkdirSync(`${out}.old`);
  writeFileSync(path.join(`${out}.old`, 'keep.txt'), 'user data');
  const ok = run(trainArgs(model, out, ['--epochs', '1']));
  t.equal(ok.status, 0, ok.stderr);
  t.equal(readFileSync(path.join(`${out}.old`, 'keep.txt'), 'utf8'), 'user data');
});

t.test('bad data and flags are refused with messages in the user\'s terms', async (t) => {
  const model = await microModel();
  const single = path.join(dir, 'single.csv');
  writeFileSync(single, `review,sentiment\n${data.texts.slice(0, 40).map((text) => `"${text}",positive`).join('\n')}\n`);
  const oneClass = run(['train', '--model', model, '--data', single, '--text-column', 'review', '--label-column', 'sentiment']);
  t.equal(oneClass.status, 1);
  t.match(oneClass.stderr, /single\.csv: every row has the label "positive" \(40 rows\); a classifier needs at least two classes/);
  const headerOnly = run(['train', '--model', model, '--data', empty, '--text-column', 'review', '--label-column', 'sentiment']);
  t.match(headerOnly.stderr, /empty\.csv/, 'names the file, not <fit data>');
  const divisible = run(['train', '--model', model, '--data', csv, '--text-column', 'review', '--label-column', 'sentiment', '--batch-size', '30', '--replicas', '4']);
  t.equal(divisible.status, 2);
  t.match(divisible.stderr, /--batch-size: batch size 30 must be divisible by --replicas x --gradient-accumulation-steps/);
  t.notMatch(divisible.stderr, /batchSize/);
  const huge = run(['train', '--model', model, '--data', csv, '--text-column', 'review', '--label-column', 'sentiment', '--batch-size', '1000000', '--seq-len', '64']);
  t.equal(huge.status, 1);
  t.match(huge.stderr, /a train step with batch size 1000000 at sequence length 64 needs about [\d.]+ [GT]B .* but the cpu device has/i);
  const evaluateTraining = run(['evaluate', '--model', model, '--data', csv, '--epochs', '99', '--lr', '7']);
  t.equal(evaluateTraining.status, 2, 'evaluate refuses flags it does not use');
  t.match(evaluateTraining.stderr, /--epochs/);
  const evaluatePreset = run(['evaluate', '--model', 'tiny', '--data', csv]);
  t.equal(evaluatePreset.status, 2);
  t.match(evaluatePreset.stderr, /untrained preset/);
  t.notMatch(evaluatePreset.stderr, /--vocab/);
});

t.test('evaluate defaults to the length the model was trained at, and warns when another is asked for', async (t) => {
  const trained = path.join(dir, 'run');
  t.ok(existsSync(path.join(trained, 'config.json')), 'the model trained above at --seq-len 12');
  const config = JSON.parse(readFileSync(path.join(trained, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.equal(config.pjrt_bert_seq_len, 12, 'config.json records --seq-len 12');
  t.equal((JSON.parse(readFileSync(path.join(trained, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>).model_max_length, 12, 'as does model_max_length');
  const evaluate = (model: string, extra: string[] = []) => run(['evaluate', '--model', model, '--data', csv, '--text-column', 'review', '--label-column', 'sentiment', '--no-compile-cache', ...extra]);
  const result = (r: ReturnType<typeof run>) => JSON.parse(r.stdout) as { examples: number; loss: number; accuracy: number };
  const byDefault = evaluate(trained);
  t.equal(byDefault.status, 0, byDefault.stderr);
  t.match(byDefault.stderr, /^pjrt-bert evaluate: --seq-len 12, the length .*run was trained at\n/);
  const at12 = evaluate(trained, ['--seq-len', '12']);
  t.equal(at12.status, 0, at12.stderr);
  t.notMatch(at12.stderr, /pjrt-bert evaluate:/, 'nothing to say when the length asked for is the training length');
  t.match(at12.stderr, /^\n\s+precision\s+recall\s+f1-score\s+support\n[\s\S]*\nconfusion matrix\ntrue \\ predicted/, 'only the per-class table and the confusion matrix');
  t.ok(Math.abs(result(byDefault).loss - result(at12).loss) < 1e-6, `same loss as --seq-len 12: ${result(byDefault).loss} vs ${result(at12).loss}`);
  const at6 = evaluate(trained, ['--seq-len', '6']);
  t.equal(at6.status, 0, at6.stderr);
  t.match(at6.stderr, /^pjrt-bert evaluate: warning: .*run was trained at --seq-len 12 but --seq-len 6 was asked for; .*\(leave out --seq-len to use 12\)\n\n\s+precision/);
  t.not(result(at6).loss, result(byDefault).loss, 'texts cut at 6 tokens score differently');
  // a model that records no length: 128, capped at its max_position_embeddings 64
  const plain = evaluate(await microModel());
  t.equal(plain.status, 0, plain.stderr);
  t.match(plain.stderr, /^pjrt-bert evaluate: --seq-len 64, the default 128 capped at max_position_embeddings 64: .*model\/config\.json does not record/);
  t.equal(result(plain).examples, data.texts.length);
});
