/**
 * Gradients against central finite differences, in float64 on the CPU plugin: one row per
 * differentiable primitive and per composite. Each row's function is reduced to a scalar with
 * fixed pseudo-random weights, so no gradient vanishes by symmetry.
 */
import t from 'tap';
import type { DeviceArray, Runtime } from '../lib/runtime/index.js';
import { grad, jit, ops, valueAndGrad, type Tensor } from '../lib/trace/index.js';
import * as lax from '../lib/trace/lax.js';
import { openTestRuntime } from './helpers/runtime.js';

/** An output's elements as plain numbers. */
const hostNumbers = async (array: DeviceArray): Promise<number[]> => Array.from((await array.toHost()) as ArrayLike<number | bigint>, Number);

interface HostInput {
  data: Float64Array | Int32Array | BigInt64Array;
  shape: number[];
}

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const f64 = (shape: number[], fill: (i: number) => number): HostInput => ({ data: Float64Array.from({ length: count(shape) }, (_, i) => fill(i)), shape });
const s32 = (shape: number[], values: number[]): HostInput => ({ data: Int32Array.from(values), shape });
const wave = (shape: number[], phase = 0, scale = 1): HostInput => f64(shape, (i) => scale * Math.sin(1.3 * i + phase));
const positive = (shape: number[], phase = 0): HostInput => f64(shape, (i) => 0.5 + Math.sin(0.9 * i + phase) ** 2);

interface Row {
  name: string;
  fn: (...args: Tensor[]) => Tensor;
  inputs: HostInput[];
  /** Finite-difference step (default 1e-5; larger for functions linear in their inputs). */
  step?: number;
}

const key = { data: BigInt64Array.from([1234n, 99n]), shape: [2] };

