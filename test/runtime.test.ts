// The runtime against the CPU plugin with 8 devices: elementwise and dot_general programs
// checked against a JS reference, replication with an all_reduce, placement, donation.
import t from 'tap';
import { DeviceArray, Runtime } from '../lib/index.js';
import { pinnedCpuPlugin } from '../lib/runtime/plugin-discovery.js';
import { openTestRuntime, program, testPlugin } from './helpers/runtime.js';

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

t.test('opens 8 CPU devices and describes them', { skip: testPlugin !== 'cpu' && 'CPU plugin only' }, async (t) => {
  const rt = await openTestRuntime();
  t.equal(rt.devices.length, 8);
  t.same(rt.devices.map((d) => d.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.equal(rt.platformName, 'cpu');
  t.equal(rt.devices[3]!.kind, 'cpu');
  t.equal(rt.apiVersion.major, 0);
  if (rt.apiVersion.minor > Runtime.headerApiVersion.minor) {
    // Newer plugins accept the header's older structs; the pinned ones run this suite with it.
    t.ok(pinnedCpuPlugin(rt.pluginPath) ?? process.env.PJRT_PLUGIN_PATH, 'a CPU plugin newer than the header is a pinned, verified build (or one PJRT_PLUGIN_PATH names)');
  }
  t.equal(rt.memoryStats(0), null, 'the CPU plugin reports no memory stats');
});

t.test('describes the devices of any plugin', async (t) => {
  const rt = await openTestRuntime();
  t.ok(rt.devices.length >= 1);
  rt.devices.forEach((device, i) => t.equal(device.index, i));
  t.ok(rt.platformName.length > 0, `platform ${rt.platformName} ${rt.platformVersion}`);
  const stats = rt.memoryStats(0);
  if (stats) t.ok(stats.bytesInUse >= 0, `device 0 memory: ${JSON.stringify(stats)}`);
});

t.test('elementwise program matches a JS reference', async (t) => {
  const rt = await openTestRuntime();
  const exe = await rt.compile(
    program(['tensor<2x3xf32>', 'tensor<2x3xf32>'], ['tensor<2x3xf32>'], [
      '%0 = stablehlo.multiply %arg0, %arg1 : tensor<2x3xf32>',
      '%1 = stablehlo.exponential %0 : tensor<2x3xf32>',
      '%2 = stablehlo.subtract %1, %arg0 : tensor<2x3xf32>',
      'return %2 : tensor<2x3xf32>',
    ]),
  );
  const a = random(6, 1);
  const b = random(6, 2);
  const [outs] = await exe.execute([await rt.put(a, [2, 3]), await rt.put(b, [2, 3])]);
  const out = outs![0]!;
  t.equal(out.dtype, 'f32');
  t.same(out.shape, [2, 3]);
  const host = (await out.toHost()) as Float32Array;
  for (let i = 0; i < 6; i++) t.ok(Math.abs(host[i]! - (Math.exp(a[i]! * b[i]!) - a[i]!)) < 1e-6, `element ${i}`);
  exe.dispose();
});

t.test('dot_general (batched matmul) matches a JS reference in f64', async (t) => {
  const rt = await openTestRuntime();
  const [B, M, K, N] = [2, 3, 4, 5];
  const exe = await rt.compile(
    program([`tensor<${B}x${M}x${K}xf64>`, `tensor<${B}x${K}x${N}xf64>`], [`tensor<${B}x${M}x${N}xf64>`], [
      `%0 = stablehlo.dot_general %arg0, %arg1, batching_dims = [0] x [0], contracting_dims = [2] x [1] : (tensor<${B}x${M}x${K}xf64>, tensor<${B}x${K}x${N}xf64>) -> tensor<${B}x${M}x${N}xf64>`,
      `return %0 : tensor<${B}x${M}x${N}xf64>`,
    ]),
  );
  const x = Float64Array.from(random(B * M * K, 3));
  const y = Float64Array.from(random(B * K * N, 4));
  const [[out]] = (await exe.execute([await rt.put(x, [B, M, K]), await rt.put(y, [B, K, N])])) as [[DeviceArray<'f64'>]];
  const host = await out.toHost();
  t.type(host, Float64Array);
  let worst = 0;
  for (let b = 0; b < B; b++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += x[b * M * K + m * K + k]! * y[b * K * N + k * N + n]!;
        worst = Math.max(worst, Math.abs(sum - host[b * M * N + m * N + n]!));
      }
  t.ok(worst < 1e-12, `max abs error ${worst}`);
});

t.test('8 replicas all_reduce their shards', async (t) => {
  if ((await openTestRuntime()).devices.length < 8) {
    t.comment('skipped: needs 8 devices');
    return;
  }
  const rt = await openTestRuntime();
  const exe = await rt.compile(
    program(['tensor<4xf32>'], ['tensor<4xf32>'], [
      '%0 = "stablehlo.all_reduce"(%arg0) ({',
      '  ^bb0(%a: tensor<f32>, %b: tensor<f32>):',
      '    %s = stablehlo.add %a, %b : tensor<f32>',
      '    stablehlo.return %s : tensor<f32>',
      '}) {replica_groups = dense<[[0, 1, 2, 3, 4, 5, 6, 7]]> : tensor<1x8xi64>} : (tensor<4xf32>) -> tensor<4xf32>',
      'return %0 : tensor<4xf32>',
    ]),
    { replicas: 8 },
  );
  t.equal(exe.numReplicas, 8);
  t.same(exe.devices, [0, 1, 2, 3, 4, 5, 6, 7]);
  const shards = Array.from({ length: 8 }, (_, r) => Float32Array.from([r, 10 * r, 1, -r]));
  const args = await Promise.all(shards.map((shard, r) => rt.put(shard, [4], { device: r })));
  const outs = await exe.execute(args.map((a) => [a]));
  t.equal(outs.length, 8);
  for (let r = 0; r < 8; r++) {
    t.equal(outs[r]![0]!.device, r, `replica ${r}'s output stays on device ${r}`);
    t.same(Array.from((await outs[r]![0]!.toHost()) as Int32Array), [28, 280, 8, -28]);
  }
});

t.test('puts arrays on the chosen device, in every dtype', async (t) => {
  const rt = await openTestRuntime();
  const cases: [string, ArrayBufferView, 'f32' | 'f64' | 'bf16' | 'f16' | 's8' | 'u8' | 's32' | 's64' | 'u32' | 'pred'][] = [
    ['f32', new Float32Array([1.5, -2]), 'f32'],
    ['f64', new Float64Array([1e-300, 2]), 'f64'],
    ['bf16', new Uint16Array([0x3f80, 0xc000]), 'bf16'],
    ['f16', new Uint16Array([0x3c00, 0xc000]), 'f16'],
    ['s8', new Int8Array([-128, 127]), 's8'],
    ['u8', new Uint8Array([0, 255]), 'u8'],
    ['s32', new Int32Array([-(2 ** 31), 2 ** 31 - 1]), 's32'],
    ['s64', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]), 's64'],
    ['u32', new Uint32Array([0, 2 ** 32 - 1]), 'u32'],
    ['pred', new Uint8Array([1, 0]), 'pred'],
  ];
  const device = Math.min(5, rt.devices.length - 1);
  for (const [name, data, dtype] of cases) {
    const array = await rt.put(data, [2], { device, dtype });
    t.equal(array.device, device, `${name} on device ${device}`);
    t.equal(array.dtype, dtype);
    t.same(array.shape, [2]);
    const back = await array.toHost();
    t.same(Array.from(back as ArrayLike<number | bigint>), Array.from(data as unknown as ArrayLike<number | bigint>), `${name} round trip`);
    array.dispose();
  }
});

