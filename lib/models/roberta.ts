/**
 * The RoBERTa family, as Hugging Face's `RobertaModel` and `XLMRobertaModel` (the same network
 * under two `model_type`s): BERT's post-LayerNorm encoder with no pooler in the task models,
 * and positions that start after the padding id. HF derives a token's position from the input
 * ids (`create_position_ids_from_input_ids`): the count of non-padding tokens up to and
 * including it, plus `pad_token_id`, and `pad_token_id` itself at padding tokens, so the
 * first real token has position `pad_token_id + 1` (2 in every released checkpoint) and the
 * table needs `max_position_embeddings = longest sequence + pad_token_id + 1` rows (514).
 *
 * Two families share this module, one per `model_type`, so that a saved directory's
 * `architectures` matches its `model_type`: `roberta` (byte-level BPE tokenizers,
 * `Roberta*`) and `xlm-roberta` (SentencePiece Unigram tokenizers, `XLMRoberta*`). Both use
 * the `roberta.` prefix (HF's `base_model_prefix` for both) and the `roberta` head
 * (`classifier.dense` -> tanh -> `classifier.out_proj` on `<s>`).
 *
 * Parameters (PyTorch layouts: Linear weight [out, in], Embedding [vocab, hidden]):
 *   roberta.embeddings.{word,position,token_type}_embeddings.weight, roberta.embeddings.LayerNorm.{weight,bias}
 *   roberta.encoder.layer.N.attention.self.{query,key,value}.{weight,bias}
 *   roberta.encoder.layer.N.attention.output.dense.{weight,bias}, ...attention.output.LayerNorm.{weight,bias}
 *   roberta.encoder.layer.N.intermediate.dense.{weight,bias}, roberta.encoder.layer.N.output.dense.{weight,bias}
 *   roberta.encoder.layer.N.output.LayerNorm.{weight,bias}
 */
import { z } from 'zod';

import { FileFormatError } from '../base/errors.js';
import { attentionBias, embedding, embeddingWithPadding, layerNormF32 } from '../nn/index.js';
import { ops, type Tensor } from '../trace/index.js';
import { BERT_BLOCK_NAMES, apply, checkInputs, initLikeHf, postLayerNormBlock } from './blocks.js';
import { type EncoderFamily, type FamilyArchitectures, type TokenizerKind, paramGetter } from './family.js';
import { CONFIG_LIMITS, type EncoderConfigBase, type FieldTable, configParser, configToJson, positiveInt, probability } from './hf-config.js';

/** A RoBERTa or XLM-RoBERTa configuration (HF `RobertaConfig` / `XLMRobertaConfig`, camelCase). */
export interface RobertaConfig extends EncoderConfigBase {
  /** Segment (token type) vocabulary: 1 in the released checkpoints (HF's class default is 2). */
  typeVocabSize: number;
}

/**
 * config.json fields of RoBERTa with `transformers.RobertaConfig`'s defaults (XLM-RoBERTa's
 * differ only in `vocab_size`). `bos_token_id`, `eos_token_id` and the decoder fields are kept
 * verbatim in `extra`.
 */
export const ROBERTA_FIELDS: FieldTable = {
  vocab_size: ['vocabSize', positiveInt(CONFIG_LIMITS.vocab).default(50265)], // roberta-base's byte-level BPE
  hidden_size: ['hiddenSize', positiveInt(CONFIG_LIMITS.size).default(768)],
  num_hidden_layers: ['numHiddenLayers', positiveInt(CONFIG_LIMITS.layers).default(12)],
  num_attention_heads: ['numAttentionHeads', positiveInt(CONFIG_LIMITS.size).default(12)],
  intermediate_size: ['intermediateSize', positiveInt(4 * CONFIG_LIMITS.size).default(3072)],
  hidden_act: ['hiddenAct', z.string().default('gelu')], // exact (erf) GELU
  hidden_dropout_prob: ['hiddenDropoutProb', probability.default(0.1)], // embeddings, attention output, feed-forward output
  attention_probs_dropout_prob: ['attentionProbsDropoutProb', probability.default(0.1)],
  // rows of the position table, counting the pad_token_id + 1 rows below the first position (514 in checkpoints)
  max_position_embeddings: ['maxPositionEmbeddings', positiveInt(CONFIG_LIMITS.positions).default(512)],
  type_vocab_size: ['typeVocabSize', positiveInt(CONFIG_LIMITS.size).default(2)], // checkpoints have 1
  layer_norm_eps: ['layerNormEps', z.number().positive().default(1e-12)], // checkpoints have 1e-5
  // also the padding index of the position table: positions start at pad_token_id + 1
  pad_token_id: ['padTokenId', z.number().int().min(0).default(1)],
  initializer_range: ['initializerRange', z.number().positive().default(0.02)],
  classifier_dropout: ['classifierDropout', probability.nullable().default(null)], // null: hidden_dropout_prob
};

