// TensorBoard event files (lib/train/tensorboard.ts): CRC32C against the RFC 3720 check vectors and
// the masking of the Python `tensorboard` package; scalars read back by its two event readers (the
// legacy EventAccumulator and the plugin one `tensorboard --logdir` serves from) with tags, steps,
// float32 values and wall times; only flushed records visible; every truncation of a file yields
// exactly its complete records; a write that fails part-way (file size limit) leaves the earlier
// records readable and a later flush completes the file; names, argument errors and close.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { crc32c, EVENT_FILE_VERSION, maskedCrc32c, TensorBoardWriter, tfRecord } from '../lib/train/tensorboard.js';
import { repoRoot, runPythonJson } from './reference/python.js';

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
t.teardown(() => rm(work, { recursive: true, force: true }));

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
log('train/negative', -1.25, -3); // a negative int64 step: ten varint bytes
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
const recordEnds = recordEndsOf(smallBytes);
const cutPaths: string[] = [];
for (let cut = 0; cut <= smallBytes.length; cut++) {
  const dir = path.join(work, 'cuts', String(cut));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'events.out.tfevents.1600000000.cut');
  await writeFile(file, smallBytes.subarray(0, cut));
  cutPaths.push(file);
}

// --- 3. A flush that fails part-way: the parent (prlimit) sets a child's file size limit to 2048
// bytes, so its next flush is cut short at the limit and then fails with EFBIG (the child catches
// SIGXFSZ, which would end it); once the parent lifts the limit, the child flushes again. ---
const LIMIT = 2048;
const limitDir = path.join(work, 'size-limit');
const limitSnapshot = path.join(work, 'size-limit-snapshot');
const limitLogged: Logged[] = Array.from({ length: 60 }, (_, i) => ({ tag: `t${i % 3}`, value: i / 7, step: i, wallTime: 1_650_000_000 + i }));
const havePrlimit = await new Promise<boolean>((resolve) => execFile('prlimit', ['--version'], (error) => resolve(!error)));
interface LimitRun {
  failure?: string;
  done?: boolean;
  file?: string;
  skipped?: string;
}
const limitRun: LimitRun = {};
if (havePrlimit) {
  const script = `
    import { TensorBoardWriter } from ${JSON.stringify(path.join(repoRoot, 'lib/train/tensorboard.ts'))};
    process.on('SIGXFSZ', () => {});
    const said = (line) => console.log(JSON.stringify(line));
    const lines = process.stdin.setEncoding('utf8')[Symbol.asyncIterator]();
    const logged = JSON.parse(process.argv[2]);
    const w = await TensorBoardWriter.create(process.argv[1], { now: () => 1_650_000_000 });
    for (const s of logged.slice(0, 20)) w.scalar(s.tag, s.value, s.step, s.wallTime);
    await w.flush();
    said({ file: w.file });
    await lines.next();
    for (const s of logged.slice(20)) w.scalar(s.tag, s.value, s.step, s.wallTime);
    try { await w.flush(); said({ failure: 'none' }); } catch (error) { said({ failure: error.message }); }
    await lines.next();
    await w.close();
    said({ done: true });
    process.exit(0);`;
  // The child gets tap's TypeScript loader only: tap's process-info hook (loaded by @tapjs/mock,
  // NODE_OPTIONS and the _TAPJS_ variables too) would write past the limit and end it on SIGXFSZ.
  const execArgv = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^_?TAP/.test(key) && key !== 'NODE_OPTIONS'));
  const child = spawn(process.execPath, [...execArgv, '--input-type=module', '-e', script, limitDir, JSON.stringify(limitLogged)], { stdio: ['pipe', 'pipe', 'inherit'], env });
  let out = '';
  const lines: string[] = [];
  let wake = (): void => {};
  let exit: string | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      lines.push(out.slice(0, nl));
      out = out.slice(nl + 1);
    }
    wake();
  });
  const exited = new Promise<void>((resolve) =>
    child.on('close', (code, signal) => {
      exit = `the size-limit child exited (code ${code}, signal ${signal}) before answering`;
      wake();
      resolve();
    }),
  );
  /** The child's next stdout line, parsed; throws once it exited without one. */
  const nextLine = async (): Promise<LimitRun> => {
    while (lines.length === 0) {
      if (exit) throw new Error(exit);
      await new Promise<void>((resolve) => (wake = resolve));
    }
    return JSON.parse(lines.shift()!) as LimitRun;
  };
  const fileSizeLimit = (limit: string): Promise<void> =>
    new Promise((resolve, reject) => execFile('prlimit', ['--pid', String(child.pid), `--fsize=${limit}:`], (error) => (error ? reject(error) : resolve())));
  Object.assign(limitRun, await nextLine());
  await fileSizeLimit(String(LIMIT));
  child.stdin.write('flush\n');
  Object.assign(limitRun, await nextLine());
  await mkdir(limitSnapshot);
  await copyFile(limitRun.file!, path.join(limitSnapshot, path.basename(limitRun.file!)));
  await fileSizeLimit('unlimited');
  child.stdin.write('close\n');
  Object.assign(limitRun, await nextLine());
  await exited;
} else {
  limitRun.skipped = 'prlimit (util-linux) is not installed';
}

