/**
 * DistilBERT's sequence-classification head (`DistilBertForSequenceClassification`): on the
 * first token's hidden state, `pre_classifier` (Linear dim -> dim), ReLU, dropout at
 * `seq_classif_dropout`, then `classifier` (Linear dim -> labels). Unlike BERT's head there is
 * no pooler and no dropout before the first Linear.
 *
 *   hidden [B, S, H] -> first token [B, H] -> pre_classifier [B, H] -> relu -> dropout -> classifier [B, labels]
 */
import { linear } from '../nn/index.js';
import { ops } from '../trace/index.js';
import { apply } from './blocks.js';
import { type Head, classifierDropoutOf, initHead, linearShapes } from './head.js';
import type { EncoderConfigBase } from './hf-config.js';

/** A config that may carry DistilBERT's own classifier dropout. */
type WithSeqClassifDropout = EncoderConfigBase & { readonly seqClassifDropout?: number };

/**
 * The dropout before `classifier`: `classifierDropout` when set (the Trainer's `--dropout`
 * sets it), else DistilBERT's `seq_classif_dropout`, else the generic classifier dropout (on a
 * family that has no `seq_classif_dropout`).
 */
function headDropout(config: WithSeqClassifDropout): number {
  return config.classifierDropout ?? config.seqClassifDropout ?? classifierDropoutOf(config);
}

/** `pre_classifier` -> ReLU -> dropout -> `classifier` on the first token (see the module comment). */
export const distilbertHead: Head<WithSeqClassifDropout> = {
  granularity: 'sequence',
  usesPooled: false,
  paramShapes: ({ config, labels }) => {
    const shapes = new Map<string, number[]>();
    linearShapes(shapes, 'pre_classifier', config.hiddenSize, config.hiddenSize);
    linearShapes(shapes, 'classifier', labels, config.hiddenSize);
    return shapes;
  },
  initParam: initHead,
  apply: ({ config }, p, output, { dropout, compute }) => {
    const first = output.first; // [E, H]
    const inner = ops.relu(linear(first, p('pre_classifier.weight'), p('pre_classifier.bias'), compute)); // [B, H]
    return linear(apply(dropout, inner, headDropout(config)), p('classifier.weight'), p('classifier.bias'), compute); // [B, labels]
  },
};
