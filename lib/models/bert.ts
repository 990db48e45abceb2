/**
 * BERT for sequence classification, as Hugging Face's `BertForSequenceClassification`:
 * a config (HF `config.json`, see `BertConfig` of lib/io), parameters under Hugging Face
 * names, and a pure forward over traced tensors.
 *
 *     const spec = { config: bertPresetConfig('tiny', { vocabSize: 30522, labels: ['neg', 'pos'] }), head: parseBertHead('linear') };
 *     const params = initBertParams(spec, 42);                     // host f32 tensors by HF name
 *     const logits = bertForward(spec, p, { inputIds, tokenTypeIds, attentionMask }, { train: false }); // inside trace/jit
 *
 * Parameters (PyTorch layouts: Linear weight [out, in], Embedding [vocab, hidden]):
 *   bert.embeddings.{word,position,token_type}_embeddings.weight, bert.embeddings.LayerNorm.{weight,bias}
 *   bert.encoder.layer.N.attention.self.{query,key,value}.{weight,bias}
 *   bert.encoder.layer.N.attention.output.dense.{weight,bias}, ...attention.output.LayerNorm.{weight,bias}
 *   bert.encoder.layer.N.intermediate.dense.{weight,bias}, bert.encoder.layer.N.output.dense.{weight,bias}
 *   bert.encoder.layer.N.output.LayerNorm.{weight,bias}, bert.pooler.dense.{weight,bias}
 *   head `linear`: classifier.{weight,bias} [labels, hidden] (HF's: dropout, then Linear on the pooled output)
 *   head `mlp:N`:  classifier.0.{weight,bias} [N, hidden], classifier.3.{weight,bias} [labels, N], the
 *                  state-dict names of torch `nn.Sequential(Linear(hidden, N), ReLU(), Dropout(p), Linear(N, labels))`
 *                  (the tutorial's Dense(N, relu) -> Dropout -> Dense(labels)); no dropout before it.
 */
import os from 'node:os';

import type { BertConfig } from '../io/index.js';
import type { Tensor as HostTensor } from '../io/index.js';
import { type ComputeDType, DropoutStream, SeededRandom, constantValues, embedding, finfoMin, layerNormF32, linear, normalValues } from '../nn/index.js';
import { ops, type Tensor } from '../trace/index.js';

/** The classifier on top of the pooled output: HF's single Linear, or the tutorial's MLP. */
export type BertHead = { readonly kind: 'linear' } | { readonly kind: 'mlp'; readonly hidden: number };

/** A BERT classifier's architecture: the HF config (its `labels` fix the class count) and the head. */
export interface BertSpec {
  readonly config: BertConfig;
  readonly head: BertHead;
}

/** Parameters by Hugging Face name (host tensors, device arrays or traced tensors). */
export type BertParams<T> = Record<string, T>;

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
 * and `labels` (default two, `LABEL_0`/`LABEL_1`), the rest HF's defaults (gelu, dropout 0.1,
 * 512 positions, 2 token types, eps 1e-12, pad id 0, initializer range 0.02). Sync; throws
 * RangeError for an unknown preset.
 */
export function bertPresetConfig(name: string, options: { vocabSize?: number; labels?: readonly string[] } = {}): BertConfig {
  if (!isBertPreset(name)) throw new RangeError(`unknown BERT preset '${name}' (known: ${Object.keys(BERT_PRESETS).join(', ')})`);
  return {
    ...BERT_PRESETS[name],
    vocabSize: options.vocabSize ?? 30522,
    hiddenAct: 'gelu', // exact (erf) GELU
    hiddenDropoutProb: 0.1, // after embeddings, attention output and feed-forward output
    attentionProbsDropoutProb: 0.1, // on the attention probabilities
    maxPositionEmbeddings: 512, // longest sequence
    typeVocabSize: 2, // segments A and B
    layerNormEps: 1e-12,
    padTokenId: 0, // its word-embedding row is initialised to zero
    initializerRange: 0.02, // std of the normal initialisation
    classifierDropout: null, // null: the head uses hiddenDropoutProb
    labels: [...(options.labels ?? ['LABEL_0', 'LABEL_1'])],
    extra: {},
  };
}

/**
 * Parses a head name: `linear` or `mlp:N` (N a positive integer). Sync; throws RangeError
 * naming the accepted forms.
 */
export function parseBertHead(text: string): BertHead {
  if (text === 'linear') return { kind: 'linear' };
  const match = /^mlp:(\d+)$/.exec(text);
  if (match && Number(match[1]) > 0) return { kind: 'mlp', hidden: Number(match[1]) };
  throw new RangeError(`unknown head '${text}': expected 'linear' or 'mlp:N' (N a positive integer)`);
}

