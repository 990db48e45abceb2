/**
 * Every primitive's forward pass, run on the CPU plugin in float64 and compared with a plain
 * JavaScript reference (integer primitives in s32, exactly).
 */
import t from 'tap';
import type { Runtime } from '../lib/runtime/index.js';
import { jit, ops, type Tensor } from '../lib/trace/index.js';
import * as lax from '../lib/trace/lax.js';
import { openTestRuntime } from './helpers/runtime.js';

interface HostInput {
  data: Float64Array | Int32Array;
  shape: number[];
}

const f64 = (shape: number[], fill: (i: number) => number): HostInput => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float64Array.from({ length: n }, (_, i) => fill(i)), shape };
};
const s32 = (shape: number[], values: number[]): HostInput => ({ data: Int32Array.from(values), shape });

/** Runs `fn` jitted on the inputs; returns every output as plain numbers. */
async function evaluate(rt: Runtime, fn: (...args: Tensor[]) => unknown, inputs: HostInput[]): Promise<number[][]> {
  const jitted = jit(fn, { runtime: rt });
  const args = await Promise.all(inputs.map((input) => rt.put(input.data, input.shape)));
  const result = await jitted(...args);
  const outputs = Array.isArray(result) ? result : [result];
  const hosts = await Promise.all(outputs.map((output) => output.toHost()));
  jitted.dispose();
  return hosts.map((host) => Array.from(host as ArrayLike<number | bigint>, Number));
}

/** Row-major strides of `shape`. */
const strides = (shape: readonly number[]): number[] => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
/** Multi-index of flat position `flat` in `shape`. */
const unravel = (flat: number, shape: readonly number[]): number[] => strides(shape).map((stride, i) => Math.floor(flat / stride) % shape[i]!);
const ravel = (index: readonly number[], shape: readonly number[]): number => strides(shape).reduce((sum, stride, i) => sum + stride * index[i]!, 0);

/** erf by its Taylor series (|x| < 2 here; accurate to ~1e-14). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const a = f64([2, 3], (i) => 0.3 + 0.7 * Math.sin(i + 1) ** 2);
const b = f64([2, 3], (i) => 0.2 + Math.cos(i * 0.7) ** 2);
const signed = f64([2, 3], (i) => Math.sin(2 * i + 0.5) * 1.5);
const ties = f64([2, 3], (i) => [1, 2, 2, -1, 5, 5][i]!);

interface Row {
  name: string;
  fn: (...args: Tensor[]) => Tensor | Tensor[];
  inputs: HostInput[];
  expected: (inputs: number[][]) => number[] | number[][];
  tolerance?: number;
}

const elementwise = (f: (x: number, y: number) => number) => ([x, y]: number[][]) => x!.map((v, i) => f(v, y![i]!));

/**
 * A batch-free dot_general in float64: result dims are lhs's free dims then rhs's (ascending),
 * contracting lhsContracting[i] against rhsContracting[i].
 */
function dotReference(x: number[], xShape: number[], y: number[], yShape: number[], lhsContracting: number[], rhsContracting: number[]): number[] {
  const xFree = [...xShape.keys()].filter((axis) => !lhsContracting.includes(axis));
  const yFree = [...yShape.keys()].filter((axis) => !rhsContracting.includes(axis));
  const outShape = [...xFree.map((axis) => xShape[axis]!), ...yFree.map((axis) => yShape[axis]!)];
  const kShape = lhsContracting.map((axis) => xShape[axis]!);
  const kCount = kShape.reduce((p, v) => p * v, 1);
  return Array.from({ length: outShape.reduce((p, v) => p * v, 1) }, (_, flat) => {
    const out = unravel(flat, outShape);
    let sum = 0;
    for (let k = 0; k < kCount; k++) {
      const kIndex = unravel(k, kShape);
      const xIndex = new Array<number>(xShape.length);
      const yIndex = new Array<number>(yShape.length);
      xFree.forEach((axis, i) => (xIndex[axis] = out[i]!));
      yFree.forEach((axis, i) => (yIndex[axis] = out[xFree.length + i]!));
      lhsContracting.forEach((axis, i) => (xIndex[axis] = kIndex[i]!));
      rhsContracting.forEach((axis, i) => (yIndex[axis] = kIndex[i]!));
      sum += x[ravel(xIndex, xShape)]! * y[ravel(yIndex, yShape)]!;
    }
    return sum;
  });
}

