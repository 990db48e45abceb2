/**
 * StableHLO text: literal formatting, the builder and printer, and golden text of a few traced
 * programs (no device needed to compare); each golden program then compiles on the CPU plugin.
 * Regenerate the goldens with `UPDATE_GOLDEN=1 npx tap test/stablehlo.test.ts` and review the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import {
  ModuleBuilder,
  ShapeError,
  denseElements,
  formatScalar,
  i64Array,
  mlirTensorType,
  printModule,
  replicaGroups,
  tensorType,
} from '../lib/stablehlo/index.js';
import { grad, lax, ops, trace, type Tensor, type TracedProgram } from '../lib/trace/index.js';
import { openTestRuntime } from './helpers/runtime.js';

const goldenDir = new URL('./golden/', import.meta.url);

/** Compares `text` with the golden file `name`, or rewrites it when UPDATE_GOLDEN is set. */
function matchGolden(t: Test, name: string, text: string): void {
  const file = new URL(name, goldenDir);
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, text);
  t.equal(text, readFileSync(file, 'utf8'), `${name} matches its golden text`);
}

t.test('scalar literals', async (t) => {
  t.equal(formatScalar(2, 'f32'), '2.0');
  t.equal(formatScalar(1e-300, 'f64'), '1.0e-300');
  t.equal(formatScalar(0.1, 'f32'), '0.10000000149011612', 'f32 values print as their exact rounded value');
  t.equal(formatScalar(-Infinity, 'f32'), '0xFF800000');
  t.equal(formatScalar(Infinity, 'bf16'), '0x7F80');
  t.equal(formatScalar(NaN, 'f64'), '0x7FF8000000000000');
  t.equal(formatScalar(-7, 's32'), '-7');
  t.equal(formatScalar(true, 'pred'), 'true');
  t.equal(formatScalar(2n ** 63n - 1n, 's64'), '9223372036854775807');
  t.throws(() => formatScalar(1.5, 's32'), RangeError);
  t.throws(() => formatScalar(256, 'u8'), RangeError);
});

t.test('types and attributes', async (t) => {
  t.equal(mlirTensorType(tensorType('f32', [5, 4])), 'tensor<5x4xf32>');
  t.equal(mlirTensorType(tensorType('pred', [])), 'tensor<i1>');
  t.equal(mlirTensorType(tensorType('u8', [3])), 'tensor<3xui8>');
  t.equal(denseElements([1, 2, 3, 4, 5, 6], tensorType('s32', [2, 3])), 'dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi32>');
  t.equal(denseElements(0, tensorType('bf16', [2])), 'dense<0.0> : tensor<2xbf16>');
  t.equal(replicaGroups([[0, 1, 2, 3]]), 'dense<[[0, 1, 2, 3]]> : tensor<1x4xi64>');
  t.equal(i64Array([]), 'array<i64>');
  t.throws(() => denseElements([1, 2], tensorType('f32', [3])), RangeError);
  t.throws(() => replicaGroups([[0, 1], [2]]), RangeError);
  t.throws(() => tensorType('f32', [2, -1]), RangeError);
  const error = new ShapeError('dot_general', 'contracting dims mismatch', [['lhs', tensorType('f32', [5, 4])], ['rhs', tensorType('f32', [3, 3])]]);
  t.equal(error.message, 'dot_general: contracting dims mismatch: lhs f32[5,4] rhs f32[3,3]');
});

t.test('the builder and printer write a hand-built module', async (t) => {
  const module = new ModuleBuilder('handmade');
  const vector = tensorType('f32', [4]);
  const main = module.addFunction('main', [{ type: vector }, { type: vector }]);
  const sum = main.body.op1('stablehlo.add', main.body.args, vector);
  const erf = main.body.op1('chlo.erf', [sum], vector);
  main.body.return([erf, sum]);
  matchGolden(t, 'handmade.mlir', printModule(module));
  t.throws(() => module.addFunction('main', []), /already exists/);
  t.throws(() => main.body.return([sum]), /already returned/);
});

const f32 = (...shape: number[]) => ({ dtype: 'f32' as const, shape });
const f64 = (...shape: number[]) => ({ dtype: 'f64' as const, shape });
const s32 = (...shape: number[]) => ({ dtype: 's32' as const, shape });
const s64 = (...shape: number[]) => ({ dtype: 's64' as const, shape });

/** A data-parallel train step: K steps over a [K,B,F] slab, gradients averaged over 2 replicas, params donated. */
function trainLoop(params: { w: Tensor; b: Tensor }, xs: Tensor, ys: Tensor, key: Tensor) {
  const loss = (p: { w: Tensor; b: Tensor }, x: Tensor, y: Tensor, k: Tensor): Tensor => {
    const [hidden] = ops.dropout(ops.gelu(ops.add(ops.matmul(x, p.w), p.b)), 0.1, k);
    return ops.crossEntropy(hidden, y);
  };
  const [steps, batch, features] = xs.shape as [number, number, number];
  return ops.forLoop(
    steps,
    (i, state) => {
      const x = ops.reshape(ops.dynamicSlice(xs, [i, 0, 0], [1, batch, features]), [batch, features]);
      const y = ops.reshape(ops.dynamicSlice(ys, [i, 0], [1, batch]), [batch]);
      const grads = grad(loss)(state.params, x, y, state.key) as { w: Tensor; b: Tensor };
      const [nextKey] = ops.randomBits(state.key, []);
      const update = (p: Tensor, g: Tensor) => ops.sub(p, ops.mul(ops.allReduceMean(g, 2), 0.1));
      return { params: { w: update(state.params.w, grads.w), b: update(state.params.b, grads.b) }, key: nextKey };
    },
    { params, key },
  );
}

