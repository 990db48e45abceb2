/**
 * The ModernBERT family, as Hugging Face's `ModernBertModel`: token embeddings (no position or
 * token type tables) -> LayerNorm -> dropout, then pre-LayerNorm layers (layer 0 has no
 * attention norm: HF's `attn_norm = Identity`) of rotary self-attention and a GeGLU
 * feed-forward, then `final_norm`. Layers alternate between global attention (every
 * `global_attn_every_n_layers`-th, rotary base `global_rope_theta`) and sliding-window
 * attention (a query sees keys at most `local_attention / 2` tokens away, base
 * `local_rope_theta`); HF 5 spells these `layer_types` and `rope_parameters`, and both forms
 * are read. Biases exist only where the config asks (`attention_bias`, `mlp_bias`,
 * `norm_bias`). Heads sit on top: `modernbert` (HF's prediction head on the pooled output,
 * `ModernBertForSequenceClassification`) and `modernbert-token` (the same head on every token,
 * `ModernBertForTokenClassification`), see modernbert-head.ts.
 *
 * Parameters (PyTorch layouts: Linear weight [out, in]; `?`: only with the config's bias flag):
 *   model.embeddings.tok_embeddings.weight [V, H], model.embeddings.norm.{weight,bias?}
 *   model.layers.N.attn_norm.{weight,bias?} (N > 0), model.layers.N.attn.Wqkv.{weight [3H, H],bias?}
 *   model.layers.N.attn.Wo.{weight [H, H],bias?}, model.layers.N.mlp_norm.{weight,bias?}
 *   model.layers.N.mlp.Wi.{weight [2I, H],bias?}, model.layers.N.mlp.Wo.{weight [H, I],bias?}
 *   model.final_norm.{weight,bias?}
 */
import { z } from 'zod';

import { FileFormatError } from '../base/errors.js';
import { type SeededRandom, type Rotary, activation, attentionBias, constantValues, embeddingWithPadding, layerNormF32, linear, rotaryTables, selfAttention, truncatedNormalValues } from '../nn/index.js';
import { ops, type Tensor } from '../trace/index.js';
import { apply, checkInputs } from './blocks.js';
import { type EncoderFamily, paramGetter } from './family.js';
import { CONFIG_LIMITS, type EncoderConfigBase, type FieldTable, configParser, configToJson, floatFieldNames, positiveInt, probability } from './hf-config.js';

/** The attention of one layer: over the whole sequence, or a sliding window. */
export type ModernBertLayerType = 'full_attention' | 'sliding_attention';

/** A ModernBERT configuration (HF `ModernBertConfig`, camelCase). */
export interface ModernBertConfig extends EncoderConfigBase {
  /** Truncated-normal initialisation cuts at this many standard deviations (null: HF's fallback of 3). */
  initializerCutoffFactor: number | null;
  /** Whether the LayerNorms (embeddings, layers, final, head) have biases. */
  normBias: boolean;
  /** Whether `attn.Wqkv` and `attn.Wo` have biases. */
  attentionBias: boolean;
  /** Whether `mlp.Wi` and `mlp.Wo` have biases. */
  mlpBias: boolean;
  /** Whether the head's `dense` has a bias (the final `classifier` always has one). */
  classifierBias: boolean;
  /** Dropout on the GeGLU product, before `mlp.Wo`. */
  mlpDropout: number;
  /** The full width of a sliding window: a query sees keys at most `localAttention / 2` (rounded down) away. */
  localAttention: number;
  /** Every n-th layer (0, n, 2n, ...) is global when `layer_types` is absent. */
  globalAttnEveryNLayers: number;
  /** Rotary base of the global layers. */
  globalRopeTheta: number;
  /** Rotary base of the sliding-window layers. */
  localRopeTheta: number;
  /** Each layer's attention (resolved from `layer_types`, else from `globalAttnEveryNLayers`). */
  layerTypes: ModernBertLayerType[];
  /** HF 5's `rope_parameters`, resolved: the default rope type with each kind's theta. */
  ropeParameters: Record<ModernBertLayerType, Record<string, unknown>>;
  /** How the sequence head pools: the first token, or the mean over real tokens. */
  classifierPooling: 'cls' | 'mean';
  /** Activation of the head's `dense`, by HF name. */
  classifierActivation: string;
}

const LAYER_TYPES = ['full_attention', 'sliding_attention'] as const;
const ropeKind = z.looseObject({ rope_type: z.string().optional(), rope_theta: z.number().positive().optional() }).nullable().optional();