/** config.json fields of XLM-RoBERTa with `transformers.XLMRobertaConfig`'s defaults. */
export const XLM_ROBERTA_FIELDS: FieldTable = {
  ...ROBERTA_FIELDS,
  vocab_size: ['vocabSize', positiveInt(CONFIG_LIMITS.vocab).default(30522)], // HF's class default (xlm-roberta-base has 250002)
};

/** The longest sequence: the position table's rows after the `pad_token_id + 1` offset. Sync. */
export function robertaMaxSequenceLength(config: RobertaConfig): number {
  return config.maxPositionEmbeddings - config.padTokenId - 1;
}

function robertaParser(familyName: string, modelType: string, fields: FieldTable): (json: unknown, file: string) => RobertaConfig {
  return configParser<RobertaConfig>(familyName, [modelType], fields, (values, file) => {
    const config = values as unknown as RobertaConfig;
    const { extra } = config;
    if (extra.position_embedding_type !== undefined && extra.position_embedding_type !== 'absolute') {
      throw new FileFormatError(file, `position_embedding_type ${JSON.stringify(extra.position_embedding_type)} is not supported (absolute only)`);
    }
    if (extra.is_decoder === true) throw new FileFormatError(file, `is_decoder is true (a causal ${familyName} decoder): only encoders are supported; set it to false for bidirectional attention`);
    if (extra.add_cross_attention === true) throw new FileFormatError(file, 'add_cross_attention is true: cross-attention layers (encoder-decoder models) are not supported');
    if (config.padTokenId >= config.vocabSize) throw new FileFormatError(file, `pad_token_id ${config.padTokenId} is not below vocab_size ${config.vocabSize}`);
    if (robertaMaxSequenceLength(config) < 1) {
      throw new FileFormatError(file, `max_position_embeddings ${config.maxPositionEmbeddings} leaves no position: ${familyName} positions start at pad_token_id + 1 = ${config.padTokenId + 1}`);
    }
    return config;
  });
}

/**
 * HF's `create_position_ids_from_input_ids`: at a real token (id != `pad`), `pad` + the count
 * of real tokens up to and including it; at a padding token, `pad`. `inputIds` s32 [B, S];
 * returns s32 [B, S]. The running count is a product with a triangular matrix of ones (exact in
 * f32 for counts below 2^24).
 */
function positionsFromInputIds(inputIds: Tensor, pad: number): Tensor {
  const [, seqLen] = inputIds.shape as [number, number];
  const real = ops.where(ops.notEqual(inputIds, pad), 1, 0); // f32 [B, S]
  // upper[k, j] = 1 where k <= j: column j sums the tokens 0..j
  const upper = ops.where(ops.lessEqual(ops.iota([seqLen, seqLen], 's32', 0), ops.iota([seqLen, seqLen], 's32', 1)), 1, 0); // f32 [S, S]
  const counts = ops.dotGeneral(real, upper, { lhsBatch: [], rhsBatch: [], lhsContracting: [1], rhsContracting: [0] }); // f32 [B, S]
  return ops.add(ops.cast(ops.mul(counts, real), 's32'), pad);
}

/** Prefixes of the encoder's parameters in a bare `RobertaModel` checkpoint. */
const BARE_PREFIXES = ['embeddings.', 'encoder.', 'pooler.'];

/** What differs between the two families of this module. */
interface RobertaVariant {
  readonly name: string;
  readonly modelType: string;
  readonly label: string;
  readonly tokenizerKinds: readonly TokenizerKind[];
  readonly architectures: FamilyArchitectures;
  readonly fields: FieldTable;
}