const goldens: Array<{ name: string; replicas: number; build: () => TracedProgram }> = [
  { name: 'elementwise.mlir', replicas: 1, build: () => trace((a: Tensor, b: Tensor) => ops.mul(ops.erf(ops.add(a, b)), 2), [f32(4), f32(4)]) },
  {
    name: 'softmax-grad.mlir',
    replicas: 1,
    build: () => trace(grad((w: Tensor, x: Tensor) => ops.sum(ops.softmax(ops.tanh(ops.matmul(x, w)), -1)), { argnums: [0] }), [f32(4, 3), f32(5, 4)]),
  },
  {
    name: 'embedding-grad.mlir',
    replicas: 1,
    build: () => trace(grad((table: Tensor, ids: Tensor) => ops.sum(ops.square(ops.take(table, ids)))), [f64(6, 2), s32(3)]),
  },
  {
    name: 'train-loop.mlir',
    replicas: 2,
    build: () => trace(trainLoop, [{ w: f32(3, 4), b: f32(4) }, f32(2, 5, 3), s32(2, 5), s64(2)], { name: 'train_step', replicas: 2, donate: [0, 1] }),
  },
];

t.test('traced programs match their golden text', async (t) => {
  for (const golden of goldens) matchGolden(t, golden.name, golden.build().text);
});

t.test('golden programs compile on the CPU plugin', async (t) => {
  const rt = await openTestRuntime();
  for (const golden of goldens) {
    const executable = await rt.compile(readFileSync(new URL(golden.name, goldenDir), 'utf8'), { replicas: golden.replicas });
    t.pass(`${golden.name} compiles`);
    executable.dispose();
  }
});

t.test('a golden program runs on the CPU plugin', async (t) => {
  const rt = await openTestRuntime();
  const executable = await rt.compile(readFileSync(new URL('elementwise.mlir', goldenDir), 'utf8'));
  const a = await rt.put(new Float32Array([0, 0.25, -1, 2]), [4]);
  const b = await rt.put(new Float32Array([0, 0.25, 0.5, 1]), [4]);
  const [[out]] = await executable.execute([a, b]);
  const got = Array.from((await out!.toHost()) as Float32Array);
  // 2 * erf(a + b): erf(0.5) = 0.5204998778, erf(-0.5) = -0.5204998778, erf(3) = 0.9999779095
  const expected = [0, 1.0409997556, -1.0409997556, 1.999955819];
  t.ok(got.every((v, i) => Math.abs(v - expected[i]!) < 1e-6), 'values', { got, expected });
  executable.dispose();
});

t.test('donated parameters are aliased to the outputs of the same type', async (t) => {
  const text = goldens[3]!.build().text;
  t.match(text, /%arg0: tensor<3x4xf32> \{tf\.aliasing_output = 0 : i32\}, %arg1: tensor<4xf32> \{tf\.aliasing_output = 1 : i32\}/);
  t.match(text, /replica_groups = dense<\[\[0, 1\]\]> : tensor<1x2xi64>/);
  t.match(text, /mhlo\.num_replicas = 2 : i32/);
});

t.test('a dot_general over 3-D operands is lowered as one matrix product of reshapes', async (t) => {
  // a weight gradient: tokens [B, S] contracted on both sides; XLA:CPU would copy a 3-D operand transposed
  const dims = { lhsBatch: [], rhsBatch: [], lhsContracting: [0, 1], rhsContracting: [0, 1] };
  const text = trace((x: Tensor, dy: Tensor) => lax.dotGeneral(x, dy, dims), [f32(2, 3, 4), f32(2, 3, 5)]).text;
  t.match(text, /"stablehlo\.reshape"\(%arg0\) : \(tensor<2x3x4xf32>\) -> tensor<6x4xf32>/);
  t.match(text, /lhs_contracting_dimensions = \[0\], rhs_contracting_dimensions = \[0\]>\} : \(tensor<6x4xf32>, tensor<6x5xf32>\) -> tensor<4x5xf32>/);
  // free dims on both sides: the [6, 6] product is reshaped back to [2, 3, 2, 3]
  const forward = trace((x: Tensor, w: Tensor) => lax.dotGeneral(x, w, { lhsBatch: [], rhsBatch: [], lhsContracting: [2], rhsContracting: [0] }), [f32(2, 3, 4), f32(4, 2, 3)]).text;
  t.match(forward, /-> tensor<6x6xf32>/);
  t.match(forward, /"stablehlo\.reshape"\(%\d+\) : \(tensor<6x6xf32>\) -> tensor<2x3x2x3xf32>/);
  // dims that do not fold stay as written
  const middle = trace((x: Tensor, w: Tensor) => lax.dotGeneral(x, w, { lhsBatch: [], rhsBatch: [], lhsContracting: [1], rhsContracting: [0] }), [f32(2, 3, 4), f32(3, 5)]).text;
  t.notMatch(middle, /stablehlo\.reshape/);
  t.match(middle, /\(tensor<2x3x4xf32>, tensor<3x5xf32>\) -> tensor<2x4x5xf32>/);
});
