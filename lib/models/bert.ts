/**
 * The BERT family, as Hugging Face's `BertModel`: embeddings (word + token type + absolute
 * position, LayerNorm, dropout), post-LayerNorm encoder layers, and the pooler (tanh of a
 * Linear on the first token). Heads sit on top (heads.ts); `BertForSequenceClassification`
 * is this encoder with the `bert` head.
 *
 * Parameters (PyTorch layouts: Linear weight [out, in], Embedding [vocab, hidden]):
 *   bert.embeddings.{word,position,token_type}_embeddings.weight, bert.embeddings.LayerNorm.{weight,bias}
 *   bert.encoder.layer.N.attention.self.{query,key,value}.{weight,bias}
 *   bert.encoder.layer.N.attention.output.dense.{weight,bias}, ...attention.output.LayerNorm.{weight,bias}
 *   bert.encoder.layer.N.intermediate.dense.{weight,bias}, bert.encoder.layer.N.output.dense.{weight,bias}
 *   bert.encoder.layer.N.output.LayerNorm.{weight,bias}, bert.pooler.dense.{weight,bias}
 */
import { z } from 'zod';

import { attentionBias, embedding, embeddingWithPadding, layerNormF32, linear } from '../nn/index.js';
import { ops } from '../trace/index.js';
import { BERT_BLOCK_NAMES, apply, checkInputs, initLikeHf, postLayerNormBlock } from './blocks.js';
import { type EncoderFamily, paramGetter } from './family.js';
import { FileFormatError } from '../base/errors.js';
import { CONFIG_LIMITS, type EncoderConfigBase, type FieldTable, configParser, configToJson, positiveInt, probability } from './hf-config.js';

/** A BERT configuration (HF `BertConfig`, camelCase). */
export interface BertConfig extends EncoderConfigBase {
  /** Segment (token type) vocabulary: 2 for sentence pairs. */
  typeVocabSize: number;
}

/** config.json fields of BERT with `transformers.BertConfig`'s defaults. */
export const BERT_FIELDS: FieldTable = {
  vocab_size: ['vocabSize', positiveInt(CONFIG_LIMITS.vocab).default(30522)],
  hidden_size: ['hiddenSize', positiveInt(CONFIG_LIMITS.size).default(768)],
  num_hidden_layers: ['numHiddenLayers', positiveInt(CONFIG_LIMITS.layers).default(12)],
  num_attention_heads: ['numAttentionHeads', positiveInt(CONFIG_LIMITS.size).default(12)],
  intermediate_size: ['intermediateSize', positiveInt(4 * CONFIG_LIMITS.size).default(3072)],
  hidden_act: ['hiddenAct', z.string().default('gelu')], // exact (erf) GELU
  hidden_dropout_prob: ['hiddenDropoutProb', probability.default(0.1)], // embeddings, attention output, feed-forward output
  attention_probs_dropout_prob: ['attentionProbsDropoutProb', probability.default(0.1)],
  max_position_embeddings: ['maxPositionEmbeddings', positiveInt(CONFIG_LIMITS.positions).default(512)],
  type_vocab_size: ['typeVocabSize', positiveInt(CONFIG_LIMITS.size).default(2)],
  layer_norm_eps: ['layerNormEps', z.number().positive().default(1e-12)],
  pad_token_id: ['padTokenId', z.number().int().min(0).default(0)],
  initializer_range: ['initializerRange', z.number().positive().default(0.02)],
  classifier_dropout: ['classifierDropout', probability.nullable().default(null)], // null: hidden_dropout_prob
};

const parseBert = configParser<BertConfig>('BERT', ['bert'], BERT_FIELDS, (values, file) => {
  const config = values as unknown as BertConfig;
  const positionType = config.extra.position_embedding_type;
  if (positionType !== undefined && positionType !== 'absolute') throw new FileFormatError(file, `position_embedding_type ${JSON.stringify(positionType)} is not supported (absolute only)`);
  if (config.padTokenId >= config.vocabSize) throw new FileFormatError(file, `pad_token_id ${config.padTokenId} is not below vocab_size ${config.vocabSize}`);
  return config;
});

/** The presets' sizes; everything else takes `transformers.BertConfig` defaults. */
export const BERT_PRESETS = {
  /** 2 layers, hidden 128, 2 heads: for tests and quick runs. */
  tiny: { numHiddenLayers: 2, hiddenSize: 128, numAttentionHeads: 2, intermediateSize: 512 },
  /** 4 layers, hidden 256, 4 heads. */
  mini: { numHiddenLayers: 4, hiddenSize: 256, numAttentionHeads: 4, intermediateSize: 1024 },
  /** bert-base: 12 layers, hidden 768, 12 heads. */
  base: { numHiddenLayers: 12, hiddenSize: 768, numAttentionHeads: 12, intermediateSize: 3072 },
} as const;

/** A preset name. */
export type BertPreset = keyof typeof BERT_PRESETS;

/** True for `tiny`, `mini`, `base`. Sync; never throws. */
export function isBertPreset(name: string): name is BertPreset {
  return Object.hasOwn(BERT_PRESETS, name);
}

/**
 * The `BertConfig` of a preset: its sizes, `vocabSize` (default 30522, bert-base-uncased's)
 * and `labels` (default two, `LABEL_0`/`LABEL_1`), the rest HF's defaults. Sync; throws
 * RangeError for an unknown preset.
 */