/** config.json fields of ModernBERT with `transformers.ModernBertConfig`'s defaults (answerdotai/ModernBERT-base's sizes). */
export const MODERNBERT_FIELDS: FieldTable = {
  vocab_size: ['vocabSize', positiveInt(CONFIG_LIMITS.vocab).default(50368)],
  hidden_size: ['hiddenSize', positiveInt(CONFIG_LIMITS.size).default(768)],
  intermediate_size: ['intermediateSize', positiveInt(4 * CONFIG_LIMITS.size).default(1152)], // each GeGLU half; Wi is [2I, H]
  num_hidden_layers: ['numHiddenLayers', positiveInt(CONFIG_LIMITS.layers).default(22)],
  num_attention_heads: ['numAttentionHeads', positiveInt(CONFIG_LIMITS.size).default(12)],
  hidden_activation: ['hiddenAct', z.string().default('gelu')], // of the GeGLU input half; exact (erf) GELU
  max_position_embeddings: ['maxPositionEmbeddings', positiveInt(CONFIG_LIMITS.positions).default(8192)], // no table: the trained length
  initializer_range: ['initializerRange', z.number().positive().default(0.02)],
  initializer_cutoff_factor: ['initializerCutoffFactor', z.number().positive().nullable().default(2)],
  norm_eps: ['layerNormEps', z.number().positive().default(1e-5)],
  norm_bias: ['normBias', z.boolean().default(false)],
  pad_token_id: ['padTokenId', z.number().int().min(0).default(50283)],
  attention_bias: ['attentionBias', z.boolean().default(false)],
  attention_dropout: ['attentionProbsDropoutProb', probability.default(0)], // attention probabilities and the attn.Wo output
  embedding_dropout: ['hiddenDropoutProb', probability.default(0)], // after the embeddings' norm
  mlp_bias: ['mlpBias', z.boolean().default(false)],
  mlp_dropout: ['mlpDropout', probability.default(0)],
  local_attention: ['localAttention', positiveInt(CONFIG_LIMITS.positions).default(128)],
  global_attn_every_n_layers: ['globalAttnEveryNLayers', positiveInt(CONFIG_LIMITS.layers).default(3)], // legacy form of layer_types
  global_rope_theta: ['globalRopeTheta', z.number().positive().default(160000)], // legacy form of rope_parameters
  local_rope_theta: ['localRopeTheta', z.number().positive().default(10000)],
  layer_types: ['layerTypes', z.array(z.enum(LAYER_TYPES)).nullable().default(null)], // HF 5; null: from global_attn_every_n_layers
  rope_parameters: ['ropeParameters', z.looseObject({ full_attention: ropeKind, sliding_attention: ropeKind }).nullable().default(null)], // HF 5
  classifier_pooling: ['classifierPooling', z.enum(['cls', 'mean']).default('cls')],
  classifier_dropout: ['classifierDropout', probability.default(0)], // before the classifier (after the head's norm)
  classifier_bias: ['classifierBias', z.boolean().default(false)],
  classifier_activation: ['classifierActivation', z.string().default('gelu')],
};

const parseModernBert = configParser<ModernBertConfig>('ModernBERT', ['modernbert'], MODERNBERT_FIELDS, (values, file) => {
  const config = values as unknown as ModernBertConfig;
  const layers = config.numHiddenLayers;
  if (config.padTokenId >= config.vocabSize) throw new FileFormatError(file, `pad_token_id ${config.padTokenId} is not below vocab_size ${config.vocabSize}`);
  if (config.hiddenSize / config.numAttentionHeads % 2 !== 0 && config.hiddenSize % config.numAttentionHeads === 0) {
    throw new FileFormatError(file, `the head size ${config.hiddenSize / config.numAttentionHeads} (hidden_size / num_attention_heads) must be even for rotary embeddings`);
  }
  const legacyScaling = config.extra.rope_scaling;
  if (legacyScaling !== undefined && legacyScaling !== null) throw new FileFormatError(file, `rope_scaling ${JSON.stringify(legacyScaling)} is not supported (default rotary embeddings only); remove it`);
  if (config.layerTypes === null) {
    config.layerTypes = Array.from({ length: layers }, (_, i) => (i % config.globalAttnEveryNLayers === 0 ? 'full_attention' : 'sliding_attention'));
  } else if (config.layerTypes.length !== layers) {
    throw new FileFormatError(file, `layer_types has ${config.layerTypes.length} entries but num_hidden_layers is ${layers}`);
  }
  // HF 5: rope_parameters[kind].rope_theta wins over the legacy global_rope_theta / local_rope_theta.
  const given = (config.ropeParameters ?? {}) as Record<string, Record<string, unknown> | null | undefined>;
  const resolved = {} as Record<ModernBertLayerType, Record<string, unknown>>;
  for (const kind of LAYER_TYPES) {
    const entry = given[kind] ?? {};
    const type = entry.rope_type ?? 'default';
    if (type !== 'default') throw new FileFormatError(file, `rope_parameters.${kind}.rope_type ${JSON.stringify(type)} is not supported (only "default" rotary embeddings)`);
    const legacy = kind === 'full_attention' ? config.globalRopeTheta : config.localRopeTheta;
    resolved[kind] = { ...entry, rope_type: 'default', rope_theta: (entry.rope_theta as number | undefined) ?? legacy };
  }
  config.ropeParameters = resolved;
  config.globalRopeTheta = resolved.full_attention.rope_theta as number;
  config.localRopeTheta = resolved.sliding_attention.rope_theta as number;
  return config;
});

