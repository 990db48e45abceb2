/**
 * Multi-label classification (texts -> any subset of the labels): one logit per label, sigmoid
 * cross-entropy as `problem_type: "multi_label_classification"` computes it (BCEWithLogitsLoss,
 * the mean over examples x labels); metrics micro- and macro-F1 at a threshold (0.5), and the
 * exact-match ratio.
 */
import { ops, type Tensor } from '../trace/index.js';
import { formatMultiLabelReport } from './metrics-format.js';
import { multiLabelMetrics } from './metrics-tasks.js';
import type { Task } from './task.js';

/** `log(1 + e^-|x|) + max(x, 0) - x y`: torch's numerically stable binary cross-entropy with logits. */
function bceWithLogits(x: Tensor, y: Tensor): Tensor {
  const softplus = ops.log(ops.add(1, ops.exp(ops.neg(ops.abs(x)))));
  return ops.sub(ops.add(ops.maximum(x, 0), softplus), ops.mul(x, y));
}

/** The multi-label task; `threshold` decides a label from its probability (default 0.5). */
export function multiLabelTask(threshold = 0.5): Task {
  return {
    name: 'multi-label',
    problemType: 'multi_label_classification',
    granularity: 'sequence',
    targetDtype: 'f32',
    targetWidth: (labels) => labels,
    outputs: (labels) => labels,
    unitWeights: (_, weights) => ops.cast(weights, 'f32'),
    // mean over labels per example; the program's sum over examples / their count is then
    // HF's mean over examples x labels
    unitLosses: (logits, targets) => ops.mean(bceWithLogits(ops.cast(logits, 'f32'), targets), -1),
    hits(logits, targets) {
      // an exact match: every label on the right side of the threshold (logit > logit(threshold))
      const predicted = ops.cast(ops.greater(logits, Math.log(threshold / (1 - threshold))), 'f32');
      return ops.cast(ops.equal(ops.sum(ops.abs(ops.sub(predicted, targets)), -1), 0), 'f32');
    },
    report(logits, targets, labels) {
      const m = multiLabelMetrics(logits, targets, labels, { threshold, fromLogits: true });
      let loss = 0;
      for (let i = 0; i < logits.length; i++) {
        const x = logits[i]!;
        loss += Math.max(x, 0) - x * targets[i]! + Math.log1p(Math.exp(-Math.abs(x)));
      }
      return {
        metrics: { loss: logits.length ? loss / logits.length : 0, micro_f1: m.microF1, macro_f1: m.macroF1, exact_match: m.exactMatch },
        text: formatMultiLabelReport(m),
        details: { ...m },
      };
    },
  };
}
