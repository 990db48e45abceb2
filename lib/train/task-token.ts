/**
 * Token classification (named entities, part-of-speech tags): a tag per word from the `token`
 * head, Hugging Face's convention for sub-tokens (the first sub-token of each word carries the
 * word's tag, every other position is -100 and ignored), cross-entropy averaged over the tagged
 * tokens of the global batch as `<Family>ForTokenClassification` computes it; metrics
 * entity-level precision, recall and F1 (IOB2, as seqeval) and token accuracy.
 */
import { ops, type Tensor } from '../trace/index.js';
import { entityMetrics } from './metrics-entities.js';
import { formatEntityReport } from './metrics-format.js';
import { IGNORED, type Task } from './task.js';

/** [m, S] targets with the ignored positions' -100 replaced by 0 (their loss is weighed 0). */
const clamped = (targets: Tensor): Tensor => ops.maximum(targets, 0);

/** The token-classification task. */
export const tokenClassificationTask: Task = {
  name: 'token-classification',
  problemType: undefined,
  granularity: 'token',
  targetDtype: 's32',
  targetWidth: (_, seqLen) => seqLen,
  outputs: (labels) => labels,
  unitWeights(targets, weights) {
    // tagged positions of real examples, [m, S]
    const [m, s] = targets.shape as [number, number];
    const keep = ops.cast(ops.notEqual(targets, IGNORED), 'f32');
    return ops.mul(keep, ops.broadcastTo(ops.reshape(ops.cast(weights, 'f32'), [m, 1]), [m, s]));
  },
  unitLosses: (logits, targets) => ops.crossEntropy(ops.cast(logits, 'f32'), clamped(targets), { reduction: 'none' }),
  hits: (logits, targets) => ops.cast(ops.equal(ops.argmax(logits, -1), clamped(targets)), 'f32'),
  report(logits, targets, labels, seqLen) {
    const classes = labels.length;
    const examples = targets.length / seqLen;
    const truth: string[][] = [];
    const predicted: string[][] = [];
    let loss = 0;
    let units = 0;
    for (let e = 0; e < examples; e++) {
      const wordsTrue: string[] = [];
      const wordsPredicted: string[] = [];
      for (let s = 0; s < seqLen; s++) {
        const target = targets[e * seqLen + s]!;
        if (target === IGNORED) continue;
        const row = logits.subarray((e * seqLen + s) * classes, (e * seqLen + s + 1) * classes);
        let max = -Infinity;
        let best = 0;
        for (let c = 0; c < classes; c++) if (row[c]! > max) [max, best] = [row[c]!, c];
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += Math.exp(row[c]! - max);
        loss += max + Math.log(sum) - row[target]!;
        units++;
        wordsTrue.push(labels[target]!);
        wordsPredicted.push(labels[best]!);
      }
      truth.push(wordsTrue);
      predicted.push(wordsPredicted);
    }
    const m = entityMetrics(truth, predicted);
    return {
      metrics: { loss: units ? loss / units : 0, precision: m.precision, recall: m.recall, f1: m.f1, accuracy: m.accuracy },
      text: formatEntityReport(m),
      details: { ...m },
    };
  },
};
