// Every error path of the runtime: each is a clear, typed error, and the process lives on.
import t from 'tap';
import { mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PjrtError, Runtime } from '../lib/index.js';
import { openTestRuntime, program, testPlugin } from './helpers/runtime.js';

const fakePlugin = path.resolve(import.meta.dirname, '..', 'build', 'Release', 'libfake_pjrt_plugin.so');
const negate = program(['tensor<2xf32>'], ['tensor<2xf32>'], ['%0 = stablehlo.negate %arg0 : tensor<2xf32>', 'return %0 : tensor<2xf32>']);

t.test('invalid StableHLO is a PjrtError carrying the compiler message', async (t) => {
  const rt = await openTestRuntime();
  const error = await rt.compile('func.func public @main() -> tensor<2xf32> { %0 = stablehlo.bogus : tensor<2xf32> }').catch((e: unknown) => e);
  t.type(error, PjrtError);
  const pjrt = error as PjrtError;
  t.equal(pjrt.pjrtFunction, 'PJRT_Client_Compile');
  t.match(pjrt.message, /bogus/);
  t.notSame(pjrt.code, 'OK');
  t.match(pjrt.stack ?? '', /called from/, 'the stack includes the caller');
});

t.test('wrong argument count, shape, dtype and device are TypeErrors before PJRT', async (t) => {
  const rt = await openTestRuntime();
  const exe = await rt.compile(negate);
  const good = await rt.put(new Float32Array([1, 2]), [2]);
  await t.rejects(exe.execute([]), { name: 'TypeError', message: /takes 1 argument\(s\) \(f32\[2\]\), replica 0 got 0/ });
  await t.rejects(exe.execute([good, good]), { name: 'TypeError', message: /takes 1 argument/ });
  const wrongShape = await rt.put(new Float32Array([1, 2, 3]), [3]);
  await t.rejects(exe.execute([wrongShape]), { name: 'TypeError', message: /argument 0 of replica 0 is f32\[3\], @main expects f32\[2\]/ });
  const wrongDtype = await rt.put(new Float64Array([1, 2]), [2]);
  await t.rejects(exe.execute([wrongDtype]), { name: 'TypeError', message: /is f64\[2\], @main expects f32\[2\]/ });
  if (rt.devices.length > 4) {
    const elsewhere = await rt.put(new Float32Array([1, 2]), [2], { device: 4 });
    await t.rejects(exe.execute([elsewhere]), { name: 'TypeError', message: /is on device 4, but replica 0 runs on device 0/ });
  }
  await t.rejects(exe.execute([[good], [good]]), { name: 'TypeError', message: /needs 1 argument list\(s\), got 2/ });
  // An array of another runtime (another PJRT client) on the device of the same index.
  using other = await Runtime.open(testPlugin === 'cpu' ? { plugin: 'cpu', cpuDevices: 8 } : { plugin: testPlugin });
  const foreign = await other.put(new Float32Array([1, 2]), [2]);
  await t.rejects(exe.execute([foreign]), { name: 'TypeError', message: /argument 0 of replica 0 was made by another Runtime .*put the data with this runtime/ });
  const [[negated]] = await exe.execute([good], { donate: false });
  const otherExe = await other.compile(negate);
  await t.rejects(otherExe.execute([negated!]), { name: 'TypeError', message: /another Runtime/ }, 'outputs belong to their runtime too');
});

t.test('bad put arguments are TypeErrors', async (t) => {
  const rt = await openTestRuntime();
  await t.rejects(rt.put(new Float32Array(3), [2, 2]), { name: 'TypeError', message: /\[2,2\] has 4 elements but the data has 3/ });
  await t.rejects(rt.put(new Uint16Array(2), [2]), { name: 'TypeError', message: /bf16.*f16/ });
  await t.rejects(rt.put(new Float32Array(2), [2], { dtype: 'f64' }), { name: 'TypeError', message: /f64 needs a Float64Array/ });
  const n = rt.devices.length;
  await t.rejects(rt.put(new Float32Array(2), [2], { device: n }), { name: 'TypeError', message: new RegExp(`device ${n} does not exist; this runtime has devices 0..${n - 1}`) });
  await t.rejects(rt.compile(negate, { replicas: n + 1 }), { name: 'TypeError', message: new RegExp(`need ${n + 1} devices, this runtime has ${n}`) });
});