const rows: Row[] = [
  { name: 'add', fn: lax.add, inputs: [wave([2, 3]), wave([2, 3], 1)] },
  { name: 'sub', fn: lax.sub, inputs: [wave([2, 3]), wave([2, 3], 1)] },
  { name: 'mul', fn: lax.mul, inputs: [wave([2, 3]), wave([2, 3], 1)] },
  { name: 'div', fn: lax.div, inputs: [wave([2, 3]), positive([2, 3], 1)] },
  { name: 'max', fn: lax.max, inputs: [wave([2, 3]), wave([2, 3], 1)] },
  { name: 'min', fn: lax.min, inputs: [wave([2, 3]), wave([2, 3], 1)] },
  { name: 'pow', fn: lax.pow, inputs: [positive([2, 3]), wave([2, 3], 1)] },
  { name: 'neg', fn: lax.neg, inputs: [wave([2, 3])] },
  { name: 'exp', fn: lax.exp, inputs: [wave([2, 3])] },
  { name: 'log', fn: lax.log, inputs: [positive([2, 3])] },
  { name: 'sqrt', fn: lax.sqrt, inputs: [positive([2, 3])] },
  { name: 'rsqrt', fn: lax.rsqrt, inputs: [positive([2, 3])] },
  { name: 'tanh', fn: lax.tanh, inputs: [wave([2, 3])] },
  { name: 'erf', fn: lax.erf, inputs: [wave([2, 3])] },
  { name: 'select', fn: (x, y) => lax.select(lax.compare(x, y, 'GT'), x, y), inputs: [wave([2, 3]), wave([2, 3], 1)] },
  {
    name: 'convert (f64 -> f32 -> f64, exact on this grid)',
    fn: (x) => lax.convert(lax.mul(lax.convert(x, 'f32'), lax.constant(0.5, { dtype: 'f32', shape: [2, 3] })), 'f64'),
    inputs: [f64([2, 3], (i) => i / 8 - 0.25)],
    step: 0.125,
  },
  { name: 'broadcast_in_dim', fn: (x) => lax.mul(lax.broadcastInDim(x, [2, 4, 3], [0, 2]), lax.broadcastInDim(x, [2, 4, 3], [0, 2])), inputs: [wave([2, 1])] },
  { name: 'reshape', fn: (x) => lax.mul(lax.reshape(x, [3, 2]), lax.reshape(x, [3, 2])), inputs: [wave([2, 3])] },
  { name: 'transpose', fn: (x) => lax.tanh(lax.transpose(x, [2, 0, 1])), inputs: [wave([2, 3, 2])] },
  { name: 'slice (strided)', fn: (x) => lax.tanh(lax.slice(x, [0, 1], [2, 5], [1, 2])), inputs: [wave([2, 5])] },
  { name: 'pad (edge and interior)', fn: (x, v) => lax.tanh(lax.pad(x, v, [1, 0], [0, 2], [0, 1])), inputs: [wave([2, 3]), f64([], () => 0.3)] },
  { name: 'concatenate', fn: (x, y) => lax.tanh(lax.concatenate([x, y], 1)), inputs: [wave([2, 3]), wave([2, 2], 1)] },
  { name: 'reduce_sum', fn: (x) => lax.tanh(lax.reduceSum(x, [0, 2])), inputs: [wave([2, 3, 2])] },
  { name: 'reduce_max', fn: (x) => lax.tanh(lax.reduceMax(x, [1])), inputs: [wave([3, 4])] },
  {
    name: 'dot_general (batched)',
    fn: (x, y) => lax.tanh(lax.dotGeneral(x, y, { lhsBatch: [1], rhsBatch: [0], lhsContracting: [0], rhsContracting: [2] })),
    inputs: [wave([3, 2, 4]), wave([2, 5, 3], 1)],
  },
  {
    name: 'dot_general (two contracting dims, folded to a matrix product)',
    fn: (x, y) => lax.tanh(lax.dotGeneral(x, y, { lhsBatch: [], rhsBatch: [], lhsContracting: [0, 1], rhsContracting: [0, 1] })),
    inputs: [wave([2, 3, 2]), wave([2, 3, 4], 1)],
  },
  { name: 'gather (table)', fn: (table, ids) => lax.tanh(lax.gather(table, ids)), inputs: [wave([4, 3]), s32([2, 2], [3, 0, 3, 1])] },
  { name: 'scatter_add', fn: (operand, ids, updates) => lax.tanh(lax.scatterAdd(operand, ids, updates)), inputs: [wave([4, 2]), s32([3], [1, 3, 1]), wave([3, 2], 1)] },
  { name: 'dynamic_slice', fn: (x, start) => lax.tanh(lax.dynamicSlice(x, [start, lax.scalar(1, 's32')], [2, 2])), inputs: [wave([3, 4]), s32([], [1])] },
  {
    name: 'dynamic_update_slice',
    fn: (x, update, start) => lax.tanh(lax.dynamicUpdateSlice(x, update, [start, lax.scalar(1, 's32')])),
    inputs: [wave([3, 4]), wave([2, 2], 1), s32([], [1])],
  },
  { name: 'all_reduce_sum (one replica)', fn: (x) => lax.tanh(lax.allReduceSum(x, [[0]])), inputs: [wave([2, 3])] },
  // composites
  { name: 'add with broadcasting', fn: (x, y) => ops.tanh(ops.add(x, y)), inputs: [wave([2, 3]), wave([3], 1)] },
  { name: 'mul with a number', fn: (x) => ops.mul(ops.add(x, 1), x), inputs: [wave([2, 3])] },
  // (phase 0.2 keeps every x away from the kink at 0)
  { name: 'where', fn: (x, y) => ops.where(ops.greater(x, 0), ops.exp(x), y), inputs: [wave([2, 3], 0.2), wave([3], 1)] },
  { name: 'matmul (broadcast batch)', fn: (x, y) => ops.tanh(ops.matmul(x, y)), inputs: [wave([2, 3, 4]), wave([4, 2], 1)] },
  { name: 'mean', fn: (x) => ops.tanh(ops.mean(x, -1, true)), inputs: [wave([2, 3])] },
  { name: 'max (reduction)', fn: (x) => ops.mul(ops.max(x, 0), ops.max(x, 0)), inputs: [wave([3, 4])] },
  { name: 'min (reduction)', fn: (x) => ops.exp(ops.min(x, 1)), inputs: [wave([3, 4])] },
  { name: 'softmax', fn: (x) => ops.softmax(x, -1), inputs: [wave([2, 4], 0, 2)] },
  { name: 'softmax (axis 0)', fn: (x) => ops.softmax(x, 0), inputs: [wave([3, 2], 0, 2)] },
  { name: 'logSoftmax', fn: (x) => ops.logSoftmax(x), inputs: [wave([2, 4], 0, 2)] },
  { name: 'gelu', fn: (x) => ops.gelu(x), inputs: [wave([2, 3], 0, 2)] },
  { name: 'layerNorm', fn: (x, gamma, beta) => ops.layerNorm(x, gamma, beta, { eps: 1e-5 }), inputs: [wave([2, 4], 0, 2), positive([4]), wave([4], 1)] },
  { name: 'crossEntropy (integer labels)', fn: (logits, labels) => ops.crossEntropy(logits, labels), inputs: [wave([3, 4], 0, 2), s32([3], [2, 0, 3])] },
  { name: 'dropout (fixed key)', fn: (x, k) => ops.dropout(ops.tanh(x), 0.3, k)[0], inputs: [wave([4, 4]), key] },
  { name: 'sigmoid', fn: (x) => ops.sigmoid(x), inputs: [wave([2, 3])] },
  { name: 'attention layer (2 heads, mask, residual, layerNorm, gelu)', fn: attentionLayer, inputs: [wave([2, 3, 4]), wave([4, 4], 1, 0.5), wave([4, 4], 2, 0.5), positive([4]), wave([4], 3), s32([2, 3], [1, 1, 1, 1, 1, 0])] },
];