/** Prefixes of the encoder's parameters in a bare `ModernBertModel` checkpoint. */
const BARE_PREFIXES = ['embeddings.', 'layers.', 'final_norm.'];

/**
 * HF's truncated-normal stds (`_init_weights`): `in` (initializer_range) for Wqkv, Wi and the
 * embeddings; `out` (initializer_range / sqrt(2 * layers)) for attn/mlp Wo and the head's dense;
 * `finalOut` (hidden_size^-0.5) for the classifier; `cutoff` in stds. Sync; never throws.
 */
export function modernBertInitStds(c: ModernBertConfig): { in: number; out: number; finalOut: number; cutoff: number } {
  return { in: c.initializerRange, out: c.initializerRange / Math.sqrt(2 * c.numHiddenLayers), finalOut: c.hiddenSize ** -0.5, cutoff: c.initializerCutoffFactor ?? 3 };
}

/**
 * HF's `_init_weights` for ModernBERT parameters of the encoder and its heads: norm weights 1,
 * biases 0, weights truncated normal at `cutoff` stds with the per-module std of
 * {@link modernBertInitStds} (the word embeddings' padding row is drawn too: HF's
 * `ModernBertEmbeddings` init overwrites the row `nn.Embedding` zeroed). Same distributions as
 * torch's, not the same numbers. Sync; never throws.
 */
export function initModernBertParam(c: ModernBertConfig, name: string, shape: readonly number[], random: SeededRandom): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (/norm\.weight$/.test(name)) return constantValues(count, 1);
  if (name.endsWith('.bias')) return constantValues(count, 0);
  const stds = modernBertInitStds(c);
  const std = /(attn|mlp)\.Wo\.weight$|^head\.dense\.weight$/.test(name) ? stds.out : name === 'classifier.weight' ? stds.finalOut : stds.in;
  return truncatedNormalValues(count, std, stds.cutoff, random);
}