export function bertPresetConfig(name: string, options: { vocabSize?: number; labels?: readonly string[] } = {}): BertConfig {
  if (!isBertPreset(name)) throw new RangeError(`unknown BERT preset '${name}' (known: ${Object.keys(BERT_PRESETS).join(', ')})`);
  const config = parseBert({ model_type: 'bert' }, `preset ${name}`);
  return { ...config, ...BERT_PRESETS[name], vocabSize: options.vocabSize ?? 30522, labels: [...(options.labels ?? ['LABEL_0', 'LABEL_1'])] };
}

/** Prefixes of the encoder's parameters in a bare `BertModel` checkpoint. */
const BARE_PREFIXES = ['embeddings.', 'encoder.', 'pooler.'];

/** The BERT family (see the module comment). */
export const bert: EncoderFamily<BertConfig> = {
  name: 'bert',
  modelTypes: ['bert'],
  tokenizerKinds: ['wordpiece'],
  architectures: { sequenceClassification: 'BertForSequenceClassification', tokenClassification: 'BertForTokenClassification' },
  baseModelPrefix: 'bert',
  classificationHead: 'bert',
  parseConfig: parseBert,
  configToJson: (config) => configToJson(config, BERT_FIELDS),
  maxSequenceLength: (config) => config.maxPositionEmbeddings,

  paramShapes(c) {
    const h = c.hiddenSize;
    const shapes = new Map<string, number[]>([
      ['bert.embeddings.word_embeddings.weight', [c.vocabSize, h]],
      ['bert.embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, h]],
      ['bert.embeddings.token_type_embeddings.weight', [c.typeVocabSize, h]],
      ['bert.embeddings.LayerNorm.weight', [h]],
      ['bert.embeddings.LayerNorm.bias', [h]],
    ]);
    const linearShapes = (name: string, out: number, inp: number): void => {
      shapes.set(`${name}.weight`, [out, inp]);
      shapes.set(`${name}.bias`, [out]);
    };
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const layer = `bert.encoder.layer.${i}`;
      for (const part of ['query', 'key', 'value']) linearShapes(`${layer}.attention.self.${part}`, h, h);
      linearShapes(`${layer}.attention.output.dense`, h, h);
      shapes.set(`${layer}.attention.output.LayerNorm.weight`, [h]);
      shapes.set(`${layer}.attention.output.LayerNorm.bias`, [h]);
      linearShapes(`${layer}.intermediate.dense`, c.intermediateSize, h);
      linearShapes(`${layer}.output.dense`, h, c.intermediateSize);
      shapes.set(`${layer}.output.LayerNorm.weight`, [h]);
      shapes.set(`${layer}.output.LayerNorm.bias`, [h]);
    }
    linearShapes('bert.pooler.dense', h, h);
    return shapes;
  },

  poolerParams: () => ['bert.pooler.dense.weight', 'bert.pooler.dense.bias'],
  optionalParams: () => ['bert.pooler.dense.weight', 'bert.pooler.dense.bias'],

  initParam(config, name, shape, random) {
    return initLikeHf(config, name, shape, random, 'bert.embeddings.word_embeddings.weight');
  },

  normalizeName(name) {
    let renamed = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (BARE_PREFIXES.some((prefix) => renamed.startsWith(prefix))) renamed = `bert.${renamed}`;
    return renamed.endsWith('embeddings.position_ids') ? undefined : renamed;
  },

  encode(c, params, inputs, options) {
    const p = paramGetter('bert', params);
    const compute = options.computeDtype ?? 'f32';
    const dropout = options.train ? options.dropout : undefined;
    const [batch, seqLen] = checkInputs('bert', inputs, c.maxPositionEmbeddings);
    // embeddings [B, S, H] in f32: word + token type + absolute position
    const tokenTypeIds = inputs.tokenTypeIds ?? ops.zeros([batch, seqLen], 's32');
    const positions = inputs.positionIds
      ? embedding(p('bert.embeddings.position_embeddings.weight'), inputs.positionIds) // [B, S, H]
      : ops.slice(p('bert.embeddings.position_embeddings.weight'), [0, 0], [seqLen, c.hiddenSize]); // [S, H]
    let embedded = ops.add(embeddingWithPadding(p('bert.embeddings.word_embeddings.weight'), inputs.inputIds, c.padTokenId), embedding(p('bert.embeddings.token_type_embeddings.weight'), tokenTypeIds));
    embedded = ops.add(embedded, ops.cast(positions, 'f32'));
    let hidden = layerNormF32(embedded, p('bert.embeddings.LayerNorm.weight'), p('bert.embeddings.LayerNorm.bias'), c.layerNormEps);
    hidden = apply(dropout, hidden, c.hiddenDropoutProb);
    const bias = attentionBias(inputs, batch, seqLen);
    for (let i = 0; i < c.numHiddenLayers; i++) {
      hidden = postLayerNormBlock(c, `bert.encoder.layer.${i}`, p, hidden, { bias, dropout, compute, names: BERT_BLOCK_NAMES });
    }
    return { sequence: ops.cast(hidden, 'f32') };
  },

  pool(c, params, first, compute) {
    const p = paramGetter('bert', params);
    return ops.tanh(linear(first, p('bert.pooler.dense.weight'), p('bert.pooler.dense.bias'), compute)); // [E, H]
  },
};
