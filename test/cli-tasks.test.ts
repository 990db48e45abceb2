// The tasks from the command line: `pjrt-bert dataset` writes each generated set; train,
// evaluate (with --out) and predict run a token-classification job end to end, writing
// TensorBoard event files that the Python tensorboard package reads back; bad data and flags
// fail with messages naming the file and line, or the flag.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { runPythonJson } from './reference/python.js';

const root = path.resolve(import.meta.dirname, '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-cli-tasks-'));
const run = (args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin', 'pjrt-bert.js'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });

t.test('dataset writes every task set with its vocabulary', async (t) => {
  for (const [name, file] of [['pairs', 'nli.csv'], ['regression', 'sts.jsonl'], ['multi-label', 'topics.csv'], ['token-classification', 'ner.conll']]) {
    const made = run(['dataset', name!, file!, '--size', '60', '--seed', '3']);
    t.equal(made.status, 0, made.stderr);
    t.match(made.stderr, new RegExp(`written to ${file!.replace('.', '\\.')}, the vocabulary to ${file!.split('.')[0]}\\.vocab\\.txt`));
  }
  t.match(readFileSync(path.join(dir, 'nli.csv'), 'utf8'), /^premise,hypothesis,label\n/);
  t.match(readFileSync(path.join(dir, 'ner.conll'), 'utf8'), /^-DOCSTART- -X- -X- O\n\n\S+ (O|B-\w+)\n/);
  const again = run(['dataset', 'pairs', 'nli2.csv', '--size', '60', '--seed', '3']);
  t.equal(again.status, 0);
  t.equal(readFileSync(path.join(dir, 'nli2.csv'), 'utf8'), readFileSync(path.join(dir, 'nli.csv'), 'utf8'), 'the same seed writes the same file');
  const wrong = run(['dataset', 'token-classification', 'ner.csv']);
  t.equal(wrong.status, 2);
  t.match(wrong.stderr, /token-classification is written as \.conll or \.jsonl, not '\.csv'/);
  t.equal(run(['dataset', 'poems', 'x.csv']).status, 2);
});

t.test('token classification end to end: train, evaluate --out, predict, TensorBoard events', async (t) => {
  const trained = run(['train', '--model', 'tiny', '--vocab', 'ner.vocab.txt', '--data', 'ner.conll', '--task', 'token-classification', '--seq-len', '24', '--epochs', '2', '--lr', '1e-3', '--validation-split', '0.2', '--out', 'ner-model', '--padding', 'pack', '--no-compile-cache']);
  t.equal(trained.status, 0, trained.stderr);
  t.match(trained.stderr, /val_f1 [\d.]+/);
  t.match(trained.stderr, /padding \(pack\): [\d.]+% of the token slots/);
  const config = JSON.parse(readFileSync(path.join(dir, 'ner-model', 'config.json'), 'utf8')) as { architectures: string[]; id2label: Record<string, string> };
  t.same(config.architectures, ['BertForTokenClassification']);
  t.ok(Object.values(config.id2label).includes('B-PER'));

  const evaluated = run(['evaluate', '--model', 'ner-model', '--data', 'ner.conll', '--out', 'report.json']);
  t.equal(evaluated.status, 0, evaluated.stderr);
  const line = JSON.parse(evaluated.stdout) as Record<string, number>;
  t.same(Object.keys(line), ['examples', 'loss', 'precision', 'recall', 'f1', 'accuracy'], 'the token task metrics, with no --task: the directory says its task');
  t.match(evaluated.stderr, /\n\s+LOC\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\n/, 'the entity table on stderr');
  const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as { task: string; metrics: Record<string, number>; report: { perType: { type: string }[] } };
  t.equal(report.task, 'token-classification');
  t.same(report.metrics, Object.fromEntries(Object.entries(line).filter(([key]) => key !== 'examples')));
  t.same(report.report.perType.map((row) => row.type), ['LOC', 'ORG', 'PER']);

  const predicted = run(['predict', '--model', 'ner-model', '--text', 'maria silva works in lisbon']);
  t.equal(predicted.status, 0, predicted.stderr);
  const prediction = JSON.parse(predicted.stdout) as { tokens: string[]; tags: string[]; entities: { start: number; end: number; text: string }[] };
  t.same(prediction.tokens, ['maria', 'silva', 'works', 'in', 'lisbon']);
  t.equal(prediction.tags.length, 5);
  for (const entity of prediction.entities) t.equal('maria silva works in lisbon'.slice(entity.start, entity.end), entity.text, `entity "${entity.text}" at its offsets`);

  const runs = path.join(dir, 'ner-model', 'runs');
  const files = readdirSync(runs);
  t.equal(files.length, 1, 'one event file');
  const python = await runPythonJson<{ files: { scalars: Record<string, [number, number, string][]> }[] }>('tensorboard_events.py', [], { paths: [runs], crc: [] });
  const scalars = python.files[0]!.scalars;
  t.same(
    scalars['val/f1']!.map(([, step]) => step),
    [2, 4],
    'val/f1 at the step of each epoch end (48 training sentences: 2 steps of 32 per epoch)',
  );
  const metrics = readFileSync(path.join(dir, 'ner-model', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  t.equal(Number(scalars['val/f1']!.at(-1)![2]), Math.fround(metrics.at(-1)!.val_f1!), 'the value of metrics.jsonl, as a float32');
  t.ok(scalars['train/loss_per_call']!.length >= 2, `${scalars['train/loss_per_call']!.length} per-call losses`);
  t.ok(scalars['perf/padding_fraction'], 'the padding fraction');
});

t.test('bad task data and flags: the file and line, or the flag', async (t) => {
  writeFileSync(path.join(dir, 'bad-scores.csv'), 'sentence1,sentence2,score\na b,c d,1.5\ne f,g h,high\n');
  const regression = run(['train', '--model', 'tiny', '--vocab', 'sts.vocab.txt', '--data', 'bad-scores.csv', '--task', 'regression', '--text-column', 'sentence1', '--text-pair-column', 'sentence2', '--label-column', 'score']);
  t.equal(regression.status, 1);
  t.match(regression.stderr, /bad-scores\.csv: line 3: label "high" is not a number/);
  writeFileSync(path.join(dir, 'bad.conll'), 'maria B-PER\nsilva I-PER\nworks\n');
  const conll = run(['train', '--model', 'tiny', '--vocab', 'ner.vocab.txt', '--data', 'bad.conll', '--task', 'token-classification']);
  t.equal(conll.status, 1);
  t.match(conll.stderr, /bad\.conll: line 3/);
  writeFileSync(path.join(dir, 'mixed.conll'), 'maria B-PER\nsilva PERSON\n\nlisbon B-LOC\n');
  const mixed = run(['train', '--model', 'tiny', '--vocab', 'ner.vocab.txt', '--data', 'mixed.conll', '--task', 'token-classification']);
  t.equal(mixed.status, 1);
  t.match(mixed.stderr, /mixed\.conll: 1 tag\(s\) are not IOB2 .*\n.*line 2: tag "PERSON"/);
  const unknown = run(['train', '--model', 'tiny', '--vocab', 'ner.vocab.txt', '--data', 'ner.conll', '--task', 'ner']);
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /--task must be one of classification, regression, multi-label, token-classification, got 'ner'/);
  const misplaced = run(['train', '--model', 'tiny', '--vocab', 'ner.vocab.txt', '--data', 'ner.conll', '--task', 'token-classification', '--label-columns', 'a,b']);
  t.equal(misplaced.status, 2);
  t.match(misplaced.stderr, /--label-columns is for multi-label, but the task is token-classification/);
  const buckets = run(['train', '--model', 'tiny', '--vocab', 'nli.vocab.txt', '--data', 'nli.csv', '--text-column', 'premise', '--seq-len', '32', '--buckets', '8,16']);
  t.equal(buckets.status, 2);
  t.match(buckets.stderr, /--buckets: the sequence-length buckets \[8, 16\] must be increasing integers of at least 2 ending at --seq-len 32/);
});