/** The ModernBERT family (see the module comment). */
export const modernbert: EncoderFamily<ModernBertConfig> = {
  name: 'modernbert',
  modelTypes: ['modernbert'],
  tokenizerKinds: ['bpe'],
  architectures: { sequenceClassification: 'ModernBertForSequenceClassification', tokenClassification: 'ModernBertForTokenClassification' },
  baseModelPrefix: 'model',
  classificationHead: 'modernbert',
  tokenClassificationHead: 'modernbert-token',
  floatFields: floatFieldNames(MODERNBERT_FIELDS),
  parseConfig: parseModernBert,
  configToJson: (config) => configToJson(config, MODERNBERT_FIELDS),
  maxSequenceLength: (config) => config.maxPositionEmbeddings,

  paramShapes(c) {
    const h = c.hiddenSize;
    const shapes = new Map<string, number[]>();
    const norm = (name: string): void => {
      shapes.set(`${name}.weight`, [h]);
      if (c.normBias) shapes.set(`${name}.bias`, [h]);
    };
    const dense = (name: string, out: number, inp: number, bias: boolean): void => {
      shapes.set(`${name}.weight`, [out, inp]);
      if (bias) shapes.set(`${name}.bias`, [out]);
    };
    shapes.set('model.embeddings.tok_embeddings.weight', [c.vocabSize, h]);
    norm('model.embeddings.norm');
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const layer = `model.layers.${i}`;
      if (i > 0) norm(`${layer}.attn_norm`);
      dense(`${layer}.attn.Wqkv`, 3 * h, h, c.attentionBias);
      dense(`${layer}.attn.Wo`, h, h, c.attentionBias);
      norm(`${layer}.mlp_norm`);
      dense(`${layer}.mlp.Wi`, 2 * c.intermediateSize, h, c.mlpBias);
      dense(`${layer}.mlp.Wo`, h, c.intermediateSize, c.mlpBias);
    }
    norm('model.final_norm');
    return shapes;
  },

  optionalParams: () => [],

  initParam: initModernBertParam,

  normalizeName(name) {
    if (name.endsWith('inv_freq')) return undefined; // rotary buffers (not persistent in HF, but older exports carry them)
    return BARE_PREFIXES.some((prefix) => name.startsWith(prefix)) ? `model.${name}` : name;
  },

  encode(c, params, inputs, options) {
    const p = paramGetter('modernbert', params);
    const compute = options.computeDtype ?? 'f32';
    const dropout = options.train ? options.dropout : undefined;
    const [batch, seqLen] = checkInputs('modernbert', inputs, c.maxPositionEmbeddings);
    const h = c.hiddenSize;
    const inner = c.intermediateSize;
    const noBias = ops.zeros([h], 'f32');
    const norm = (name: string, x: Tensor): Tensor => layerNormF32(x, p(`${name}.weight`), c.normBias ? p(`${name}.bias`) : noBias, c.layerNormEps);
    const dense = (name: string, x: Tensor, bias: boolean): Tensor => linear(x, p(`${name}.weight`), bias ? p(`${name}.bias`) : undefined, compute);
    // embeddings [B, S, H] in f32: tokens only (positions enter as rotary embeddings); HF's padding_idx row gets no gradient
    const tokens = embeddingWithPadding(p('model.embeddings.tok_embeddings.weight'), inputs.inputIds, c.padTokenId);
    let hidden = apply(dropout, norm('model.embeddings.norm', tokens), c.hiddenDropoutProb);
    // Positions of a packed row restart per example (positionIds); the row's tokens are 0..S-1 otherwise.
    // Either way each is below S, so tables of S rows cover them.
    const positions = inputs.positionIds ?? ops.broadcastTo(ops.iota([1, seqLen], 's32', 1), [batch, seqLen]); // [B, S]
    const headSize = h / c.numAttentionHeads;
    const masks = { attentionMask: inputs.attentionMask, segmentIds: inputs.segmentIds };
    const kinds = new Map<ModernBertLayerType, { bias: Tensor | undefined; rotary: Rotary }>();
    const kindOf = (type: ModernBertLayerType) => {
      let kind = kinds.get(type);
      if (!kind) {
        const global = type === 'full_attention';
        // HF's masks: padding (and our packed examples) for global layers; also |query - key| <= local_attention // 2 for sliding ones
        const bias = attentionBias(global ? masks : { ...masks, window: c.localAttention }, batch, seqLen);
        kind = { bias, rotary: rotaryTables(positions, headSize, global ? c.globalRopeTheta : c.localRopeTheta, seqLen) };
        kinds.set(type, kind);
      }
      return kind;
    };
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const layer = `model.layers.${i}`;
      const { bias, rotary } = kindOf(c.layerTypes[i]!);
      // attention: pre-norm (none on layer 0), Wqkv [B, S, 3H] -> query, key, value [B, S, H] each
      const qkv = dense(`${layer}.attn.Wqkv`, i === 0 ? hidden : norm(`${layer}.attn_norm`, hidden), c.attentionBias);
      const part = (k: number): Tensor => ops.slice(qkv, [0, 0, k * h], [batch, seqLen, (k + 1) * h]);
      const context = selfAttention(part(0), part(1), part(2), { heads: c.numAttentionHeads, bias, dropout, dropoutRate: c.attentionProbsDropoutProb, compute, rotary });
      hidden = ops.add(hidden, apply(dropout, dense(`${layer}.attn.Wo`, context, c.attentionBias), c.attentionProbsDropoutProb));
      // GeGLU: Wi [B, S, 2I] -> input, gate [B, S, I] each; act(input) * gate -> dropout -> Wo [B, S, H]
      const wide = dense(`${layer}.mlp.Wi`, norm(`${layer}.mlp_norm`, hidden), c.mlpBias);
      const input = ops.slice(wide, [0, 0, 0], [batch, seqLen, inner]);
      const gate = ops.slice(wide, [0, 0, inner], [batch, seqLen, 2 * inner]);
      const gated = ops.cast(ops.mul(activation(c.hiddenAct, 'modernbert')(input), gate), compute);
      hidden = ops.add(hidden, dense(`${layer}.mlp.Wo`, apply(dropout, gated, c.mlpDropout), c.mlpBias));
    }
    return { sequence: norm('model.final_norm', hidden) };
  },
};
