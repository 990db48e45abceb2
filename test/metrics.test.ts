// The task metrics (lib/train/metrics*.ts) against scikit-learn, scipy and seqeval, all cases
// computed in one Python process (test/reference/metrics_reference.py): generated predictions,
// random and adversarial (ties, constant inputs, empty classes, all-O sentences, I- after O, type
// changes, IOBES, odd tags); float64 results within 1e-12, counts exactly. Then the errors, the
// documented NaN cases and the text tables.
import t, { type Test } from 'tap';

import { type ClassScores, classificationReport } from '../lib/train/metrics.js';
import { entityMetrics, extractEntities } from '../lib/train/metrics-entities.js';
import { formatClassificationReport, formatEntityReport, formatMultiLabelReport, formatRegressionMetrics } from '../lib/train/metrics-format.js';
import { multiLabelMetrics, multiLabelPredictions, regressionMetrics } from '../lib/train/metrics-tasks.js';
import { runPythonJson } from './reference/python.js';

/** mulberry32: a small seeded generator, so every run checks the same cases. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const random = generator(12);
const int = (n: number) => Math.floor(random() * n);
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

interface ClassificationCase { kind: 'classification'; name: string; truth: number[]; predicted: number[]; numLabels: number }
interface RegressionCase { kind: 'regression'; name: string; predictions: number[]; targets: number[] }
interface MultiLabelCase { kind: 'multilabel'; name: string; scores: number[][]; targets: number[][]; threshold: number; fromLogits: boolean }
interface EntityCase { kind: 'entities'; name: string; truth: string[][]; predicted: string[][] }
type Case = ClassificationCase | RegressionCase | MultiLabelCase | EntityCase;

const cases: Case[] = [];
// Classification: random, with a class never seen, one only predicted, one only true, perfect, one example.
{
  const truth = Array.from({ length: 300 }, () => int(5));
  const predicted = truth.map((y) => (random() < 0.6 ? y : int(5)));
  cases.push({ kind: 'classification', name: 'random 5 classes', truth, predicted, numLabels: 5 });
  const t2 = Array.from({ length: 80 }, () => pick([0, 1, 4]));
  const p2 = t2.map((y) => (random() < 0.5 ? y : pick([0, 2, 4])));
  cases.push({ kind: 'classification', name: 'class 3 and 5 absent, 2 only predicted, 1 only true', truth: t2, predicted: p2, numLabels: 6 });
  cases.push({ kind: 'classification', name: 'perfect', truth: [2, 0, 1, 1], predicted: [2, 0, 1, 1], numLabels: 3 });
  cases.push({ kind: 'classification', name: 'one example, wrong', truth: [1], predicted: [0], numLabels: 3 });
  cases.push({ kind: 'classification', name: 'all predicted one class', truth: [0, 1, 2, 1, 0, 2, 2], predicted: [2, 2, 2, 2, 2, 2, 2], numLabels: 3 });
}
// Regression: random, ties, constant, a single example, monotone but not linear, float32, large offsets.
{
  const targets = Array.from({ length: 200 }, normal);
  cases.push({ kind: 'regression', name: 'random', targets, predictions: targets.map((y) => 0.7 * y + 0.5 * normal()) });
  const tiedTargets = Array.from({ length: 60 }, () => int(5));
  cases.push({ kind: 'regression', name: 'ties in both', targets: tiedTargets, predictions: tiedTargets.map((y) => Math.round(y + normal())) });
  cases.push({ kind: 'regression', name: 'constant targets', targets: [3, 3, 3, 3], predictions: [1, 2, 3, 4] });
  cases.push({ kind: 'regression', name: 'constant predictions', targets: [1, 2, 3, 4], predictions: [0.5, 0.5, 0.5, 0.5] });
  cases.push({ kind: 'regression', name: 'one example', targets: [2], predictions: [1.5] });
  cases.push({ kind: 'regression', name: 'two examples, negative', targets: [0, 1], predictions: [1, -1] });
  const x = Array.from({ length: 40 }, () => random() * 4);
  cases.push({ kind: 'regression', name: 'monotone, not linear', targets: x, predictions: x.map((v) => Math.exp(v)) });
  cases.push({ kind: 'regression', name: 'float32 predictions', targets, predictions: targets.map((y) => Math.fround(y + 0.3 * normal())) });
  cases.push({ kind: 'regression', name: 'huge values: squares overflow', targets: targets.map((y) => 1e200 * y), predictions: targets.map((y) => 1e200 * (y + normal())) });
  cases.push({ kind: 'regression', name: 'offset 1000', targets: targets.map((y) => 1000 + y), predictions: targets.map((y) => 1000 - y + normal()) });
}
// Multi-label: probabilities, logits at another threshold, a label never true nor predicted,
// values exactly at the threshold, logits of exactly 0.
{
  const rows = 70;
  const targets = Array.from({ length: rows }, () => Array.from({ length: 6 }, () => (random() < 0.3 ? 1 : 0)));
  const scores = targets.map((row) => row.map((y) => Math.min(1, Math.max(0, (y ? 0.65 : 0.3) + 0.3 * normal()))));
  cases.push({ kind: 'multilabel', name: 'probabilities', scores, targets, threshold: 0.5, fromLogits: false });
  const logits = targets.map((row) => row.map((y) => (y ? 1 : -1) + 1.5 * normal()));
  cases.push({ kind: 'multilabel', name: 'logits at 0.3', scores: logits, targets, threshold: 0.3, fromLogits: true });
  const silent = targets.map((row) => [...row.slice(0, 3), 0]);
  cases.push({ kind: 'multilabel', name: 'a label never true nor predicted', scores: scores.map((row) => [...row.slice(0, 3), 0.1]), targets: silent, threshold: 0.5, fromLogits: false });
  cases.push({ kind: 'multilabel', name: 'exactly at the threshold', scores: [[0.5, 0.7], [0.2, 0.5], [0.5, 0.5]], targets: [[1, 1], [0, 1], [0, 0]], threshold: 0.5, fromLogits: false });
  cases.push({ kind: 'multilabel', name: 'logits of 0', scores: [[0, 3], [-2, 0], [0, 0]], targets: [[0, 1], [0, 1], [1, 0]], threshold: 0.5, fromLogits: true });
}
// Token classification.
{
  const types = ['PER', 'LOC', 'ORG', 'MISC'];
  const sentence = () => {
    const tags: string[] = [];
    const length = int(14);
    while (tags.length < length) {
      if (random() < 0.6) tags.push('O');
      else {
        const type = pick(types);
        tags.push(`B-${type}`);
        for (let k = int(3); k > 0; k--) tags.push(`I-${type}`);
      }
    }
    return tags.slice(0, length);
  };
  const corrupt = (tags: string[]) => tags.map((tag) => (random() < 0.15 ? pick(['O', ...types.flatMap((x) => [`B-${x}`, `I-${x}`])]) : tag));
  const truth = Array.from({ length: 120 }, sentence);
  cases.push({ kind: 'entities', name: 'random IOB2, corrupted predictions', truth, predicted: truth.map(corrupt) });
  cases.push({ kind: 'entities', name: 'all O, both', truth: [['O', 'O'], ['O']], predicted: [['O', 'O'], ['O']] });
  cases.push({ kind: 'entities', name: 'nothing predicted', truth: [['B-PER', 'I-PER', 'O'], ['B-LOC']], predicted: [['O', 'O', 'O'], ['O']] });
  cases.push({
    kind: 'entities',
    name: 'I- after O, type changes, B-X I-Y, across sentences',
    truth: [['O', 'I-PER', 'I-PER', 'O', 'B-LOC', 'I-LOC'], ['I-LOC', 'B-PER', 'I-ORG'], [], ['B-MISC', 'I-MISC']],
    predicted: [['O', 'B-PER', 'I-PER', 'O', 'B-LOC', 'I-PER'], ['I-LOC', 'I-PER', 'I-ORG'], [], ['I-MISC', 'I-MISC']],
  });
  cases.push({
    kind: 'entities',
    name: 'IOBES',
    truth: [['S-PER', 'B-LOC', 'E-LOC', 'O', 'B-ORG', 'I-ORG', 'E-ORG', 'E-ORG', 'S-PER', 'I-PER']],
    predicted: [['S-PER', 'B-LOC', 'I-LOC', 'E-LOC', 'E-ORG', 'I-ORG', 'E-ORG', 'S-ORG', 'B-PER', 'E-PER']],
  });
  cases.push({
    kind: 'entities',
    name: 'odd tags: bare B/I, ".", several dashes, not a position letter',
    truth: [['B', 'I', 'O', '.', 'I', 'B-I-X', 'I-I-X', 'X-FOO', 'O'], ['B-PER', '.', 'I-PER']],
    predicted: [['B', 'O', 'I', '.', 'I', 'B-I-X', 'I-X', 'X-FOO', 'XFOO'], ['B-PER', 'I-PER', '.']],
  });
  cases.push({
    kind: 'entities',
    name: 'types sorted by code point',
    truth: [['B-Z', 'B-a', 'B-\u00c9', 'B-\ud83d\ude00', 'B-\ufb00', 'O']],
    predicted: [['B-Z', 'I-a', 'B-\u00c9', 'B-\ufb00', 'B-\ud83d\ude00', 'B-Z']],
  });
}

type Json = number | null | 'Infinity' | '-Infinity';
const reference = await runPythonJson<Record<string, unknown>[]>('metrics_reference.py', [], cases);

let largestDifference = 0;
/** `actual` within 1e-12 of `expected` (relative above 1), NaN and infinities where Python has them. */
function close(t: Test, actual: number, expected: Json, what: string): void {
  if (expected === null) return void t.ok(Number.isNaN(actual), `${what}: NaN as Python (got ${actual})`);
  if (typeof expected === 'string') return void t.equal(actual, Number(expected), `${what}: ${expected} as Python`);
  const difference = Math.abs(actual - expected) / Math.max(1, Math.abs(expected));
  largestDifference = Math.max(largestDifference, difference);
  t.ok(difference <= 1e-12, `${what}: ${actual} vs ${expected}`);
}
type Scores = { precision: Json; recall: Json; f1: Json; support?: number };
function closeScores(t: Test, actual: Partial<ClassScores> & { precision: number; recall: number; f1: number }, expected: Scores, what: string): void {
  close(t, actual.precision, expected.precision, `${what} precision`);
  close(t, actual.recall, expected.recall, `${what} recall`);
  close(t, actual.f1, expected.f1, `${what} f1`);
  if (expected.support !== undefined) t.equal(actual.support, expected.support, `${what} support`);
}