/** A forward row for a batch-free dot_general, checked against {@link dotReference}. */
function dotRow(name: string, xShape: number[], yShape: number[], lhsContracting: number[], rhsContracting: number[]): Row {
  return {
    name,
    fn: (x, y) => lax.dotGeneral(x, y, { lhsBatch: [], rhsBatch: [], lhsContracting, rhsContracting }),
    inputs: [f64(xShape, (i) => Math.sin(i + 0.5)), f64(yShape, (i) => Math.cos(0.3 * i))],
    expected: ([x, y]) => dotReference(x!, xShape, y!, yShape, lhsContracting, rhsContracting),
  };
}

const rows: Row[] = [
  { name: 'add', fn: lax.add, inputs: [a, b], expected: elementwise((x, y) => x + y) },
  { name: 'sub', fn: lax.sub, inputs: [a, b], expected: elementwise((x, y) => x - y) },
  { name: 'mul', fn: lax.mul, inputs: [a, b], expected: elementwise((x, y) => x * y) },
  { name: 'div', fn: lax.div, inputs: [a, b], expected: elementwise((x, y) => x / y) },
  { name: 'max', fn: lax.max, inputs: [a, b], expected: elementwise(Math.max) },
  { name: 'min', fn: lax.min, inputs: [a, b], expected: elementwise(Math.min) },
  { name: 'pow', fn: lax.pow, inputs: [a, b], expected: elementwise(Math.pow) },
  { name: 'neg', fn: lax.neg, inputs: [signed], expected: ([x]) => x!.map((v) => -v) },
  { name: 'exp', fn: lax.exp, inputs: [signed], expected: ([x]) => x!.map(Math.exp) },
  { name: 'log', fn: lax.log, inputs: [a], expected: ([x]) => x!.map(Math.log) },
  { name: 'sqrt', fn: lax.sqrt, inputs: [a], expected: ([x]) => x!.map(Math.sqrt) },
  { name: 'rsqrt', fn: lax.rsqrt, inputs: [a], expected: ([x]) => x!.map((v) => 1 / Math.sqrt(v)) },
  { name: 'tanh', fn: lax.tanh, inputs: [signed], expected: ([x]) => x!.map(Math.tanh) },
  { name: 'erf', fn: lax.erf, inputs: [signed], expected: ([x]) => x!.map(erf), tolerance: 1e-12 },
  { name: 'xor (s32)', fn: lax.xor, inputs: [s32([2, 3], [0, -1, 0x5555, -7, 123456789, 2 ** 31 - 1]), s32([2, 3], [5, 12345, -1, -7, 987654321, -(2 ** 31)])], expected: elementwise((x, y) => x ^ y) },
  // shifts by the bit width or more give 0 (StableHLO), unlike JS's shift counts taken mod 32
  { name: 'shift_left (s32)', fn: lax.shiftLeft, inputs: [s32([2, 3], [1, -3, 0x12345678, 7, 7, -1]), s32([2, 3], [0, 4, 8, 31, 32, 40])], expected: elementwise((x, y) => (y >= 32 ? 0 : (x << y) | 0)) },
  {
    name: 'shift_right_logical (s32: zeros shifted in)',
    fn: lax.shiftRightLogical,
    inputs: [s32([2, 3], [1, -3, 0x12345678, -1, -1, -1]), s32([2, 3], [0, 1, 8, 31, 32, 40])],
    expected: elementwise((x, y) => (y >= 32 ? 0 : (x >>> y) | 0)),
  },
  {
    name: 'compare + select',
    fn: (x, y) => lax.select(lax.compare(x, y, 'LT'), x, y),
    inputs: [a, b],
    expected: elementwise((x, y) => (x < y ? x : y)),
  },
  { name: 'compare GE on ties', fn: (x, y) => lax.convert(lax.compare(x, y, 'GE'), 'f64'), inputs: [ties, a], expected: elementwise((x, y) => (x >= y ? 1 : 0)) },
  { name: 'convert f64 -> s32 -> f64', fn: (x) => lax.convert(lax.convert(x, 's32'), 'f64'), inputs: [signed], expected: ([x]) => x!.map(Math.trunc) },
  { name: 'constant', fn: () => lax.constant([1.5, -2, 3.25, 1e-300], { dtype: 'f64', shape: [2, 2] }), inputs: [], expected: () => [1.5, -2, 3.25, 1e-300] },
  { name: 'iota', fn: () => lax.iota({ dtype: 's32', shape: [2, 3] }, 1), inputs: [], expected: () => [0, 1, 2, 0, 1, 2] },
  {
    name: 'broadcast_in_dim',
    fn: (x) => lax.broadcastInDim(x, [2, 4, 3], [0, 2]),
    inputs: [a],
    expected: ([x]) => Array.from({ length: 24 }, (_, i) => {
      const [r, , c] = unravel(i, [2, 4, 3]);
      return x![r! * 3 + c!]!;
    }),
  },
  { name: 'reshape', fn: (x) => lax.reshape(x, [3, 2]), inputs: [a], expected: ([x]) => x! },
  {
    name: 'transpose',
    fn: (x) => lax.transpose(x, [1, 0]),
    inputs: [a],
    expected: ([x]) => Array.from({ length: 6 }, (_, i) => {
      const [r, c] = unravel(i, [3, 2]);
      return x![c! * 3 + r!]!;
    }),
  },
  { name: 'slice (strided)', fn: (x) => lax.slice(x, [0, 0], [2, 3], [1, 2]), inputs: [a], expected: ([x]) => [x![0]!, x![2]!, x![3]!, x![5]!] },
  {
    name: 'pad (edge and interior)',
    fn: (x) => lax.pad(x, lax.scalar(-1, 'f64'), [1, 0], [0, 1], [0, 1]),
    inputs: [a],
    expected: ([x]) => {
      // result [3, 6]: row 0 is padding; rows 1-2 hold x's rows with a -1 between elements and after
      const out = new Array<number>(18).fill(-1);
      for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) out[(r + 1) * 6 + 2 * c] = x![r * 3 + c]!;
      return out;
    },
  },
  { name: 'concatenate', fn: (x, y) => lax.concatenate([x, y], 1), inputs: [a, b], expected: ([x, y]) => [...x!.slice(0, 3), ...y!.slice(0, 3), ...x!.slice(3), ...y!.slice(3)] },
  { name: 'reduce_sum', fn: (x) => lax.reduceSum(x, [1]), inputs: [signed], expected: ([x]) => [x![0]! + x![1]! + x![2]!, x![3]! + x![4]! + x![5]!] },
  { name: 'reduce_max', fn: (x) => lax.reduceMax(x, [0]), inputs: [signed], expected: ([x]) => [0, 1, 2].map((c) => Math.max(x![c]!, x![c + 3]!)) },
  {
    name: 'dot_general (batched)',
    fn: (x, y) => lax.dotGeneral(x, y, { lhsBatch: [0], rhsBatch: [0], lhsContracting: [2], rhsContracting: [1] }),
    inputs: [f64([2, 2, 3], (i) => Math.sin(i)), f64([2, 3, 2], (i) => Math.cos(i))],
    expected: ([x, y]) => Array.from({ length: 8 }, (_, i) => {
      const [batch, row, col] = unravel(i, [2, 2, 2]);
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += x![ravel([batch!, row!, k], [2, 2, 3])]! * y![ravel([batch!, k, col!], [2, 3, 2])]!;
      return sum;
    }),
  },
  // lowered as one matrix product of reshaped operands (both contracting runs ascending)
  dotRow('dot_general (two leading contracting dims, as a weight gradient)', [2, 3, 4], [2, 3, 5], [0, 1], [0, 1]),
  dotRow('dot_general (trailing contracting dim, two free dims each side)', [2, 3, 4], [4, 2, 3], [2], [0]),
  dotRow('dot_general (lhs contracted first, rhs last)', [3, 2, 2], [5, 3, 2], [0, 1], [1, 2]),
  // lowered as written: the dims do not fold into a matrix
  dotRow('dot_general (contracting dims in descending order)', [2, 3, 4], [3, 2, 5], [1, 0], [0, 1]),
  dotRow('dot_general (a free dim on each side of the contracting one)', [2, 3, 4], [3, 5], [1], [0]),
  {
    name: 'gather (embedding rows)',
    fn: (table, ids) => lax.gather(table, ids),
    inputs: [f64([4, 2], (i) => i + 0.5), s32([3], [3, 0, 3])],
    expected: ([table]) => [table![6]!, table![7]!, table![0]!, table![1]!, table![6]!, table![7]!],
  },
  {
    name: 'scatter_add (repeats accumulate)',
    fn: (operand, ids, updates) => lax.scatterAdd(operand, ids, updates),
    inputs: [f64([4, 2], () => 1), s32([3], [3, 0, 3]), f64([3, 2], (i) => i)],
    expected: () => [1 + 2, 1 + 3, 1, 1, 1, 1, 1 + 0 + 4, 1 + 1 + 5],
  },
  {
    name: 'dynamic_slice',
    fn: (x, start) => lax.dynamicSlice(x, [start, lax.scalar(1, 's32')], [1, 2]),
    inputs: [a, s32([], [1])],
    expected: ([x]) => [x![4]!, x![5]!],
  },
  {
    name: 'dynamic_update_slice',
    fn: (x, update, start) => lax.dynamicUpdateSlice(x, update, [start, lax.scalar(0, 's32')]),
    inputs: [a, f64([1, 3], (i) => -i), s32([], [1])],
    expected: ([x]) => [...x!.slice(0, 3), -0, -1, -2],
  },
  {
    name: 'while (sum 0..4 with a captured step)',
    fn: (step) =>
      ops.whileLoop(
        ([i]) => ops.less(i!, 5),
        ([i, total]) => [ops.add(i!, 1), ops.add(total!, ops.mul(ops.cast(i!, 'f64'), step))],
        [lax.scalar(0, 's32'), lax.scalar(0, 'f64')],
      )[1]!,
    inputs: [f64([], () => 0.5)],
    expected: () => [0.5 * (0 + 1 + 2 + 3 + 4)],
  },
  { name: 'stop_gradient', fn: (x) => lax.stopGradient(x), inputs: [a], expected: ([x]) => x! },
  // composites with no gradient to check
  { name: 'argmax (first of ties)', fn: (x) => ops.cast(ops.argmax(x, 1), 'f64'), inputs: [ties], expected: () => [1, 1] },
  { name: 'oneHot', fn: (labels) => ops.oneHot(labels, 3, 'f64'), inputs: [s32([2], [2, 0])], expected: () => [0, 0, 1, 1, 0, 0] },
];