t.test('donated inputs are consumed; kept inputs survive', async (t) => {
  const rt = await openTestRuntime();
  const exe = await rt.compile(
    `func.func public @main(%arg0: tensor<3xf32> {tf.aliasing_output = 0 : i32}) -> tensor<3xf32> {
      %0 = stablehlo.add %arg0, %arg0 : tensor<3xf32>
      return %0 : tensor<3xf32>
    }`,
  );
  const kept = await rt.put(new Float32Array([1, 2, 3]), [3]);
  const [[doubled]] = (await exe.execute([kept], { donate: false })) as [[DeviceArray<'f32'>]];
  t.notOk(kept.isDeleted, 'donate: false keeps the input');
  t.same(Array.from(await doubled.toHost()), [2, 4, 6]);
  const [[again]] = (await exe.execute([doubled])) as [[DeviceArray<'f32'>]];
  t.ok(doubled.isDeleted, 'an aliased input is donated by default');
  await t.rejects(doubled.toHost(), { name: 'PjrtError', code: 'FAILED_PRECONDITION', message: /donated/ });
  t.same(Array.from(await again.toHost()), [4, 8, 12]);
});

t.test('serialize and deserialize give the same program', async (t) => {
  const rt = await openTestRuntime();
  const exe = await rt.compile(program(['tensor<2xf32>'], ['tensor<2xf32>'], ['%0 = stablehlo.negate %arg0 : tensor<2xf32>', 'return %0 : tensor<2xf32>']));
  const bytes = exe.serialize();
  t.ok(bytes.length > 0);
  const loaded = await rt.deserialize(bytes);
  const [[out]] = (await loaded.execute([await rt.put(new Float32Array([1, -2]), [2])])) as [[DeviceArray<'f32'>]];
  t.same(Array.from(await out.toHost()), [-1, 2]);
  t.same(loaded.outputs, [{ dtype: 'f32', shape: [2] }]);
});

