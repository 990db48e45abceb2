// The data side of the tasks of issue 12: CoNLL and JSONL token data readers, the label parsers
// of each task (regression numbers, multi-label sets and 0/1 columns, IOB2 tags), and the
// generated data sets of the README's examples. Readers are run on generated files and on
// hand-written corner cases, compared with Python's reading of the same files
// (test/reference/read_task_data.py), and every error must name the file and the line.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import t from 'tap';

import { parseConll, readConll, readTokenData, readTokenTable, type TaggedSentence, type TokenTable } from '../lib/data/conll.js';
import { assertIob2, parseLabelColumns, parseMultiLabels, parseRegressionLabels, validateIob2 } from '../lib/data/labels.js';
import { formatCsv, parseCsv, readTable } from '../lib/data/tables.js';
import { formatTaskDataset, writeTaskDataset, TASK_DATASET_COLUMNS } from '../lib/train/task-dataset-files.js';
import {
  generateMultiLabelDataset,
  generatePairDataset,
  generateRegressionDataset,
  generateTokenDataset,
  type TaskDataset,
} from '../lib/train/task-datasets.js';
import { fuzzParameters } from './helpers/fuzz.js';
import { runPythonJson } from './reference/python.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-task-data-'));
const file = (name: string): string => path.join(dir, name);

const tokens = generateTokenDataset(300, 11);
const pairs = generatePairDataset(300, 11);
const scores = generateRegressionDataset(300, 11);
const topics = generateMultiLabelDataset(300, 11);
await writeTaskDataset(tokens, file('ner.conll'));
await writeTaskDataset(tokens, file('ner.jsonl'));
await writeTaskDataset(pairs, file('nli.csv'));
await writeTaskDataset(scores, file('sts.csv'));
await writeTaskDataset(topics, file('topics.csv'));
await writeTaskDataset(topics, file('topics.jsonl'));

// Corner cases of CoNLL: a byte order mark, CRLF, a lone CR, tabs, CoNLL-2003's four columns,
// several blank and whitespace-only lines, -DOCSTART- inside the file, Python whitespace
// (NBSP, U+2003, U+001F) between columns, non-ASCII words, no final newline.
const edgeConll =
  '\ufeff-DOCSTART- -X- -X- O\r\n\r\nEU NNP B-NP B-ORG\r\nrejects VBZ B-VP O\r\n\r\n\r\n   \n' +
  'Ζάκυνθος\tB-LOC\nκαι\tO\rΚέρκυρα \u00a0 B-LOC\n-DOCSTART- O\nJean\u2003B-PER\nPierre\x1fI-PER\n\t\nend O';
await writeFile(file('edge.conll'), edgeConll);
const edgeCsv = 'text,labels,a,b\n"two\nlines",a|b,1,1\n\nplain,,0,0\r\n"q ""x""",b,0,1';
await writeFile(file('edge.csv'), edgeCsv);

const sentencesOf = (table: TokenTable): TaggedSentence[] => table.sentences;

t.test('CoNLL: generated files read back; corner cases as Python reads them', async (t) => {
  const conll = await readConll(file('ner.conll'));
  t.equal(conll.format, 'conll');
  t.same(conll.sentences.map(({ words, tags }) => ({ words, tags })), tokens.sentences);
  t.equal(conll.sentences[0]!.line, 3, 'the -DOCSTART- line and the blank line after it come first');
  t.equal(conll.sentences[1]!.line, 3 + tokens.sentences[0]!.words.length + 1);
  const edge = await readConll(file('edge.conll'));
  t.same(sentencesOf(edge), [
    { words: ['EU', 'rejects'], tags: ['B-ORG', 'O'], line: 3 },
    { words: ['Ζάκυνθος', 'και', 'Κέρκυρα'], tags: ['B-LOC', 'O', 'B-LOC'], line: 8 },
    { words: ['Jean', 'Pierre'], tags: ['B-PER', 'I-PER'], line: 12 },
    { words: ['end'], tags: ['O'], line: 15 },
  ]);
  t.same(await readTokenData(file('ner.conll')), conll, 'readTokenData picks CoNLL by the extension');
});

