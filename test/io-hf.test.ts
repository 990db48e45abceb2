// Hugging Face model directories: config.json validation (the family picked by model_type),
// tokenizer files, reading the MiniLM checkpoint, and saving a directory that Python
// transformers loads with BertForSequenceClassification / BertTokenizer.from_pretrained.
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { BertTokenizer } from '../lib/data/bert-tokenizer.js';
import { readTokenizerSettings } from '../lib/io/hf-tokenizer-files.js';
import { toFloat32 } from '../lib/io/tensor.js';
import { openWeights } from '../lib/io/weights.js';
import { bert } from '../lib/models/index.js';
import { loadModelDir, readModelConfig, saveModelDir, tokenizerWriter } from '../lib/pretrained/index.js';
import { miniLmDir } from './reference/corpora.js';
import { runPythonJson } from './reference/python.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-hf-'));
const minilm = await miniLmDir();

t.test('MiniLM config.json reads into a BertConfig', async (t) => {
  const { family, config } = await readModelConfig(minilm);
  t.equal(family.name, 'bert');
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
  const configDir = path.join(dir, 'bad-config');
  await mkdir(configDir, { recursive: true });
  const file = path.join(configDir, 'config.json');
  await writeFile(file, JSON.stringify({ model_type: 'bert', hidden_size: 64, num_attention_heads: 5 }));
  await t.rejects(readModelConfig(configDir), { name: 'FileFormatError', message: /config\.json: the hidden size 64 is not a multiple of the 5 attention heads/ });
  const base = { vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };
  t.throws(() => bert.parseConfig({ ...base, hidden_size: 'big' }, 'c.json'), /c\.json: invalid BERT config: hidden_size: must be a number/);
  t.throws(() => bert.parseConfig({ ...base, model_type: 'gpt2' }, 'c.json'), /model_type is "gpt2"/);
  t.throws(() => bert.parseConfig({ ...base, id2label: { 0: 'a', 2: 'b' } }, 'c.json'), /id2label keys must be the class ids 0\.\.1/);
  t.same(bert.parseConfig({ ...base, id2label: { 1: 'pos', 0: 'neg' } }, 'c.json').labels, ['neg', 'pos']);
  t.same(bert.parseConfig({ ...base, num_labels: 3 }, 'c.json').labels, ['LABEL_0', 'LABEL_1', 'LABEL_2']);
  await writeFile(file, JSON.stringify({ ...base, model_type: 'gpt2' }));
  await t.rejects(readModelConfig(configDir), { message: /config\.json: model_type "gpt2" is not supported \(supported: bert/ });
  await writeFile(file, '{ not json');
  await t.rejects(readModelConfig(configDir), { message: /config\.json: invalid JSON/ });
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
  const weights = await openWeights(minilm);
  t.ok(weights.file.endsWith('model.safetensors'));
  const loaded = await loadModelDir(minilm);
  t.ok(loaded.params['bert.embeddings.word_embeddings.weight']);
  t.ok(loaded.params['bert.encoder.layer.5.output.LayerNorm.bias']);
  t.same(loaded.initialized, ['classifier.weight', 'classifier.bias'], 'a bare encoder gets a fresh head');
  t.notOk([...weights.infos.keys()].some((name) => name.startsWith('bert.')), 'the file has bare names');
  t.same(loaded.unused, [], 'the position_ids buffer is dropped, nothing else is left over');
  await t.rejects(loadModelDir(path.join(dir, 'empty-tokenizer')), { message: /config\.json: file not found/ });
});

t.test('a saved directory loads in Python transformers with the same weights and tokens', async (t) => {
  const loaded = await loadModelDir(minilm, { labels: ['Negative', 'Positive', 'Neutral'], seed: 1 });
  const tokenizer = await BertTokenizer.fromPretrained(minilm);
  const hidden = loaded.spec.config.hiddenSize;
  loaded.params['classifier.weight']!.data.set(Float32Array.from({ length: 3 * hidden }, (_, i) => Math.sin(i)));
  loaded.params['classifier.bias']!.data.set([0.1, -0.2, 0.3]);
  const out = path.join(dir, 'saved-model');
  await saveModelDir(out, loaded.spec, loaded.params, { writeTokenizer: tokenizerWriter(tokenizer) });
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
  for (const [name, tensor] of Object.entries(loaded.params)) {
    let sum = 0;
    for (const v of toFloat32(tensor)) sum += v;
    const want = python.tensors[name];
    t.ok(want !== undefined && Math.abs(sum - want) <= 1e-3 * Math.max(1, Math.abs(want)), `${name} sum ${sum} vs ${want}`);
  }
  const reread = await BertTokenizer.fromPretrained(out);
  t.same(reread.encode(text).inputIds, tokenizer.encode(text).inputIds, 'we read our own directory back');
});
