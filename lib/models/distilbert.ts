/**
 * The DistilBERT family, as Hugging Face's `DistilBertModel`: embeddings (word + absolute
 * position, no token types; LayerNorm, dropout), then post-LayerNorm transformer blocks with
 * no dropout on the attention output, and no pooler. Heads sit on top (heads.ts);
 * `DistilBertForSequenceClassification` is this encoder with the `distilbert` head
 * (distilbert-head.ts), `DistilBertForTokenClassification` with the `token` head.
 *
 * Parameters (PyTorch layouts: Linear weight [out, in], Embedding [vocab, dim]):
 *   distilbert.embeddings.{word,position}_embeddings.weight, distilbert.embeddings.LayerNorm.{weight,bias}
 *   distilbert.transformer.layer.N.attention.{q_lin,k_lin,v_lin,out_lin}.{weight,bias}
 *   distilbert.transformer.layer.N.sa_layer_norm.{weight,bias}
 *   distilbert.transformer.layer.N.ffn.{lin1,lin2}.{weight,bias}
 *   distilbert.transformer.layer.N.output_layer_norm.{weight,bias}
 *
 * With `sinusoidal_pos_embds`, transformers (5.x) fills the position table with fixed sines and
 * cosines at initialisation, but keeps it an ordinary trainable parameter that checkpoints
 * carry; this module computes the same table (bit for bit) in `initParam`, and a checkpoint
 * without it gets it computed.
 */
import { z } from 'zod';

import { FileFormatError } from '../base/errors.js';
import { ACTIVATIONS, attentionBias, embedding, embeddingWithPadding, layerNormF32 } from '../nn/index.js';
import { ops } from '../trace/index.js';
import { type BlockNames, apply, checkInputs, initLikeHf, postLayerNormBlock } from './blocks.js';
import { type EncoderFamily, paramGetter } from './family.js';
import { CONFIG_LIMITS, type EncoderConfigBase, type FieldTable, configParser, configToJson, positiveInt, probability } from './hf-config.js';

/** A DistilBERT configuration (HF `DistilBertConfig`, camelCase; the common names map HF's own). */
export interface DistilBertConfig extends EncoderConfigBase {
  /** Whether the position table starts as fixed sines and cosines (it is still trained). */
  sinusoidalPosEmbds: boolean;
  /** Dropout before `classifier` of the sequence-classification head. */
  seqClassifDropout: number;
  /** Dropout of the question-answering head (kept for the round trip; no such head here). */
  qaDropout: number;
  /** `pad_token_id` as the file has it: null for no padding row (then `padTokenId` is 0). */
  paddingIdx: number | null;
}

/**
 * config.json fields of DistilBERT with `transformers.DistilBertConfig`'s defaults, mapped to
 * the common names: dim -> hiddenSize, n_layers -> numHiddenLayers, n_heads ->
 * numAttentionHeads, hidden_dim -> intermediateSize, activation -> hiddenAct, dropout ->
 * hiddenDropoutProb, attention_dropout -> attentionProbsDropoutProb. The LayerNorm epsilon is
 * no field: HF fixes it at 1e-12.
 */
export const DISTILBERT_FIELDS: FieldTable = {
  vocab_size: ['vocabSize', positiveInt(CONFIG_LIMITS.vocab).default(30522)],
  max_position_embeddings: ['maxPositionEmbeddings', positiveInt(CONFIG_LIMITS.positions).default(512)],
  sinusoidal_pos_embds: ['sinusoidalPosEmbds', z.boolean().default(false)],
  n_layers: ['numHiddenLayers', positiveInt(CONFIG_LIMITS.layers).default(6)],
  n_heads: ['numAttentionHeads', positiveInt(CONFIG_LIMITS.size).default(12)],
  dim: ['hiddenSize', positiveInt(CONFIG_LIMITS.size).default(768)],
  hidden_dim: ['intermediateSize', positiveInt(4 * CONFIG_LIMITS.size).default(3072)], // the feed-forward width, 4 * 768
  dropout: ['hiddenDropoutProb', probability.default(0.1)], // embeddings and feed-forward output (none after attention)
  attention_dropout: ['attentionProbsDropoutProb', probability.default(0.1)],
  activation: ['hiddenAct', z.string().default('gelu')], // exact (erf) GELU
  initializer_range: ['initializerRange', z.number().positive().default(0.02)],
  qa_dropout: ['qaDropout', probability.default(0.1)],
  seq_classif_dropout: ['seqClassifDropout', probability.default(0.2)],
  pad_token_id: ['paddingIdx', z.number().int().min(0).nullable().default(0)], // padding_idx of the word embeddings
};

