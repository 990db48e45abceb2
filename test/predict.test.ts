// `pjrt-bert predict` end to end on a small saved model: one JSON line per row in order,
// the padded last batch, --text to stdout, the sequence length a model was trained at as the
// default, and the errors a user can act on.
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { main } from '../lib/cli/main.js';
import { BertTokenizer } from '../lib/data/index.js';
import { readSafetensors, writeSafetensors } from '../lib/io/index.js';
import { FAMILIES, bertPresetConfig, initModelParams, modelSpec } from '../lib/models/index.js';
import { saveModelDir, tokenizerWriter } from '../lib/pretrained/index.js';
import type { ClassPrediction } from '../lib/train/predictions.js';
import { Predictor } from '../lib/train/predictor.js';
import { openTestRuntime } from './helpers/runtime.js';

const rt = await openTestRuntime();
const work = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-predict-'));
const modelDir = path.join(work, 'model');
const words = ['good', 'bad', 'movie', 'great', 'awful', 'the', 'was', 'very', 'not', '!', ',', '.'];
const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words];
const spec = modelSpec(FAMILIES.bert, { ...bertPresetConfig('tiny', { vocabSize: vocab.length, labels: ['negative', 'positive', 'neutral'] }), maxPositionEmbeddings: 32 }, 'mlp:16');
const save = (dir: string, seqLen?: number) => saveModelDir(dir, spec, initModelParams(spec, 21), { writeTokenizer: tokenizerWriter(new BertTokenizer(vocab)), ...(seqLen ? { seqLen } : {}) });
await save(modelDir);
const texts = ['The movie was very good!', 'bad, awful', '', 'not great.', 'Good good GOOD', 'unknown words here'];
const dataFile = path.join(work, 'data.csv');
await writeFile(dataFile, `id,Text\n${texts.map((text, i) => `${i},"${text}"`).join('\n')}\n`);