t.test('classification matches scikit-learn', async (t) => {
  cases.forEach((c, i) => {
    if (c.kind !== 'classification') return;
    const want = reference[i] as { accuracy: Json; macroF1: Json; weightedF1: Json; macro: Scores; weighted: Scores; perClass: Scores[]; confusion: number[][] };
    const got = classificationReport(c.truth, c.predicted, c.numLabels);
    close(t, got.accuracy, want.accuracy, `${c.name}: accuracy`);
    close(t, got.macroF1, want.macroF1, `${c.name}: macro-F1`);
    close(t, got.weightedF1, want.weightedF1, `${c.name}: weighted F1`);
    closeScores(t, got.macro, want.macro, `${c.name}: macro`);
    closeScores(t, got.weighted, want.weighted, `${c.name}: weighted`);
    t.equal(got.perClass.length, c.numLabels);
    got.perClass.forEach((s, k) => closeScores(t, s, want.perClass[k]!, `${c.name}: class ${k}`));
    t.same(got.confusion, want.confusion, `${c.name}: confusion`);
  });
});

t.test('regression matches scikit-learn and scipy', async (t) => {
  cases.forEach((c, i) => {
    if (c.kind !== 'regression') return;
    const want = reference[i] as { mse: Json; mae: Json; pearson: Json; spearman: Json };
    const got = regressionMetrics(Float64Array.from(c.predictions), c.targets);
    t.equal(got.examples, c.targets.length);
    for (const key of ['mse', 'mae', 'pearson', 'spearman'] as const) close(t, got[key], want[key], `${c.name}: ${key}`);
  });
});