t.test('JSONL token data: generated files read back', async (t) => {
  const columns = { tokensColumn: TASK_DATASET_COLUMNS['token-classification'].tokens, tagsColumn: TASK_DATASET_COLUMNS['token-classification'].tags };
  const jsonl = await readTokenTable(file('ner.jsonl'), columns);
  t.equal(jsonl.format, 'jsonl');
  t.same(jsonl.sentences.map(({ words, tags }) => ({ words, tags })), tokens.sentences);
  t.same(jsonl.sentences.slice(0, 3).map((s) => s.line), [1, 2, 3]);
  t.same(await readTokenData(file('ner.jsonl'), columns), jsonl);
  const untagged = await readTokenTable(file('ner.jsonl'), { tokensColumn: 'tokens' });
  t.same(untagged.sentences[0], { words: tokens.sentences[0]!.words, line: 1 }, 'without tagsColumn: words only');
});

t.test('Python reads the same CoNLL, JSONL and CSV files the same way', async (t) => {
  const conllFiles = [file('ner.conll'), file('edge.conll')];
  const csvFiles = [file('nli.csv'), file('sts.csv'), file('topics.csv'), file('edge.csv')];
  const floats = ['3.5', ' -1 ', '2e-3', '.5', '1.', '+7', '0.1', '4.999999999999999999', '1e308'];
  const tagSequences = [
    ['O', 'I-PER', 'I-PER', 'O', 'B-LOC', 'I-LOC', 'I-ORG'],
    ['I-LOC', 'B-PER', 'B-PER', 'I-PER', 'O'],
  ];
  const python = await runPythonJson<{
    conll: Record<string, TaggedSentence[]>;
    jsonl: Record<string, TaggedSentence[]>;
    csv: Record<string, { header: string[]; rows: string[][]; lines: number[] }>;
    floats: number[];
    seqeval: [string, number, number][][] | null;
  }>('read_task_data.py', [], {
    conll: conllFiles,
    jsonl: [[file('ner.jsonl'), 'tokens', 'ner_tags']],
    csv: csvFiles,
    floats,
    seqeval: tagSequences,
  });
  for (const name of conllFiles) t.same(sentencesOf(await readConll(name)), python.conll[name], `${path.basename(name)}: as Python's str.split()`);
  t.same(sentencesOf(await readTokenTable(file('ner.jsonl'), { tokensColumn: 'tokens', tagsColumn: 'ner_tags' })), python.jsonl[file('ner.jsonl')]);
  for (const name of csvFiles) {
    const { header, rows, lines } = python.csv[name]!;
    const table = await readTable(name, { textColumn: header[0]!, pairColumn: header.length === 3 ? header[1] : undefined, labelColumns: header.slice(1) });
    t.same(table.columns, header, `${path.basename(name)}: header`);
    t.same(table.labelRows, rows.map((row) => row.slice(1)), `${path.basename(name)}: rows as Python's csv module`);
    t.same(table.lines, lines, `${path.basename(name)}: each row's line as csv.reader's line_num`);
  }
  t.same(parseRegressionLabels(floats, 'f.csv'), python.floats, 'numbers parse as Python float() parses them');
  if (python.seqeval === null) {
    t.comment('SKIPPED the seqeval comparison: seqeval is not installed in .cache/venv');
  } else {
    tagSequences.forEach((tags, i) => {
      const fromI = python.seqeval![i]!.filter(([, start]) => tags[start]!.startsWith('I-')).length;
      const report = validateIob2({ file: 'x', format: 'jsonl', sentences: [{ words: tags, tags, line: 1 }] });
      t.equal(report.warningCount, fromI, `sequence ${i}: warnings = seqeval entities that start at an I- tag`);
    });
  }
});

