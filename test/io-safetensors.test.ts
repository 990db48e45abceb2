// safetensors: round trip of every dtype, the real MiniLM model.safetensors checked value
// by value against Python `safetensors`, and headers that lie about the file refused with
// errors naming the file and the tensor.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from '../lib/io/safetensors.js';
import {
  type Tensor,
  bf16ToNumber,
  f16ToNumber,
  makeTensor,
  numberToBf16,
  numberToF16,
  toFloat32,
} from '../lib/io/tensor.js';
import { miniLmDir } from './reference/corpora.js';
import { runPythonJson } from './reference/python.js';

interface Summary {
  dtype: string;
  shape: number[];
  sum: number;
  head: number[];
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-st-'));

function numbers(tensor: Tensor): number[] {
  if (tensor.dtype === 'f16') return Array.from(tensor.data as Uint16Array, f16ToNumber);
  if (tensor.dtype === 'bf16') return Array.from(tensor.data as Uint16Array, bf16ToNumber);
  return Array.from(tensor.data as ArrayLike<number | bigint>, Number);
}

t.test('round trip of every dtype through a file, read back by Python', async (t) => {
  const tensors = new Map<string, Tensor>([
    ['f32', makeTensor('f32', [2, 3], Float32Array.from([1, -2, 3.5, 0, 1e-8, -7]))],
    ['f64', makeTensor('f64', [2], Float64Array.from([Math.PI, -1e300]))],
    ['f16', makeTensor('f16', [3], Uint16Array.from([1, -0.5, 65504].map(numberToF16)))],
    ['bf16', makeTensor('bf16', [3], Uint16Array.from([1, -0.5, 3.140625].map(numberToBf16)))],
    ['s64', makeTensor('s64', [2], BigInt64Array.from([-(2n ** 40n), 7n]))],
    ['s32', makeTensor('s32', [1, 2], Int32Array.from([-3, 2 ** 30]))],
    ['u8', makeTensor('u8', [3], Uint8Array.from([0, 128, 255]))],
    ['bool', makeTensor('pred', [2], Uint8Array.from([1, 0]))],
    ['scalar', makeTensor('f32', [], Float32Array.from([42]))],
    ['empty', makeTensor('f32', [0, 5], new Float32Array(0))],
  ]);
  const file = path.join(dir, 'round.safetensors');
  await writeSafetensors(file, tensors, { format: 'pt' });
  const back = await readSafetensors(file);
  t.same(back.metadata, { format: 'pt' });
  t.same([...back.tensors.keys()].sort(), [...tensors.keys()].sort());
  for (const [name, tensor] of tensors) {
    const read = back.tensors.get(name)!;
    t.equal(read.dtype, tensor.dtype, `${name} dtype`);
    t.same(read.shape, tensor.shape, `${name} shape`);
    t.same(numbers(read), numbers(tensor), `${name} values`);
  }
  const python = await runPythonJson<Record<string, Summary>>('io_reference.py', ['summary', file]);
  t.same(python.f32!.head, Array.from(Float32Array.from([1, -2, 3.5, 0, 1e-8, -7])));
  t.same(python.f16!.head, [1, -0.5, 65504]);
  t.same(python.bf16!.head, [1, -0.5, 3.140625]);
  t.same(python.s64!.head, [-(2 ** 40), 7]);
  t.same(python.scalar!.shape, []);
  t.same(python.empty!.shape, [0, 5]);
  t.equal(python.bool!.dtype, 'bool');
  const header = (await readFile(file)).readBigUInt64LE(0);
  t.equal(Number(header) % 8, 0, 'header padded to 8 bytes');
});

t.test('MiniLM model.safetensors matches Python safetensors value for value', async (t) => {
  const file = path.join(await miniLmDir(), 'model.safetensors');
  const ours = await readSafetensors(file);
  const python = await runPythonJson<Record<string, Summary>>('io_reference.py', ['summary', file]);
  t.equal(ours.tensors.size, Object.keys(python).length, `${ours.tensors.size} tensors`);
  for (const [name, want] of Object.entries(python)) {
    const got = ours.tensors.get(name);
    if (!t.ok(got, `${name} present`)) continue;
    t.same(got!.shape, want.shape, `${name} shape`);
    const values = got!.dtype === 's64' ? Float64Array.from(got!.data as BigInt64Array, Number) : toFloat32(got!);
    t.same(Array.from(values.subarray(0, 8)), want.head, `${name} first values`);
    let sum = 0;
    for (const v of values) sum += v;
    t.ok(Math.abs(sum - want.sum) <= 1e-6 * Math.max(1, Math.abs(want.sum)) * Math.sqrt(values.length), `${name} sum`);
  }
});

t.test('float16 and bfloat16 conversions round to nearest even', async (t) => {
  t.equal(numberToF16(1 + 2 ** -11), numberToF16(1), 'tie to even stays at 1');
  t.equal(numberToF16(65520), 0x7c00, 'overflow to infinity');
  t.equal(f16ToNumber(numberToF16(2 ** -24)), 2 ** -24, 'smallest subnormal');
  t.equal(bf16ToNumber(numberToBf16(1 + 2 ** -8)), 1, 'bf16 tie to even');
  t.ok(Number.isNaN(bf16ToNumber(numberToBf16(NaN))));
});

async function corrupt(name: string, edit: (bytes: Buffer) => Buffer): Promise<string> {
  const chunks = encodeSafetensors([
    ['a', makeTensor('f32', [2, 2], Float32Array.from([1, 2, 3, 4]))],
    ['b', makeTensor('s64', [2], BigInt64Array.from([1n, 2n]))],
  ]);
  const file = path.join(dir, name);
  await writeFile(file, edit(Buffer.concat(chunks)));
  return file;
}

function withHeader(bytes: Buffer, rewrite: (header: Record<string, unknown>) => unknown, raw?: string): Buffer {
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString()) as Record<string, unknown>;
  const json = Buffer.from(raw ?? JSON.stringify(rewrite(header)));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, bytes.subarray(8 + length)]);
}

