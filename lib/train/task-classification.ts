/**
 * Single-label classification (texts or text pairs -> one class): the family's own head,
 * cross-entropy as `<Family>ForSequenceClassification` computes it, accuracy and macro-F1.
 */
import { ops } from '../trace/index.js';
import { classificationReport } from './metrics.js';
import { formatClassificationReport } from './metrics-format.js';
import type { Task } from './task.js';

/** The classification task. */
export const classificationTask: Task = {
  name: 'classification',
  problemType: 'single_label_classification',
  granularity: 'sequence',
  targetDtype: 's32',
  targetWidth: () => 1,
  outputs: (labels) => labels,
  unitWeights: (_, weights) => ops.cast(weights, 'f32'),
  unitLosses(logits, targets) {
    const labels = ops.reshape(targets, [targets.shape[0]!]); // [m, 1] -> [m]
    return ops.crossEntropy(ops.cast(logits, 'f32'), labels, { reduction: 'none' });
  },
  hits(logits, targets) {
    return ops.cast(ops.equal(ops.argmax(logits, -1), ops.reshape(targets, [targets.shape[0]!])), 'f32');
  },
  report(logits, targets, labels) {
    const classes = labels.length;
    const truth = Int32Array.from(targets);
    let loss = 0;
    const predicted = new Int32Array(truth.length);
    for (let i = 0; i < truth.length; i++) {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      let max = -Infinity;
      let best = 0;
      for (let c = 0; c < classes; c++) if (row[c]! > max) [max, best] = [row[c]!, c];
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += Math.exp(row[c]! - max);
      loss += max + Math.log(sum) - row[truth[i]!]!;
      predicted[i] = best;
    }
    const report = classificationReport(truth, predicted, classes);
    return {
      metrics: { loss: truth.length ? loss / truth.length : 0, accuracy: report.accuracy, f1: report.macroF1 },
      text: formatClassificationReport(report, labels),
      details: {
        perClass: report.perClass.map((scores, i) => ({ label: labels[i], ...scores })),
        macro: report.macro,
        weighted: report.weighted,
        confusion: { labels: [...labels], rows: 'true label', columns: 'predicted label', matrix: report.confusion },
      },
    };
  },
};