function robertaFamily(variant: RobertaVariant): EncoderFamily<RobertaConfig> {
  const { name, fields } = variant;
  return {
    name,
    modelTypes: [variant.modelType],
    tokenizerKinds: variant.tokenizerKinds,
    architectures: variant.architectures,
    baseModelPrefix: 'roberta',
    classificationHead: 'roberta',
    parseConfig: robertaParser(variant.label, variant.modelType, fields),
    configToJson: (config) => configToJson(config, fields),
    maxSequenceLength: robertaMaxSequenceLength,

    paramShapes(c) {
      const h = c.hiddenSize;
      const shapes = new Map<string, number[]>([
        ['roberta.embeddings.word_embeddings.weight', [c.vocabSize, h]],
        ['roberta.embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, h]],
        ['roberta.embeddings.token_type_embeddings.weight', [c.typeVocabSize, h]],
        ['roberta.embeddings.LayerNorm.weight', [h]],
        ['roberta.embeddings.LayerNorm.bias', [h]],
      ]);
      const linearShapes = (prefix: string, out: number, inp: number): void => {
        shapes.set(`${prefix}.weight`, [out, inp]);
        shapes.set(`${prefix}.bias`, [out]);
      };
      for (let i = 0; i < c.numHiddenLayers; i++) {
        const layer = `roberta.encoder.layer.${i}`;
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

    // The task models have no pooler (a base checkpoint's pooler is reported unused).
    optionalParams: () => [],

    initParam(config, paramName, shape, random) {
      const data = initLikeHf(config, paramName, shape, random, 'roberta.embeddings.word_embeddings.weight');
      // The position table is an Embedding with padding_idx = pad_token_id too: HF zeroes that row.
      if (paramName === 'roberta.embeddings.position_embeddings.weight' && config.padTokenId < shape[0]!) data.fill(0, config.padTokenId * shape[1]!, (config.padTokenId + 1) * shape[1]!);
      return data;
    },

    normalizeName(tensorName) {
      let renamed = tensorName.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
      if (BARE_PREFIXES.some((prefix) => renamed.startsWith(prefix))) renamed = `roberta.${renamed}`;
      // buffers older checkpoints saved
      return /embeddings\.(position_ids|token_type_ids)$/.test(renamed) ? undefined : renamed;
    },

    encode(c, params, inputs, options) {
      const p = paramGetter(name, params);
      const compute = options.computeDtype ?? 'f32';
      const dropout = options.train ? options.dropout : undefined;
      const [batch, seqLen] = checkInputs(name, inputs, robertaMaxSequenceLength(c));
      // positions s32 [B, S]: given ones (restarting per packed example) after the padding offset, else HF's from the ids
      const positionIds = inputs.positionIds ? ops.add(inputs.positionIds, c.padTokenId + 1) : positionsFromInputIds(inputs.inputIds, c.padTokenId);
      const tokenTypeIds = inputs.tokenTypeIds ?? ops.zeros([batch, seqLen], 's32');
      // embeddings [B, S, H] in f32: word + token type + position
      let embedded = ops.add(embeddingWithPadding(p('roberta.embeddings.word_embeddings.weight'), inputs.inputIds, c.padTokenId), embedding(p('roberta.embeddings.token_type_embeddings.weight'), tokenTypeIds));
      embedded = ops.add(embedded, embeddingWithPadding(p('roberta.embeddings.position_embeddings.weight'), positionIds, c.padTokenId));
      let hidden = layerNormF32(embedded, p('roberta.embeddings.LayerNorm.weight'), p('roberta.embeddings.LayerNorm.bias'), c.layerNormEps);
      hidden = apply(dropout, hidden, c.hiddenDropoutProb);
      const bias = attentionBias(inputs, batch, seqLen);
      for (let i = 0; i < c.numHiddenLayers; i++) {
        hidden = postLayerNormBlock(c, `roberta.encoder.layer.${i}`, p, hidden, { bias, dropout, compute, names: BERT_BLOCK_NAMES });
      }
      return { sequence: ops.cast(hidden, 'f32') };
    },
  };
}

/** RoBERTa (`model_type` `roberta`; see the module comment). */
export const roberta: EncoderFamily<RobertaConfig> = robertaFamily({
  name: 'roberta',
  modelType: 'roberta',
  label: 'RoBERTa',
  tokenizerKinds: ['bpe'],
  architectures: { sequenceClassification: 'RobertaForSequenceClassification', tokenClassification: 'RobertaForTokenClassification' },
  fields: ROBERTA_FIELDS,
});

/** XLM-RoBERTa (`model_type` `xlm-roberta`; see the module comment). */
export const xlmRoberta: EncoderFamily<RobertaConfig> = robertaFamily({
  name: 'xlm-roberta',
  modelType: 'xlm-roberta',
  label: 'XLM-RoBERTa',
  tokenizerKinds: ['unigram'],
  architectures: { sequenceClassification: 'XLMRobertaForSequenceClassification', tokenClassification: 'XLMRobertaForTokenClassification' },
  fields: XLM_ROBERTA_FIELDS,
});