/** Runs the CLI in this process; returns its exit code, stdout and stderr. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    const code = await main(['predict', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

t.test('predicts every row in order with a padded last batch, as one text at a time does', async (t) => {
  const outFile = path.join(work, 'predictions.jsonl');
  const run = await cli(['--model', modelDir, '--data', dataFile, '--text-column', 'Text', '--seq-len', '12', '--batch-size', '4', '--out', outFile]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stderr, /6 predictions written to .*predictions\.jsonl \(.* s, batch 4, seq len 12\)/);
  const lines = (await readFile(outFile, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as { label: string; probabilities: number[]; logits: number[] });
  t.equal(lines.length, texts.length);
  using single = await Predictor.open(modelDir, { runtime: rt, seqLen: 12, batchSize: 1 });
  const expected = (await single.predict(texts)) as ClassPrediction[];
  t.equal(single.compileCount, 1, 'one program for six batches');
  lines.forEach((line, i) => {
    t.same(Object.keys(line), ['label', 'probabilities', 'logits']);
    t.equal(line.label, expected[i]!.label, `row ${i} label`);
    t.ok(line.logits.every((z, k) => Math.abs(z - expected[i]!.logits[k]!) < 1e-5), `row ${i} logits`);
    t.ok(Math.abs(line.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5, `row ${i} probabilities sum to 1`);
    t.equal(line.label, spec.config.labels![line.logits.indexOf(Math.max(...line.logits))]);
  });
  const text = await cli(['--model', modelDir, '--text', texts[0]!, '--seq-len', '12']);
  t.equal(text.code, 0, text.stderr);
  const printed = JSON.parse(text.stdout) as (typeof lines)[0];
  t.equal(printed.label, lines[0]!.label, '--text prints the line to stdout');
  t.ok(printed.logits.every((z, k) => Math.abs(z - lines[0]!.logits[k]!) < 1e-5), '--text logits (batch 1 vs 4: rounding only)');
});

t.test('the default sequence length is the training length, else 128 capped, and says which', async (t) => {
  const trainedDir = path.join(work, 'trained-at-10');
  await save(trainedDir, 10);
  const config = JSON.parse(await readFile(path.join(trainedDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const tokenizerConfig = JSON.parse(await readFile(path.join(trainedDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  t.equal(config.pjrt_bert_seq_len, 10, 'config.json records the training length');
  t.equal(tokenizerConfig.model_max_length, 10, "tokenizer_config.json's model_max_length is the training length");
  t.equal((await BertTokenizer.fromPretrained(trainedDir)).modelMaxLength, 10);

  const outFile = path.join(work, 'at-trained.jsonl');
  const run = await cli(['--model', trainedDir, '--data', dataFile, '--text-column', 'Text', '--out', outFile]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stderr, /^pjrt-bert predict: --seq-len 10, the length .*trained-at-10 was trained at\n/);
  t.match(run.stderr, /6 predictions written .*seq len 10\)/);
  const lines = (await readFile(outFile, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as { logits: number[] });
  using at10 = await Predictor.open(trainedDir, { runtime: rt, seqLen: 10, batchSize: 6 });
  t.same(at10.seqLenChoice, { seqLen: 10, source: 'asked', trained: 10, maxPositionEmbeddings: 32 });
  const expected = (await at10.predict(texts)) as ClassPrediction[];
  lines.forEach((line, i) => t.ok(line.logits.every((z, k) => Math.abs(z - expected[i]!.logits[k]!) < 1e-5), `row ${i}: the logits of --seq-len 10`));

  const asked = await cli(['--model', trainedDir, '--text', texts[0]!, '--seq-len', '12']);
  t.equal(asked.code, 0, asked.stderr);
  t.equal(asked.stderr.trimEnd().split('\n').length, 1, 'one line');
  t.match(asked.stderr, /^pjrt-bert predict: warning: .*trained-at-10 was trained at --seq-len 10 but --seq-len 12 was asked for; .*leave out --seq-len to use 10\)\n$/);
  const same = await cli(['--model', trainedDir, '--text', texts[0]!, '--seq-len', '10']);
  t.equal(same.stderr, '', 'nothing to say when the length asked for is the training length');

  // a directory that records no length (a plain HF checkpoint): 128, capped at max_position_embeddings 32
  const plainDir = path.join(work, 'plain');
  await save(plainDir);
  const plain = await cli(['--model', plainDir, '--text', texts[0]!]);
  t.equal(plain.code, 0, plain.stderr);
  t.match(plain.stderr, /^pjrt-bert predict: --seq-len 32, the default 128 capped at max_position_embeddings 32: .*plain\/config\.json does not record the length the model was trained at \(pjrt_bert_seq_len\)\n$/);
  using plainPredictor = await Predictor.open(plainDir, { runtime: rt, batchSize: 1 });
  t.same(plainPredictor.seqLenChoice, { seqLen: 32, source: 'default', trained: undefined, maxPositionEmbeddings: 32 });

  const bad = path.join(work, 'bad-seq-len');
  await mkdir(bad, { recursive: true });
  for (const file of ['vocab.txt', 'tokenizer_config.json', 'model.safetensors']) await copyFile(path.join(trainedDir, file), path.join(bad, file));
  await writeFile(path.join(bad, 'config.json'), JSON.stringify({ ...config, pjrt_bert_seq_len: 64 }));
  const refused = await cli(['--model', bad, '--text', 'good']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /bad-seq-len\/config\.json: pjrt_bert_seq_len must be an integer from 2 to the model's 32 positions, got 64; fix it or delete the field/);
});

t.test('errors a user can act on', async (t) => {
  const fail = async (args: string[], code: number, message: RegExp) => {
    const run = await cli(args);
    t.equal(run.code, code, args.join(' '));
    t.match(run.stderr, message);
  };
  await fail(['--model', path.join(work, 'nowhere'), '--text', 'x'], 1, /pjrt-bert predict: .*nowhere: no such model directory/);
  await fail(['--model', work, '--text', 'x'], 1, /config\.json: file not found/);
  await fail(['--model', modelDir, '--data', dataFile, '--text-column', 'tweet'], 1, /tweet.*(id|Text).*(Text|id)/);
  await fail(['--model', modelDir, '--data', path.join(work, 'missing.csv')], 1, /missing\.csv: file not found/);
  await fail(['--model', modelDir, '--text', 'x', '--seq-len', '33'], 1, /sequence length must be an integer from 2 to the model's 32 positions, got 33/);
  await fail(['--model', modelDir], 2, /give exactly one of --data FILE and --text/);
  await fail(['--data', dataFile], 2, /--model DIR is required/);
  await fail(['--model', modelDir, '--text', 'x', '--batch-size', '0'], 2, /--batch-size must be a positive integer, got '0'/);
  await fail(['--model', modelDir, '--text', 'x', '--bogus'], 2, /Unknown option '--bogus'/);
  const headless = path.join(work, 'headless');
  await mkdir(headless, { recursive: true });
  for (const file of ['config.json', 'vocab.txt', 'tokenizer_config.json']) await copyFile(path.join(modelDir, file), path.join(headless, file));
  const tensors = (await readSafetensors(path.join(modelDir, 'model.safetensors'))).tensors;
  for (const name of [...tensors.keys()].filter((n) => n.startsWith('classifier.'))) tensors.delete(name);
  await writeSafetensors(path.join(headless, 'model.safetensors'), tensors);
  const warned = await cli(['--model', headless, '--text', 'good', '--seq-len', '8']);
  t.equal(warned.code, 0);
  t.match(warned.stderr, /warning: .*headless has no trained classifier\.0\.weight, classifier\.0\.bias, classifier\.3\.weight, classifier\.3\.bias; initialised at random/);
  const help = await cli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: pjrt-bert predict --model DIR/);
});
