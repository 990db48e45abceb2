// Serialized executables keep their signature: a deserialized program checks its arguments
// exactly as the compiled one did, and bytes without pjrt-bert's header, corrupt or truncated
// bytes, or another platform's executable are clear errors.
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime, SerializedExecutableError, type Executable } from '../lib/index.js';
import { decodeSerializedExecutable } from '../lib/runtime/serialized-executable.js';
import { openTestRuntime, program, testPlugin } from './helpers/runtime.js';

const scale = program(
  ['tensor<2x3xf32>', 'tensor<f32>'],
  ['tensor<2x3xf32>'],
  ['%0 = stablehlo.broadcast_in_dim %arg1, dims = [] : (tensor<f32>) -> tensor<2x3xf32>', '%1 = stablehlo.multiply %arg0, %0 : tensor<2x3xf32>', 'return %1 : tensor<2x3xf32>'],
);

/** The messages `execute` gives for a wrong count, shape and dtype, each as a string. */
async function argumentErrors(rt: Runtime, exe: Executable): Promise<string[]> {
  const x = await rt.put(new Float32Array(6), [2, 3]);
  const s = await rt.put(new Float32Array([2]), []);
  const cases = [
    [x],
    [await rt.put(new Float32Array(6), [3, 2]), s],
    [x, await rt.put(new Int32Array([2]), [])],
    [await rt.put(new Float64Array(6), [2, 3]), s],
  ];
  const messages: string[] = [];
  for (const args of cases) messages.push(await exe.execute(args).then(() => 'ran', (e: Error) => `${e.name}: ${e.message}`));
  return messages;
}

/** `bytes` with its JSON header replaced by `edit(header)`, PJRT's bytes kept. */
function withHeader(bytes: Uint8Array, edit: (header: Record<string, unknown>) => Record<string, unknown>): Uint8Array {
  const { header, payload } = decodeSerializedExecutable(bytes);
  const json = new TextEncoder().encode(JSON.stringify(edit({ ...header })));
  const out = new Uint8Array(16 + json.length + payload.length);
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(payload, 16 + json.length);
  return out;
}

t.test('a deserialized executable checks its arguments as the compiled one does', async (t) => {
  const rt = await openTestRuntime();
  const compiled = await rt.compile(scale);
  const loaded = await rt.deserialize(compiled.serialize());
  t.same(loaded.parameters, compiled.parameters, 'the signature came along');
  t.same(loaded.outputs, compiled.outputs);
  const expected = await argumentErrors(rt, compiled);
  t.ok(expected.every((m) => m.startsWith('TypeError: execute: ')), 'the compiled executable refuses every case');
  t.same(await argumentErrors(rt, loaded), expected, 'the deserialized one refuses them with the same messages');
  const [[out]] = await loaded.execute([await rt.put(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]), await rt.put(new Float32Array([2]), [])]);
  t.same(Array.from((await out!.toHost()) as Float32Array), [2, 4, 6, 8, 10, 12], 'and runs right arguments');
});

t.test('a program whose signature was unknown stays unknown', async (t) => {
  const rt = await openTestRuntime();
  const fromBytes = await rt.compile(new TextEncoder().encode(scale)); // not read as text: no signature
  t.equal(fromBytes.parameters, undefined);
  const loaded = await rt.deserialize(fromBytes.serialize());
  t.equal(loaded.parameters, undefined, 'left to the plugin, as for the compiled one');
  t.same(loaded.outputs, [{ dtype: 'f32', shape: [2, 3] }]);
});

t.test('bytes without a signature, corrupt or foreign bytes are clear errors', async (t) => {
  const rt = await openTestRuntime();
  const bytes = (await rt.compile(scale)).serialize();
  const { payload } = decodeSerializedExecutable(bytes);
  const fails = (data: Uint8Array, message: RegExp, what: string) => t.rejects(rt.deserialize(data), { name: 'SerializedExecutableError', message }, what);
  await fails(payload.slice(), /do not start with pjrt-bert's signature header.*Executable\.serialize\(\)/s, 'raw PJRT bytes');
  await fails(new Uint8Array(3), /these 3 bytes do not start/, 'a few bytes');
  await fails(bytes.slice(0, bytes.length - 100), /truncated or corrupt/, 'a truncated executable');
  await fails(bytes.slice(0, 40), /header claims \d+ bytes but only 24 follow/, 'a truncated header');
  const flipped = bytes.slice();
  flipped[bytes.length - 10]! ^= 0xff;
  await fails(flipped, /does not match the sha256/, 'a flipped bit in the executable');
  const badJson = bytes.slice();
  badJson[16] = 'x'.charCodeAt(0); // the header's opening '{'
  await fails(badJson, /signature header is corrupt/, 'a header that is not JSON');
  await fails(withHeader(bytes, (h) => ({ ...h, parameters: [{ dtype: 'f99', shape: [2] }] })), /signature header is corrupt/, 'an unknown dtype');
  await fails(withHeader(bytes, (h) => ({ ...h, parameters: [{ dtype: 'f32', shape: [-1] }] })), /signature header is corrupt/, 'a negative dimension');
  await fails(withHeader(bytes, (h) => ({ ...h, outputs: [{ dtype: 's32', shape: [2, 3] }] })), /lists outputs \(s32\[2,3\]\) but the executable has \(f32\[2,3\]\)/, 'outputs that disagree');
  await fails(withHeader(bytes, (h) => ({ ...h, platform: 'tpu' })), /compiled for platform 'tpu'.*this runtime's platform is/s, "another platform's executable");
  const version = bytes.slice();
  new DataView(version.buffer).setUint32(8, 7, true);
  await fails(version, /format version 7; this pjrt-bert reads version 1/, 'a newer format');
  t.type(await rt.deserialize(bytes), Object, 'the intact bytes still load');
  t.ok(SerializedExecutableError.prototype instanceof Error);
});

t.test('compile cache entries carry the signature too', { skip: testPlugin !== 'cpu' && 'CPU plugin only' }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-cache-'));
  const first = await Runtime.open({ plugin: 'cpu', cpuDevices: 2, compileCache: dir });
  const compiled = await first.compile(scale);
  const expected = await argumentErrors(first, compiled);
  first.dispose();
  const [entry] = readdirSync(dir).filter((f) => f.endsWith('.pjrt'));
  t.ok(decodeSerializedExecutable(readFileSync(path.join(dir, entry!))).header.parameters, 'the entry records the parameters');

  const second = await Runtime.open({ plugin: 'cpu', cpuDevices: 2, compileCache: dir });
  const cached = await second.compile(scale);
  t.same(second.compileStats, { compiled: 0, cacheHits: 1 });
  t.same(await argumentErrors(second, cached), expected, 'a cache hit checks arguments like a compile');
  // An entry from before signatures (raw PJRT bytes) is compiled again and replaced.
  writeFileSync(path.join(dir, entry!), decodeSerializedExecutable(readFileSync(path.join(dir, entry!))).payload);
  await second.compile(scale);
  t.same(second.compileStats, { compiled: 1, cacheHits: 1 });
  t.ok(decodeSerializedExecutable(readFileSync(path.join(dir, entry!))).header, 'and rewritten with its header');
  second.dispose();
});
