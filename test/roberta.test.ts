// The RoBERTa / XLM-RoBERTa families beyond parity (test/families.test.ts): config.json fields
// and their errors, the positions a config allows, checkpoint names, a bare RobertaModel
// checkpoint loading into a classifier, and HF's positions under left padding.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { FileFormatError } from '../lib/base/errors.js';
import { type Tensor as HostTensor, writeSafetensors } from '../lib/io/index.js';
import { type HostParam, familyOfModelType, initModelParams, modelSpec, roberta, xlmRoberta } from '../lib/models/index.js';
import { loadModelDir } from '../lib/pretrained/index.js';
import { type Tensor, trace } from '../lib/trace/index.js';
import { ourSequence, relativeDiff } from './helpers/family-parity.js';
import { openTestRuntime } from './helpers/runtime.js';

const file = 'model/config.json';
/** roberta-base's config.json, as published. */
const ROBERTA_BASE = {
  architectures: ['RobertaForMaskedLM'],
  attention_probs_dropout_prob: 0.1,
  bos_token_id: 0,
  eos_token_id: 2,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 3072,
  layer_norm_eps: 1e-5,
  max_position_embeddings: 514,
  model_type: 'roberta',
  num_attention_heads: 12,
  num_hidden_layers: 12,
  pad_token_id: 1,
  type_vocab_size: 1,
  vocab_size: 50265,
};

t.test('config.json: model_type picks the family; fields, defaults and extras round-trip', async (t) => {
  t.equal(familyOfModelType('roberta', file), roberta);
  t.equal(familyOfModelType('xlm-roberta', file), xlmRoberta);
  t.throws(() => familyOfModelType('camembert', file), /supported: bert, roberta, xlm-roberta/);
  const config = roberta.parseConfig(ROBERTA_BASE, file);
  t.match(config, { vocabSize: 50265, maxPositionEmbeddings: 514, padTokenId: 1, typeVocabSize: 1, layerNormEps: 1e-5 });
  t.equal(roberta.maxSequenceLength(config), 512, '514 rows less the pad_token_id + 1 offset');
  t.same(config.extra, { bos_token_id: 0, eos_token_id: 2 }, 'unknown fields kept');
  const { architectures: _, ...rest } = ROBERTA_BASE;
  t.same(roberta.configToJson(config), { ...rest, classifier_dropout: null }, 'written back with the defaults made explicit');
  // HF's class defaults: XLM-RoBERTa differs only in vocab_size
  const defaults = xlmRoberta.parseConfig({ model_type: 'xlm-roberta' }, file);
  t.match(defaults, { modelType: 'xlm-roberta', vocabSize: 30522, padTokenId: 1, typeVocabSize: 2, maxPositionEmbeddings: 512, layerNormEps: 1e-12 });
  t.equal(roberta.parseConfig({}, file).vocabSize, 50265);
});

