/**
 * Regression and multi-label metrics, computed on the host in float64 as scikit-learn and scipy
 * compute them: `mean_squared_error`, `mean_absolute_error`, `scipy.stats.pearsonr`,
 * `scipy.stats.spearmanr` (average ranks for ties); for multi-label indicator rows
 * `f1_score(average='micro' | 'macro')`, `precision_recall_fscore_support(average=None)`,
 * `accuracy_score` (exact match) and `hamming_loss`, all with `zero_division=0`.
 */
import { type AverageScores, type ClassScores, averageScores, divideOrZero, scoresFromCounts } from './metrics.js';

/** Metrics of one regression evaluation pass. */
export interface RegressionMetrics {
  examples: number;
  /** Mean squared error. */
  mse: number;
  /** Mean absolute error. */
  mae: number;
  /** Pearson's r; NaN when either input is constant or there are fewer than 2 examples. */
  pearson: number;
  /** Spearman's rho (Pearson's r of the average ranks); NaN as `pearson`. */
  spearman: number;
}

/** Sum of `values` with Neumaier's compensation (float64, error independent of the count); infinite sums as plain summing gives them. */
function sum(values: ArrayLike<number>): number {
  let total = 0;
  let compensation = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const next = total + v;
    compensation += Math.abs(total) >= Math.abs(v) ? total - next + v : v - next + total;
    total = next;
  }
  return Number.isFinite(total) ? total + compensation : total; // an infinity makes the compensation NaN
}

function isConstant(values: ArrayLike<number>): boolean {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[0]) return false;
  return true;
}

/**
 * Pearson's r of two equally long float64 vectors: NaN for fewer than 2 values, any NaN, or a
 * constant input (scipy returns NaN with a ConstantInputWarning, and raises for fewer than 2).
 */
function pearson(x: Float64Array, y: Float64Array): number {
  if (x.length < 2 || isConstant(x) || isConstant(y)) return NaN;
  const n = x.length;
  const meanX = sum(x) / n;
  const meanY = sum(y) / n;
  // Deviations scaled by their largest magnitude (as scipy), so squares of huge values do not overflow.
  let scaleX = 0;
  let scaleY = 0;
  for (let i = 0; i < n; i++) {
    scaleX = Math.max(scaleX, Math.abs(x[i]! - meanX));
    scaleY = Math.max(scaleY, Math.abs(y[i]! - meanY));
  }
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const dx = (x[i]! - meanX) / scaleX;
    const dy = (y[i]! - meanY) / scaleY;
    xx[i] = dx * dx;
    yy[i] = dy * dy;
    xy[i] = dx * dy;
  }
  const r = sum(xy) / Math.sqrt(sum(xx) * sum(yy));
  return Number.isNaN(r) ? NaN : Math.min(1, Math.max(-1, r));
}

/** 1-based ranks, ties given the mean of the ranks they span (`scipy.stats.rankdata`). */
function averageRanks(values: Float64Array): Float64Array {
  const order = Array.from(values.keys()).sort((a, b) => values[a]! - values[b]! || a - b);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    const rank = (start + 1 + end) / 2; // mean of start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/**
 * MSE, MAE, Pearson's r and Spearman's rho of `predictions` against `targets`, in float64 (float32
 * inputs are widened first). Constant predictions or targets, or fewer than 2 examples, give NaN
 * correlations, as scipy does for constant input (it raises for fewer than 2); any NaN in the
 * inputs gives NaN correlations (scipy's nan_policy='propagate'). No examples give NaN throughout.
 * Sync.
 * @throws RangeError when the two arrays differ in length.
 */
export function regressionMetrics(predictions: ArrayLike<number>, targets: ArrayLike<number>): RegressionMetrics {
  if (predictions.length !== targets.length) {
    throw new RangeError(`regressionMetrics: ${predictions.length} predictions but ${targets.length} targets; pass one prediction per example`);
  }
  const n = predictions.length;
  const x = Float64Array.from(predictions);
  const y = Float64Array.from(targets);
  const squared = new Float64Array(n);
  const absolute = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = x[i]! - y[i]!;
    squared[i] = d * d;
    absolute[i] = Math.abs(d);
  }
  const hasNaN = x.some(Number.isNaN) || y.some(Number.isNaN);
  return {
    examples: n,
    mse: sum(squared) / n,
    mae: sum(absolute) / n,
    pearson: hasNaN ? NaN : pearson(x, y),
    spearman: hasNaN ? NaN : pearson(averageRanks(x), averageRanks(y)),
  };
}

/** Options of `multiLabelMetrics` and `multiLabelPredictions`. */
export interface MultiLabelOptions {
  /** A label is predicted when its probability is strictly greater than this (default 0.5). */
  threshold?: number;
  /** The values are logits: the probability is their sigmoid, 1 / (1 + e^-x) in float64. */
  fromLogits?: boolean;
}

/** Scores of one label of a multi-label task. */
export interface LabelScores extends ClassScores {
  label: string;
}

/** Metrics of one multi-label evaluation pass. */
export interface MultiLabelMetrics {
  examples: number;
  threshold: number;
  /** Precision, recall and F1 from the true positives, predictions and truths of all labels together. */
  micro: AverageScores;
  microF1: number;
  /** Unweighted means over every label, a label never true nor predicted counting 0. */
  macro: AverageScores;
  macroF1: number;
  /** One row per label, in the order given. */
  perLabel: LabelScores[];
  /** Fraction of examples whose predicted label set equals the true one. */
  exactMatch: number;
  /** Fraction of (example, label) cells predicted wrong. */
  hammingLoss: number;
}

/** Flat row-major view of [rows, labels] 0/1 or score values given flat or as rows. */
function flatten(values: ArrayLike<number> | readonly ArrayLike<number>[], labels: number, what: string): ArrayLike<number> {
  if (values.length === 0 || typeof values[0] === 'number') {
    const flat = values as ArrayLike<number>;
    if (flat.length % labels !== 0) throw new RangeError(`multiLabelMetrics: ${what} hold ${flat.length} values, not a multiple of the ${labels} labels`);
    return flat;
  }
  const rows = values as readonly ArrayLike<number>[];
  const flat = new Float64Array(rows.length * labels);
  rows.forEach((row, r) => {
    if (row.length !== labels) throw new RangeError(`multiLabelMetrics: ${what} row ${r} has ${row.length} values but there are ${labels} labels`);
    for (let c = 0; c < labels; c++) flat[r * labels + c] = row[c]!;
  });
  return flat;
}

/**
 * The 0/1 predictions of [examples, labels] probabilities (or logits with `fromLogits`): 1 where
 * the probability is strictly greater than `threshold` (default 0.5). Given flat (row-major) or as
 * rows; returns them flat. Sync.
 * @throws RangeError when the threshold is not a number in [0, 1] or the values do not fill rows.
 */
export function multiLabelPredictions(values: ArrayLike<number> | readonly ArrayLike<number>[], labels: number, options: MultiLabelOptions = {}): Uint8Array {
  const threshold = options.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`multi-label threshold ${threshold} is not a probability in [0, 1]; pass --threshold between 0 and 1`);
  const flat = flatten(values, labels, 'predictions');
  const out = new Uint8Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const probability = options.fromLogits ? 1 / (1 + Math.exp(-flat[i]!)) : flat[i]!;
    out[i] = probability > threshold ? 1 : 0;
  }
  return out;
}