t.test('multi-label matches scikit-learn', async (t) => {
  cases.forEach((c, i) => {
    if (c.kind !== 'multilabel') return;
    const want = reference[i] as { predicted: number[]; micro: Scores; macro: Scores; microF1: Json; macroF1: Json; perLabel: Scores[]; exactMatch: Json; hammingLoss: Json };
    const labels = c.targets[0]!.map((_, k) => `label${k}`);
    const options = { threshold: c.threshold, fromLogits: c.fromLogits };
    t.same([...multiLabelPredictions(c.scores, labels.length, options)], want.predicted, `${c.name}: predictions`);
    const flat = multiLabelMetrics(Float64Array.from(c.scores.flat()), c.targets.flat(), labels, options);
    const got = multiLabelMetrics(c.scores, c.targets, labels, options);
    t.same(flat, got, `${c.name}: flat and row inputs agree`);
    closeScores(t, got.micro, want.micro, `${c.name}: micro`);
    closeScores(t, got.macro, want.macro, `${c.name}: macro`);
    close(t, got.microF1, want.microF1, `${c.name}: micro-F1`);
    close(t, got.macroF1, want.macroF1, `${c.name}: macro-F1`);
    got.perLabel.forEach((s, k) => {
      t.equal(s.label, labels[k]);
      closeScores(t, s, want.perLabel[k]!, `${c.name}: label ${k}`);
    });
    close(t, got.exactMatch, want.exactMatch, `${c.name}: exact match`);
    close(t, got.hammingLoss, want.hammingLoss, `${c.name}: Hamming loss`);
  });
});

