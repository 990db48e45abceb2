// TensorBoard event files (lib/train/tensorboard.ts): CRC32C against the RFC 3720 check vectors and
// the masking of the Python `tensorboard` package; scalars read back by its two event readers (the
// legacy EventAccumulator and the plugin one `tensorboard --logdir` serves from) with tags, steps,
// float32 values and wall times; only flushed records visible; every truncation of a file yields
// exactly its complete records; names, argument errors and close.
import { copyFile, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { crc32c, EVENT_FILE_VERSION, maskedCrc32c, TensorBoardWriter, tfRecord } from '../lib/train/tensorboard.js';
import { runPythonJson } from './reference/python.js';

/** [wall_time, step, repr(value)] as tensorboard_events.py reports a scalar. */
type PyScalar = [number, number, string];
interface PyFile {
  path: string;
  file_version: number | null;
  first_timestamp: number | null;
  scalars: Record<string, PyScalar[]>;
  tensors: Record<string, PyScalar[]>;
}
interface Logged {
  tag: string;
  value: number;
  step: number;
  wallTime: number;
}

const work = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-tensorboard-'));

/** What a reader should report for `logged`: per tag, in order, the value rounded to float32. */
function expected(logged: Logged[]): Record<string, Array<[number, number, number]>> {
  const byTag: Record<string, Array<[number, number, number]>> = {};
  for (const s of logged) (byTag[s.tag] ??= []).push([s.wallTime, s.step, Math.fround(s.value)]);
  return byTag;
}

/** Python's float repr back to a number ('nan', 'inf', '-inf' included). */
function fromRepr(text: string): number {
  return text === 'nan' ? NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text);
}

function decoded(scalars: Record<string, PyScalar[]>): Record<string, Array<[number, number, number]>> {
  return Object.fromEntries(Object.entries(scalars).map(([tag, rows]) => [tag, rows.map(([w, s, v]): [number, number, number] => [w, s, fromRepr(v)])]));
}

// t.same takes NaN as equal to NaN; -0 against 0 is checked apart with Object.is.

// --- 1. A run's scalars, with a fixed clock. ---
const created = 1_700_000_000.625;
let clock = created;
const runDir = path.join(work, 'run');
const writer = await TensorBoardWriter.create(runDir, { now: () => clock });
const logged: Logged[] = [];
function log(tag: string, value: number, step: number, wallTime?: number): void {
  writer.scalar(tag, value, step, wallTime);
  logged.push({ tag, value, step, wallTime: wallTime ?? clock });
}
for (let step = 0; step < 5; step++) {
  clock += 1.5;
  log('train/loss', 1 / 3 + 0.1 * step, step);
}
// values float32 cannot hold exactly, its extremes, non-finite values, a signed zero
const extremes = [0.1, -0.5, -0, 1e-45, 3.4e38, 1e39, NaN, Infinity, -Infinity];
extremes.forEach((value, i) => log('val/extremes', value, 10 + i, 1_234_567_890.123456 + i));
log('train/big-step', 7, 2 ** 40);
log('métrique/λ', 2.5, 3); // a tag of multi-byte UTF-8
const snapshotDir = path.join(work, 'before-flush');
await mkdir(snapshotDir);
await copyFile(writer.file, path.join(snapshotDir, path.basename(writer.file)));
clock += 1;
writer.scalars({ 'val/loss': 0.75, 'val/accuracy': 0.5, 'val/f1': undefined }, 5);
logged.push({ tag: 'val/loss', value: 0.75, step: 5, wallTime: clock }, { tag: 'val/accuracy', value: 0.5, step: 5, wallTime: clock });
await writer.flush();
const sizeAfterFlush = (await stat(writer.file)).size;
await writer.close();

