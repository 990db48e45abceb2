/**
 * Building blocks the encoder families share (as Bumblebee's `Layers`): optional dropout,
 * input checks, Hugging Face's initialisation, and the post-LayerNorm transformer block of
 * BERT, RoBERTa, ELECTRA and DistilBERT (each family passes its parameter names).
 */
import { type ComputeDType, type DropoutStream, type SeededRandom, activation, constantValues, layerNormF32, linear, normalValues, selfAttention } from '../nn/index.js';
import { ops, type Tensor } from '../trace/index.js';
import type { EncoderInputs } from './family.js';
import type { EncoderConfigBase } from './hf-config.js';

/** Dropout through an optional stream. */
export function apply(dropout: DropoutStream | undefined, x: Tensor, rate: number): Tensor {
  return dropout ? dropout.apply(x, rate) : x;
}

/**
 * Checks the inputs against the family's positions and returns [B, S]. Sync; throws
 * RangeError naming the family and the shapes.
 */
export function checkInputs(family: string, inputs: EncoderInputs, maxPositions: number): [number, number] {
  if (inputs.inputIds.rank !== 2) throw new RangeError(`${family}: inputIds must be [batch, seqLen], got [${inputs.inputIds.shape.join(', ')}]`);
  const [batch, seqLen] = inputs.inputIds.shape as [number, number];
  if (seqLen > maxPositions) throw new RangeError(`${family}: sequence length ${seqLen} exceeds the ${maxPositions} positions of the model`);
  return [batch, seqLen];
}

/**
 * HF's `_init_weights` for BERT-like families: LayerNorm weights 1, biases 0, other weights
 * normal(0, initializerRange), the padding row of the word embeddings (`wordEmbeddings`) 0.
 * Sync; never throws.
 */
export function initLikeHf(config: EncoderConfigBase, name: string, shape: readonly number[], random: SeededRandom, wordEmbeddings: string): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (/(LayerNorm|layer_norm|norm)\.weight$/.test(name)) return constantValues(count, 1);
  if (name.endsWith('.bias')) return constantValues(count, 0);
  const data = normalValues(count, config.initializerRange, random);
  if (name === wordEmbeddings && config.padTokenId < shape[0]!) data.fill(0, config.padTokenId * shape[1]!, (config.padTokenId + 1) * shape[1]!);
  return data;
}

/** Parameter names inside a post-LayerNorm block, relative to the block's prefix. */
export interface BlockNames {
  query: string;
  key: string;
  value: string;
  attentionOutput: string;
  attentionNorm: string;
  intermediate: string;
  output: string;
  outputNorm: string;
}

/** BERT's (and RoBERTa's, ELECTRA's) names. */
export const BERT_BLOCK_NAMES: BlockNames = {
  query: 'attention.self.query',
  key: 'attention.self.key',
  value: 'attention.self.value',
  attentionOutput: 'attention.output.dense',
  attentionNorm: 'attention.output.LayerNorm',
  intermediate: 'intermediate.dense',
  output: 'output.dense',
  outputNorm: 'output.LayerNorm',
};

/**
 * One post-LayerNorm transformer block (BERT, RoBERTa, ELECTRA, DistilBERT): self-attention,
 * dropout, residual, LayerNorm; feed-forward (the config's activation), dropout, residual,
 * LayerNorm. `hidden` [B, S, H] in the compute dtype or f32; returns the compute dtype.
 * `dropoutAfterAttention: false` leaves out the dropout on the attention output (DistilBERT
 * has none there; BERT's `attention.output.dropout` is the default). Sync; throws as the
 * layers do.
 */
export function postLayerNormBlock(
  c: EncoderConfigBase,
  prefix: string,
  p: (name: string) => Tensor,
  hidden: Tensor,
  options: { bias?: Tensor; dropout?: DropoutStream; compute: ComputeDType; names: BlockNames; dropoutAfterAttention?: boolean },
): Tensor {
  const { dropout, compute, names } = options;
  const dense = (name: string, x: Tensor): Tensor => linear(x, p(`${prefix}.${name}.weight`), p(`${prefix}.${name}.bias`), compute);
  const norm = (name: string, x: Tensor): Tensor => layerNormF32(x, p(`${prefix}.${name}.weight`), p(`${prefix}.${name}.bias`), c.layerNormEps);
  const context = selfAttention(dense(names.query, hidden), dense(names.key, hidden), dense(names.value, hidden), {
    heads: c.numAttentionHeads,
    bias: options.bias,
    dropout,
    dropoutRate: c.attentionProbsDropoutProb,
    compute,
  });
  const projected = dense(names.attentionOutput, context);
  const attended = options.dropoutAfterAttention === false ? projected : apply(dropout, projected, c.hiddenDropoutProb);
  const afterAttention = norm(names.attentionNorm, ops.add(attended, ops.cast(hidden, 'f32')));
  const inner = ops.cast(activation(c.hiddenAct, c.modelType)(dense(names.intermediate, ops.cast(afterAttention, compute))), compute);
  const output = apply(dropout, dense(names.output, inner), c.hiddenDropoutProb);
  return ops.cast(norm(names.outputNorm, ops.add(output, afterAttention)), compute);
}