/** `linear` or `mlp:N`. Sync; never throws. */
export function formatBertHead(head: BertHead): string {
  return head.kind === 'linear' ? 'linear' : `mlp:${head.hidden}`;
}

/** Number of classes: the config's labels, or HF's default of 2 when it has none. Sync; never throws. */
export function numLabelsOf(config: BertConfig): number {
  return config.labels?.length ?? 2;
}

/** The dropout rate before/inside the head: `classifierDropout`, else `hiddenDropoutProb` (as HF). Sync. */
export function headDropoutOf(config: BertConfig): number {
  return config.classifierDropout ?? config.hiddenDropoutProb;
}

/** Names and shapes of the head's parameters, in order. Sync; never throws. */
export function bertHeadShapes(spec: BertSpec): Map<string, number[]> {
  const { hiddenSize } = spec.config;
  const labels = numLabelsOf(spec.config);
  if (spec.head.kind === 'linear') {
    return new Map([
      ['classifier.weight', [labels, hiddenSize]],
      ['classifier.bias', [labels]],
    ]);
  }
  const n = spec.head.hidden;
  return new Map([
    ['classifier.0.weight', [n, hiddenSize]],
    ['classifier.0.bias', [n]],
    ['classifier.3.weight', [labels, n]],
    ['classifier.3.bias', [labels]],
  ]);
}

/**
 * Every parameter's name and shape in a fixed order (embeddings, layers, pooler, head); the
 * order is that of the parameter records this module builds. Sync; never throws.
 */
export function bertParamShapes(spec: BertSpec): Map<string, number[]> {
  const c = spec.config;
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
  for (const [name, shape] of bertHeadShapes(spec)) shapes.set(name, shape);
  return shapes;
}

/**
 * HF's initialisation of one parameter from `random`: LayerNorm weight 1, biases and
 * LayerNorm bias 0, other weights normal(0, initializerRange), the padding row of the word
 * embeddings 0. Sync; never throws.
 */
export function initBertParam(config: BertConfig, name: string, shape: number[], random: SeededRandom): HostTensor<'f32'> {
  const count = shape.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  if (name.endsWith('LayerNorm.weight')) data = constantValues(count, 1);
  else if (name.endsWith('.bias')) data = constantValues(count, 0);
  else data = normalValues(count, config.initializerRange, random);
  if (name === 'bert.embeddings.word_embeddings.weight' && config.padTokenId < shape[0]!) {
    data.fill(0, config.padTokenId * shape[1]!, (config.padTokenId + 1) * shape[1]!);
  }
  return { dtype: 'f32', shape, data };
}

/**
 * Fresh parameters of `spec` from `seed` (see {@link initBertParam}); each parameter draws
 * from its own stream forked in name order, so a head initialised alone (`names`) gets the
 * same values as in a full initialisation. Their total size is checked before anything is
 * allocated. Sync; throws RangeError (naming the sizes) when they would take more bytes than
 * `os.totalmem()`.
 */
export function initBertParams(spec: BertSpec, seed: number, names?: readonly string[]): BertParams<HostTensor<'f32'>> {
  const root = new SeededRandom(seed);
  const wanted = names ? new Set(names) : undefined;
  const shapes = bertParamShapes(spec);
  let elements = 0;
  for (const [name, shape] of shapes) if (!wanted || wanted.has(name)) elements += shape.reduce((a, b) => a * b, 1);
  if (4 * elements > os.totalmem()) {
    const c = spec.config;
    throw new RangeError(
      `initBertParams: ${elements} parameters to initialise (${(4 * elements / 2 ** 30).toFixed(1)} GiB as f32) are more than this machine's memory (${(os.totalmem() / 2 ** 30).toFixed(1)} GiB); ` +
        `hidden_size ${c.hiddenSize}, vocab_size ${c.vocabSize}, num_hidden_layers ${c.numHiddenLayers}, intermediate_size ${c.intermediateSize}, ${numLabelsOf(c)} labels, head ${formatBertHead(spec.head)}: use a smaller model, vocabulary or head`,
    );
  }
  const params: BertParams<HostTensor<'f32'>> = {};
  for (const [name, shape] of shapes) {
    const stream = root.fork();
    if (!wanted || wanted.has(name)) params[name] = initBertParam(spec.config, name, shape, stream);
  }
  return params;
}

