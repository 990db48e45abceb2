/**
 * Every shape and dtype error path: each is raised while tracing, before anything is emitted
 * or compiled, and names the op and every operand's type.
 */
import t from 'tap';
import { Tensor, grad, jit, ops, trace, type TensorSpec } from '../lib/trace/index.js';
import * as lax from '../lib/trace/lax.js';
import { DropoutStream } from '../lib/nn/layers.js';
import { openTestRuntime } from './helpers/runtime.js';

const f32 = (...shape: number[]): TensorSpec => ({ dtype: 'f32', shape });
const f64 = (...shape: number[]): TensorSpec => ({ dtype: 'f64', shape });
const s32 = (...shape: number[]): TensorSpec => ({ dtype: 's32', shape });
const u32 = (...shape: number[]): TensorSpec => ({ dtype: 'u32', shape });
const pred = (...shape: number[]): TensorSpec => ({ dtype: 'pred', shape });

type Case = [name: string, fn: (...args: Tensor[]) => unknown, specs: TensorSpec[], message: string | RegExp];

const shapeErrors: Case[] = [
  // elementwise
  ['binary shape mismatch', lax.add, [f32(2, 3), f32(3, 2)], 'add: shape mismatch: lhs f32[2,3] rhs f32[3,2]'],
  ['binary dtype mismatch', lax.mul, [f32(2), f64(2)], 'mul: dtype mismatch: lhs f32[2] rhs f64[2]'],
  ['binary on pred', lax.add, [pred(2), pred(2)], 'add: does not take pred operands: lhs pred[2] rhs pred[2]'],
  ['pow of integers', lax.pow, [s32(2), s32(2)], 'pow: expects a floating-point lhs: lhs s32[2]'],
  ['broadcasting mismatch', ops.add, [f32(5, 4), f32(3)], 'add: shapes do not broadcast: lhs f32[5,4] rhs f32[3]'],
  ['broadcasting dtype mismatch', ops.sub, [f32(5, 4), f64(4)], 'sub: dtype mismatch: lhs f32[5,4] rhs f64[4]'],
  ['fractional number with an integer tensor', (x) => ops.mul(x, 0.5), [s32(2)], 'mul: the number 0.5 is not a s32 value: lhs s32[2]'],
  ['negative number with an unsigned tensor', (x) => ops.add(-1, x), [u32(2)], 'add: the number -1 is not a u32 value: rhs u32[2]'],
  ['constant out of range', () => ops.full([2], 300, 'u8'), [], 'constant: 300 is out of range for u8: result u8[2]'],
  ['xor of floats', lax.xor, [f32(2), f32(2)], 'xor: expects integer operands: lhs f32[2] rhs f32[2]'],
  ['shift of pred', lax.shiftLeft, [pred(2), pred(2)], 'shift_left: expects integer operands: lhs pred[2] rhs pred[2]'],
  ['shift dtype mismatch', lax.shiftRightLogical, [u32(2), s32(2)], 'shift_right_logical: dtype mismatch: lhs u32[2] rhs s32[2]'],
  ['exp of an integer', lax.exp, [s32(3)], 'exp: expects a floating-point x: x s32[3]'],
  ['neg of unsigned', lax.neg, [u32(3)], 'neg: expects a signed or floating-point x: x u32[3]'],
  ['compare mismatch', (a, b) => lax.compare(a, b, 'LT'), [f32(2), f32(3)], 'compare: shape mismatch: lhs f32[2] rhs f32[3]'],
  ['select with a float predicate', lax.select, [f32(2), f32(2), f32(2)], 'select: predicate must be pred: predicate f32[2] onTrue f32[2] onFalse f32[2]'],
  ['select predicate shape', lax.select, [pred(3), f32(2), f32(2)], 'select: predicate shape mismatch: predicate pred[3] onTrue f32[2] onFalse f32[2]'],
  ['select branch dtypes', lax.select, [pred(2), f32(2), f64(2)], 'select: dtype mismatch: onTrue f32[2] onFalse f64[2]'],
  ['where shapes', (p, a, b) => ops.where(p, a, b), [pred(4), f32(2, 3), f32(3)], 'where: shapes do not broadcast: predicate pred[4] onTrue f32[2,3] onFalse f32[2,3]'],
  ['constant value count', () => ops.constant([1, 2, 3], [2, 2]), [], 'constant: 3 values for 4 elements: result f32[2,2]'],
  ['iota dimension', () => ops.iota([3], 's32', 1), [], 'iota: dimension 1 out of range for rank 1: result s32[3]'],
  // structural
  ['broadcastTo', (x) => ops.broadcastTo(x, [4, 2]), [f32(3)], 'broadcastTo: cannot broadcast to [4,2]: x f32[3]'],
  ['broadcast_in_dim dims count', (x) => lax.broadcastInDim(x, [2, 3], [0]), [f32(2, 3, 1)], /^broadcast_in_dim: needs one broadcast dimension per operand dimension: x f32\[2,3,1\]/],
  ['broadcast_in_dim order', (x) => lax.broadcastInDim(x, [3, 2], [1, 0]), [f32(2, 3)], /^broadcast_in_dim: broadcast dimensions must be increasing and in range: x f32\[2,3\] \(shape \[3,2\]/],
  ['broadcast_in_dim size', (x) => lax.broadcastInDim(x, [4, 3], [0, 1]), [f32(2, 3)], /^broadcast_in_dim: operand dimension 0 \(2\) does not fit result dimension 0: x f32\[2,3\]/],
  ['reshape count', (x) => ops.reshape(x, [4, 2]), [f32(2, 3)], 'reshape: cannot reshape to [4,2]: x f32[2,3]'],
  ['reshape -1', (x) => ops.reshape(x, [-1, 4]), [f32(2, 3)], 'reshape: cannot reshape to [-1,4]: x f32[2,3]'],
  ['transpose permutation', (x) => ops.transpose(x, [0, 0]), [f32(2, 3)], 'transpose: [0,0] is not a permutation of the dimensions: x f32[2,3]'],
  ['slice entries', (x) => ops.slice(x, [0], [1]), [f32(2, 3)], 'slice: start has 1 entries for rank 2: x f32[2,3] (start [0])'],
  ['slice bounds', (x) => ops.slice(x, [0, 1], [2, 4]), [f32(2, 3)], 'slice: bounds out of range in dimension 1: x f32[2,3] (start [0,1], limit [2,4], strides [1,1])'],
  ['pad value', (x, v) => lax.pad(x, v, [0], [0], [0]), [f32(2), f64()], 'pad: padValue must be a scalar of the operand dtype: x f32[2] padValue f64[]'],
  ['pad negative', (x, v) => lax.pad(x, v, [-1], [0], [0]), [f32(2), f32()], 'pad: low padding must be non-negative integers: x f32[2] padValue f32[]'],
  ['concatenate mismatch', (a, b) => ops.concatenate([a, b], 0), [f32(2, 3), f32(2, 4)], 'concatenate: operands differ outside axis 0: lhs f32[2,3] rhs f32[2,4]'],
  ['concatenate nothing', () => ops.concatenate([]), [], 'concatenate: needs at least one operand'],
  ['axis out of range', (x) => ops.sum(x, 2), [f32(2, 3)], 'sum: axis 2 out of range for rank 2: x f32[2,3]'],
  ['softmax axis', (x) => ops.softmax(x, -3), [f32(2, 3)], 'max: axis -3 out of range for rank 2: x f32[2,3]'],
  ['reduce axes repeated', (x) => lax.reduceSum(x, [0, 0]), [f32(2, 3)], 'reduce_sum: axes [0,0] are not distinct dimensions of x: x f32[2,3]'],
  ['reduce pred', (x) => lax.reduceMax(x, [0]), [pred(2)], 'reduce_max: does not reduce pred: x pred[2]'],
  // contraction
  ['matmul inner dims', (a, b) => ops.matmul(a, b), [f32(5, 4), f32(3, 3)], 'dot_general: contracting dims mismatch: lhs f32[5,4] rhs f32[3,3] (lhs batch [] contracting [1], rhs batch [] contracting [0])'],
  ['matmul dtypes', (a, b) => ops.matmul(a, b), [f32(5, 4), f64(4, 3)], /^dot_general: dtype mismatch: lhs f32\[5,4\] rhs f64\[4,3\]/],
  ['matmul batch', (a, b) => ops.matmul(a, b), [f32(2, 5, 4), f32(3, 4, 3)], 'matmul: batch dimensions do not broadcast: lhs f32[2,5,4] rhs f32[3,4,3]'],
  ['matmul scalar', (a, b) => ops.matmul(a, b), [f32(), f32(3)], 'matmul: operands must have at least one dimension: lhs f32[] rhs f32[3]'],
  [
    'dot_general batch dims',
    (a, b) => lax.dotGeneral(a, b, { lhsBatch: [0], rhsBatch: [0], lhsContracting: [2], rhsContracting: [1] }),
    [f32(2, 3, 4), f32(3, 4, 5)],
    /^dot_general: batch dims mismatch: lhs f32\[2,3,4\] rhs f32\[3,4,5\]/,
  ],
  ['dot_general dims range', (a, b) => lax.dotGeneral(a, b, { lhsBatch: [], rhsBatch: [], lhsContracting: [2], rhsContracting: [0] }), [f32(2, 3), f32(3)], /^dot_general: dimension numbers out of range or repeated/],
  // indexing
  ['gather with float indices', ops.take, [f32(4, 2), f32(3)], 'gather: indices must be integers: table f32[4,2] indices f32[3]'],
  ['gather from a scalar', ops.take, [f32(), s32(3)], 'gather: table must have at least one dimension: table f32[] indices s32[3]'],
  ['scatter_add updates', lax.scatterAdd, [f32(4, 2), s32(3), f32(3, 3)], 'scatter_add: updates must be f32[3,2]: operand f32[4,2] indices s32[3] updates f32[3,3]'],
  ['dynamic_slice start count', (x) => ops.dynamicSlice(x, [0], [1, 1]), [f32(2, 3)], 'dynamic_slice: needs 2 start indices, got 1: lhs f32[2,3] rhs s32[]'],
  ['dynamic_slice start type', (x, i) => ops.dynamicSlice(x, [i, 0], [1, 1]), [f32(2, 3), f32()], /^dynamic_slice: start index 0 must be an integer scalar: operand0 f32\[2,3\] operand1 f32\[\] operand2 s32\[\]/],
  ['dynamic_slice sizes', (x) => ops.dynamicSlice(x, [0, 0], [3, 1]), [f32(2, 3)], /^dynamic_slice: slice sizes \[3,1\] do not fit/],
  ['dynamic_update_slice update', (x, u) => ops.dynamicUpdateSlice(x, u, [0, 0]), [f32(2, 3), f32(3, 1)], /^dynamic_update_slice: update does not fit into operand: operand0 f32\[2,3\] operand1 f32\[3,1\]/],
  // control, random, collectives, composites
  ['rng key', (k) => ops.randomBits(k, [2]), [s32(2)], 'rng_bit_generator: key must be s64[2]: key s32[2]'],
  ['threefry operands', (a, b, c, d) => ops.threefry2x32([a, b], [c, d]), [u32(2), u32(2), u32(3), u32(2)], 'threefry2x32: expects four u32 operands of one shape: key0 u32[2] key1 u32[2] counter0 u32[3] counter1 u32[2]'],
  ['row keys dtype', (k) => ops.rowRandomBits(k, [3, 4], 0), [s32(3, 2)], 'rowRandomBits: keys must be u32 [3, 2], one key per row of [3,4]: keys s32[3,2]'],
  ['row keys count', (x, k) => ops.dropoutRows(x, 0.1, k, 0), [f32(3, 4), u32(2, 2)], 'rowRandomBits: keys must be u32 [3, 2], one key per row of [3,4]: keys u32[2,2]'],
  ['dropout stream key', (x, k) => new DropoutStream(k).apply(x, 0.1), [f32(3, 4), s32(2)], 'DropoutStream: the key must be s64[2] (one for the batch) or u32 [B, 2] (one per row): key s32[2]'],
  ['while cond', (x) => ops.whileLoop(() => ops.full([], 1), (s) => s, x), [f32(2)], /^while: cond must return one pred\[\], got \(f32\[\]\): state0 f32\[2\]/],
  ['while body types', (x) => ops.whileLoop((s) => ops.less(ops.sum(s), 0), (s) => ops.reshape(s, [2, 1]), x), [f32(2)], /^while: body must return the state's types, got \(f32\[2,1\]\): state0 f32\[2\]/],
  ['all_reduce on pred', (x) => ops.allReduceSum(x, 2), [pred(2)], 'all_reduce_sum: does not sum pred: x pred[2]'],
  ['crossEntropy labels', (l, y) => ops.crossEntropy(l, y), [f32(3, 4), s32(4)], 'crossEntropy: labels must be integers of shape [3]: logits f32[3,4] labels s32[4]'],
  ['crossEntropy float labels', (l, y) => ops.crossEntropy(l, y), [f32(3, 4), f32(3)], 'crossEntropy: labels must be integers of shape [3]: logits f32[3,4] labels f32[3]'],
];

t.test('shape and dtype errors name the op and every operand', async (t) => {
  for (const [name, fn, specs, message] of shapeErrors) {
    t.throws(() => trace(fn, specs), { name: 'ShapeError', message }, name);
  }
});

t.test('other tracing errors', async (t) => {
  t.throws(() => trace((x: Tensor) => grad((y: Tensor) => ops.mul(y, 2))(x), [f32(3)]), {
    name: 'TypeError',
    message: 'grad: the function must return a scalar float tensor, got f32[3]',
  });
  t.throws(() => trace((x: Tensor) => grad((y: Tensor) => ops.sum(y), { argnums: 1 })(x), [f32(3)]), /grad: argnum 1 is out of range for 1 arguments/);
  t.throws(() => grad((y: Tensor) => ops.sum(y))(undefined as unknown as Tensor), /grad: called outside of trace\(\)\/jit\(\)/);
  t.throws(() => ops.add(1, 2), /constant: called outside of trace\(\)\/jit\(\)/);
  let leaked: Tensor | undefined;
  trace((x: Tensor) => (leaked = x), [f32(2)]);
  t.throws(() => trace((x: Tensor) => ops.add(x, leaked!), [f32(2)]), /add: Tensor<f32\[2\]> belongs to another trace/);
  t.throws(() => trace(() => 3, []), { name: 'TypeError', message: /traced function result: value is number 3, expected a Tensor/ });
  t.throws(() => trace((x: Tensor) => x, [f32(2)], { aliases: [{ input: 0, output: 1 }] }), { name: 'RangeError', message: /no such input or output/ });
  t.throws(() => trace((x: Tensor) => ops.sum(x), [f32(2)], { aliases: [{ input: 0, output: 0 }] }), {
    name: 'ShapeError',
    message: 'alias: input 0 and output 0 differ: input f32[2] output f32[]',
  });
  t.throws(() => trace((x: Tensor) => ops.dropout(x, 1, x), [f32(2)]), { name: 'RangeError' });
  t.throws(() => trace((x: Tensor, k: Tensor) => ops.dropoutRows(x, -0.1, k, 0), [f32(2), u32(2, 2)]), { name: 'RangeError', message: 'dropout rate must be in [0, 1), got -0.1' });
  t.throws(() => trace((k: Tensor) => ops.rowRandomBits(k, [2, 3], 2 ** 32), [u32(2, 2)]), { name: 'RangeError', message: 'rowRandomBits: stream must be an integer in [0, 2^32), got 4294967296' });
  t.throws(() => trace((x: Tensor) => ops.allReduceSum(x, [[0, 1], [2]]), [f32(2)]), { name: 'RangeError' });
});

t.test('jit reports tracing errors before compiling anything', async (t) => {
  const rt = await openTestRuntime();
  const product = jit((a: Tensor, b: Tensor) => ops.matmul(a, b), { runtime: rt });
  const a = await rt.put(new Float32Array(20), [5, 4]);
  const b = await rt.put(new Float32Array(9), [3, 3]);
  await t.rejects(product(a, b), { name: 'ShapeError', message: /^dot_general: contracting dims mismatch: lhs f32\[5,4\] rhs f32\[3,3\]/ });
  await t.rejects(product(a, new Float32Array(3)), { name: 'TypeError', message: /jit arguments: \[1\] is a Float32Array, expected a DeviceArray/ });
  t.equal(product.compileCount, 0);
  const twoReplicas = jit((x: Tensor) => ops.allReduceSum(x, 2), { runtime: rt, replicas: 2 });
  await t.rejects(twoReplicas(a), /compiled for 2 replicas; call \.replicated/);
  t.throws(() => jit((x: Tensor) => x, { runtime: rt, replicas: 0 }), RangeError);
});