t.test('entities match seqeval', async (t) => {
  cases.forEach((c, i) => {
    if (c.kind !== 'entities') return;
    const want = reference[i] as {
      precision: Json; recall: Json; f1: Json; accuracy: Json; types: string[]; perType: Record<string, Scores>;
      micro: Scores; macro: Scores; weighted: Scores; sentenceEntities: [string, number, number][][];
    };
    const got = entityMetrics(c.truth, c.predicted);
    close(t, got.precision, want.precision, `${c.name}: precision`);
    close(t, got.recall, want.recall, `${c.name}: recall`);
    close(t, got.f1, want.f1, `${c.name}: f1`);
    close(t, got.accuracy, want.accuracy, `${c.name}: token accuracy`);
    closeScores(t, { ...got, support: got.support }, want.micro, `${c.name}: micro avg`);
    closeScores(t, got.macro, { ...want.macro, support: undefined }, `${c.name}: macro avg`);
    closeScores(t, got.weighted, { ...want.weighted, support: undefined }, `${c.name}: weighted avg`);
    t.same(got.perType.map((s) => s.type), want.types, `${c.name}: types in seqeval's order`);
    for (const s of got.perType) closeScores(t, s, want.perType[s.type]!, `${c.name}: ${s.type}`);
    t.same(
      c.predicted.map((tags) => extractEntities(tags).map((e) => [e.type, e.start, e.end])),
      want.sentenceEntities,
      `${c.name}: entities of each sentence as get_entities`,
    );
  });
});

t.test('largest difference from Python', async (t) => {
  t.comment(`largest difference of a float64 result from scikit-learn/scipy/seqeval: ${largestDifference.toExponential(2)}`);
  t.ok(largestDifference <= 1e-12);
});

t.test('the adversarial cases are what they claim', async (t) => {
  const at = (name: string) => reference[cases.findIndex((c) => c.name === name)]!;
  t.equal((at('constant targets') as { pearson: Json }).pearson, null, 'scipy gives NaN for constant input');
  t.equal((at('all O, both') as { macro: Scores }).macro.f1, null, 'seqeval macro avg of no entity type is NaN');
  t.same(extractEntities(['O', 'I-PER', 'I-PER', 'B-PER', 'I-LOC']), [
    { type: 'PER', start: 1, end: 3 },
    { type: 'PER', start: 3, end: 4 },
    { type: 'LOC', start: 4, end: 5 },
  ]);
  const report = entityMetrics([['B-PER', 'I-PER'], ['I-PER']], [['B-PER', 'I-PER'], ['I-PER']]);
  t.equal(report.support, 2, 'an entity never runs on into the next sentence');
});