t.test('CoNLL and JSONL errors name the file and the line', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['one-column.conll', 'EU B-ORG\nrejects\n', /one-column\.conll: line 2: one column "rejects", no tag/],
    ['width.conll', '\n\nEU NNP B-ORG\nrejects O\n', /width\.conll: line 4: 2 columns, but the sentence starting at line 3 has 3/],
    ['empty.conll', '', /empty\.conll: no sentences: the file is empty or holds only blank lines/],
    ['docstart.conll', '-DOCSTART- O\n\n \n', /docstart\.conll: no sentences: .*only -DOCSTART- and blank lines/],
  ];
  for (const [name, text, message] of cases) {
    await writeFile(file(name), text);
    await t.rejects(readConll(file(name)), { name: 'FileFormatError', message }, name);
  }
  await writeFile(file('latin1.conll'), Buffer.from([0x45, 0x55, 0x20, 0x4f, 0x0a, 0xe9, 0x20, 0x4f, 0x0a]));
  await t.rejects(readConll(file('latin1.conll')), { message: /latin1\.conll: not valid UTF-8: .*line 2/ });
  await t.rejects(readConll(file('none.conll')), { message: /none\.conll: file not found/ });
  t.throws(() => parseConll('a b c\nd e\n', 'mem.conll'), /mem\.conll: line 2: 2 columns/);

  const columns = { tokensColumn: 'tokens', tagsColumn: 'tags' };
  const jsonCases: [string, RegExp][] = [
    ['{"tokens": ["a"], "tags": ["O"]}\n{"words": ["b"], "tags": ["O"]}', /line 2: no tokens column "tokens"; the columns are "words", "tags"/],
    ['{"tokens": ["a"]}', /line 1: no tags column "tags"; the columns are "tokens"/],
    ['{"tokens": "a b", "tags": ["O"]}', /line 1: tokens column "tokens" is not an array of strings/],
    ['{"tokens": ["a", 1], "tags": ["O", "O"]}', /line 1: tokens column "tokens": item 1 is 1, not a string/],
    ['\n{"tokens": ["a"], "tags": [3]}', /line 2: tags column "tags": item 0 is 3, not a string \(class ids need their tag names/],
    ['{"tokens": ["a", "b"], "tags": ["O"]}', /line 1: 2 tokens but 1 tags/],
    ['{"tokens": [], "tags": []}', /line 1: empty sentence/],
    ['{"tokens": ["a"], "tags": ["O"]}\n{"tokens": [', /line 2: invalid JSON/],
    ['\n\n', /no records/],
  ];
  for (const [index, [text, message]] of jsonCases.entries()) {
    const name = file(`bad${index}.jsonl`);
    await writeFile(name, text);
    await t.rejects(readTokenTable(name, columns), { name: 'FileFormatError', message: new RegExp(`bad${index}\\.jsonl: ${message.source}`) }, message.source);
  }
  await t.rejects(readTokenData(file('ner.parquet')), { message: /ner\.parquet: unknown token data format ".parquet"/ });
  await t.rejects(readTokenData(file('ner.jsonl')), { message: /ner\.jsonl: JSONL token data needs .*--tokens-column and --tags-column/ });
});

t.test('regression labels: numbers, errors naming the line', async (t) => {
  const table = await readTable(file('sts.csv'), { textColumn: 'sentence1', pairColumn: 'sentence2', labelColumn: 'score' });
  t.same(parseRegressionLabels(table.labels!, table.file, table.lines), scores.scores);
  // The first data row spans lines 2-3, so the bad value of data row 2 sits on line 4.
  await writeFile(file('bad-score.csv'), 'a,b,score\n"x\ny",z,1.5\nx,y,high\n');
  const bad = await readTable(file('bad-score.csv'), { textColumn: 'a', labelColumn: 'score' });
  t.throws(() => parseRegressionLabels(bad.labels!, bad.file, bad.lines), /bad-score\.csv: line 4: label "high" is not a number/);
  for (const value of ['', 'nan', 'inf', '1_000', '0x10', '1e999', '3,5']) {
    t.throws(() => parseRegressionLabels(['1', value], 'v.csv', [2, 3]), new RegExp(`v\\.csv: line 3: .*is not a number`), JSON.stringify(value));
  }
  t.throws(() => parseRegressionLabels(['x'], 'mem'), /mem: row 1: label "x" is not a number/, 'without lines: the row');
});

