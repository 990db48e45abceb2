/**
 * Plain-text tables of the task metrics, as `pjrt-bert evaluate` prints them: the per-class table
 * and confusion matrix of classification (laid out as scikit-learn's `classification_report`),
 * the per-label table of multi-label, the entity table of token classification (as seqeval's
 * report) and the regression figures. Pure functions of a report; they print nothing.
 */
import type { ClassificationReport } from './metrics.js';
import type { EntityMetrics } from './metrics-entities.js';
import type { MultiLabelMetrics, RegressionMetrics } from './metrics-tasks.js';

/** Options of the formatters. */
export interface FormatOptions {
  /** Digits after the decimal point of scores (default 4). */
  digits?: number;
}

interface Row {
  name: string;
  precision?: number;
  recall?: number;
  f1: number;
  support: number;
}

function score(value: number, digits: number): string {
  return Number.isNaN(value) ? 'nan' : value.toFixed(digits);
}

/** Scores table: a header, the rows, a blank line, the summary rows; names right-aligned. */
function scoresTable(rows: readonly Row[], summary: readonly Row[], digits: number): string {
  const names = [...rows, ...summary].map((r) => r.name);
  const nameWidth = Math.max(12, ...names.map((n) => n.length));
  const width = Math.max(9, digits + 3);
  const header = ['precision', 'recall', 'f1-score', 'support'].map((h) => h.padStart(width)).join(' ');
  const line = (r: Row) =>
    [
      r.name.padStart(nameWidth),
      (r.precision === undefined ? '' : score(r.precision, digits)).padStart(width),
      (r.recall === undefined ? '' : score(r.recall, digits)).padStart(width),
      score(r.f1, digits).padStart(width),
      String(r.support).padStart(width),
    ].join(' ');
  return [`${''.padStart(nameWidth)} ${header}`, '', ...rows.map(line), '', ...summary.map(line)].join('\n') + '\n';
}

/**
 * Per-class precision/recall/F1/support, accuracy, macro and weighted averages, then the
 * confusion matrix (rows: true class, columns: predicted), of a classification report. Class
 * names default to the class indices. Sync.
 * @throws RangeError when `labelNames` does not name every class of the report.
 */
export function formatClassificationReport(report: ClassificationReport, labelNames?: readonly string[], options: FormatOptions = {}): string {
  const digits = options.digits ?? 4;
  const names = labelNames ?? report.perClass.map((_, i) => String(i));
  if (names.length !== report.perClass.length) {
    throw new RangeError(`formatClassificationReport: ${names.length} label names for ${report.perClass.length} classes; pass one name per class`);
  }
  const rows = report.perClass.map((s, i) => ({ name: names[i]!, ...s }));
  const summary: Row[] = [
    { name: 'accuracy', f1: report.accuracy, support: report.examples },
    { name: 'macro avg', ...report.macro, support: report.examples },
    { name: 'weighted avg', ...report.weighted, support: report.examples },
  ];
  return `${scoresTable(rows, summary, digits)}\n${formatConfusion(report.confusion, names)}`;
}

/** The confusion matrix with row and column headers (rows: true class, columns: predicted). Sync. */
export function formatConfusion(confusion: readonly (readonly number[])[], names: readonly string[]): string {
  const rowWidth = Math.max('true \\ predicted'.length, ...names.map((n) => n.length));
  const widths = names.map((n, c) => Math.max(n.length, ...confusion.map((row) => String(row[c]).length)));
  const header = ['true \\ predicted'.padEnd(rowWidth), ...names.map((n, c) => n.padStart(widths[c]!))].join('  ');
  const lines = confusion.map((row, r) => [names[r]!.padEnd(rowWidth), ...row.map((v, c) => String(v).padStart(widths[c]!))].join('  '));
  return ['confusion matrix', header, ...lines].join('\n') + '\n';
}

/**
 * Per-label precision/recall/F1/support, micro and macro averages, exact-match ratio and Hamming
 * loss of a multi-label report. Sync; throws nothing.
 */
export function formatMultiLabelReport(metrics: MultiLabelMetrics, options: FormatOptions = {}): string {
  const digits = options.digits ?? 4;
  const support = metrics.perLabel.reduce((a, s) => a + s.support, 0);
  const rows = metrics.perLabel.map((s) => ({ name: s.label, ...s }));
  const summary: Row[] = [
    { name: 'micro avg', ...metrics.micro, support },
    { name: 'macro avg', ...metrics.macro, support },
  ];
  return (
    scoresTable(rows, summary, digits) +
    `\nexact match  ${score(metrics.exactMatch, digits)}\nhamming loss ${score(metrics.hammingLoss, digits)}\n` +
    `threshold    ${metrics.threshold}\nexamples     ${metrics.examples}\n`
  );
}

/**
 * Per-entity-type precision/recall/F1/support, micro, macro and weighted averages and token
 * accuracy of a token-classification report, laid out as seqeval's `classification_report`.
 * Sync; throws nothing.
 */
export function formatEntityReport(metrics: EntityMetrics, options: FormatOptions = {}): string {
  const digits = options.digits ?? 4;
  const rows = metrics.perType.map((s) => ({ name: s.type, ...s }));
  const summary: Row[] = [
    { name: 'micro avg', precision: metrics.precision, recall: metrics.recall, f1: metrics.f1, support: metrics.support },
    { name: 'macro avg', ...metrics.macro, support: metrics.support },
    { name: 'weighted avg', ...metrics.weighted, support: metrics.support },
  ];
  return (
    scoresTable(rows, summary, digits) +
    `\ntoken accuracy ${score(metrics.accuracy, digits)}\nsentences      ${metrics.sentences}\ntokens         ${metrics.tokens}\n`
  );
}

/** MSE, MAE, Pearson and Spearman correlations of a regression report, one per line. Sync; throws nothing. */
export function formatRegressionMetrics(metrics: RegressionMetrics, options: FormatOptions = {}): string {
  const digits = options.digits ?? 4;
  return [
    `mse       ${score(metrics.mse, digits)}`,
    `mae       ${score(metrics.mae, digits)}`,
    `pearson   ${score(metrics.pearson, digits)}`,
    `spearman  ${score(metrics.spearman, digits)}`,
    `examples  ${metrics.examples}`,
  ].join('\n') + '\n';
}
