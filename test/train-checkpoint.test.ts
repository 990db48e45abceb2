// Checkpoints are written atomically, an interrupted one is skipped in favour of the one before
// it, output directories are probed and locked, and nothing this package did not create is
// ever deleted or moved.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../lib/io/files.js';
import { LOCK_FILE, OutputDirError, OutputDirLock, probeWritableDir } from '../lib/io/output-dir.js';
import { claimOutputDir, exportCheckpoint, findCheckpoint, writeCheckpoint, type TrainerState } from '../lib/train/checkpoint.js';

const root = path.resolve(import.meta.dirname, '..');
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-ckpt-'));

function state(step: number): TrainerState {
  return {
    json: { format: 1, step, epoch: step - 1, callsDoneInEpoch: 1, epochComplete: true, seed: 1, labels: ['a', 'b'], epochsWithoutImprovement: 0, fingerprint: { batchSize: 4 } },
    optimizer: new Map([['m.w', { dtype: 'f32', shape: [2], data: Float32Array.from([step, -step]) }]]),
  };
}
const writeModel = (tag: string) => async (dir: string) => {
  await writeFile(path.join(dir, 'model.safetensors'), tag);
  await writeFile(path.join(dir, 'config.json'), '{}');
};
const metrics = (epochs: number) => Array.from({ length: epochs }, (_, i) => ({ epoch: i + 1, loss: 1 / (i + 1) }));

async function newRun(): Promise<string> {
  const out = path.join(tmp(), 'run');
  await probeWritableDir(out);
  await claimOutputDir(out);
  return out;
}

t.test('writes checkpoints, keeps the last two, and reads the newest back', async (t) => {
  const out = await newRun();
  t.equal((await findCheckpoint(out)).checkpoint, undefined, 'nothing to resume in a new directory');
  for (let step = 1; step <= 3; step++) await writeCheckpoint(out, { writeModel: writeModel(`model ${step}`), state: state(step), metrics: metrics(step) });
  const { checkpoint, notes } = await findCheckpoint(out);
  t.same(notes, []);
  t.equal(checkpoint?.state.json.step, 3);
  t.same(Array.from(checkpoint!.state.optimizer.get('m.w')!.data as Float32Array), [3, -3]);
  t.same(checkpoint!.metrics, metrics(3), 'the metrics of every epoch');
  t.equal(readFileSync(path.join(out, 'model.safetensors'), 'utf8'), 'model 3', 'the top level is the newest model');
  t.equal(readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 3);
  t.same(readdirSync(path.join(out, 'trainer_state')).sort(), ['checkpoint-2', 'checkpoint-3'], 'older checkpoints are pruned');
});

t.test('a checkpoint interrupted while being written is skipped, and the run says so', async (t) => {
  const out = await newRun();
  await writeCheckpoint(out, { writeModel: writeModel('model 1'), state: state(1), metrics: metrics(1) });
  await writeCheckpoint(out, { writeModel: writeModel('model 2'), state: state(2), metrics: metrics(2) });
  // Crash while writing checkpoint 3: its state.json exists but is empty, and COMPLETE is missing.
  const third = path.join(out, 'trainer_state', 'checkpoint-3');
  mkdirSync(third);
  writeFileSync(path.join(third, '.pjrt-bert-checkpoint'), '');
  writeFileSync(path.join(third, 'state.json'), '');
  let found = await findCheckpoint(out);
  t.equal(found.checkpoint?.state.json.step, 2, 'falls back to the previous complete checkpoint');
  t.match(found.notes[0], /checkpoint-3 is incomplete/);
  // The newest complete one is damaged (a truncated state.json despite COMPLETE): fall back too.
  writeFileSync(path.join(out, 'trainer_state', 'checkpoint-2', 'state.json'), '{"format": 1, "st');
  found = await findCheckpoint(out);
  t.equal(found.checkpoint?.state.json.step, 1);
  t.match(found.notes[1], /checkpoint-2 cannot be read/);
});

