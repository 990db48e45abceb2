// Compile options encoding and the on-disk compile cache.
import t from 'tap';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime, encodeCompileOptions } from '../lib/index.js';
import { program, testPlugin } from './helpers/runtime.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

t.test('CompileOptionsProto bytes', async (t) => {
  t.equal(hex(encodeCompileOptions()), '1a0420012801', '1 replica x 1 partition: field 3 { 4: 1, 5: 1 }');
  // 2 replicas on devices 5 and 7: 3 { 4: 2, 5: 1, 9: DeviceAssignmentProto { 1: 2, 2: 1, 3: { 1: packed [5, 7] } } }
  t.equal(hex(encodeCompileOptions({ replicas: 2, deviceAssignment: [[5, 7]] })), '1a10' + '2002' + '2801' + '4a0a' + '0802' + '1001' + '1a04' + '0a020507');
  t.throws(() => encodeCompileOptions({ replicas: 0 }), { name: 'TypeError', message: /replicas must be a positive integer/ });
  t.throws(() => encodeCompileOptions({ replicas: 2, deviceAssignment: [[1]] }), { name: 'TypeError', message: /1 partition\(s\) x 2 replica\(s\)/ });
});

t.test('a second runtime loads compiled programs from the cache instead of compiling', { skip: testPlugin !== 'cpu' && 'CPU plugin only' }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-cache-'));
  const code = program(['tensor<3xf32>'], ['tensor<3xf32>'], ['%0 = stablehlo.sqrt %arg0 : tensor<3xf32>', 'return %0 : tensor<3xf32>']);
  const run = async (rt: Runtime, replicas = 1) => {
    const exe = await rt.compile(code, { replicas });
    const args = await Promise.all(exe.devices.map(async (device) => [await rt.put(new Float32Array([1, 4, 9]), [3], { device })]));
    const outs = await exe.execute(args);
    return Array.from((await outs[replicas - 1]![0]!.toHost()) as Float32Array);
  };
  const first = await Runtime.open({ plugin: 'cpu', cpuDevices: 2, compileCache: dir });
  t.same(await run(first), [1, 2, 3]);
  t.same(first.compileStats, { compiled: 1, cacheHits: 0 });
  t.equal(readdirSync(dir).filter((f) => f.endsWith('.pjrt')).length, 1, 'one cache entry');
  first.dispose();

  const second = await Runtime.open({ plugin: 'cpu', cpuDevices: 2, compileCache: dir });
  t.same(await run(second), [1, 2, 3]);
  t.same(second.compileStats, { compiled: 0, cacheHits: 1 }, 'nothing compiled the second time');
  t.same(await run(second, 2), [1, 2, 3]);
  t.same(second.compileStats, { compiled: 1, cacheHits: 1 }, 'other compile options are another entry');

  for (const file of readdirSync(dir)) writeFileSync(path.join(dir, file), 'not an executable');
  t.same(await run(second), [1, 2, 3], 'a corrupt entry is compiled again');
  t.same(second.compileStats, { compiled: 2, cacheHits: 1 });
  second.dispose();
});
