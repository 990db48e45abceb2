// What the ELECTRA family does beyond the parity suite of test/families.test.ts: its config
// (HF defaults, embeddings_project only when embedding_size differs), legacy and bare names,
// HF's initialisation, and the checkpoints people actually download: the discriminator as
// ElectraForPreTraining (discriminator_predictions.* reported unused, the encoder verified
// through them against transformers) and a bare ElectraModel saved without its prefix.
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { readSafetensors, toFloat32, writeSafetensors } from '../lib/io/index.js';
import type { Tensor as HostTensor } from '../lib/io/tensor.js';
import { type ElectraConfig, electra, familyOfModelType, initModelParams, modelForward, modelSpec } from '../lib/models/index.js';
import { loadModelDir } from '../lib/pretrained/index.js';
import type { DeviceArray } from '../lib/runtime/index.js';
import { jit, type Tensor } from '../lib/trace/index.js';
import { putParams } from '../lib/train/model-state.js';
import { makeBatch, ourLogits, relativeDiff, type FamilyCase } from './helpers/family-parity.js';
import { openTestRuntime } from './helpers/runtime.js';
import { runPythonJson } from './reference/python.js';

const rt = await openTestRuntime();
const work = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-electra-'));

t.test('config: HF defaults, the projection only when embedding_size differs, bad fields named', async (t) => {
  t.equal(familyOfModelType('electra', 'config.json').name, 'electra');
  const defaults = electra.parseConfig({ model_type: 'electra' }, 'config.json');
  t.match(defaults, { embeddingSize: 128, hiddenSize: 256, numAttentionHeads: 4, intermediateSize: 1024, numHiddenLayers: 12, vocabSize: 30522, typeVocabSize: 2, hiddenAct: 'gelu', classifierDropout: null });
  const shapes = electra.paramShapes(defaults);
  t.same(shapes.get('electra.embeddings.word_embeddings.weight'), [30522, 128]);
  t.same(shapes.get('electra.embeddings_project.weight'), [256, 128]);
  t.same(shapes.get('electra.encoder.layer.11.output.dense.weight'), [256, 1024]);
  t.notOk([...shapes.keys()].some((name) => name.includes('pooler')), 'no pooler');
  const base = electra.parseConfig({ model_type: 'electra', embedding_size: 768, hidden_size: 768, num_attention_heads: 12, summary_type: 'first' }, 'config.json');
  t.notOk(electra.paramShapes(base).has('electra.embeddings_project.weight'), 'no projection at equal sizes');
  t.same(electra.parseConfig(electra.configToJson(base), 'again.json'), base, 'configToJson round-trips (summary_* kept verbatim)');
  t.throws(() => electra.parseConfig({ model_type: 'electra', position_embedding_type: 'relative_key' }, 'dir/config.json'), { name: 'FileFormatError', message: /dir\/config\.json.*position_embedding_type "relative_key" is not supported/ });
  t.throws(() => electra.parseConfig({ model_type: 'electra', embedding_size: 0 }, 'dir/config.json'), { name: 'FileFormatError', message: /dir\/config\.json.*embedding_size/ });
  t.throws(() => electra.parseConfig({ model_type: 'bert' }, 'dir/config.json'), { name: 'FileFormatError', message: /model_type is "bert", not one of ELECTRA's/ });
});

t.test('names: legacy gamma/beta, a bare ElectraModel, buffers dropped, pretraining heads kept (to be reported unused)', async (t) => {
  t.equal(electra.normalizeName('embeddings.LayerNorm.gamma'), 'electra.embeddings.LayerNorm.weight');
  t.equal(electra.normalizeName('electra.encoder.layer.0.output.LayerNorm.beta'), 'electra.encoder.layer.0.output.LayerNorm.bias');
  t.equal(electra.normalizeName('embeddings_project.weight'), 'electra.embeddings_project.weight');
  t.equal(electra.normalizeName('encoder.layer.3.attention.self.query.bias'), 'electra.encoder.layer.3.attention.self.query.bias');
  t.equal(electra.normalizeName('electra.embeddings.position_ids'), undefined);
  t.equal(electra.normalizeName('embeddings.token_type_ids'), undefined);
  t.equal(electra.normalizeName('discriminator_predictions.dense.weight'), 'discriminator_predictions.dense.weight');
  t.equal(electra.normalizeName('classifier.out_proj.bias'), 'classifier.out_proj.bias');
});

t.test("initialisation: HF's _init_weights (normal 0.02, zero biases and padding row, unit LayerNorm)", async (t) => {
  const config: ElectraConfig = { ...electra.parseConfig({ model_type: 'electra', vocab_size: 40, embedding_size: 16, hidden_size: 32, num_hidden_layers: 1, pad_token_id: 3 }, 'c'), labels: ['a', 'b'] };
  const params = initModelParams(modelSpec(electra, config), 1);
  const word = params['electra.embeddings.word_embeddings.weight']!.data;
  t.ok(word.slice(3 * 16, 4 * 16).every((x) => x === 0), 'the padding row is zero');
  const project = params['electra.embeddings_project.weight']!.data;
  const std = Math.sqrt(project.reduce((s, x) => s + x * x, 0) / project.length);
  t.ok(Math.abs(std - 0.02) < 0.003, `embeddings_project std ${std.toFixed(4)}`);
  t.ok(params['electra.embeddings_project.bias']!.data.every((x) => x === 0), 'zero bias');
  t.ok(params['electra.embeddings.LayerNorm.weight']!.data.every((x) => x === 1), 'unit LayerNorm');
  t.ok(params['classifier.out_proj.bias']!.data.every((x) => x === 0), 'head bias zero');
});

t.test("the electra head's dropout rate is HF's: classifier_dropout, else hidden_dropout_prob (not summary_last_dropout)", async (t) => {
  const base = electra.parseConfig({ model_type: 'electra', vocab_size: 30, embedding_size: 16, hidden_size: 32, num_hidden_layers: 1, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, summary_last_dropout: 0.5 }, 'c');
  const run = async (config: ElectraConfig, head: string): Promise<[number[], number[]]> => {
    const spec = modelSpec(electra, { ...config, labels: ['a', 'b'] }, head);
    const forward = jit(
      (p: Record<string, Tensor>, inputIds: Tensor, key: Tensor) => [modelForward(spec, p, { inputIds }, { train: false }), modelForward(spec, p, { inputIds }, { train: true, dropoutKey: key })],
      { runtime: rt },
    );
    const ids = await rt.put(Int32Array.from({ length: 24 }, (_, i) => 1 + (i % 29)), [3, 8]);
    const outs = (await forward(await putParams(rt, initModelParams(spec, 4)), ids, await rt.put(BigInt64Array.from([1n, 2n]), [2]))) as DeviceArray[];
    forward.dispose();
    return (await Promise.all(outs.map(async (o) => Array.from((await o.toHost()) as Float32Array)))) as [number[], number[]];
  };
  const [evalFallback, trainFallback] = await run(base, 'linear');
  t.same(trainFallback, evalFallback, 'classifier_dropout null and hidden_dropout_prob 0: no dropout in the head');
  const [evalSet, trainSet] = await run({ ...base, classifierDropout: 0.3 }, 'linear');
  t.notSame(trainSet, evalSet, 'classifier_dropout 0.3: the head drops');
  const [evalToken, trainToken] = await run({ ...base, classifierDropout: 0.3 }, 'token');
  t.notSame(trainToken, evalToken, 'the token head drops at classifier_dropout too');
});

// electra-small's shape in miniature: embeddings 16 projected to hidden 32.
const CASE: FamilyCase = {
  name: 'electra-pretraining',
  modelType: 'electra',
  config: { vocab_size: 50, embedding_size: 16, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16, type_vocab_size: 2 },
  seqLen: 8,
  lengths: [8, 5, 3],
  tokenTypes: true,
  architecture: 'ElectraForPreTraining',
};
const DISCRIMINATOR = ['discriminator_predictions.dense.bias', 'discriminator_predictions.dense.weight', 'discriminator_predictions.dense_prediction.bias', 'discriminator_predictions.dense_prediction.weight'];
const HEAD = ['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias'];

/**
 * Our logits with the `electra` head set to the discriminator's predictions (dense -> gelu ->
 * dense_prediction, the same computation on the first token): HF's pretraining logits[:, 0].
 */
async function discriminatorLogits(dir: string, tensors: Map<string, HostTensor>, batch: ReturnType<typeof makeBatch>): Promise<{ logits: Float32Array; loaded: Awaited<ReturnType<typeof loadModelDir>> }> {
  const loaded = await loadModelDir(dir, { labels: ['replaced'] });
  const take = (name: string) => ({ dtype: 'f32' as const, shape: [...tensors.get(name)!.shape], data: toFloat32(tensors.get(name)!) });
  const params = {
    ...loaded.params,
    'classifier.dense.weight': take('discriminator_predictions.dense.weight'),
    'classifier.dense.bias': take('discriminator_predictions.dense.bias'),
    'classifier.out_proj.weight': take('discriminator_predictions.dense_prediction.weight'),
    'classifier.out_proj.bias': take('discriminator_predictions.dense_prediction.bias'),
  };
  return { logits: await ourLogits(rt, loaded.spec, params, batch), loaded };
}

t.test('an ElectraForPreTraining checkpoint loads: discriminator_predictions unused, the encoder as transformers computes it', async (t) => {
  const dir = path.join(work, 'pretraining');
  const batch = makeBatch(CASE, 0);
  const reference = await runPythonJson<{ logits: number[][]; class: string }>('family_reference.py', ['random', dir], {
    model_type: 'electra',
    config: CASE.config,
    seed: 13,
    task: 'pretraining',
    labels: batch.attention_mask.map((row) => row.map((_, i) => i % 2)),
    ...batch,
  });
  t.equal(reference.class, 'ElectraForPreTraining');
  const tensors = (await readSafetensors(path.join(dir, 'model.safetensors'))).tensors;
  const { logits, loaded } = await discriminatorLogits(dir, tensors, batch);
  t.same([...loaded.unused].sort(), DISCRIMINATOR, 'the discriminator head is reported unused');
  t.same(loaded.initialized, HEAD, 'the classification head is initialised fresh');
  t.equal(loaded.spec.head.kind, 'electra');
  const want = reference.logits.map((row) => row[0]!);
  const diff = relativeDiff(logits, want);
  t.ok(diff <= 1e-5, `first-token discriminator logits vs transformers: ${diff.toExponential(2)} (bound 1e-5)`);

  // The same encoder saved bare (ElectraModel: no `electra.` prefix), with legacy LayerNorm
  // names and a position_ids buffer, loads with nothing missing and the same logits.
  const bare = path.join(work, 'bare');
  await mkdir(bare, { recursive: true });
  const renamed = new Map<string, HostTensor>();
  for (const [name, tensor] of tensors) {
    if (!name.startsWith('electra.')) continue;
    renamed.set(name.slice('electra.'.length).replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), tensor);
  }
  renamed.set('embeddings.position_ids', { dtype: 's64', shape: [1, 16], data: BigInt64Array.from({ length: 16 }, (_, i) => BigInt(i)) });
  await writeSafetensors(path.join(bare, 'model.safetensors'), renamed, { format: 'pt' });
  await copyFile(path.join(dir, 'config.json'), path.join(bare, 'config.json'));
  const fromBare = await discriminatorLogits(bare, tensors, batch);
  t.same([fromBare.loaded.initialized, fromBare.loaded.unused], [HEAD, []], 'only the head is fresh; nothing unused');
  t.equal(relativeDiff(fromBare.logits, logits), 0, 'the same logits as the pretraining checkpoint');
});
