/**
 * Classification metrics computed on the host from predictions: accuracy and macro-F1 (the
 * unweighted mean of per-class F1, as scikit-learn's `f1_score(average='macro')`, counting a
 * class with no true and no predicted examples as absent).
 */

/** Counts of one evaluation pass. */
export interface ClassificationReport {
  examples: number;
  accuracy: number;
  macroF1: number;
  /** `confusion[trueLabel][predictedLabel]`. */
  confusion: number[][];
}

/**
 * Accuracy, macro-F1 and the confusion matrix of `predicted` against `truth` over `numLabels`
 * classes. Sync.
 * @throws RangeError when the arrays differ in length or hold a label outside [0, numLabels).
 */
export function classificationReport(truth: ArrayLike<number>, predicted: ArrayLike<number>, numLabels: number): ClassificationReport {
  if (truth.length !== predicted.length) throw new RangeError(`classificationReport: ${truth.length} labels but ${predicted.length} predictions`);
  const confusion = Array.from({ length: numLabels }, () => new Array<number>(numLabels).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (!(t >= 0 && t < numLabels && p >= 0 && p < numLabels)) throw new RangeError(`classificationReport: label ${t} or prediction ${p} outside 0..${numLabels - 1}`);
    confusion[t]![p]!++;
    if (t === p) correct++;
  }
  let f1Sum = 0;
  let classes = 0;
  for (let c = 0; c < numLabels; c++) {
    const truePositive = confusion[c]![c]!;
    const actual = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedCount = confusion.reduce((sum, row) => sum + row[c]!, 0);
    if (actual === 0 && predictedCount === 0) continue;
    classes++;
    f1Sum += actual + predictedCount === 0 ? 0 : (2 * truePositive) / (actual + predictedCount);
  }
  return { examples: truth.length, accuracy: truth.length ? correct / truth.length : 0, macroF1: classes ? f1Sum / classes : 0, confusion };
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