/** A small BERT-style self-attention block over x [B=2, S=3, H=4] with 2 heads; `mask` [B, S] (s32) is 1 for real tokens. */
function attentionLayer(x: Tensor, wq: Tensor, wo: Tensor, gamma: Tensor, beta: Tensor, mask: Tensor): Tensor {
  const heads = (t: Tensor) => ops.transpose(ops.reshape(t, [2, 3, 2, 2]), [0, 2, 1, 3]); // [B, heads, S, 2]
  const q = heads(ops.matmul(x, wq));
  const scores = ops.div(ops.matmul(q, ops.transpose(q, [0, 1, 3, 2])), Math.SQRT2); // [B, heads, S, S]
  const bias = ops.mul(ops.sub(1, ops.reshape(ops.cast(mask, 'f64'), [2, 1, 1, 3])), -10000);
  const context = ops.matmul(ops.softmax(ops.add(scores, bias), -1), q); // [B, heads, S, 2]
  const merged = ops.reshape(ops.transpose(context, [0, 2, 1, 3]), [2, 3, 4]);
  return ops.gelu(ops.layerNorm(ops.add(x, ops.matmul(merged, wo)), gamma, beta, { eps: 1e-5 }));
}

/** Fixed weights reducing an output of `shape` to a scalar. */
const weightsFor = (shape: readonly number[]): Tensor => ops.constant(Array.from({ length: count([...shape]) }, (_, i) => 0.5 + Math.cos(2.1 * i) ** 2), shape, 'f64');

async function putAll(rt: Runtime, inputs: HostInput[]) {
  return Promise.all(inputs.map((input) => rt.put(input.data, input.shape)));
}

t.test('gradients match central finite differences in float64', async (t) => {
  const rt = await openTestRuntime();
  for (const row of rows) {
    const loss = (...args: Tensor[]): Tensor => {
      const out = row.fn(...args);
      return ops.sum(ops.mul(out, weightsFor(out.shape)));
    };
    const floatArgs = row.inputs.flatMap((input, i) => (input.data instanceof Float64Array ? [i] : []));
    const lossAt = jit(loss, { runtime: rt });
    const gradients = jit(grad(loss, { argnums: floatArgs }), { runtime: rt });
    const analytic = (await gradients(...(await putAll(rt, row.inputs)))) as { toHost(): Promise<Float64Array> }[];
    let worst = 0;
    for (const [position, argnum] of floatArgs.entries()) {
      const got = await analytic[position]!.toHost();
      const base = row.inputs[argnum]!.data as Float64Array;
      const step = row.step ?? 1e-5;
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < base.length; i++) {
        const evaluateAt = async (delta: number): Promise<number> => {
          const moved = Float64Array.from(base);
          moved[i]! += delta;
          const inputs = row.inputs.map((input, j) => (j === argnum ? { data: moved, shape: input.shape } : input));
          const value = await lossAt(...(await putAll(rt, inputs)));
          return (await value.toHost())[0] as number;
        };
        const numeric = ((await evaluateAt(step)) - (await evaluateAt(-step))) / (2 * step);
        diff += (numeric - got[i]!) ** 2;
        norm += numeric ** 2;
      }
      worst = Math.max(worst, Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-3));
    }
    t.ok(worst <= 1e-6, `${row.name}: relative error ${worst.toExponential(2)}`);
    t.equal(lossAt.compileCount, 1, `${row.name}: the loss compiled once for all perturbations`);
    lossAt.dispose();
    gradients.dispose();
  }
});