/** HF's `attribute_map`: the common names a DistilBERT config.json may use instead of its own. */
const ALIASES: Readonly<Record<string, string>> = { hidden_size: 'dim', num_attention_heads: 'n_heads', num_hidden_layers: 'n_layers' };

/** LayerNorm epsilon of every DistilBERT LayerNorm (`nn.LayerNorm(dim, eps=1e-12)`, not configurable). */
const LAYER_NORM_EPS = 1e-12;

const parseFields = configParser<DistilBertConfig>('DistilBERT', ['distilbert'], DISTILBERT_FIELDS, (values, file) => {
  const config = values as unknown as DistilBertConfig;
  config.layerNormEps = LAYER_NORM_EPS;
  config.classifierDropout = null; // the heads take seq_classif_dropout (sequence) and dropout (token), as HF's
  config.padTokenId = config.paddingIdx ?? 0;
  if (config.paddingIdx !== null && config.paddingIdx >= config.vocabSize) throw new FileFormatError(file, `pad_token_id ${config.paddingIdx} is not below vocab_size ${config.vocabSize}`);
  if (!Object.hasOwn(ACTIVATIONS, config.hiddenAct)) throw new FileFormatError(file, `activation ${JSON.stringify(config.hiddenAct)} is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
  return config;
});

/**
 * Parses a DistilBERT config.json value; HF's aliases (`hidden_size`, `num_attention_heads`,
 * `num_hidden_layers`) stand for `dim`, `n_heads`, `n_layers` when those are absent. Sync;
 * throws FileFormatError naming the file and the field.
 */
function parseDistilBert(json: unknown, file: string): DistilBertConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return parseFields(json, file);
  const object: Record<string, unknown> = { ...(json as Record<string, unknown>) };
  for (const [alias, own] of Object.entries(ALIASES)) {
    if (!(alias in object)) continue;
    if (own in object && object[own] !== object[alias]) throw new FileFormatError(file, `${alias} (${JSON.stringify(object[alias])}) and ${own} (${JSON.stringify(object[own])}) disagree: they are the same DistilBERT field, keep ${own}`);
    object[own] = object[alias];
    delete object[alias];
  }
  return parseFields(object, file);
}

/** DistilBERT's names inside a transformer block. */
export const DISTILBERT_BLOCK_NAMES: BlockNames = {
  query: 'attention.q_lin',
  key: 'attention.k_lin',
  value: 'attention.v_lin',
  attentionOutput: 'attention.out_lin',
  attentionNorm: 'sa_layer_norm',
  intermediate: 'ffn.lin1',
  output: 'ffn.lin2',
  outputNorm: 'output_layer_norm',
};

const WORD_EMBEDDINGS = 'distilbert.embeddings.word_embeddings.weight';
const POSITION_EMBEDDINGS = 'distilbert.embeddings.position_embeddings.weight';

/**
 * HF's sinusoidal position table [positions, dim], f32 row-major: angle `pos / 10000^(2*(j//2)/dim)`
 * in double precision, sine in even columns and cosine in odd ones, rounded once to f32 (as
 * `_create_sinusoidal_embeddings` does with numpy then `torch.FloatTensor`). Sync; never throws.
 */
export function sinusoidalPositionTable(positions: number, dim: number): Float32Array {
  const table = new Float32Array(positions * dim);
  const divisors = Array.from({ length: dim }, (_, j) => 10000 ** ((2 * Math.floor(j / 2)) / dim));
  for (let pos = 0; pos < positions; pos++) {
    for (let j = 0; j < dim; j++) {
      const angle = pos / divisors[j]!;
      table[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return table;
}

/** Prefixes of the encoder's parameters in a bare `DistilBertModel` checkpoint. */
const BARE_PREFIXES = ['embeddings.', 'transformer.'];

/** The DistilBERT family (see the module comment). */
export const distilbert: EncoderFamily<DistilBertConfig> = {
  name: 'distilbert',
  modelTypes: ['distilbert'],
  tokenizerKinds: ['wordpiece'],
  architectures: { sequenceClassification: 'DistilBertForSequenceClassification', tokenClassification: 'DistilBertForTokenClassification' },
  baseModelPrefix: 'distilbert',
  classificationHead: 'distilbert',
  parseConfig: parseDistilBert,
  configToJson: (config) => configToJson(config, DISTILBERT_FIELDS),
  maxSequenceLength: (config) => config.maxPositionEmbeddings,

  paramShapes(c) {
    const h = c.hiddenSize;
    const shapes = new Map<string, number[]>([
      [WORD_EMBEDDINGS, [c.vocabSize, h]],
      [POSITION_EMBEDDINGS, [c.maxPositionEmbeddings, h]],
      ['distilbert.embeddings.LayerNorm.weight', [h]],
      ['distilbert.embeddings.LayerNorm.bias', [h]],
    ]);
    const linearShapes = (name: string, out: number, inp: number): void => {
      shapes.set(`${name}.weight`, [out, inp]);
      shapes.set(`${name}.bias`, [out]);
    };
    const normShapes = (name: string): void => {
      shapes.set(`${name}.weight`, [h]);
      shapes.set(`${name}.bias`, [h]);
    };
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const layer = `distilbert.transformer.layer.${i}`;
      for (const part of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) linearShapes(`${layer}.attention.${part}`, h, h);
      normShapes(`${layer}.sa_layer_norm`);
      linearShapes(`${layer}.ffn.lin1`, c.intermediateSize, h);
      linearShapes(`${layer}.ffn.lin2`, h, c.intermediateSize);
      normShapes(`${layer}.output_layer_norm`);
    }
    return shapes;
  },

  // A sinusoidal table can be recomputed exactly, so a checkpoint may leave it out.
  optionalParams: (c) => (c.sinusoidalPosEmbds ? [POSITION_EMBEDDINGS] : []),

  initParam(config, name, shape, random) {
    if (name === POSITION_EMBEDDINGS && config.sinusoidalPosEmbds) return sinusoidalPositionTable(shape[0]!, shape[1]!);
    // Without a padding_idx no row of the word embeddings is zeroed.
    return initLikeHf(config, name, shape, random, config.paddingIdx === null ? '' : WORD_EMBEDDINGS);
  },

  normalizeName(name) {
    let renamed = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (BARE_PREFIXES.some((prefix) => renamed.startsWith(prefix))) renamed = `distilbert.${renamed}`;
    return renamed.endsWith('embeddings.position_ids') ? undefined : renamed;
  },

  encode(c, params, inputs, options) {
    const p = paramGetter('distilbert', params);
    const compute = options.computeDtype ?? 'f32';
    const dropout = options.train ? options.dropout : undefined;
    const [batch, seqLen] = checkInputs('distilbert', inputs, c.maxPositionEmbeddings);
    // DistilBERT has no token types: inputs.tokenTypeIds is ignored, as HF's tokenizer never makes them.
    // positions: [B, S, H] by positionIds (packed rows restart them), else rows 0..S-1 [S, H]
    const positions = inputs.positionIds ? embedding(p(POSITION_EMBEDDINGS), inputs.positionIds) : ops.slice(p(POSITION_EMBEDDINGS), [0, 0], [seqLen, c.hiddenSize]);
    const embedded = ops.add(c.paddingIdx === null ? embedding(p(WORD_EMBEDDINGS), inputs.inputIds) : embeddingWithPadding(p(WORD_EMBEDDINGS), inputs.inputIds, c.paddingIdx), ops.cast(positions, 'f32')); // [B, S, H]
    let hidden = layerNormF32(embedded, p('distilbert.embeddings.LayerNorm.weight'), p('distilbert.embeddings.LayerNorm.bias'), c.layerNormEps);
    hidden = apply(dropout, hidden, c.hiddenDropoutProb);
    const bias = attentionBias(inputs, batch, seqLen); // [B, 1, 1|S, S] or undefined
    for (let i = 0; i < c.numHiddenLayers; i++) {
      hidden = postLayerNormBlock(c, `distilbert.transformer.layer.${i}`, p, hidden, { bias, dropout, compute, names: DISTILBERT_BLOCK_NAMES, dropoutAfterAttention: false });
    }
    return { sequence: ops.cast(hidden, 'f32') }; // [B, S, H]; no pooler
  },
};