t.test('a crash after a checkpoint completed but before the top level was updated is repaired', async (t) => {
  const out = await newRun();
  await writeCheckpoint(out, { writeModel: writeModel('model 1'), state: state(1), metrics: metrics(1) });
  await writeCheckpoint(out, { writeModel: writeModel('model 2'), state: state(2), metrics: metrics(2) });
  // As if the export had not happened: the top level still holds checkpoint 1's files.
  await writeFileAtomic(path.join(out, 'model.safetensors'), 'model 1');
  await writeFileAtomic(path.join(out, 'metrics.jsonl'), `${JSON.stringify(metrics(1)[0])}\n`);
  const { checkpoint } = await findCheckpoint(out);
  await exportCheckpoint(out, checkpoint!);
  t.equal(readFileSync(path.join(out, 'model.safetensors'), 'utf8'), 'model 2');
  t.equal(readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
});

t.test('best/ holds the model of the checkpoint marked best', async (t) => {
  const out = await newRun();
  await writeCheckpoint(out, { writeModel: writeModel('model 1'), state: state(1), metrics: metrics(1), isBest: true });
  await writeCheckpoint(out, { writeModel: writeModel('model 2'), state: state(2), metrics: metrics(2) });
  await writeCheckpoint(out, { writeModel: writeModel('model 3'), state: state(3), metrics: metrics(3) });
  t.equal(readFileSync(path.join(out, 'best', 'model.safetensors'), 'utf8'), 'model 1', 'survives the pruning of its checkpoint');
  t.notOk(existsSync(path.join(out, 'best', 'optimizer.safetensors')), 'only model files');
});

t.test("the user's files are never deleted or moved", async (t) => {
  const parent = tmp();
  const out = path.join(parent, 'run');
  // Siblings named as the old layout's scratch folders, made by the user.
  for (const sibling of [`${out}.old`, `${out}.partial`]) {
    mkdirSync(sibling);
    writeFileSync(path.join(sibling, 'mine.txt'), 'user data');
  }
  await probeWritableDir(out);
  await claimOutputDir(out);
  await writeCheckpoint(out, { writeModel: writeModel('model 1'), state: state(1), metrics: metrics(1) });
  await writeCheckpoint(out, { writeModel: writeModel('model 2'), state: state(2), metrics: metrics(2) });
  for (const sibling of [`${out}.old`, `${out}.partial`]) t.equal(readFileSync(path.join(sibling, 'mine.txt'), 'utf8'), 'user data', `${path.basename(sibling)} untouched`);
  // A foreign non-empty directory is refused and left as it was.
  const foreign = tmp();
  writeFileSync(path.join(foreign, 'notes.txt'), 'my files');
  await t.rejects(claimOutputDir(foreign), { name: 'OutputDirError', message: /exists, is not empty and is not a pjrt-bert output directory/ });
  t.same(readdirSync(foreign), ['notes.txt'], 'nothing added or removed');
  // A folder in trainer_state/ named like a checkpoint but without our marker is not ours.
  const lookalike = path.join(out, 'trainer_state', 'checkpoint-99');
  mkdirSync(lookalike);
  writeFileSync(path.join(lookalike, 'mine.txt'), 'user data');
  await writeCheckpoint(out, { writeModel: writeModel('model 3'), state: state(3), metrics: metrics(3) });
  t.ok(existsSync(path.join(lookalike, 'mine.txt')), 'an unmarked folder is never pruned');
});

t.test('a version-1 output directory (state at trainer_state/state.json) still resumes', async (t) => {
  const out = path.join(tmp(), 'run');
  mkdirSync(path.join(out, 'trainer_state'), { recursive: true });
  await writeModel('legacy model')(out);
  const { writeSafetensors } = await import('../lib/io/safetensors.js');
  await writeSafetensors(path.join(out, 'trainer_state', 'optimizer.safetensors'), state(5).optimizer);
  writeFileSync(path.join(out, 'trainer_state', 'state.json'), JSON.stringify(state(5).json));
  await claimOutputDir(out);
  const { checkpoint } = await findCheckpoint(out);
  t.equal(checkpoint?.state.json.step, 5);
  t.equal(checkpoint?.dir, out, 'its model is the top level');
  await writeCheckpoint(out, { writeModel: writeModel('model 6'), state: state(6), metrics: metrics(6) });
  t.notOk(existsSync(path.join(out, 'trainer_state', 'state.json')), 'the old state files are replaced by the new layout');
  t.equal((await findCheckpoint(out)).checkpoint?.state.json.step, 6);
});

t.test('output directories are probed up front, with errors that name the path and the fix', async (t) => {
  const parent = tmp();
  const file = path.join(parent, 'a-file');
  writeFileSync(file, 'x');
  await t.rejects(probeWritableDir(path.join(file, 'run'), { flag: '--out' }), { name: 'OutputDirError', message: /--out .*a-file\/run: .*a-file is a file, not a directory/ });
  await t.rejects(probeWritableDir(file), { message: /exists and is not a directory/ });
  const started = performance.now();
  await t.rejects(probeWritableDir('/proc/pjrt-bert-x'), { name: 'OutputDirError', message: /cannot be created/ });
  t.ok(performance.now() - started < 5000, '/proc fails at once (Node\'s recursive mkdir would loop forever)');
  await t.rejects(probeWritableDir(path.join(parent, 'big'), { bytesNeeded: 2 ** 60 }), { message: /needs about .* for checkpoints but its disk has .* free/ });
  const nested = path.join(parent, 'a', 'b', 'c');
  await probeWritableDir(nested);
  t.same(readdirSync(nested), [], 'created, and the probe file is gone');
});

t.test('an output directory is locked: a second run refuses at once, a dead run\'s lock is taken over', async (t) => {
  const dir = path.join(tmp(), 'run');
  const lock = await OutputDirLock.acquire(dir, { flag: '--out', purpose: 'pjrt-bert train' });
  t.equal(lock.recovered, undefined);
  await t.rejects(OutputDirLock.acquire(dir, { flag: '--out' }), { name: 'OutputDirError', message: new RegExp(`is in use by process ${process.pid} on ${os.hostname()} \\(pjrt-bert train\\)`) });
  lock.release();
  t.notOk(existsSync(path.join(dir, LOCK_FILE)), 'released');

  // A lock left by a process that is gone (SIGKILL leaves it behind).
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: os.hostname(), since: '2026-01-01T00:00:00Z' }));
  const second = await OutputDirLock.acquire(dir);
  t.equal(second.recovered?.pid, dead, 'the stale lock is recovered');
  second.release();

  // A lock from another host cannot be judged: refused, naming the file to delete.
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'some-other-host', since: '2026-01-01T00:00:00Z' }));
  await t.rejects(OutputDirLock.acquire(dir), { message: /some-other-host.*delete .*\.pjrt-bert\.lock/ });
  rmSync(path.join(dir, LOCK_FILE));
});