// --- 2. A small file cut at every byte: each copy should read as its whole records. ---
const cutSource = path.join(work, 'cut-source');
const small = await TensorBoardWriter.create(cutSource, { now: () => 1_600_000_000 });
const smallLogged: Logged[] = [];
for (let step = 1; step <= 4; step++) {
  const s = { tag: step % 2 ? 'a' : 'b/c', value: step * 0.25, step, wallTime: 1_600_000_000 + step };
  small.scalar(s.tag, s.value, s.step, s.wallTime);
  smallLogged.push(s);
}
await small.close();
const smallBytes = await readFile(small.file);
/** Where each record ends, walking the framing: 8 length bytes, 4 CRC bytes, data, 4 CRC bytes. */
const recordEnds: number[] = [];
for (let at = 0; at < smallBytes.length; ) {
  at += 16 + Number(smallBytes.readBigUInt64LE(at));
  recordEnds.push(at);
}
const cutPaths: string[] = [];
for (let cut = 0; cut <= smallBytes.length; cut++) {
  const dir = path.join(work, 'cuts', String(cut));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'events.out.tfevents.1600000000.cut');
  await writeFile(file, smallBytes.subarray(0, cut));
  cutPaths.push(file);
}

const crcVectors = ['', '313233343536373839', '00'.repeat(32), 'ff'.repeat(32), Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex'), Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)).toString('hex')];
const python = await runPythonJson<{ files: PyFile[]; masked_crc: number[] }>('tensorboard_events.py', [], {
  paths: [runDir, snapshotDir, ...cutPaths],
  crc: crcVectors,
});
const [pyRun, pySnapshot, ...pyCuts] = python.files;

t.test('CRC32C matches the RFC 3720 check vectors and tensorboard masks it the same way', async (t) => {
  const bytes = crcVectors.map((hex) => Buffer.from(hex, 'hex'));
  t.same(
    bytes.map((b) => crc32c(b)),
    [0, 0xe3069283, 0x8a9136aa, 0x62a8ab43, 0x46dd794e, 0x113fdb5c],
  );
  t.same(
    bytes.map((b) => maskedCrc32c(b)),
    python.masked_crc,
  );
  t.equal(maskedCrc32c(bytes[1]!), 3347755237, 'masked CRC of "123456789"');
});

t.test('tfRecord frames data: length, masked CRC of the length, data, masked CRC of the data', async (t) => {
  const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
  const record = Buffer.from(tfRecord(data));
  t.equal(record.length, 316);
  t.equal(record.readBigUInt64LE(0), 300n);
  t.equal(record.readUInt32LE(8), maskedCrc32c(record.subarray(0, 8)));
  t.same(record.subarray(12, 312), data);
  t.equal(record.readUInt32LE(312), maskedCrc32c(data));
});

t.test('the event file is named as TensorFlow names them and starts with its file version', async (t) => {
  const name = path.basename(writer.file);
  t.same(await readdir(runDir), [name]);
  const escapedHost = os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  t.match(name, new RegExp(`^events\\.out\\.tfevents\\.1700000000\\.${escapedHost}\\.${process.pid}\\.\\d+$`));
  t.equal(EVENT_FILE_VERSION, 'brain.Event:2');
  t.equal(pyRun!.file_version, 2, 'tensorboard parsed "brain.Event:2"');
  t.equal(pyRun!.first_timestamp, created, 'the file_version event carries the creation time');
});

t.test('tensorboard reads back every tag, step, float32 value and wall time', async (t) => {
  const want = expected(logged);
  t.same(Object.keys(pyRun!.scalars).sort(), Object.keys(want).sort(), 'tags (val/f1 left out: undefined)');
  t.same(decoded(pyRun!.scalars), want, 'legacy EventAccumulator');
  t.same(decoded(pyRun!.tensors), want, 'plugin_event_accumulator (what `tensorboard --logdir` serves)');
  const extremesRead = decoded(pyRun!.scalars)['val/extremes']!.map((row) => row[2]);
  t.not(extremesRead[0], 0.1, '0.1 comes back rounded to float32');
  t.equal(extremesRead[0], Math.fround(0.1));
  t.ok(Object.is(extremesRead[2], -0), 'negative zero kept');
  t.equal(extremesRead[5], Infinity, '1e39 overflows float32');
  t.equal(pyRun!.scalars['train/big-step']![0]![1], 2 ** 40, 'a step past 2^32');
});

t.test('records are written by flush only, whole', async (t) => {
  t.same(pySnapshot!.scalars, {}, 'scalars buffered before the flush are not in the file');
  t.equal(pySnapshot!.file_version, 2, 'the file_version record is written at creation');
  t.equal((await stat(writer.file)).size, sizeAfterFlush, 'close after a flush adds nothing');
});

t.test('every truncation of a file yields exactly its complete records', async (t) => {
  t.equal(recordEnds.length, 5, 'file_version + 4 scalars');
  t.equal(recordEnds.at(-1), smallBytes.length, 'the framing walks to the end of the file');
  let checked = 0;
  for (let cut = 0; cut <= smallBytes.length; cut++) {
    const complete = recordEnds.filter((end) => end <= cut).length;
    const file = pyCuts[cut]!;
    const want = expected(smallLogged.slice(0, Math.max(0, complete - 1)));
    if (JSON.stringify(decoded(file.scalars)) !== JSON.stringify(want) || file.file_version !== (complete > 0 ? 2 : null)) {
      t.fail(`cut at byte ${cut} of ${smallBytes.length}: read ${JSON.stringify(file.scalars)} (file_version ${file.file_version}), want ${complete} records ${JSON.stringify(want)}`);
    } else checked++;
  }
  t.equal(checked, smallBytes.length + 1, `all ${smallBytes.length + 1} cuts read as their complete records`);
});

t.test('two writers in one folder in the same second write two files', async (t) => {
  const dir = path.join(work, 'two');
  const first = await TensorBoardWriter.create(dir, { now: () => 1_700_000_000, hostname: 'host.example' });
  const second = await TensorBoardWriter.create(dir, { now: () => 1_700_000_000, hostname: 'host.example' });
  t.not(first.file, second.file);
  t.same((await readdir(dir)).sort(), [path.basename(first.file), path.basename(second.file)].sort());
  t.match(path.basename(first.file), new RegExp(`^events\\.out\\.tfevents\\.1700000000\\.host\\.example\\.${process.pid}\\.\\d+$`));
  await Promise.all([first.close(), second.close()]);
});

t.test('bad arguments are errors that say what was wrong; nothing is half-buffered', async (t) => {
  const dir = path.join(work, 'errors');
  const w = await TensorBoardWriter.create(dir, { now: () => 1_700_000_000 });
  const size = (await stat(w.file)).size;
  t.throws(() => w.scalar('', 1, 0), /tag must be a non-empty string/);
  t.throws(() => w.scalar('x', 1, 1.5), /step of scalar "x" must be an integer.*1\.5/);
  t.throws(() => w.scalar('x', 1, 2 ** 53), /step of scalar "x" must be an integer/);
  t.throws(() => w.scalar('x', 1, 0, NaN), /wall time of scalar "x" must be a finite number/);
  t.throws(() => w.scalar('x', '1' as unknown as number, 0), /value of scalar "x" must be a number, got string/);
  t.throws(() => w.scalars({ good: 1, '': 2 }, 0), /tag must be a non-empty string/);
  await w.flush();
  t.equal((await stat(w.file)).size, size, 'the rejected scalars() buffered none of its entries');
  const closing = w.close();
  t.equal(w.close(), closing, 'a second close returns the first one');
  await closing;
  t.throws(() => w.scalar('x', 1, 0), new RegExp(`${w.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is closed`));
  await w[Symbol.asyncDispose]();

  await t.rejects(TensorBoardWriter.create(dir, { hostname: 'a/b' }), /hostname "a\/b" cannot be part of a file name/);
  const notADir = path.join(work, 'a-file');
  await writeFile(notADir, 'x');
  await t.rejects(TensorBoardWriter.create(path.join(notADir, 'logs')), new RegExp(`cannot create the log folder .*a-file/logs`));
});
