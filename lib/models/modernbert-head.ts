/**
 * ModernBERT's task heads, as Hugging Face's `ModernBertForSequenceClassification` and
 * `ModernBertForTokenClassification`: the prediction head (`head.dense` -> the config's
 * `classifier_activation` -> `head.norm`), dropout (`classifier_dropout`), then `classifier`.
 * The sequence head first pools the encoder's output as `classifier_pooling` says: the first
 * token (`cls`) or the mean over real tokens (`mean`, masked by the attention mask); the token
 * head runs at every position. `head.dense` has a bias only with `classifier_bias`, `head.norm`
 * only with `norm_bias`; `classifier` always has one. Both heads have the same parameters, so
 * one directory serves both.
 */
import { type ComputeDType, type DropoutStream, type SeededRandom, activation, layerNormF32, linear } from '../nn/index.js';
import { ops, type Tensor } from '../trace/index.js';
import { apply } from './blocks.js';
import { type Head, type HeadContext, classifierDropoutOf } from './head.js';
import { type ModernBertConfig, initModernBertParam } from './modernbert.js';

/** The config, checked to be ModernBERT's (the heads read its own fields). */
function modernConfig(context: HeadContext<ModernBertConfig>): ModernBertConfig {
  const { config } = context;
  if (config.classifierPooling === undefined || config.classifierActivation === undefined) {
    throw new RangeError(`the modernbert heads need a ModernBERT config (model_type ${config.modelType} has no classifier_pooling); use --head linear, mlp:N or token`);
  }
  return config;
}

export { maskedMean } from './pooling.js';

function shapes(context: HeadContext<ModernBertConfig>): Map<string, number[]> {
  const c = modernConfig(context);
  const { labels } = context;
  const h = c.hiddenSize;
  const result = new Map<string, number[]>([['head.dense.weight', [h, h]]]);
  if (c.classifierBias) result.set('head.dense.bias', [h]);
  result.set('head.norm.weight', [h]);
  if (c.normBias) result.set('head.norm.bias', [h]);
  result.set('classifier.weight', [labels, h]);
  result.set('classifier.bias', [labels]);
  return result;
}

/** head.dense -> act -> head.norm -> dropout -> classifier over the last axis of `x` [..., H]. */
function predict(c: ModernBertConfig, p: (name: string) => Tensor, x: Tensor, dropout: DropoutStream | undefined, compute: ComputeDType): Tensor {
  const dense = linear(x, p('head.dense.weight'), c.classifierBias ? p('head.dense.bias') : undefined, compute);
  const normBias = c.normBias ? p('head.norm.bias') : ops.zeros([c.hiddenSize], 'f32');
  const normed = layerNormF32(activation(c.classifierActivation, 'modernbert classifier')(dense), p('head.norm.weight'), normBias, c.layerNormEps);
  return linear(apply(dropout, normed, classifierDropoutOf(c)), p('classifier.weight'), p('classifier.bias'), compute);
}

const init = (context: HeadContext<ModernBertConfig>, name: string, shape: readonly number[], random: SeededRandom): Float32Array => initModernBertParam(modernConfig(context), name, shape, random);

/** `ModernBertForSequenceClassification`'s head: pool (cls or masked mean), then the prediction head and classifier. */
export const modernBertHead: Head<ModernBertConfig> = {
  granularity: 'sequence',
  usesPooled: false,
  paramShapes: shapes,
  initParam: init,
  apply: (context, p, output, { dropout, compute, attentionMask }) => {
    const c = modernConfig(context);
    const pooled = c.classifierPooling === 'mean' ? output.mean() : output.first; // [E, H]
    return predict(c, p, pooled, dropout, compute);
  },
};

/** `ModernBertForTokenClassification`'s head: the prediction head and classifier at every position ([B, S, labels]). */
export const modernBertTokenHead: Head<ModernBertConfig> = {
  granularity: 'token',
  usesPooled: false,
  paramShapes: shapes,
  initParam: init,
  apply: (context, p, output, { dropout, compute }) => predict(modernConfig(context), p, output.sequence, dropout, compute),
};
