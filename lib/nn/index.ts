/**
 * `lib/nn`: layers over traced tensors in PyTorch's parameter layouts (Linear [out, in],
 * Embedding, LayerNorm) with an f32/bf16 compute dtype, a deterministic dropout stream, and
 * seeded Hugging Face-style initialisation.
 */
export { type ComputeDType, DropoutStream, embedding, embeddingWithPadding, finfoMin, layerNormF32, linear, splitKey } from './layers.js';
export { SeededRandom, constantValues, normalValues, truncatedNormalValues } from './init.js';
export { type AttentionMaskInputs, type Rotary, type SelfAttentionOptions, ACTIVATIONS, activation, attentionBias, rotaryTables, selfAttention } from './attention.js';
