// Hugging Face model directories: config.json validation, tokenizer files, reading the
// MiniLM checkpoint, and saving a directory that Python transformers loads with
// BertForSequenceClassification / BertTokenizer.from_pretrained.
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { BertTokenizer } from '../lib/data/bert-tokenizer.js';
import { parseBertConfig, readBertConfig } from '../lib/io/hf-config.js';
import { readBertCheckpoint, saveBertModelDirectory } from '../lib/io/hf-model-dir.js';
import { readTokenizerSettings } from '../lib/io/hf-tokenizer-files.js';
import { type Tensor, makeTensor, toFloat32 } from '../lib/io/tensor.js';
import { miniLmDir } from './reference/corpora.js';
import { runPythonJson } from './reference/python.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-hf-'));
const minilm = await miniLmDir();

t.test('MiniLM config.json reads into a BertConfig', async (t) => {
  const config = await readBertConfig(path.join(minilm, 'config.json'));
  t.match(config, {
    vocabSize: 30522,
    hiddenSize: 384,
    numHiddenLayers: 6,
    numAttentionHeads: 12,
    intermediateSize: 1536,
    hiddenAct: 'gelu',
    maxPositionEmbeddings: 512,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
    padTokenId: 0,
    labels: undefined,
  });
  t.equal(config.extra.position_embedding_type, 'absolute');
});

t.test('bad configs are refused, naming the file and the fields', async (t) => {
  const file = path.join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ model_type: 'bert', hidden_size: 64 }));
  await t.rejects(readBertConfig(file), {
    name: 'FileFormatError',
    message: /config\.json: BERT config lacks required fields vocab_size, num_hidden_layers, num_attention_heads, intermediate_size/,
  });
  const base = { vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };
  t.throws(() => parseBertConfig({ ...base, hidden_size: 'big' }, 'c.json'), /c\.json: invalid BERT config: hidden_size: /);
  t.throws(() => parseBertConfig({ ...base, num_attention_heads: 3 }, 'c.json'), /c\.json: hidden_size 8 is not a multiple of num_attention_heads 3/);
  t.throws(() => parseBertConfig({ ...base, model_type: 'gpt2' }, 'c.json'), /model_type is "gpt2"/);
  t.throws(() => parseBertConfig({ ...base, id2label: { 0: 'a', 2: 'b' } }, 'c.json'), /id2label keys must be the class ids 0\.\.1/);
  t.same(parseBertConfig({ ...base, id2label: { 1: 'pos', 0: 'neg' } }, 'c.json').labels, ['neg', 'pos']);
  t.same(parseBertConfig({ ...base, num_labels: 3 }, 'c.json').labels, ['LABEL_0', 'LABEL_1', 'LABEL_2']);
  await writeFile(file, '{ not json');
  await t.rejects(readBertConfig(file), { message: /config\.json: invalid JSON/ });
});

t.test('tokenizer settings: empty config means uncased with accent stripping', async (t) => {
  const empty = path.join(dir, 'empty-tokenizer');
  await mkdir(empty, { recursive: true });
  await writeFile(path.join(empty, 'tokenizer_config.json'), '{}');
  const settings = await readTokenizerSettings(empty);
  t.equal(settings.doLowerCase, true);
  t.equal(settings.stripAccents, null);
  t.equal(settings.special.clsToken, '[CLS]');
  await writeFile(path.join(empty, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'cafe', 'οδος'].join('\n'));
  const tokenizer = await BertTokenizer.fromPretrained(empty);
  t.same(tokenizer.tokenize('CAFÉ Οδός'), ['cafe', 'οδος']);
  await writeFile(path.join(empty, 'tokenizer_config.json'), '{"do_lower_case": "yes"}');
  await t.rejects(readTokenizerSettings(empty), { message: /tokenizer_config\.json: invalid contents: do_lower_case/ });
});

t.test('reading the MiniLM checkpoint normalizes names to bert.*', async (t) => {
  const checkpoint = await readBertCheckpoint(minilm);
  t.ok(checkpoint.weightsFile.endsWith('model.safetensors'));
  t.ok(checkpoint.tensors.has('bert.embeddings.word_embeddings.weight'));
  t.ok(checkpoint.tensors.has('bert.encoder.layer.5.output.LayerNorm.bias'));
  t.notOk([...checkpoint.tensors.keys()].some((name) => !name.startsWith('bert.')));
  t.notOk(checkpoint.tensors.has('bert.embeddings.position_ids'), 'the position_ids buffer is dropped');
  t.equal(checkpoint.tensors.size, 103);
  await t.rejects(readBertCheckpoint(path.join(dir, 'empty-tokenizer')), { message: /config\.json: file not found/ });
});

t.test('a saved directory loads in Python transformers with the same weights and tokens', async (t) => {
  const checkpoint = await readBertCheckpoint(minilm);
  const tokenizer = await BertTokenizer.fromPretrained(minilm);
  const labels = ['Negative', 'Positive', 'Neutral'];
  const hidden = checkpoint.config.hiddenSize;
  const tensors = new Map<string, Tensor>(checkpoint.tensors);
  tensors.set('classifier.weight', makeTensor('f32', [3, hidden], Float32Array.from({ length: 3 * hidden }, (_, i) => Math.sin(i))));
  tensors.set('classifier.bias', makeTensor('f32', [3], Float32Array.from([0.1, -0.2, 0.3])));
  const out = path.join(dir, 'saved-model');
  await saveBertModelDirectory(out, {
    config: { ...checkpoint.config, labels },
    tensors,
    vocab: tokenizer.vocabulary.tokens,
    tokenizer: tokenizer.settings,
  });
  const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.same(config.architectures, ['BertForSequenceClassification']);
  t.equal(config.model_type, 'bert');
  const text = 'Héllo WORLD, this is ΟΔΟΣ 中文 test!';
  const python = await runPythonJson<{
    missing: string[];
    unexpected: string[];
    mismatched: unknown[];
    id2label: Record<string, string>;
    label2id: Record<string, number>;
    num_labels: number;
    input_ids: number[];
    tensors: Record<string, number>;
  }>('io_reference.py', ['load-dir', out, text]);
  t.same(python.missing, [], 'no missing weights');
  t.same(python.unexpected, [], 'no unexpected weights');
  t.same(python.mismatched, [], 'no shape mismatches');
  t.same(python.id2label, { 0: 'Negative', 1: 'Positive', 2: 'Neutral' });
  t.same(python.label2id, { Negative: 0, Positive: 1, Neutral: 2 });
  t.equal(python.num_labels, 3);
  t.same(python.input_ids, tokenizer.encode(text).inputIds, 'the saved tokenizer tokenizes as ours');
  for (const [name, tensor] of tensors) {
    let sum = 0;
    for (const v of toFloat32(tensor)) sum += v;
    const want = python.tensors[name];
    t.ok(want !== undefined && Math.abs(sum - want) <= 1e-3 * Math.max(1, Math.abs(want)), `${name} sum ${sum} vs ${want}`);
  }
  const reread = await BertTokenizer.fromPretrained(out);
  t.same(reread.encode(text).inputIds, tokenizer.encode(text).inputIds, 'we read our own directory back');
});
