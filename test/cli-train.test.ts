// `pjrt-bert train` as a user runs it: clear errors for bad input, a process killed in the
// middle of training resumes from its last checkpoint, and `evaluate` runs the saved model at
// the length it was trained at.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BertTokenizer } from '../lib/data/bert-tokenizer.js';
import { bertPresetConfig, initBertParams, type BertSpec } from '../lib/models/bert.js';
import { saveBertModel } from '../lib/models/bert-files.js';
import { generateDemoDataset } from '../lib/train/demo-data.js';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'bin', 'pjrt-bert.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-cli-'));
const data = generateDemoDataset(192, 9);
const csv = path.join(dir, 'reviews.csv');
writeFileSync(csv, `review,sentiment\n${data.texts.map((text, i) => `"${text}",${data.labels[i]}`).join('\n')}\n`);
const empty = path.join(dir, 'empty.csv');
writeFileSync(empty, 'review,sentiment\n');

async function microModel(): Promise<string> {
  const model = path.join(dir, 'model');
  const base = bertPresetConfig('tiny', { vocabSize: data.vocab.length, labels: ['negative', 'neutral', 'positive'] });
  const spec: BertSpec = { config: { ...base, hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 64 }, head: { kind: 'linear' } };
  await saveBertModel(model, spec, initBertParams(spec, 1), { vocab: data.vocab, tokenizer: new BertTokenizer(data.vocab).settings });
  return model;
}

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
      if (epochs >= 1 && killedAfter === 0 && existsSync(path.join(out, 'trainer_state', 'state.json'))) {
        killedAfter = epochs;
        child.kill('SIGKILL');
      }
    });
    child.on('close', () => resolve());
  });
  t.ok(killedAfter >= 1, `killed after ${killedAfter} epoch(s)`);
  const checkpoint = JSON.parse(readFileSync(path.join(out, 'trainer_state', 'state.json'), 'utf8')) as { step: number };
  t.ok(checkpoint.step > 0, `a complete checkpoint at step ${checkpoint.step} survived the kill`);

  const resumed = run(trainArgs(model, out));
  t.equal(resumed.status, 0, resumed.stderr);
  t.match(resumed.stdout, /resuming .* at step/, 'says where it resumes');
  const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { epoch: number });
  t.same(metrics.map((m) => m.epoch), [1, 2, 3], 'every epoch exactly once in metrics.jsonl');
  t.ok(existsSync(path.join(out, 'model.safetensors')) && existsSync(path.join(out, 'config.json')), 'a Hugging Face model directory');
  t.notOk(existsSync(`${out}.partial`) || existsSync(`${out}.old`), 'no staging left');
  const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.equal(config.pjrt_bert_seq_len, 12, 'config.json records --seq-len 12');
  t.equal((JSON.parse(readFileSync(path.join(out, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>).model_max_length, 12, 'as does model_max_length');
});

t.test('evaluate defaults to the length the model was trained at, and warns when another is asked for', async (t) => {
  const trained = path.join(dir, 'run');
  t.ok(existsSync(path.join(trained, 'config.json')), 'the model trained above at --seq-len 12');
  const evaluate = (model: string, extra: string[] = []) => run(['evaluate', '--model', model, '--data', csv, '--text-column', 'review', '--label-column', 'sentiment', '--no-compile-cache', ...extra]);
  const result = (r: ReturnType<typeof run>) => JSON.parse(r.stdout) as { examples: number; loss: number; accuracy: number };
  const byDefault = evaluate(trained);
  t.equal(byDefault.status, 0, byDefault.stderr);
  t.match(byDefault.stderr, /^pjrt-bert evaluate: --seq-len 12, the length .*run was trained at\n/);
  const at12 = evaluate(trained, ['--seq-len', '12']);
  t.equal(at12.status, 0, at12.stderr);
  t.equal(at12.stderr, '', 'nothing to say when the length asked for is the training length');
  t.ok(Math.abs(result(byDefault).loss - result(at12).loss) < 1e-6, `same loss as --seq-len 12: ${result(byDefault).loss} vs ${result(at12).loss}`);
  const at6 = evaluate(trained, ['--seq-len', '6']);
  t.equal(at6.status, 0, at6.stderr);
  t.match(at6.stderr, /^pjrt-bert evaluate: warning: .*run was trained at --seq-len 12 but --seq-len 6 was asked for; .*\(leave out --seq-len to use 12\)\n$/);
  t.not(result(at6).loss, result(byDefault).loss, 'texts cut at 6 tokens score differently');
  // a model that records no length: 128, capped at its max_position_embeddings 64
  const plain = evaluate(await microModel());
  t.equal(plain.status, 0, plain.stderr);
  t.match(plain.stderr, /^pjrt-bert evaluate: --seq-len 64, the default 128 capped at max_position_embeddings 64: .*model\/config\.json does not record/);
  t.equal(result(plain).examples, data.texts.length);
});
