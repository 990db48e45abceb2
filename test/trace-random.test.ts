/**
 * Counter-based random bits and per-row dropout on the CPU plugin: Threefry-2x32 against the
 * published known-answer vectors and a plain JavaScript reference, the layout of
 * `rowRandomBits` (a row's bits depend on its key, the stream and the row's shape only), and
 * that `dropoutRows` drops at its rate, scales the rest, and masks rows and streams apart.
 */
import t from 'tap';
import type { DeviceArray, Runtime } from '../lib/runtime/index.js';
import { jit, ops, type Tensor } from '../lib/trace/index.js';
import { openTestRuntime } from './helpers/runtime.js';

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];

/** Threefry-2x32, 20 rounds, on JS numbers (the reference the traced version is checked against). */
function threefryReference(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (0x1bd11bda ^ k0 ^ k1) >>> 0];
  let x0 = (c0 + ks[0]!) >>> 0;
  let x1 = (c1 + ks[1]!) >>> 0;
  for (let round = 0; round < 20; round++) {
    const r = ROTATIONS[round % 8]!;
    x0 = (x0 + x1) >>> 0;
    x1 = (((x1 << r) | (x1 >>> (32 - r))) ^ x0) >>> 0;
    if (round % 4 === 3) {
      const s = (round + 1) / 4;
      x0 = (x0 + ks[s % 3]!) >>> 0;
      x1 = (x1 + ks[(s + 1) % 3]! + s) >>> 0;
    }
  }
  return [x0, x1];
}

const u32 = async (rt: Runtime, values: number[], shape: number[]): Promise<DeviceArray> => rt.put(Uint32Array.from(values), shape);
const host = async (array: DeviceArray): Promise<number[]> => Array.from((await array.toHost()) as ArrayLike<number>);

t.test('threefry2x32 gives the Random123 known answers and matches a JS reference', async (t) => {
  const rt = await openTestRuntime();
  const run = jit((k0: Tensor, k1: Tensor, c0: Tensor, c1: Tensor) => ops.threefry2x32([k0, k1], [c0, c1]), { runtime: rt });
  // Random123's kat_vectors for threefry2x32_20 (also jax.random's threefry_2x32 test vectors)
  const known = [
    { key: [0, 0], counter: [0, 0], expected: [0x6b200159, 0x99ba4efe] },
    { key: [0xffffffff, 0xffffffff], counter: [0xffffffff, 0xffffffff], expected: [0x1cb996fc, 0xbb002be7] },
    { key: [0x13198a2e, 0x03707344], counter: [0x243f6a88, 0x85a308d3], expected: [0xc4923a9c, 0x483df7a0] },
  ];
  // and pseudo-random quadruples against the JS reference
  let state = 7;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0), state);
  const extra = Array.from({ length: 61 }, () => [next(), next(), next(), next()]);
  const column = (i: number) => [...known.map(({ key, counter }) => [...key, ...counter][i]!), ...extra.map((q) => q[i]!)];
  const n = known.length + extra.length;
  const args = await Promise.all([0, 1, 2, 3].map((i) => u32(rt, column(i), [n])));
  const [x0, x1] = (await run(...args)) as DeviceArray[];
  const [got0, got1] = [await host(x0!), await host(x1!)];
  known.forEach(({ expected }, i) => t.same([got0[i], got1[i]], expected, `known answer ${i}: ${expected.map((v) => v.toString(16)).join(' ')}`));
  const mismatches = extra.filter((q, i) => {
    const [e0, e1] = threefryReference(q[0]!, q[1]!, q[2]!, q[3]!);
    return got0[known.length + i] !== e0 || got1[known.length + i] !== e1;
  });
  t.equal(mismatches.length, 0, `${extra.length} pseudo-random inputs match the JS reference`);
  run.dispose();
});