t.test('lying or truncated headers are refused, naming the file and the tensor', async (t) => {
  const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    ['short.safetensors', (b) => b.subarray(0, 5), /short\.safetensors: too short/],
    ['truncated.safetensors', (b) => b.subarray(0, b.length - 4), /truncated\.safetensors: tensor data runs past the end of the file.*"b"/],
    ['huge-header.safetensors', (b) => { const c = Buffer.from(b); c.writeBigUInt64LE(10_000n); return c; }, /huge-header\.safetensors: header length 10000 runs past the end/],
    ['not-json.safetensors', (b) => withHeader(b, (h) => h, '{"a": [1,'), /not-json\.safetensors: header is not valid UTF-8 JSON/],
    ['size.safetensors', (b) => withHeader(b, (h) => ({ ...h, a: { ...(h.a as object), shape: [3, 2] } })), /size\.safetensors: tensor "a": F32\[3, 2\] needs 24 bytes but data_offsets \[0, 16\] hold 16/],
    ['overlap.safetensors', (b) => withHeader(b, (h) => ({ ...h, b: { dtype: 'I64', shape: [2], data_offsets: [8, 24] } })), /overlap\.safetensors: tensor "b".*overlaps the previous tensor/],
    ['gap.safetensors', (b) => withHeader(b, (h) => ({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: h.b })), /gap\.safetensors: tensor "b".*leaves a gap/],
    ['dtype.safetensors', (b) => withHeader(b, (h) => ({ ...h, a: { ...(h.a as object), dtype: 'F8_E4M3' } })), /dtype\.safetensors: tensor "a": unsupported dtype "F8_E4M3"/],
    ['offsets.safetensors', (b) => withHeader(b, (h) => ({ ...h, a: { dtype: 'F32', shape: [2, 2], data_offsets: [0] } })), /offsets\.safetensors: tensor "a": data_offsets must be/],
    ['array.safetensors', (b) => withHeader(b, () => [1, 2]), /array\.safetensors: header is not a JSON object/],
  ];
  for (const [name, edit, message] of cases) {
    const file = await corrupt(name, edit);
    await t.rejects(readSafetensors(file), { name: 'FileFormatError', message }, name);
  }
  await t.rejects(readSafetensors(path.join(dir, 'missing.safetensors')), { message: /missing\.safetensors: file not found/ });
  t.throws(() => parseSafetensors(new Uint8Array(3), 'x.safetensors'), /x\.safetensors/);
});