t.test('errors name what was wrong', async (t) => {
  t.throws(() => classificationReport([0, 1], [0], 2), /2 labels but 1 predictions/);
  t.throws(() => classificationReport([0, 3], [0, 1], 3), /example 1: label 3 .* not a class index in 0\.\.2/);
  t.throws(() => classificationReport([0.5], [0], 2), /not a class index/);
  t.throws(() => regressionMetrics([1, 2], [1]), /2 predictions but 1 targets/);
  t.throws(() => multiLabelMetrics([[0.1, 0.9]], [[0, 2]], ['a', 'b']), /target 2 at example 0, label "b" is not 0 or 1/);
  t.throws(() => multiLabelMetrics([[0.1, 0.9]], [[0, 1], [1, 1]], ['a', 'b']), /1 prediction rows but 2 target rows/);
  t.throws(() => multiLabelMetrics([0.1, 0.9, 0.3], [0, 1, 1], ['a', 'b']), /3 values, not a multiple of the 2 labels/);
  t.throws(() => multiLabelMetrics([[0.1]], [[0]], ['a'], { threshold: 1.5 }), /threshold 1\.5 is not a probability.*--threshold/);
  t.throws(() => entityMetrics([['O']], [['O'], ['O']]), /1 true sentences but 2 predicted/);
  t.throws(() => entityMetrics([['O', 'B-X']], [['O']]), /sentence 0 has 2 true tags but 1 predicted/);
  t.throws(() => entityMetrics([['O', '']], [['O', 'O']]), /true tags of sentence 0, token 1: tag "" is not a non-empty string/);
});

t.test('documented edge values', async (t) => {
  const none = regressionMetrics([], []);
  t.ok(Number.isNaN(none.mse) && Number.isNaN(none.pearson), 'no examples: NaN');
  const withNaN = regressionMetrics([1, NaN, 3], [1, 2, 3]);
  t.ok(Number.isNaN(withNaN.pearson) && Number.isNaN(withNaN.spearman), 'a NaN prediction: NaN correlations');
  const infinite = regressionMetrics([1, Infinity, 3], [1, 2, 3]);
  t.equal(infinite.spearman, 0.5, 'ranks order infinity last');
  t.ok(Number.isNaN(entityMetrics([], []).accuracy), 'no tokens: NaN token accuracy');
  const empty = classificationReport([], [], 2);
  t.same([empty.accuracy, empty.macroF1, empty.weightedF1], [0, 0, 0], 'no examples: 0, as before');
  t.ok(Number.isNaN(multiLabelMetrics([], [], ['a']).exactMatch), 'no multi-label examples: NaN exact match');
});

t.test('text tables', async (t) => {
  const report = classificationReport([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3);
  const text = formatClassificationReport(report, ['Negative', 'Positive', 'Neutral']);
  t.match(text, /precision\s+recall\s+f1-score\s+support/);
  t.match(text, /\n\s+Negative\s+0\.5000\s+0\.5000\s+0\.5000\s+2\n/, 'Negative row: p 1/2, r 1/2');
  t.match(text, /\n\s+Neutral\s+1\.0000\s+0\.6667\s+0\.8000\s+3\n/);
  t.match(text, /\n\s+accuracy\s+0\.6667\s+6\n/);
  t.match(text, /true \\ predicted\s+Negative\s+Positive\s+Neutral\n/);
  t.match(text, /\nNeutral\s+1\s+0\s+2\n/, 'confusion rows are true labels');
  t.throws(() => formatClassificationReport(report, ['a']), /1 label names for 3 classes/);
  t.match(formatClassificationReport(report, undefined, { digits: 2 }), /\n\s+2\s+1\.00\s+0\.67\s+0\.80\s+3\n/, 'indices name the classes by default');

  const entities = formatEntityReport(entityMetrics([['B-PER', 'I-PER', 'O', 'B-LOC']], [['B-PER', 'I-PER', 'O', 'O']]));
  t.match(entities, /\n\s+LOC\s+0\.0000\s+0\.0000\s+0\.0000\s+1\n\s+PER\s+1\.0000\s+1\.0000\s+1\.0000\s+1\n/);
  t.match(entities, /micro avg\s+1\.0000\s+0\.5000\s+0\.6667\s+2\n/);
  t.match(entities, /token accuracy 0\.7500/);
  t.match(formatEntityReport(entityMetrics([['O']], [['O']])), /macro avg\s+nan\s+nan\s+nan\s+0/, 'NaN prints as nan');

  const multi = formatMultiLabelReport(multiLabelMetrics([[0.9, 0.2], [0.6, 0.7]], [[1, 0], [0, 1]], ['sports', 'politics']));
  t.match(multi, /\n\s+sports\s+0\.5000\s+1\.0000\s+0\.6667\s+1\n/);
  t.match(multi, /exact match\s+0\.5000\nhamming loss 0\.2500/);
  t.match(formatRegressionMetrics(regressionMetrics([1, 2, 3], [1, 2, 4])), /mse\s+0\.3333\nmae\s+0\.3333\npearson\s+0\.9820\nspearman\s+1\.0000\n/);
});