t.test('stop_gradient blocks the gradient', async (t) => {
  const rt = await openTestRuntime();
  const x = await rt.put(new Float64Array([1, 2, 3]), [3]);
  const df = jit(grad((v: Tensor) => ops.sum(ops.mul(ops.stopGradient(v), v))), { runtime: rt });
  t.same(await hostNumbers(await df(x)), [1, 2, 3], 'd/dv sum(sg(v) * v) = sg(v)');
  df.dispose();
});

t.test('integer inputs get zero gradients; an argument passed twice gets two gradients', async (t) => {
  const rt = await openTestRuntime();
  const logits = await rt.put(new Float64Array([0.1, 0.5, -0.3, 0.2, 0.0, 0.4]), [2, 3]);
  const labels = await rt.put(new Int32Array([2, 0]), [2]);
  const both = jit(grad((l: Tensor, y: Tensor) => ops.crossEntropy(l, y), { argnums: [0, 1] }), { runtime: rt });
  const [dLogits, dLabels] = await both(logits, labels);
  t.equal(dLabels.dtype, 's32');
  t.same(await hostNumbers(dLabels), [0, 0]);
  t.same(dLogits.shape, [2, 3]);
  const twice = jit(grad((a: Tensor, b: Tensor) => ops.sum(ops.mul(a, ops.mul(b, b))), { argnums: [0, 1] }), { runtime: rt });
  const x = await rt.put(new Float64Array([3]), [1]);
  const [da, db] = await twice(x, x);
  t.same([...(await hostNumbers(da)), ...(await hostNumbers(db))], [9, 18], 'd/da a*b*b = b^2, d/db = 2ab');
  both.dispose();
  twice.dispose();
});

t.test('valueAndGrad with auxiliary outputs and a tree of parameters', async (t) => {
  const rt = await openTestRuntime();
  const model = (params: { w: Tensor; b: Tensor }, x: Tensor): [Tensor, Tensor] => {
    const logits = ops.add(ops.matmul(x, params.w), params.b);
    return [ops.sum(ops.square(logits)), logits];
  };
  const step = jit(valueAndGrad(model, { argnums: 0, hasAux: true }), { runtime: rt });
  const params = { w: await rt.put(new Float64Array([1, 2, 3, 4]), [2, 2]), b: await rt.put(new Float64Array([0.5, -0.5]), [2]) };
  const x = await rt.put(new Float64Array([1, 1]), [1, 2]);
  const [[loss, logits], grads] = await step(params, x);
  // logits = [1+3+0.5, 2+4-0.5] = [4.5, 5.5]; loss = 20.25 + 30.25
  t.same(await hostNumbers(loss), [50.5]);
  t.same(await hostNumbers(logits), [4.5, 5.5]);
  t.same(await hostNumbers(grads.b), [9, 11], 'db = 2 * logits');
  t.same(await hostNumbers(grads.w), [9, 11, 9, 11], 'dw = x^T (2 logits)');
  step.dispose();
});

t.test('a gradient inside a loop body works; through the loop it is refused by name', async (t) => {
  const rt = await openTestRuntime();
  // three steps of gradient descent on sum(w^2) / 2, inside one program
  const descend = jit(
    (w: Tensor) => ops.forLoop(3, (_i, v: Tensor) => ops.sub(v, ops.mul(grad((u: Tensor) => ops.mul(ops.sum(ops.square(u)), 0.5))(v) as Tensor, 0.5)), w),
    { runtime: rt },
  );
  const w = await rt.put(new Float64Array([8, -4]), [2]);
  t.same(await hostNumbers(await descend(w)), [1, -0.5], 'w * 0.5^3');
  const throughLoop = jit(grad((v: Tensor) => ops.sum(ops.forLoop(2, (_i, u: Tensor) => ops.mul(u, u), v))), { runtime: rt });
  await t.rejects(throughLoop(w), /while: reverse-mode differentiation through a loop is not supported/);
  t.equal(throughLoop.compileCount, 0, 'nothing was compiled');
  descend.dispose();
});

t.test('second derivative: grad of grad', async (t) => {
  const rt = await openTestRuntime();
  const cube = (x: Tensor) => ops.sum(ops.mul(ops.mul(x, x), x));
  const second = jit(grad((x: Tensor) => ops.sum(grad(cube)(x) as Tensor)), { runtime: rt });
  const x = await rt.put(new Float64Array([1, 2]), [2]);
  t.same(await hostNumbers(await second(x)), [6, 12], 'd2/dx2 x^3 = 6x');
  second.dispose();
});