t.test('using a disposed array, executable or runtime is a PjrtError', async (t) => {
  const rt = await Runtime.open(testPlugin === 'cpu' ? { plugin: 'cpu', cpuDevices: 2 } : { plugin: testPlugin });
  const exe = await rt.compile(negate);
  const x = await rt.put(new Float32Array([1, 2]), [2]);
  x.dispose();
  t.ok(x.isDeleted);
  await t.rejects(x.toHost(), { name: 'PjrtError', code: 'FAILED_PRECONDITION', message: /disposed/ });
  const y = await rt.put(new Float32Array([1, 2]), [2]);
  exe.dispose();
  await t.rejects(exe.execute([y]), { name: 'PjrtError', code: 'FAILED_PRECONDITION', message: /Executable was disposed/ });
  rt.dispose();
  await t.rejects(rt.put(new Float32Array([1]), [1]), { name: 'PjrtError', message: /Runtime was disposed/ });
  t.same(Array.from((await y.toHost()) as Float32Array), [1, 2], 'an array outlives its disposed runtime');
  y.dispose();
});

t.test('a missing plugin names the path and the install command', async (t) => {
  await t.rejects(Runtime.open({ plugin: '/nonexistent/libfoo.so' }), { message: /\/nonexistent\/libfoo\.so does not exist/ });
  const saved = process.env.PJRT_PLUGIN_PATH;
  delete process.env.PJRT_PLUGIN_PATH;
  await t.rejects(Runtime.open({ plugin: 'cuda' }), { message: /cuda PJRT plugin is not installed.*pip install jax-cuda13-pjrt/s });
  if (saved !== undefined) process.env.PJRT_PLUGIN_PATH = saved;
  await t.rejects(Runtime.open({ plugin: path.resolve(import.meta.dirname, 'runtime.test.ts') }), { name: 'PjrtError', pjrtFunction: 'dlopen' });
});

t.test('an API major-version mismatch is refused with both versions named', async (t) => {
  process.env.FAKE_PJRT_MAJOR = '1';
  process.env.FAKE_PJRT_MINOR = '3';
  const error = (await Runtime.open({ plugin: fakePlugin }).catch((e: unknown) => e)) as PjrtError;
  t.type(error, PjrtError);
  t.equal(error.code, 'FAILED_PRECONDITION');
  t.match(error.message, new RegExp(`implements PJRT C API 1\\.3 but this build .* compiled against 0\\.${Runtime.headerApiVersion.minor}`));
  delete process.env.FAKE_PJRT_MAJOR;
  delete process.env.FAKE_PJRT_MINOR;
});

t.test('a function missing from an older plugin is UNIMPLEMENTED, not a crash', async (t) => {
  const error = (await Runtime.open({ plugin: fakePlugin }).catch((e: unknown) => e)) as PjrtError;
  t.type(error, PjrtError);
  t.equal(error.code, 'UNIMPLEMENTED');
  t.equal(error.pjrtFunction, 'PJRT_Client_Create');
  t.match(error.message, /not provided by this PJRT plugin \(its API 0\.1/);
});

t.test('no libtpu client is created on a machine without TPUs', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-'));
  const fakeLibtpu = path.join(dir, 'libtpu.so');
  symlinkSync(fakePlugin, fakeLibtpu);
  await t.rejects(Runtime.open({ plugin: fakeLibtpu }), { message: /has no TPU.*metadata server/s });
});

t.test('the process lives on after every error above', async (t) => {
  const rt = await openTestRuntime();
  const exe = await rt.compile(negate);
  const [[out]] = await exe.execute([await rt.put(new Float32Array([3, -4]), [2])]);
  t.same(Array.from((await out!.toHost()) as Float32Array), [-3, 4]);
});