t.test('put copies the data; toHost can fill a reused array', async (t) => {
  const rt = await openTestRuntime();
  const source = Float32Array.from([1, 2, 3, 4]);
  const array = await rt.put(source, [2, 2]);
  source.fill(-1); // the device array must not see this
  const into = new Float32Array(4);
  const back = await array.toHost(into);
  t.equal(back, into, 'resolves with the destination');
  t.same(Array.from(into), [1, 2, 3, 4]);
  await t.rejects(array.toHost(new Float32Array(3)), { name: 'TypeError', message: /destination has 3 elements, f32\[2,2\] has 4/ });
  await t.rejects(array.toHost(new Float64Array(4) as unknown as Float32Array), { name: 'TypeError', message: /f32 needs a Float32Array/ });
  // Many live arrays of one size: each keeps its own memory (staging blocks are not shared).
  const arrays = await Promise.all(Array.from({ length: 16 }, (_, i) => rt.put(new Float32Array(4).fill(i), [2, 2])));
  for (let i = 0; i < 16; i++) t.same(Array.from((await arrays[i]!.toHost()) as Float32Array), [i, i, i, i], `array ${i}`);
  arrays.forEach((a) => a.dispose());
});

t.test('compile takes the program as bytes too (the path MLIR bytecode uses)', async (t) => {
  const rt = await openTestRuntime();
  const text = program(['tensor<2xf32>'], ['tensor<2xf32>'], ['%0 = stablehlo.abs %arg0 : tensor<2xf32>', 'return %0 : tensor<2xf32>']);
  const exe = await rt.compile(new TextEncoder().encode(text));
  const [[out]] = (await exe.execute([await rt.put(new Float32Array([-1.5, 2]), [2])])) as [[DeviceArray<'f32'>]];
  t.same(Array.from(await out.toHost()), [1.5, 2]);
  t.equal(exe.parameters, undefined, 'no signature is read from bytes; PJRT checks the arguments');
  // Bytes that start like MLIR bytecode but are not: the plugin's parser says so.
  await t.rejects(rt.compile(Uint8Array.from([0x4d, 0x4c, 0xef, 0x52, 0x00, 0x01])), { name: 'PjrtError', pjrtFunction: 'PJRT_Client_Compile' });
});
