// Checkpoints are written atomically and an interrupted swap is recovered.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isCheckpoint, readMetrics, readTrainerState, recoverCheckpoint, writeCheckpoint, type TrainerState } from '../lib/train/checkpoint.js';

function state(step: number): TrainerState {
  return {
    json: { format: 1, step, epoch: 0, callsDoneInEpoch: step, epochComplete: false, seed: 1, labels: ['a', 'b'], epochsWithoutImprovement: 0, fingerprint: { batchSize: 4 } },
    optimizer: new Map([['m.w', { dtype: 'f32', shape: [2], data: Float32Array.from([step, -step]) }]]),
  };
}
const writeModel = (tag: string) => async (dir: string) => writeFile(path.join(dir, 'model.txt'), tag);

t.test('writes, replaces and reads back checkpoints', async (t) => {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-ckpt-')), 'run');
  t.equal(await recoverCheckpoint(out), false, 'nothing to resume in a new directory');
  await writeCheckpoint(out, writeModel('first'), state(1), { epoch: 0, loss: 1.5 });
  await writeCheckpoint(out, writeModel('second'), state(2), { epoch: 1, loss: 0.5 });
  t.ok(isCheckpoint(out));
  const back = await readTrainerState(out);
  t.equal(back.json.step, 2);
  t.same(Array.from(back.optimizer.get('m.w')!.data as Float32Array), [2, -2]);
  t.same(await readMetrics(out), [{ epoch: 0, loss: 1.5 }, { epoch: 1, loss: 0.5 }], 'metrics.jsonl keeps every epoch');
  t.notOk(existsSync(`${out}.partial`) || existsSync(`${out}.old`), 'no staging left behind');
});

t.test('a crash between the two renames is recovered to a complete checkpoint', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-ckpt-'));
  const out = path.join(root, 'run');
  await writeCheckpoint(out, writeModel('first'), state(1));
  // Simulate: new checkpoint complete in .partial, old moved to .old, `out` missing.
  await writeCheckpoint(`${out}.partial`, writeModel('second'), state(2));
  renameSync(out, `${out}.old`);
  t.equal(await recoverCheckpoint(out), true);
  t.equal((await readTrainerState(out)).json.step, 2, 'the newer complete checkpoint wins');
  t.notOk(existsSync(`${out}.old`));

  // Simulate: crash while writing .partial (no state.json yet): the old checkpoint stays.
  mkdirSync(path.join(`${out}.partial`, 'trainer_state'), { recursive: true });
  writeFileSync(path.join(`${out}.partial`, 'model.txt'), 'half');
  t.equal(await recoverCheckpoint(out), true);
  t.equal((await readTrainerState(out)).json.step, 2);
  t.notOk(existsSync(`${out}.partial`), 'the half-written staging is removed');
});

t.test('refuses an output directory that is not a pjrt-bert run', async (t) => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-ckpt-'));
  writeFileSync(path.join(out, 'notes.txt'), 'my files');
  await t.rejects(recoverCheckpoint(out), { message: /exists and is not a pjrt-bert output directory/ });
  t.ok(existsSync(path.join(out, 'notes.txt')), 'nothing is deleted');
});