t.test('multi-label: delimited labels and 0/1 columns agree; errors name the line', async (t) => {
  const table = await readTable(file('topics.csv'), { textColumn: 'text', labelColumn: 'labels', labelColumns: topics.names });
  const delimited = parseMultiLabels(table.labels!, '|', table.file, { lines: table.lines });
  t.same(delimited.names, topics.names);
  t.same(delimited.targets, topics.labels.map((labels) => topics.names.map((name) => (labels.includes(name) ? 1 : 0))));
  t.same(parseLabelColumns(topics.names, table.labelRows!, table.file, table.lines), delimited, '0/1 columns give the same targets');
  const jsonl = await readTable(file('topics.jsonl'), { textColumn: 'text', labelColumns: topics.names });
  t.same(parseLabelColumns(topics.names, jsonl.labelRows!, jsonl.file, jsonl.lines).targets, delimited.targets, 'JSONL numbers 0/1');
  t.ok(delimited.targets.some((row) => row.every((v) => v === 0)), 'some texts have no topic');

  t.same(delimited.sets, topics.labels, 'the label sets of each row');
  t.same(parseMultiLabels(['b ; a', '', 'a;a', 'ä;b'], ';', 'm.csv'), {
    names: ['a', 'b', 'ä'],
    targets: [[1, 1, 0], [0, 0, 0], [1, 0, 0], [0, 1, 1]],
    sets: [['a', 'b'], [], ['a'], ['b', 'ä']],
  });
  t.same(parseMultiLabels(['x'], '|', 'm.csv', { names: ['y', 'x'] }).targets, [[0, 1]], 'known names keep their order');
  t.throws(() => parseMultiLabels(['a', 'a|z'], '|', 'm.csv', { names: ['a', 'b'], lines: [2, 5] }), /m\.csv: line 5: unknown label "z" in "a\|z"; the labels are "a", "b"/);
  t.throws(() => parseMultiLabels(['a||b'], '|', 'm.csv', { lines: [7] }), /m\.csv: line 7: empty label in "a\|\|b"/);
  t.throws(() => parseMultiLabels(['', ' '], '|', 'm.csv'), /m\.csv: no labels/);
  t.throws(() => parseMultiLabels(['a'], '', 'm.csv'), /m\.csv: the label delimiter is empty/);

  const edge = await readTable(file('edge.csv'), { textColumn: 'text', labelColumns: ['a', 'b'] });
  t.same(edge.lines, [2, 5, 6]);
  t.same(parseLabelColumns(['a', 'b'], edge.labelRows!, edge.file, edge.lines).targets, [[1, 1], [0, 0], [0, 1]]);
  await writeFile(file('bad-cols.csv'), 'text,a,b\nx,1,0\ny,0,yes\n');
  const bad = await readTable(file('bad-cols.csv'), { textColumn: 'text', labelColumns: ['a', 'b'] });
  t.throws(() => parseLabelColumns(['a', 'b'], bad.labelRows!, bad.file, bad.lines), /bad-cols\.csv: line 3: label column "b" holds "yes"; label columns hold 1 .* or 0/);
  await t.rejects(readTable(file('bad-cols.csv'), { textColumn: 'text', labelColumns: ['a', 'c'] }), { message: /bad-cols\.csv: no label column "c"; the columns are "text", "a", "b"/ });
  await t.rejects(readTable(file('bad-cols.csv'), { textColumn: 'text', labelColumns: ['a', 'a'] }), { message: /label column "a" is named twice/ });
  await t.rejects(readTable(file('bad-cols.csv'), { textColumn: 'text', labelColumns: [] }), { message: /labelColumns is empty/ });
  await writeFile(file('missing.jsonl'), '{"text": "x", "a": 1, "b": 0}\n{"text": "y", "a": 1}\n');
  await t.rejects(readTable(file('missing.jsonl'), { textColumn: 'text', labelColumns: ['a', 'b'] }), { message: /missing\.jsonl: line 2: no label column "b"/ });
});

t.test('IOB2: bad tags are errors naming the line, I-X beginning an entity is a counted warning', async (t) => {
  const clean = validateIob2(await readConll(file('ner.conll')));
  t.same([clean.errorCount, clean.warningCount, clean.types], [0, 0, ['LOC', 'ORG', 'PER']], 'the generated set is clean IOB2');
  await writeFile(file('iob.conll'), 'a O\nb I-PER\nc I-PER\nd B-LOC\ne I-ORG\n\nf I-LOC\ng PER\nh b-per\ni B-\nj O\n');
  const conll = await readConll(file('iob.conll'));
  const report = validateIob2(conll);
  t.equal(report.warningCount, 3);
  t.same(report.warnings, [
    `${conll.file}: line 2: I-PER after O begins an entity (accepted, as seqeval does)`,
    `${conll.file}: line 5: I-ORG after B-LOC begins an entity (accepted, as seqeval does)`,
    `${conll.file}: line 7: I-LOC first in its sentence begins an entity (accepted, as seqeval does)`,
  ]);
  t.equal(report.errorCount, 3);
  t.match(report.errors[0]!, /iob\.conll: line 8: tag "PER" of word "g" is not IOB2/);
  t.match(report.errors[2]!, /iob\.conll: line 10: tag "B-" of word "i"/);
  t.throws(() => assertIob2(conll), /iob\.conll: 3 tag\(s\) are not IOB2 .*\n.*line 8: tag "PER"/);
  const jsonl = { file: 'n.jsonl', format: 'jsonl' as const, sentences: [{ words: ['x', 'y'], tags: ['O', 'S-PER'], line: 4 }] };
  t.match(validateIob2(jsonl).errors[0]!, /^n\.jsonl: line 4, word 2: tag "S-PER"/);
  const many = { file: 'pos.conll', format: 'conll' as const, sentences: [{ words: Array(30).fill('w'), tags: Array(30).fill('NN'), line: 1 }] };
  t.equal(validateIob2(many).errors.length, 20, 'the first 20 errors are kept');
  t.throws(() => assertIob2(many), /pos\.conll: 30 tag\(s\).*\(and 10 more\)$/s);
  t.equal(assertIob2({ ...conll, sentences: conll.sentences.slice(0, 1) }).warningCount, 2, 'warnings alone pass');
});