t.test('forward pass of every primitive matches a float64 reference', async (t) => {
  const rt = await openTestRuntime();
  for (const row of rows) {
    const [got] = await evaluate(rt, row.fn, row.inputs);
    const hostInputs = row.inputs.map((input) => Array.from(input.data));
    const expected = row.expected(hostInputs) as number[];
    const tolerance = row.tolerance ?? 1e-14;
    const worst = expected.reduce((w, v, i) => Math.max(w, Math.abs(v - got![i]!) / Math.max(1, Math.abs(v))), 0);
    t.ok(got!.length === expected.length && worst <= tolerance, `${row.name}: max relative error ${worst.toExponential(2)}`, { got, expected });
  }
});

t.test('rng_bit_generator: deterministic per key, new key, bits spread over u32', async (t) => {
  const rt = await openTestRuntime();
  const draw = jit((key: Tensor) => lax.rngBitGenerator(key, [1000]), { runtime: rt });
  const key = await rt.put(new BigInt64Array([42n, 7n]), [2]);
  const [nextKey, bits] = await draw(key);
  const [, again] = await draw(key);
  const first = Array.from((await bits.toHost()) as Uint32Array);
  t.same(first, Array.from((await again.toHost()) as Uint32Array), 'same key, same bits');
  t.notSame(Array.from((await nextKey.toHost()) as BigInt64Array), [42n, 7n], 'the key advances');
  const mean = first.reduce((s, v) => s + v / 2 ** 32, 0) / first.length;
  t.ok(Math.abs(mean - 0.5) < 0.05, `mean of uniform bits ${mean.toFixed(3)} near 0.5`);
  draw.dispose();
});
