/**
 * jit: compile once per input signature, float32 and float64 programs, trees in and out,
 * donation, bf16 matmuls accumulating in f32, and a data-parallel all-reduce over replicas on
 * the CPU plugin's virtual devices.
 */
import t from 'tap';
import type { DeviceArray } from '../lib/runtime/index.js';
import { grad, jit, ops, valueAndGrad, type Tensor } from '../lib/trace/index.js';
import { openTestRuntime } from './helpers/runtime.js';

/** An output's elements as plain numbers. */
const hostNumbers = async (array: DeviceArray): Promise<number[]> => Array.from((await array.toHost()) as ArrayLike<number | bigint>, Number);

const wData = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, 1.2];
const xData = Array.from({ length: 20 }, (_, i) => Math.sin(i + 1));

/** loss(w, x) = sum(softmax(tanh(x @ w)) * c) for x [5,4], w [4,3], and its gradient in w, by hand. */
function reference(w: number[], x: number[], c: number[]): { loss: number; dw: number[] } {
  const dw = new Array<number>(12).fill(0);
  let loss = 0;
  for (let r = 0; r < 5; r++) {
    const z = [0, 1, 2].map((j) => Math.tanh([0, 1, 2, 3].reduce((s, k) => s + x[r * 4 + k]! * w[k * 3 + j]!, 0)));
    const e = z.map(Math.exp);
    const total = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / total);
    const weights = c.slice(r * 3, r * 3 + 3);
    loss += p.reduce((s, v, j) => s + v * weights[j]!, 0);
    const pc = p.reduce((s, v, j) => s + v * weights[j]!, 0);
    const dz = p.map((v, j) => v * (weights[j]! - pc) * (1 - z[j]! ** 2));
    for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) dw[k * 3 + j]! += x[r * 4 + k]! * dz[j]!;
  }
  return { loss, dw };
}

const cData = Array.from({ length: 15 }, (_, i) => 1 + Math.cos(i));

t.test('the README example compiles once per signature and returns DeviceArrays', async (t) => {
  const rt = await openTestRuntime();
  const f = (w: Tensor, x: Tensor) => ops.sum(ops.softmax(ops.tanh(ops.matmul(x, w)), -1));
  const df = jit(grad(f, { argnums: [0] }), { runtime: rt });
  const w = await rt.put(new Float32Array(wData), [4, 3]);
  const x = await rt.put(new Float32Array(xData), [5, 4]);
  const [dw] = await df(w, x);
  t.same(dw.shape, [4, 3]);
  t.equal(dw.dtype, 'f32');
  // the softmax rows sum to one whatever the input, so this gradient vanishes
  t.ok((await hostNumbers(dw)).every((v) => Math.abs(v) < 1e-6));
  await df(w, x);
  await Promise.all([df(w, x), df(w, x)]);
  t.equal(df.compileCount, 1, 'one compile for four calls of one signature, two of them concurrent');
  await df(w, await rt.put(new Float32Array(xData.slice(0, 8)), [2, 4]));
  t.equal(df.compileCount, 2, 'a new shape compiles again');
  await df(await rt.put(new Float64Array(wData), [4, 3]), await rt.put(new Float64Array(xData), [5, 4]));
  t.equal(df.compileCount, 3, 'a new dtype compiles again');
  df.dispose();
});

t.test('float64 values and gradients match a hand-written reference', async (t) => {
  const rt = await openTestRuntime();
  const f = (w: Tensor, x: Tensor, c: Tensor) => ops.sum(ops.mul(ops.softmax(ops.tanh(ops.matmul(x, w)), -1), c));
  const step = jit(valueAndGrad(f, { argnums: 0 }), { runtime: rt });
  const [loss, dw] = await step(
    await rt.put(new Float64Array(wData), [4, 3]),
    await rt.put(new Float64Array(xData), [5, 4]),
    await rt.put(new Float64Array(cData), [5, 3]),
  );
  t.equal(loss.dtype, 'f64');
  t.equal(dw.dtype, 'f64');
  const expected = reference(wData, xData, cData);
  t.ok(Math.abs((await hostNumbers(loss))[0]! - expected.loss) < 1e-12, 'loss');
  const got = await hostNumbers(dw);
  t.ok(got.every((v, i) => Math.abs(v - expected.dw[i]!) < 1e-12), 'gradient', { got, expected: expected.dw });
  t.match(step.lower({ dtype: 'f64', shape: [4, 3] }, { dtype: 'f64', shape: [5, 4] }, { dtype: 'f64', shape: [5, 3] }).text, /tensor<4x3xf64>/);
  step.dispose();
});

t.test('donated arguments are reused for outputs and deleted', async (t) => {
  const rt = await openTestRuntime();
  const update = jit((params: { w: Tensor }, g: Tensor) => ops.mapTensors((p) => ops.sub(p, ops.mul(g, 0.5)), params), { runtime: rt, donateArgnums: [0] });
  t.match(update.lower({ w: { dtype: 'f32', shape: [3] } }, { dtype: 'f32', shape: [3] }).text, /%arg0: tensor<3xf32> \{tf\.aliasing_output = 0 : i32\}/);
  const w = await rt.put(new Float32Array([1, 2, 3]), [3]);
  const g = await rt.put(new Float32Array([2, 2, 2]), [3]);
  const next = await update({ w }, g);
  t.same(await hostNumbers(next.w), [0, 1, 2]);
  t.ok(w.isDeleted, 'the donated input is gone');
  t.notOk(g.isDeleted, 'the other input is kept');
  update.dispose();
  const mismatched = jit((a: { w: Tensor }, b: Tensor[]) => ops.mapTensors((x, y) => ops.add(x, y!), a, b as unknown as { w: Tensor }), { runtime: rt });
  await t.rejects(mismatched({ w: g }, [g]), { name: 'TypeError', message: 'mapTree: tree 1 has a different structure than tree 0' });
});