t.test('of many processes racing for one lock, exactly one wins', async (t) => {
  const dir = path.join(tmp(), 'run');
  mkdirSync(dir);
  // A winner holds the lock until its stdin closes, which happens once every process answered.
  const script = `
    import { OutputDirLock } from ${JSON.stringify(path.join(root, 'lib/io/output-dir.ts'))};
    try { const lock = await OutputDirLock.acquire(process.argv[1]); console.log('won'); process.stdin.resume(); process.stdin.on('end', () => lock.release()); }
    catch (error) { console.log(error.name === 'OutputDirError' && /is in use by/.test(error.message) ? 'refused' : 'error ' + error.message); }`;
  const children = Array.from({ length: 6 }, () => spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script, dir], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const exits = children.map((child) => new Promise((resolve) => child.on('close', resolve)));
  const answers = await Promise.all(
    children.map(
      (child) =>
        new Promise<string>((resolve) => {
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            if (out.includes('\n')) resolve(out.trim());
          });
          child.on('close', () => resolve(out.trim()));
        }),
    ),
  );
  for (const child of children) child.stdin.end();
  await Promise.all(exits);
  t.equal(answers.filter((r) => r === 'won').length, 1, `one winner: ${answers.join(', ')}`);
  t.equal(answers.filter((r) => r === 'refused').length, 5);
  t.notOk(existsSync(path.join(dir, LOCK_FILE)), 'the winner released it');
});
