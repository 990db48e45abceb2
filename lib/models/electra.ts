/**
 * The ELECTRA family (the discriminator), as Hugging Face's `ElectraModel`: embeddings of width
 * `embedding_size` (word + token type + absolute position, LayerNorm, dropout), a Linear
 * `embeddings_project` up to `hidden_size` when the two differ, then BERT's post-LayerNorm
 * encoder layers. No pooler: `ElectraForSequenceClassification` puts the `electra` head
 * (dense -> gelu -> out_proj on the first token, heads.ts) on the sequence output.
 *
 * Parameters (PyTorch layouts: Linear weight [out, in], Embedding [vocab, embedding_size]):
 *   electra.embeddings.{word,position,token_type}_embeddings.weight, electra.embeddings.LayerNorm.{weight,bias}
 *   electra.embeddings_project.{weight,bias}          (only when embedding_size != hidden_size)
 *   electra.encoder.layer.N.*                          (BERT's names, see bert.ts)
 *
 * Checkpoints of the pretraining classes load too: `ElectraForPreTraining`'s
 * `discriminator_predictions.*` (and a generator's `generator_*`) are reported unused, and the
 * classification head is initialised fresh.
 */
import { z } from 'zod';

import { FileFormatError } from '../base/errors.js';
import { attentionBias, embedding, embeddingWithPadding, layerNormF32, linear } from '../nn/index.js';
import { ops } from '../trace/index.js';
import { BERT_BLOCK_NAMES, apply, checkInputs, initLikeHf, postLayerNormBlock } from './blocks.js';
import { type EncoderFamily, paramGetter } from './family.js';
import { CONFIG_LIMITS, type EncoderConfigBase, type FieldTable, configParser, configToJson, positiveInt, probability } from './hf-config.js';

/** An ELECTRA configuration (HF `ElectraConfig`, camelCase). */
export interface ElectraConfig extends EncoderConfigBase {
  /** Width of the embeddings; projected to `hiddenSize` by `embeddings_project` when different. */
  embeddingSize: number;
  /** Segment (token type) vocabulary: 2 for sentence pairs. */
  typeVocabSize: number;
}

/**
 * config.json fields of ELECTRA with `transformers.ElectraConfig`'s defaults (those of
 * electra-small-discriminator's encoder: hidden 256, 4 heads, embeddings 128). The
 * `summary_*` fields serve only HF's multiple-choice head and are kept verbatim in `extra`.
 */
export const ELECTRA_FIELDS: FieldTable = {
  vocab_size: ['vocabSize', positiveInt(CONFIG_LIMITS.vocab).default(30522)],
  embedding_size: ['embeddingSize', positiveInt(CONFIG_LIMITS.size).default(128)],
  hidden_size: ['hiddenSize', positiveInt(CONFIG_LIMITS.size).default(256)],
  num_hidden_layers: ['numHiddenLayers', positiveInt(CONFIG_LIMITS.layers).default(12)],
  num_attention_heads: ['numAttentionHeads', positiveInt(CONFIG_LIMITS.size).default(4)],
  intermediate_size: ['intermediateSize', positiveInt(4 * CONFIG_LIMITS.size).default(1024)],
  hidden_act: ['hiddenAct', z.string().default('gelu')], // of the feed-forward block; exact (erf) GELU
  hidden_dropout_prob: ['hiddenDropoutProb', probability.default(0.1)], // embeddings, attention output, feed-forward output
  attention_probs_dropout_prob: ['attentionProbsDropoutProb', probability.default(0.1)],
  max_position_embeddings: ['maxPositionEmbeddings', positiveInt(CONFIG_LIMITS.positions).default(512)],
  type_vocab_size: ['typeVocabSize', positiveInt(CONFIG_LIMITS.size).default(2)],
  layer_norm_eps: ['layerNormEps', z.number().positive().default(1e-12)],
  pad_token_id: ['padTokenId', z.number().int().min(0).default(0)], // its word embedding row starts at zero
  initializer_range: ['initializerRange', z.number().positive().default(0.02)],
  classifier_dropout: ['classifierDropout', probability.nullable().default(null)], // null: hidden_dropout_prob (both heads)
};

const parseElectra = configParser<ElectraConfig>('ELECTRA', ['electra'], ELECTRA_FIELDS, (values, file) => {
  const config = values as unknown as ElectraConfig;
  // transformers 4 had this field (absolute by default); relative positions are not supported.
  const positionType = config.extra.position_embedding_type;
  if (positionType !== undefined && positionType !== 'absolute') throw new FileFormatError(file, `position_embedding_type ${JSON.stringify(positionType)} is not supported (absolute only)`);
  if (config.padTokenId >= config.vocabSize) throw new FileFormatError(file, `pad_token_id ${config.padTokenId} is not below vocab_size ${config.vocabSize}`);
  return config;
});

/** Prefixes of the encoder's parameters in a bare `ElectraModel` checkpoint. */
const BARE_PREFIXES = ['embeddings.', 'embeddings_project.', 'encoder.'];