t.test('rowRandomBits: each row from its own key and the stream, whatever the batch', async (t) => {
  const rt = await openTestRuntime();
  const shape = [5, 3]; // 15 elements per row
  const bits = (rows: number, stream: number) => jit((keys: Tensor) => ops.rowRandomBits(keys, [rows, ...shape], stream), { runtime: rt });
  const keys = [
    [11, 12],
    [0xdeadbeef, 7],
    [11, 13],
  ];
  const batch = await host(await bits(3, 4)(await u32(rt, keys.flat(), [3, 2])));
  const expected = keys.flatMap(([k0, k1]) => Array.from({ length: 15 }, (_, e) => threefryReference(k0!, k1!, e, 4)[0]));
  t.same(batch, expected, 'element e of a row is the first word of threefry(key, (e, stream))');
  const alone = await host(await bits(1, 4)(await u32(rt, keys[1]!, [1, 2])));
  t.same(alone, batch.slice(15, 30), 'a row drawn alone equals that row of a batch');
  const swapped = await host(await bits(2, 4)(await u32(rt, [...keys[2]!, ...keys[0]!], [2, 2])));
  t.same(swapped, [...batch.slice(30, 45), ...batch.slice(0, 15)], 'rows follow their keys, not their positions');
  const otherStream = await host(await bits(3, 5)(await u32(rt, keys.flat(), [3, 2])));
  t.ok(otherStream.every((v, i) => v !== batch[i]), 'another stream gives other bits everywhere');
  t.ok(batch.slice(0, 15).every((v, i) => v !== batch[30 + i]), 'keys differing in one bit give unrelated rows');
});

t.test('dropoutRows drops at its rate, scales the rest, and masks rows and streams apart', async (t) => {
  const rt = await openTestRuntime();
  const rows = 64;
  const width = 4096;
  const keys = await u32(rt, Array.from({ length: rows * 2 }, (_, i) => (i * 2654435761) >>> 0), [rows, 2]);
  const x = await rt.put(new Float32Array(rows * width).fill(1), [rows, width]);
  for (const rate of [0.1, 0.5]) {
    const drop = jit((v: Tensor, k: Tensor) => [ops.dropoutRows(v, rate, k, 0), ops.dropoutRows(v, rate, k, 0), ops.dropoutRows(v, rate, k, 1)], { runtime: rt });
    const [a, again, other] = await Promise.all(((await drop(x, keys)) as DeviceArray[]).map(host));
    const n = rows * width;
    const zeros = a!.filter((v) => v === 0).length;
    const sigma = Math.sqrt((rate * (1 - rate)) / n);
    t.ok(Math.abs(zeros / n - rate) < 5 * sigma, `rate ${rate}: ${(zeros / n).toFixed(5)} of ${n} elements dropped (5 sigma = ${(5 * sigma).toExponential(1)})`);
    t.ok(a!.every((v) => v === 0 || v === Math.fround(1 / (1 - rate))), `kept elements are scaled by 1/(1 - ${rate})`);
    t.same(again, a, 'same keys and stream, same mask');
    // two independent masks agree (both keep or both drop) with probability p = rate^2 + (1 - rate)^2
    const independent = rate ** 2 + (1 - rate) ** 2;
    const tolerance = 5 * Math.sqrt((independent * (1 - independent)) / n);
    const streams = a!.filter((v, i) => v === other![i]).length / n;
    t.ok(Math.abs(streams - independent) < tolerance, `streams 0 and 1 agree on ${streams.toFixed(4)} of the elements, as independent masks would (${independent.toFixed(2)})`);
    const nextRow = a!.slice(0, n - width).filter((v, i) => v === a![i + width]).length / (n - width); // row r against row r + 1
    t.ok(Math.abs(nextRow - independent) < tolerance, `neighbouring rows agree on ${nextRow.toFixed(4)} of the elements, as independent masks would`);
    drop.dispose();
  }
  const identity = jit((v: Tensor, k: Tensor) => ops.dropoutRows(v, 0, k, 0), { runtime: rt });
  t.same(await host(await identity(x, keys)), await host(x), 'rate 0 is the identity');
});

t.test('random bits are balanced: every bit position is set about half the time', async (t) => {
  const rt = await openTestRuntime();
  const rows = 16;
  const keys = await u32(rt, Array.from({ length: rows * 2 }, (_, i) => i), [rows, 2]); // small, similar keys
  const bits = await host(await jit((k: Tensor) => ops.rowRandomBits(k, [rows, 1024], 3), { runtime: rt })(keys));
  const n = bits.length;
  let worst = 0;
  for (let b = 0; b < 32; b++) worst = Math.max(worst, Math.abs(bits.filter((v) => (v >>> b) & 1).length / n - 0.5));
  t.ok(worst < 5 * Math.sqrt(0.25 / n), `largest deviation of a bit position from 1/2: ${worst.toFixed(4)} over ${n} words`);
});
