// The README's worked examples of every task run as written (the sh block after
// `<!-- task-examples -->`, `npx pjrt-bert` standing for this checkout's bin), one command after
// another in a fresh folder; each exits 0, each model learns (its validation metric beats the
// data's baseline) and the token example prints the entities the README shows.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin', 'pjrt-bert.js');

/** The commands of the sh block after `marker` in README.md (continuation lines joined, comments dropped). */
function commandsAfter(marker: string): string[][] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no ${marker}`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => (line.match(/"[^"]*"|\S+/g) ?? []).map((word) => word.replace(/^"(.*)"$/, '$1')));
}

/** The last epoch's line of a model's metrics.jsonl. */
function lastEpoch(dir: string): Record<string, number> {
  const lines = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  return JSON.parse(lines.at(-1)!) as Record<string, number>;
}

t.test('the README task examples run as written and learn', async (t) => {
  const commands = commandsAfter('<!-- task-examples -->');
  t.ok(commands.length >= 12, `${commands.length} commands`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-readme-tasks-'));
  const outputs: string[] = [];
  for (const words of commands) {
    t.same(words.slice(0, 2), ['npx', 'pjrt-bert'], words.join(' ').slice(0, 60));
    const run = spawnSync(process.execPath, [bin, ...words.slice(2)], { cwd: dir, encoding: 'utf8', timeout: 900_000, env: { ...process.env, CI: 'true' } });
    t.equal(run.status, 0, `${words.slice(2, 4).join(' ')}: ${run.status === 0 ? 'exit 0' : run.stderr.slice(-2000)}`);
    outputs.push(run.stdout);
  }
  const nli = lastEpoch(path.join(dir, 'nli-model'));
  t.ok(nli.val_accuracy! > 0.45, `pairs: validation accuracy ${nli.val_accuracy} (3 balanced classes: 0.33 by chance)`);
  const sts = lastEpoch(path.join(dir, 'sts-model'));
  t.ok(sts.val_pearson! > 0.3, `regression: validation Pearson ${sts.val_pearson}`);
  const topics = lastEpoch(path.join(dir, 'topics-model'));
  t.ok(topics.val_micro_f1! > 0.4, `multi-label: validation micro-F1 ${topics.val_micro_f1}`);
  const ner = lastEpoch(path.join(dir, 'ner-model'));
  t.ok(ner.val_f1! > 0.8, `token classification: validation entity F1 ${ner.val_f1}`);
  const entities = JSON.parse(outputs.at(-1)!.trim()) as { entities: { type: string; text: string }[] };
  t.same(
    entities.entities.map((entity) => [entity.type, entity.text]),
    [['PER', 'maria silva'], ['LOC', 'rio de janeiro'], ['ORG', 'blue river labs']],
    'the entities the README shows',
  );
  const report = JSON.parse(readFileSync(path.join(dir, 'ner-report.json'), 'utf8')) as { task: string; report: { perType: unknown[] } };
  t.equal(report.task, 'token-classification');
  t.equal(report.report.perType.length, 3, 'one row per entity type in the report');
});