/** Whether the embeddings are projected (`embeddings_project` exists). */
const projects = (c: ElectraConfig): boolean => c.embeddingSize !== c.hiddenSize;

/** The ELECTRA family (see the module comment). */
export const electra: EncoderFamily<ElectraConfig> = {
  name: 'electra',
  modelTypes: ['electra'],
  tokenizerKinds: ['wordpiece'],
  architectures: { sequenceClassification: 'ElectraForSequenceClassification', tokenClassification: 'ElectraForTokenClassification' },
  baseModelPrefix: 'electra',
  classificationHead: 'electra',
  parseConfig: parseElectra,
  configToJson: (config) => configToJson(config, ELECTRA_FIELDS),
  maxSequenceLength: (config) => config.maxPositionEmbeddings,

  paramShapes(c) {
    const h = c.hiddenSize;
    const e = c.embeddingSize;
    const shapes = new Map<string, number[]>([
      ['electra.embeddings.word_embeddings.weight', [c.vocabSize, e]],
      ['electra.embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, e]],
      ['electra.embeddings.token_type_embeddings.weight', [c.typeVocabSize, e]],
      ['electra.embeddings.LayerNorm.weight', [e]],
      ['electra.embeddings.LayerNorm.bias', [e]],
    ]);
    const linearShapes = (name: string, out: number, inp: number): void => {
      shapes.set(`${name}.weight`, [out, inp]);
      shapes.set(`${name}.bias`, [out]);
    };
    if (projects(c)) linearShapes('electra.embeddings_project', h, e);
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const layer = `electra.encoder.layer.${i}`;
      for (const part of ['query', 'key', 'value']) linearShapes(`${layer}.attention.self.${part}`, h, h);
      linearShapes(`${layer}.attention.output.dense`, h, h);
      shapes.set(`${layer}.attention.output.LayerNorm.weight`, [h]);
      shapes.set(`${layer}.attention.output.LayerNorm.bias`, [h]);
      linearShapes(`${layer}.intermediate.dense`, c.intermediateSize, h);
      linearShapes(`${layer}.output.dense`, h, c.intermediateSize);
      shapes.set(`${layer}.output.LayerNorm.weight`, [h]);
      shapes.set(`${layer}.output.LayerNorm.bias`, [h]);
    }
    return shapes;
  },

  // Every encoder tensor is in every ELECTRA checkpoint (there is no pooler to lack).
  optionalParams: () => [],

  // HF's ElectraPreTrainedModel._init_weights is the generic one: Linear and Embedding
  // normal(0, initializer_range) with zero biases and a zero padding row, LayerNorm 1 and 0.
  initParam(config, name, shape, random) {
    return initLikeHf(config, name, shape, random, 'electra.embeddings.word_embeddings.weight');
  },

  normalizeName(name) {
    let renamed = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (BARE_PREFIXES.some((prefix) => renamed.startsWith(prefix))) renamed = `electra.${renamed}`;
    // Buffers some checkpoints saved (position_ids; token_type_ids in old transformers).
    if (/^electra\.embeddings\.(position_ids|token_type_ids)$/.test(renamed)) return undefined;
    return renamed;
  },

  encode(c, params, inputs, options) {
    const p = paramGetter('electra', params);
    const compute = options.computeDtype ?? 'f32';
    const dropout = options.train ? options.dropout : undefined;
    const [batch, seqLen] = checkInputs('electra', inputs, c.maxPositionEmbeddings);
    // embeddings [B, S, E] in f32: word + token type + absolute position (positionIds restart per packed example)
    const tokenTypeIds = inputs.tokenTypeIds ?? ops.zeros([batch, seqLen], 's32');
    const positions = inputs.positionIds
      ? embedding(p('electra.embeddings.position_embeddings.weight'), inputs.positionIds) // [B, S, E]
      : ops.slice(p('electra.embeddings.position_embeddings.weight'), [0, 0], [seqLen, c.embeddingSize]); // [S, E], broadcast over B
    let embedded = ops.add(embeddingWithPadding(p('electra.embeddings.word_embeddings.weight'), inputs.inputIds, c.padTokenId), embedding(p('electra.embeddings.token_type_embeddings.weight'), tokenTypeIds));
    embedded = ops.add(embedded, positions);
    let hidden = layerNormF32(embedded, p('electra.embeddings.LayerNorm.weight'), p('electra.embeddings.LayerNorm.bias'), c.layerNormEps);
    hidden = apply(dropout, hidden, c.hiddenDropoutProb);
    // [B, S, E] -> [B, S, H] after the dropout, as HF's ElectraModel.forward
    if (projects(c)) hidden = linear(hidden, p('electra.embeddings_project.weight'), p('electra.embeddings_project.bias'), compute);
    const bias = attentionBias(inputs, batch, seqLen);
    for (let i = 0; i < c.numHiddenLayers; i++) {
      hidden = postLayerNormBlock(c, `electra.encoder.layer.${i}`, p, hidden, { bias, dropout, compute, names: BERT_BLOCK_NAMES });
    }
    return { sequence: ops.cast(hidden, 'f32') };
  },
};