t.test('formatCsv writes what parseCsv reads back', async (t) => {
  t.equal(formatCsv([['a', 'b'], ['x, "y"', 'two\nlines'], [' pad', ''], ['']]), 'a,b\n"x, ""y""","two\nlines"\n" pad",\n""\n');
  const field = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ', 'é', '\t'), maxLength: 6 });
  const rows = fc.integer({ min: 1, max: 4 }).chain((width) => fc.array(fc.array(field, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 6 }));
  fc.assert(fc.property(rows, (table) => JSON.stringify(parseCsv(formatCsv(table), 'rt.csv')) === JSON.stringify(table)), fuzzParameters(300));
  t.pass('generated rows round-trip');
});

/** Splits examples into the first two thirds (to learn from) and the last third (to test on). */
function split<T>(items: readonly T[]): [T[], T[]] {
  const cut = Math.floor((items.length * 2) / 3);
  return [items.slice(0, cut), items.slice(cut)];
}

/** Share of `predict(x) === truth(x)` over `items`. */
function accuracy<T>(items: readonly T[], predict: (item: T) => string, truth: (item: T) => string): number {
  return items.filter((item) => predict(item) === truth(item)).length / items.length;
}

/** The labels of a learnt key -> label table: the most frequent label per key of the training items. */
function learn<T>(train: readonly T[], key: (item: T) => string, label: (item: T) => string): (item: T) => string {
  const counts = new Map<string, Map<string, number>>();
  for (const item of train) {
    const byLabel = counts.get(key(item)) ?? new Map<string, number>();
    byLabel.set(label(item), (byLabel.get(label(item)) ?? 0) + 1);
    counts.set(key(item), byLabel);
  }
  return (item) => [...(counts.get(key(item)) ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '?';
}

t.test('generators: deterministic, vocabulary covers them, files the readers take', async (t) => {
  const generators = [generatePairDataset, generateRegressionDataset, generateMultiLabelDataset, generateTokenDataset] as const;
  const wordsOf = (dataset: TaskDataset): string[] =>
    dataset.task === 'token-classification' ? dataset.sentences.flatMap((s) => s.words) : [...dataset.texts, ...('pairs' in dataset ? dataset.pairs : [])].flatMap((text) => text.split(' '));
  for (const generate of generators) {
    const a = generate(120, 3);
    t.same(generate(120, 3), a, `${a.task}: the same seed gives the same data`);
    t.notSame(generate(120, 4), a, `${a.task}: another seed gives other data`);
    t.same(a.vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    t.equal(new Set(a.vocab).size, a.vocab.length, `${a.task}: no word twice in the vocabulary`);
    const vocab = new Set(a.vocab);
    t.same(wordsOf(a).filter((word) => !vocab.has(word)), [], `${a.task}: every word is in the vocabulary`);
    t.throws(() => generate(0, 1), RangeError);
  }
  t.same(pairs.labels.slice(0, 6), ['entailment', 'neutral', 'contradiction', 'entailment', 'neutral', 'contradiction']);
  const nli = await readTable(file('nli.csv'), { textColumn: 'premise', pairColumn: 'hypothesis', labelColumn: 'label' });
  t.same([nli.texts, nli.pairs, nli.labels], [pairs.texts, pairs.pairs, pairs.labels], 'pairs: CSV reads back');
  t.same(new Set(scores.scores.map((score) => Math.floor(score))), new Set([0, 1, 2, 3, 4, 5]), 'scores cover 0-5');
  t.ok(scores.scores.every((score) => score >= 0 && score <= 5));
  t.match(formatTaskDataset(scores, 'jsonl').split('\n')[0]!, /^\{"sentence1":"the [a-z ]+","sentence2":"the [a-z ]+","score":[0-9.]+\}$/);
  t.throws(() => formatTaskDataset(tokens, 'csv'), /token classification data is written as conll or jsonl/);
  await t.rejects(writeTaskDataset(pairs, file('nli.parquet')), /cannot tell the format from "\.parquet"/);
  const withEntities = tokens.sentences.filter((s) => s.tags.some((tag) => tag.startsWith('I-')));
  t.ok(withEntities.length > tokens.sentences.length / 3, 'many sentences have entities of several words');
  t.ok(tokens.sentences.some((s) => s.tags.every((tag) => tag === 'O')), 'some sentences have no entity');
});

t.test('generators: learnable (simple learners fit on two thirds predict the rest)', async (t) => {
  const big = { pairs: generatePairDataset(1500, 5), scores: generateRegressionDataset(900, 5), topics: generateMultiLabelDataset(900, 5), tokens: generateTokenDataset(900, 5) };

  // NLI: a hypothesis word is kept when it is a function word, else `=` when the premise has it and `+` when not.
  const closed = new Set(['a', 'an', 'the', 'is', 'in', 'not', 'nobody', 'someone', 'some']);
  const examples = big.pairs.texts.map((premise, i) => ({ premise: new Set(premise.split(' ')), hypothesis: big.pairs.pairs[i]!.split(' '), label: big.pairs.labels[i]! }));
  const shape = (seePremise: boolean) => (e: (typeof examples)[number]): string =>
    e.hypothesis.map((word) => (closed.has(word) ? word : seePremise && e.premise.has(word) ? '=' : '+')).join(' ');
  const [train, test] = split(examples);
  const withPremise = accuracy(test, learn(train, shape(true), (e) => e.label), (e) => e.label);
  const hypothesisOnly = accuracy(test, learn(train, shape(false), (e) => e.label), (e) => e.label);
  t.ok(withPremise >= 0.97, `NLI: overlap with the premise gives the label (${withPremise.toFixed(3)})`);
  t.ok(hypothesisOnly <= 0.7, `NLI: the hypothesis alone does not (${hypothesisOnly.toFixed(3)})`);

  // Similarity: the share of slots with the same word correlates with the score.
  const same = big.scores.texts.map((text, i) => {
    const other = big.scores.pairs[i]!.split(' ');
    return text.split(' ').filter((word, k) => word === other[k] && word !== 'the').length;
  });
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [mx, my] = [mean(same), mean(big.scores.scores)];
  const cov = mean(same.map((x, i) => (x - mx) * (big.scores.scores[i]! - my)));
  const pearson = cov / Math.sqrt(mean(same.map((x) => (x - mx) ** 2)) * mean(big.scores.scores.map((y) => (y - my) ** 2)));
  t.ok(pearson > 0.85, `similarity: Pearson of shared words and score ${pearson.toFixed(3)}`);

  // Topics: a word predicts the topics every training text containing it has.
  const rows = big.topics.texts.map((text, i) => ({ words: text.split(' '), labels: big.topics.labels[i]! }));
  const [topicTrain, topicTest] = split(rows);
  const cues = new Map<string, Set<string>>();
  for (const row of topicTrain) {
    for (const word of new Set(row.words)) {
      const seen = cues.get(word);
      cues.set(word, seen ? new Set([...seen].filter((label) => row.labels.includes(label))) : new Set(row.labels));
    }
  }
  const predictTopics = (row: (typeof rows)[number]): string => [...new Set(row.words.flatMap((word) => [...(cues.get(word) ?? [])]))].sort().join('|');
  const exact = accuracy(topicTest, predictTopics, (row) => row.labels.join('|'));
  t.ok(exact >= 0.95, `topics: exact match of a keyword learner ${exact.toFixed(3)}`);

  // Entities: the most frequent tag of each (previous word, word) in training, else of the word.
  const positions = big.tokens.sentences.flatMap((s) => s.words.map((word, k) => ({ previous: s.words[k - 1] ?? '<s>', word, tag: s.tags[k]! })));
  const [tokenTrain, tokenTest] = split(positions);
  const byBigram = learn(tokenTrain, (p) => `${p.previous} ${p.word}`, (p) => p.tag);
  const byWord = learn(tokenTrain, (p) => p.word, (p) => p.tag);
  const tagged = accuracy(tokenTest, (p) => (byBigram(p) !== '?' ? byBigram(p) : byWord(p)), (p) => p.tag);
  t.ok(tagged >= 0.97, `entities: token accuracy of a bigram tagger ${tagged.toFixed(3)}`);
});
