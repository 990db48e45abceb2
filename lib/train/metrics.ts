/**
 * Classification metrics computed on the host from predictions, as scikit-learn computes them
 * (`accuracy_score`, `precision_recall_fscore_support(zero_division=0)`, `f1_score(average=
 * 'macro' | 'weighted')`, `confusion_matrix`), plus the softmax/argmax helpers of evaluation
 * and prediction. The other tasks' metrics are in metrics-tasks.ts (regression, multi-label) and
 * metrics-entities.ts (token classification); their text tables in metrics-format.ts.
 */

/** Precision, recall and F1 of one class (or one entity type, one label). */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** Number of true examples of the class. */
  support: number;
}

/** An average of per-class precision, recall and F1. */
export interface AverageScores {
  precision: number;
  recall: number;
  f1: number;
}

/** Metrics of one classification evaluation pass. */
export interface ClassificationReport {
  examples: number;
  accuracy: number;
  /** Unweighted mean of the per-class F1 over the classes present (in truth or predictions). */
  macroF1: number;
  /** Mean of the per-class F1 weighted by support (`f1_score(average='weighted')`). */
  weightedF1: number;
  /** Scores of each class 0..numLabels-1, 0 where undefined (scikit-learn's zero_division=0). */
  perClass: ClassScores[];
  /** Macro averages over the classes present (`macroF1` is `macro.f1`). */
  macro: AverageScores;
  /** Support-weighted averages (`weightedF1` is `weighted.f1`). */
  weighted: AverageScores;
  /** `confusion[trueLabel][predictedLabel]`. */
  confusion: number[][];
}

/**
 * `numerator / denominator`, or 0 when the denominator is 0: scikit-learn's `_prf_divide` with
 * `zero_division=0`. Sync; throws nothing.
 */
export function divideOrZero(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/**
 * Precision, recall and F1 from counts as scikit-learn computes them: F1 = 2·tp / (true +
 * predicted), each 0 when its denominator is 0. Sync; throws nothing.
 */
export function scoresFromCounts(truePositives: number, predicted: number, actual: number): ClassScores {
  return {
    precision: divideOrZero(truePositives, predicted),
    recall: divideOrZero(truePositives, actual),
    f1: divideOrZero(2 * truePositives, actual + predicted),
    support: actual,
  };
}

/**
 * Unweighted and support-weighted means of `scores` (all of them: the caller picks which classes
 * count). With no scores both are NaN (numpy's mean of nothing); when every support is 0 the
 * weighted mean is the unweighted one (scikit-learn's `_nanaverage`). Sync; throws nothing.
 */
export function averageScores(scores: readonly ClassScores[]): { macro: AverageScores; weighted: AverageScores } {
  const sum = { precision: 0, recall: 0, f1: 0 };
  const weightedSum = { precision: 0, recall: 0, f1: 0 };
  let weights = 0;
  for (const s of scores) {
    sum.precision += s.precision;
    sum.recall += s.recall;
    sum.f1 += s.f1;
    weightedSum.precision += s.precision * s.support;
    weightedSum.recall += s.recall * s.support;
    weightedSum.f1 += s.f1 * s.support;
    weights += s.support;
  }
  const n = scores.length;
  const macro = { precision: sum.precision / n, recall: sum.recall / n, f1: sum.f1 / n };
  const weighted =
    weights === 0 ? { ...macro } : { precision: weightedSum.precision / weights, recall: weightedSum.recall / weights, f1: weightedSum.f1 / weights };
  return { macro, weighted };
}

/**
 * Accuracy, per-class precision/recall/F1/support, macro and weighted averages and the confusion
 * matrix of `predicted` against `truth` over `numLabels` classes, as scikit-learn with
 * `zero_division=0`. The averages count only the classes present in truth or predictions (as
 * `f1_score` without `labels`); a class that is neither true nor predicted for any example still
 * has a `perClass` row of zeros. With no examples, accuracy and the averages are 0. Sync.
 * @throws RangeError when the arrays differ in length or hold a label outside [0, numLabels).
 */
export function classificationReport(truth: ArrayLike<number>, predicted: ArrayLike<number>, numLabels: number): ClassificationReport {
  if (truth.length !== predicted.length) throw new RangeError(`classificationReport: ${truth.length} labels but ${predicted.length} predictions`);
  const confusion = Array.from({ length: numLabels }, () => new Array<number>(numLabels).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (!(Number.isInteger(t) && Number.isInteger(p) && t >= 0 && t < numLabels && p >= 0 && p < numLabels)) {
      throw new RangeError(`classificationReport: example ${i}: label ${t} or prediction ${p} is not a class index in 0..${numLabels - 1}`);
    }
    confusion[t]![p]!++;
    if (t === p) correct++;
  }
  const perClass: ClassScores[] = [];
  const present: ClassScores[] = [];
  for (let c = 0; c < numLabels; c++) {
    const actual = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedCount = confusion.reduce((sum, row) => sum + row[c]!, 0);
    const scores = scoresFromCounts(confusion[c]![c]!, predictedCount, actual);
    perClass.push(scores);
    if (actual + predictedCount > 0) present.push(scores);
  }
  const zero = { precision: 0, recall: 0, f1: 0 };
  const { macro, weighted } = present.length ? averageScores(present) : { macro: zero, weighted: { ...zero } };
  return {
    examples: truth.length,
    accuracy: truth.length ? correct / truth.length : 0,
    macroF1: macro.f1,
    weightedF1: weighted.f1,
    perClass,
    macro,
    weighted,
    confusion,
  };
}

/** Index of the largest value in each row of a row-major [rows, cols] matrix. Sync. */
export function argmaxRows(values: ArrayLike<number>, cols: number): Int32Array {
  const rows = values.length / cols;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (values[r * cols + c]! > values[r * cols + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** Row-wise softmax of a [rows, cols] matrix, in float64. Sync. */
export function softmaxRows(values: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < values.length / cols; r++) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, values[r * cols + c]!);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += out[r * cols + c] = Math.exp(values[r * cols + c]! - max);
    for (let c = 0; c < cols; c++) out[r * cols + c]! /= sum;
  }
  return out;
}