/**
 * Micro- and macro-F1, per-label precision/recall/F1/support, exact-match ratio and Hamming loss
 * of [examples, labels] probabilities (or logits with `fromLogits`) against 0/1 `targets`, a label
 * predicted when its probability is strictly greater than `threshold` (default 0.5). Scores and
 * targets may be flat (row-major) or rows. Undefined precision, recall or F1 count 0 (scikit-learn's
 * zero_division=0); with no examples, exact match and Hamming loss are NaN. Sync.
 * @throws RangeError when the shapes disagree, a target is not 0 or 1, or the threshold is not in [0, 1].
 */
export function multiLabelMetrics(
  probabilitiesOrLogits: ArrayLike<number> | readonly ArrayLike<number>[],
  targets: ArrayLike<number> | readonly ArrayLike<number>[],
  labels: readonly string[],
  options: MultiLabelOptions = {},
): MultiLabelMetrics {
  const k = labels.length;
  if (k === 0) throw new RangeError('multiLabelMetrics: no labels; pass the label names of the task');
  const predicted = multiLabelPredictions(probabilitiesOrLogits, k, options);
  const truth = flatten(targets, k, 'targets');
  if (truth.length !== predicted.length) {
    throw new RangeError(`multiLabelMetrics: ${predicted.length / k} prediction rows but ${truth.length / k} target rows; pass one row per example`);
  }
  const examples = truth.length / k;
  const truePositives = new Array<number>(k).fill(0);
  const predictedCounts = new Array<number>(k).fill(0);
  const actualCounts = new Array<number>(k).fill(0);
  let exact = 0;
  let wrongCells = 0;
  for (let r = 0; r < examples; r++) {
    let rowWrong = 0;
    for (let c = 0; c < k; c++) {
      const t = truth[r * k + c]!;
      if (t !== 0 && t !== 1) throw new RangeError(`multiLabelMetrics: target ${t} at example ${r}, label "${labels[c]}" is not 0 or 1`);
      const p = predicted[r * k + c]!;
      truePositives[c]! += t & p;
      predictedCounts[c]! += p;
      actualCounts[c]! += t;
      if (t !== p) rowWrong++;
    }
    if (rowWrong === 0) exact++;
    wrongCells += rowWrong;
  }
  const perLabel = labels.map((label, c) => ({ label, ...scoresFromCounts(truePositives[c]!, predictedCounts[c]!, actualCounts[c]!) }));
  const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const microScores = scoresFromCounts(total(truePositives), total(predictedCounts), total(actualCounts));
  const micro = { precision: microScores.precision, recall: microScores.recall, f1: microScores.f1 };
  const { macro } = averageScores(perLabel);
  return {
    examples,
    threshold: options.threshold ?? 0.5,
    micro,
    microF1: micro.f1,
    macro,
    macroF1: macro.f1,
    perLabel,
    exactMatch: examples ? exact / examples : NaN,
    hammingLoss: examples ? divideOrZero(wrongCells, examples * k) : NaN,
  };
}