t.test('bf16 matmul accumulating in f32, and its gradient', async (t) => {
  const rt = await openTestRuntime();
  const bf16 = (values: number[]) => Uint16Array.from(values, (v) => new Uint32Array(new Float32Array([v]).buffer)[0]! >>> 16);
  const x = await rt.put(bf16([1, 2, 0.5, -1]), [2, 2], { dtype: 'bf16' });
  const w = await rt.put(bf16([2, 0, 1, 4]), [2, 2], { dtype: 'bf16' });
  const product = jit((a: Tensor, b: Tensor) => ops.matmul(a, b, 'f32'), { runtime: rt });
  const out = await product(x, w);
  t.equal(out.dtype, 'f32');
  t.same(await hostNumbers(out), [4, 8, 0, -4]);
  const dw = jit(grad((b: Tensor, a: Tensor) => ops.sum(ops.matmul(a, b, 'f32'))), { runtime: rt });
  const gradient = await dw(w, x);
  t.equal(gradient.dtype, 'bf16', 'the gradient has the parameter dtype');
  t.same(await hostNumbers(gradient), bf16([1.5, 1.5, 1, 1]), 'column sums of x');
  product.dispose();
  dw.dispose();
});

t.test('gradients averaged over replicas with all_reduce', async (t) => {
  const rt = await openTestRuntime();
  const replicas = 4;
  // each replica sees its own shard; the mean gradient of sum((w*x)^2)/2 is w * mean(x^2)
  const shardGrad = jit(
    (w: Tensor, x: Tensor) => ops.allReduceMean(grad((v: Tensor) => ops.mul(ops.sum(ops.square(ops.mul(v, x))), 0.5))(w) as Tensor, replicas),
    { runtime: rt, replicas },
  );
  const args = await Promise.all(
    Array.from({ length: replicas }, async (_, r) => [
      await rt.put(new Float32Array([1, 2]), [2], { device: r }),
      await rt.put(new Float32Array([r, r + 1]), [2], { device: r }),
    ]),
  );
  const outputs = await shardGrad.replicated(args);
  t.equal(outputs.length, replicas);
  const meanSquares = [0, 1].map((i) => Array.from({ length: replicas }, (_, r) => (r + i) ** 2).reduce((a, b) => a + b) / replicas);
  for (const output of outputs) t.same(await hostNumbers(output), [1 * meanSquares[0]!, 2 * meanSquares[1]!]);
  await t.rejects(shardGrad.replicated(args.slice(1)), /compiled for 4 replica\(s\), got 3 argument lists/);
  shardGrad.dispose();
});

t.test('a train-step shape: K steps over a slab in one while loop', async (t) => {
  const rt = await openTestRuntime();
  // K=3 steps of SGD on mean((x.w - y)^2) over a [3,4,2] slab of inputs
  const train = jit(
    (w: Tensor, xs: Tensor, ys: Tensor) =>
      ops.forLoop(3, (i, v: Tensor) => {
        const x = ops.reshape(ops.dynamicSlice(xs, [i, 0, 0], [1, 4, 2]), [4, 2]);
        const y = ops.reshape(ops.dynamicSlice(ys, [i, 0], [1, 4]), [4]);
        const g = grad((u: Tensor) => ops.mean(ops.square(ops.sub(ops.matmul(x, u), y))))(v) as Tensor;
        return ops.sub(v, ops.mul(g, 0.1));
      }, w),
    { runtime: rt },
  );
  const xs = Array.from({ length: 24 }, (_, i) => Math.cos(i));
  const ys = Array.from({ length: 12 }, (_, i) => Math.sin(i));
  const out = await train(await rt.put(new Float64Array([0.5, -0.5]), [2]), await rt.put(new Float64Array(xs), [3, 4, 2]), await rt.put(new Float64Array(ys), [3, 4]));
  let w = [0.5, -0.5];
  for (let step = 0; step < 3; step++) {
    const g = [0, 0];
    for (let r = 0; r < 4; r++) {
      const row = [xs[step * 8 + r * 2]!, xs[step * 8 + r * 2 + 1]!];
      const err = row[0]! * w[0]! + row[1]! * w[1]! - ys[step * 4 + r]!;
      g[0]! += (2 * err * row[0]!) / 4;
      g[1]! += (2 * err * row[1]!) / 4;
    }
    w = [w[0]! - 0.1 * g[0]!, w[1]! - 0.1 * g[1]!];
  }
  const got = await hostNumbers(out);
  t.ok(got.every((v, i) => Math.abs(v - w[i]!) < 1e-12), 'same parameters as three host-side steps', { got, w });
  train.dispose();
});

t.test('nested loops capture tensors of every enclosing function', async (t) => {
  const rt = await openTestRuntime();
  // outer 3 times, inner 2 times: total += step, where step is an argument of the top level
  const count = jit(
    (step: Tensor) => ops.forLoop(3, (_i, total: Tensor) => ops.forLoop(2, (_j, inner: Tensor) => ops.add(inner, step), total), ops.zeros([], 'f64')),
    { runtime: rt },
  );
  t.same(await hostNumbers(await count(await rt.put(new Float64Array([0.5]), []))), [3]);
  count.dispose();
});