/** One batch of token ids, as `BertTokenizer.encodeBatch` makes them: s32 [B, S] each. */
export interface BertInputs {
  readonly inputIds: Tensor;
  /** Segment ids; zeros when omitted. */
  readonly tokenTypeIds?: Tensor;
  /** 1 for real tokens, 0 for padding (any integer or float dtype); all ones when omitted. */
  readonly attentionMask?: Tensor;
}

/** How {@link bertForward} runs. */
export interface BertForwardOptions {
  /** Training mode: dropout is applied when a `dropoutKey` is given and rates are above 0. */
  readonly train: boolean;
  /**
   * The dropout masks' key(s), drawn site by site in a fixed order: one s64[2] key for the
   * batch, or u32 [B, 2] keys, one per example, which make each example's masks independent
   * of the rest of the batch (the Trainer's choice, so replicas and micro-batches change
   * nothing). See `DropoutStream`.
   */
  readonly dropoutKey?: Tensor;
  /** `bf16`: matrix products and activations in bf16 (f32 params cast inside); default `f32`. */
  readonly computeDtype?: ComputeDType;
}

/** The intermediate activation of the feed-forward block, by HF `hidden_act` name. */
function activation(name: string): (x: Tensor) => Tensor {
  switch (name) {
    case 'gelu':
      return ops.gelu;
    case 'relu':
      return ops.relu;
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return (x) => ops.mul(ops.mul(x, 0.5), ops.add(1, ops.tanh(ops.mul(ops.add(x, ops.mul(ops.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)))));
    case 'silu':
    case 'swish':
      return (x) => ops.mul(x, ops.sigmoid(x));
    default:
      throw new RangeError(`BERT hidden_act '${name}' is not supported (gelu, relu, gelu_new, gelu_pytorch_tanh, silu)`);
  }
}

/**
 * The logits [B, labels] (f32) of `BertForSequenceClassification` for one batch: embeddings
 * (word + token type + position, LayerNorm, dropout), the encoder layers with HF's extended
 * attention mask ((1 - mask) * finfo(f32).min added to the scores), the pooler (tanh of a
 * Linear on the first token) and the head. Call it inside `trace`/`jit`/`grad`. Sync; throws
 * Error naming a missing parameter, ShapeError for inputs that do not fit the config,
 * RangeError for an unsupported activation or position embedding type.
 */
export function bertForward(spec: BertSpec, params: BertParams<Tensor>, inputs: BertInputs, options: BertForwardOptions): Tensor {
  const c = spec.config;
  const compute = options.computeDtype ?? 'f32';
  const positionType = c.extra.position_embedding_type;
  if (positionType !== undefined && positionType !== 'absolute') throw new RangeError(`position_embedding_type '${String(positionType)}' is not supported (absolute only)`);
  const p = (name: string): Tensor => {
    const tensor = params[name];
    if (!tensor) throw new Error(`bertForward: parameter ${name} is missing`);
    return tensor;
  };
  const dropout = new DropoutStream(options.train ? options.dropoutKey : undefined);
  const [batch, seqLen] = inputs.inputIds.shape as [number, number];
  if (inputs.inputIds.rank !== 2) throw new RangeError(`bertForward: inputIds must be [batch, seqLen], got [${inputs.inputIds.shape.join(', ')}]`);
  if (seqLen > c.maxPositionEmbeddings) throw new RangeError(`bertForward: sequence length ${seqLen} exceeds max_position_embeddings ${c.maxPositionEmbeddings}`);
  const h = c.hiddenSize;
  const heads = c.numAttentionHeads;
  const headSize = h / heads;
  const act = activation(c.hiddenAct);

  // embeddings: [B, S, H] in f32
  const tokenTypeIds = inputs.tokenTypeIds ?? ops.zeros([batch, seqLen], 's32');
  const positions = ops.slice(p('bert.embeddings.position_embeddings.weight'), [0, 0], [seqLen, h]); // [S, H]
  let embedded = ops.add(embedding(p('bert.embeddings.word_embeddings.weight'), inputs.inputIds), embedding(p('bert.embeddings.token_type_embeddings.weight'), tokenTypeIds));
  embedded = ops.add(embedded, ops.cast(positions, 'f32'));
  let hidden = layerNormF32(embedded, p('bert.embeddings.LayerNorm.weight'), p('bert.embeddings.LayerNorm.bias'), c.layerNormEps);
  hidden = dropout.apply(hidden, c.hiddenDropoutProb);

  // HF's extended mask: [B, S] -> [B, 1, 1, S], 0 for real tokens and finfo(f32).min for padding
  const mask = inputs.attentionMask === undefined ? undefined : ops.reshape(ops.mul(ops.sub(1, ops.cast(inputs.attentionMask, 'f32')), finfoMin('f32')), [batch, 1, 1, seqLen]);

  for (let i = 0; i < c.numHiddenLayers; i++) {
    const layer = `bert.encoder.layer.${i}`;
    const dense = (name: string, x: Tensor): Tensor => linear(x, p(`${layer}.${name}.weight`), p(`${layer}.${name}.bias`), compute);
    // [B, S, H] -> [B, S, heads, headSize]
    const split = (x: Tensor): Tensor => ops.reshape(ops.cast(x, compute), [batch, seqLen, heads, headSize]);
    const query = split(dense('attention.self.query', hidden));
    const key = split(dense('attention.self.key', hidden));
    const value = split(dense('attention.self.value', hidden));
    // scores [B, heads, S_q, S_k] = query . key over headSize, in f32
    // The batched products give results in the compute dtype (as torch autocast does): XLA:CPU
    // has no batched bf16 x bf16 -> f32 dot. Softmax then runs in f32.
    let scores = ops.cast(ops.dotGeneral(query, key, { lhsBatch: [0, 2], rhsBatch: [0, 2], lhsContracting: [3], rhsContracting: [3] }), 'f32');
    scores = ops.mul(scores, headSize ** -0.5);
    if (mask) scores = ops.add(scores, mask);
    const probs = dropout.apply(ops.softmax(scores, -1), c.attentionProbsDropoutProb);
    // context [B, heads, S_q, headSize] -> [B, S_q, heads, headSize] -> [B, S, H]
    const context = ops.cast(ops.dotGeneral(ops.cast(probs, compute), value, { lhsBatch: [0, 1], rhsBatch: [0, 2], lhsContracting: [3], rhsContracting: [1] }), 'f32');
    const merged = ops.reshape(ops.transpose(context, [0, 2, 1, 3]), [batch, seqLen, h]);
    const attended = dropout.apply(dense('attention.output.dense', merged), c.hiddenDropoutProb);
    const afterAttention = layerNormF32(ops.add(attended, ops.cast(hidden, 'f32')), p(`${layer}.attention.output.LayerNorm.weight`), p(`${layer}.attention.output.LayerNorm.bias`), c.layerNormEps);
    const inner = ops.cast(act(dense('intermediate.dense', ops.cast(afterAttention, compute))), compute);
    const output = dropout.apply(dense('output.dense', inner), c.hiddenDropoutProb);
    hidden = ops.cast(layerNormF32(ops.add(output, afterAttention), p(`${layer}.output.LayerNorm.weight`), p(`${layer}.output.LayerNorm.bias`), c.layerNormEps), compute);
  }

  // pooler: the first token [B, 1, H] -> [B, H]
  const first = ops.reshape(ops.slice(hidden, [0, 0, 0], [batch, 1, h]), [batch, h]);
  const pooled = ops.tanh(linear(first, p('bert.pooler.dense.weight'), p('bert.pooler.dense.bias'), compute));
  const rate = headDropoutOf(c);
  if (spec.head.kind === 'linear') {
    return linear(dropout.apply(pooled, rate), p('classifier.weight'), p('classifier.bias'), compute);
  }
  const inner = ops.relu(linear(pooled, p('classifier.0.weight'), p('classifier.0.bias'), compute));
  return linear(dropout.apply(inner, rate), p('classifier.3.weight'), p('classifier.3.bias'), compute);
}

/**
 * Mean cross-entropy of `logits` [B, C] against `labels` (integers [B]) over the real
 * examples: `sum(weight * loss) / count`, where `weights` [B] (float, 1 for a real example, 0
 * for padding of a partial batch; all ones when omitted) and `count` defaults to
 * `max(sum(weights), 1)` (pass a global count for data-parallel shards). Computed in f32.
 * Sync; throws ShapeError for mismatched shapes.
 */
export function bertLoss(logits: Tensor, labels: Tensor, weights?: Tensor, count?: Tensor | number): Tensor {
  const losses = ops.crossEntropy(ops.cast(logits, 'f32'), labels, { reduction: 'none' }); // [B]
  if (!weights) return count === undefined ? ops.mean(losses) : ops.div(ops.sum(losses), count);
  const w = ops.cast(weights, 'f32');
  const denominator = count ?? ops.maximum(ops.sum(w), 1);
  return ops.div(ops.sum(ops.mul(losses, w)), denominator);
}
