/**
 * Regression (texts or pairs -> one number, e.g. a similarity score): one output, mean squared
 * error as `<Family>ForSequenceClassification` with `problem_type: "regression"` computes it
 * (MSELoss over the squeezed output); metrics MSE, Pearson and Spearman correlation.
 */
import { ops } from '../trace/index.js';
import { formatRegressionMetrics } from './metrics-format.js';
import { regressionMetrics } from './metrics-tasks.js';
import type { Task } from './task.js';

/** The regression task. */
export const regressionTask: Task = {
  name: 'regression',
  problemType: 'regression',
  granularity: 'sequence',
  targetDtype: 'f32',
  targetWidth: () => 1,
  outputs: () => 1,
  unitWeights: (_, weights) => ops.cast(weights, 'f32'),
  unitLosses(logits, targets) {
    const difference = ops.sub(ops.reshape(ops.cast(logits, 'f32'), [logits.shape[0]!]), ops.reshape(targets, [targets.shape[0]!]));
    return ops.mul(difference, difference);
  },
  report(logits, targets) {
    const predictions = Float64Array.from(logits);
    const truth = Float64Array.from(targets);
    const metrics = regressionMetrics(predictions, truth);
    const { mse, mae, pearson, spearman } = metrics;
    return { metrics: { loss: mse, mse, mae, pearson, spearman }, text: formatRegressionMetrics(metrics), details: { ...metrics } };
  },
};