const crcVectors = ['', '313233343536373839', '00'.repeat(32), 'ff'.repeat(32), Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex'), Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)).toString('hex')];
const python = await runPythonJson<{ files: PyFile[]; masked_crc: number[] }>('tensorboard_events.py', [], {
  paths: [runDir, snapshotDir, ...(limitRun.skipped ? [] : [limitSnapshot, limitDir]), ...cutPaths],
  crc: crcVectors,
});
const [pyRun, pySnapshot] = python.files;
const [pyLimitSnapshot, pyLimitDone] = limitRun.skipped ? [] : python.files.slice(2, 4);
const pyCuts = python.files.slice(limitRun.skipped ? 2 : 4);

/** Where each record of an event file ends, walking the framing: 8 length bytes, 4 CRC bytes, data, 4 CRC bytes. */
function recordEndsOf(bytes: Buffer): number[] {
  const ends: number[] = [];
  for (let at = 0; at + 8 <= bytes.length; ) {
    at += 16 + Number(bytes.readBigUInt64LE(at));
    ends.push(at);
  }
  return ends;
}

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

t.test('a write cut short by the file size limit keeps the earlier records; the next flush completes the file', { skip: limitRun.skipped }, async (t) => {
  t.match(limitRun.failure, new RegExp(`cannot write to .*events\\.out\\.tfevents\\..*: .*EFBIG`), 'the failed flush names the file and the cause');
  const snapshot = await readFile(path.join(limitSnapshot, path.basename(limitRun.file!)));
  const final = await readFile(limitRun.file!);
  t.equal(snapshot.length, LIMIT, 'the failed write stopped at the limit');
  const ends = recordEndsOf(final);
  t.equal(ends.at(-1), final.length, 'the completed file is whole records');
  t.equal(ends.length, 1 + limitLogged.length);
  t.notOk(ends.includes(LIMIT), 'the limit falls inside a record: the snapshot ends with a partial one');
  t.same(final.subarray(0, LIMIT), snapshot, 'the retry rewrote the partial tail and went on');
  const completeInSnapshot = ends.filter((end) => end <= LIMIT).length;
  t.ok(completeInSnapshot > 21, 'the failed flush had written some of its records whole');
  t.same(decoded(pyLimitSnapshot!.scalars), expected(limitLogged.slice(0, completeInSnapshot - 1)), 'a reader of the cut file gets every complete record');
  t.same(decoded(pyLimitDone!.scalars), expected(limitLogged), 'the completed file holds every scalar once');
  t.ok(limitRun.done);
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
