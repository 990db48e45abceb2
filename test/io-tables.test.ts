// Dataset readers: the real tweet files (from PJRT_BERT_DATA; skipped without them) read exactly as Python's csv module (CSV) and a
// plain split at tabs (OffensEval TSV, no quoting) read them; RFC 4180 corner cases;
// JSONL; errors that name the file and list the columns.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { parseCsv, readTable } from '../lib/data/tables.js';
import { realDataOrSkip, runPythonJson } from './reference/python.js';

interface PythonTable {
  columns: string[];
  texts: string[];
  labels: string[] | null;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-tables-'));
const dataDir = realDataOrSkip('the real tweet files against Python csv');
if (dataDir) {
  const python = await runPythonJson<Record<string, PythonTable>>('read_tables.py', [dataDir]);

  t.test('GRGE_sentiment.csv matches Python csv', async (t) => {
    const table = await readTable(path.join(dataDir, 'GRGE_sentiment.csv'), { textColumn: 'Text', labelColumn: 'Polarity1' });
    t.equal(table.texts.length, 1640);
    t.same(table.columns, python.grge!.columns);
    t.same(table.texts, python.grge!.texts);
    t.same(table.labels, python.grge!.labels);
    t.same([...new Set(table.labels)].sort(), ['Negative', 'Neutral', 'Positive']);
    t.ok(table.texts[1]!.includes('Πού πας,ΣΥΡΙΖΑ'), 'quoted fields keep their commas');
  });

  t.test('OffensEval TSVs: tab separated, no quoting', async (t) => {
    const training = await readTable(path.join(dataDir, 'offenseval-gr/offenseval-gr-training-v1.tsv'), {
      textColumn: 'tweet',
      labelColumn: 'subtask_a',
    });
    t.equal(training.texts.length, 8743);
    t.same(training.texts, python.training!.texts);
    t.same(training.labels, python.training!.labels);
    t.same([...new Set(training.labels)].sort(), ['NOT', 'OFF']);
    t.ok(training.texts.some((text) => text.includes('"')), 'bare quotes are text');
    const test = await readTable(path.join(dataDir, 'offenseval-gr/offenseval-gr-test-v1.tsv'), { textColumn: 'tweet' });
    t.equal(test.texts.length, 1544);
    t.same(test.texts, python.test!.texts);
    t.equal(test.labels, undefined);
  });
}

t.test('RFC 4180 corner cases', async (t) => {
  t.same(parseCsv('a,b\r\n"x, ""y""","line1\nline2"\r\n,\n"",z', 'c.csv'), [
    ['a', 'b'],
    ['x, "y"', 'line1\nline2'],
    ['', ''],
    ['', 'z'],
  ]);
  t.same(parseCsv('\ufeffh\nv\n\n', 'bom.csv'), [['h'], ['v']]);
  t.throws(() => parseCsv('a\n"open', 'open.csv'), /open\.csv: line 2: quoted field is never closed/);
  t.throws(() => parseCsv('"a"b', 'junk.csv'), /junk\.csv: line 1: unexpected "b" after a closing quote/);
});

t.test('JSONL and errors that name the file and list the columns', async (t) => {
  const jsonl = path.join(dir, 'data.jsonl');
  await writeFile(jsonl, '{"text": "καλό", "label": 1}\n\n{"text": "κακό", "label": 0}\n');
  const table = await readTable(jsonl, { textColumn: 'text', labelColumn: 'label' });
  t.same(table.texts, ['καλό', 'κακό']);
  t.same(table.labels, ['1', '0']);
  await t.rejects(readTable(jsonl, { textColumn: 'tweet' }), { name: 'FileFormatError', message: /data\.jsonl: line 1: no text column "tweet"; the columns are "text", "label"/ });
  await writeFile(jsonl, '{"text": "a"}\n{broken\n');
  await t.rejects(readTable(jsonl, { textColumn: 'text' }), { message: /data\.jsonl: line 2: invalid JSON/ });
  const csv = path.join(dir, 'data.csv');
  await writeFile(csv, 'id,Text,Polarity1\n1,hello,Positive\n2,bye\n');
  await t.rejects(readTable(csv, { textColumn: 'text', labelColumn: 'Polarity1' }), {
    message: /data\.csv: no text column "text"; the columns are "id", "Text", "Polarity1"/,
  });
  await t.rejects(readTable(csv, { textColumn: 'Text', labelColumn: 'label' }), { message: /data\.csv: no label column "label"/ });
  await t.rejects(readTable(csv, { textColumn: 'Text' }), { message: /data\.csv: line 3: data row 2 has 2 fields, the header has 3/ });
  await t.rejects(readTable(path.join(dir, 'data.parquet'), { textColumn: 'x' }), { message: /data\.parquet: unknown table format/ });
  await t.rejects(readTable(path.join(dir, 'none.csv'), { textColumn: 'x' }), { message: /none\.csv: file not found/ });
});