t.test('config.json: what the family cannot run is refused, naming the file and field', async (t) => {
  const bad = (json: Record<string, unknown>, pattern: RegExp, family = roberta) => t.throws(() => family.parseConfig({ ...ROBERTA_BASE, ...json }, file), pattern);
  bad({ model_type: 'xlm-roberta' }, /model_type is "xlm-roberta", not one of RoBERTa's \(roberta\)/);
  bad({ model_type: 'roberta' }, /not one of XLM-RoBERTa's/, xlmRoberta);
  bad({ position_embedding_type: 'relative_key' }, /position_embedding_type "relative_key" is not supported/);
  bad({ is_decoder: true }, /is_decoder is true/);
  bad({ add_cross_attention: true }, /add_cross_attention is true/);
  bad({ pad_token_id: 50265 }, /pad_token_id 50265 is not below vocab_size 50265/);
  bad({ pad_token_id: null }, /pad_token_id/);
  bad({ max_position_embeddings: 2 }, /max_position_embeddings 2 leaves no position: RoBERTa positions start at pad_token_id \+ 1 = 2/);
  t.type(t.throws(() => roberta.parseConfig({ ...ROBERTA_BASE, is_decoder: true }, file)), FileFormatError);
  t.match(t.throws(() => roberta.parseConfig({ ...ROBERTA_BASE, is_decoder: true }, file)), { message: /model\/config\.json/ });
  t.same(roberta.parseConfig({ ...ROBERTA_BASE, position_embedding_type: 'absolute', is_decoder: false }, file).extra.position_embedding_type, 'absolute');
});

t.test('checkpoint names: legacy LayerNorm names, a bare RobertaModel, buffers dropped', async (t) => {
  t.equal(roberta.normalizeName('roberta.embeddings.LayerNorm.gamma'), 'roberta.embeddings.LayerNorm.weight');
  t.equal(roberta.normalizeName('encoder.layer.3.output.LayerNorm.beta'), 'roberta.encoder.layer.3.output.LayerNorm.bias');
  t.equal(roberta.normalizeName('embeddings.word_embeddings.weight'), 'roberta.embeddings.word_embeddings.weight');
  t.equal(roberta.normalizeName('pooler.dense.weight'), 'roberta.pooler.dense.weight', 'kept (and reported unused)');
  t.equal(roberta.normalizeName('roberta.embeddings.position_ids'), undefined);
  t.equal(roberta.normalizeName('embeddings.token_type_ids'), undefined);
  t.equal(xlmRoberta.normalizeName('classifier.out_proj.weight'), 'classifier.out_proj.weight');
  t.equal(roberta.normalizeName('lm_head.dense.weight'), 'lm_head.dense.weight');
});

t.test("initialisation: HF's, with the padding rows of the word and position tables zero", async (t) => {
  const config = { ...roberta.parseConfig({ vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 12, pad_token_id: 2 }, file), labels: ['a', 'b'] };
  const params = initModelParams(modelSpec(roberta, config), 3);
  for (const table of ['word', 'position']) {
    const { data } = params[`roberta.embeddings.${table}_embeddings.weight`]!;
    t.same([...data.subarray(16, 24)], Array(8).fill(0), `${table} row 2 (pad_token_id) is zero`);
    t.ok(data.subarray(8, 16).some((x) => x !== 0), `${table} row 1 is not`);
  }
  t.same([...params['roberta.embeddings.LayerNorm.weight']!.data], Array(8).fill(1));
  t.same(Object.keys(params).filter((name) => name.startsWith('classifier.')), ['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias']);
  t.notOk(Object.keys(params).some((name) => name.includes('pooler')), 'no pooler in the task model');
});

t.test('sequences longer than the positions after the offset are refused while tracing', async (t) => {
  const config = { ...roberta.parseConfig({ vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 10 }, file), labels: ['a', 'b'] };
  const shapes = roberta.paramShapes(config);
  const specs = Object.fromEntries([...shapes].map(([name, shape]) => [name, { dtype: 'f32' as const, shape }]));
  const encode = (p: Record<string, Tensor>, ids: Tensor) => roberta.encode(config, p, { inputIds: ids }, { train: false }).sequence;
  t.doesNotThrow(() => trace(encode, [specs, { dtype: 's32', shape: [1, 8] }]), '8 tokens fit 10 rows after pad_token_id + 1 = 2');
  t.throws(() => trace(encode, [specs, { dtype: 's32', shape: [1, 9] }]), /roberta: sequence length 9 exceeds the 8 positions of the model/);
});

t.test('a bare RobertaModel checkpoint (no prefix, pooler, position_ids buffer) loads into a classifier', async (t) => {
  const rt = await openTestRuntime();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-roberta-'));
  const json = { model_type: 'xlm-roberta', vocab_size: 30, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 12, type_vocab_size: 1 };
  const config = { ...xlmRoberta.parseConfig(json, file), labels: ['LABEL_0', 'LABEL_1'] };
  const params = initModelParams(modelSpec(xlmRoberta, config), 5);
  const tensors = new Map<string, HostParam | HostTensor>();
  for (const [name, tensor] of Object.entries(params)) if (name.startsWith('roberta.')) tensors.set(name.slice('roberta.'.length).replace(/LayerNorm\.weight$/, 'LayerNorm.gamma'), tensor);
  tensors.set('pooler.dense.weight', { dtype: 'f32', shape: [16, 16], data: new Float32Array(256) });
  tensors.set('pooler.dense.bias', { dtype: 'f32', shape: [16], data: new Float32Array(16) });
  tensors.set('embeddings.position_ids', { dtype: 's64', shape: [1, 12], data: BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i)) });
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(json));
  const loaded = await loadModelDir(dir, { seed: 5 });
  t.equal(loaded.spec.family, xlmRoberta);
  t.same(loaded.spec.head, { kind: 'roberta' }, "the family's head");
  t.same(loaded.initialized, ['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias'], 'the head is initialised fresh');
  t.same(loaded.unused, ['roberta.pooler.dense.weight', 'roberta.pooler.dense.bias'], 'the pooler is reported unused');
  for (const [name, param] of Object.entries(params)) if (name.startsWith('roberta.')) t.same(loaded.params[name]!.data, param.data, name);
  // HF's positions come from the ids (padding keeps pad_token_id), so the real tokens of a
  // left-padded row get the positions, and the outputs, they have when padded on the right.
  const tokens = [0, 7, 8, 9, 2];
  const right = await ourSequence(rt, loaded.spec, loaded.params, { inputIds: [[...tokens, 1, 1]], attentionMask: [[1, 1, 1, 1, 1, 0, 0]] });
  const left = await ourSequence(rt, loaded.spec, loaded.params, { inputIds: [[1, 1, ...tokens]], attentionMask: [[0, 0, 1, 1, 1, 1, 1]] });
  const diff = relativeDiff(left.subarray(2 * 16), right.subarray(0, 5 * 16));
  t.ok(diff <= 1e-6, `left vs right padding: ${diff.toExponential(2)}`);
});
