/**
 * The two foundations of the train step together, on a toy classifier (mean-pooled
 * embeddings -> linear): slabs of K steps x R replicas from SlabBatcher, a weighted mean
 * cross-entropy over the real examples of the global batch, gradients summed over replicas,
 * clipping and AdamW with a linear schedule, K steps looped in one program, padding steps
 * skipped. Two replicas must give the parameters of one, up to float rounding.
 */
import t, { type Test } from 'tap';
import type { DeviceArray, Runtime } from '../lib/runtime/index.js';
import { grad, jit, ops, type Tensor } from '../lib/trace/index.js';
import { adamw, clipGradNorm, linearSchedule, type AdamState, type ParameterTree } from '../lib/optim/index.js';
import type { TokenizedExamples } from '../lib/train/data.js';
import { SlabBatcher, type Slab } from '../lib/train/data-batches.js';
import { openTestRuntime } from './helpers/runtime.js';

const V = 12; // vocabulary
const D = 4; // embedding width
const C = 3; // classes
const S = 5; // sequence length
const N = 10; // examples: with B=4, K=2 an epoch is 3 steps (4 + 4 + 2 real) in 2 calls
const B = 4;
const K = 2;
const EPOCHS = 2;

const examples: TokenizedExamples = {
  count: N,
  seqLen: S,
  inputIds: Int32Array.from({ length: N * S }, (_, k) => (k * 7 + Math.floor(k / S)) % V),
  attentionMask: Int32Array.from({ length: N * S }, (_, k) => (k % S < 2 + (Math.floor(k / S) % 3) ? 1 : 0)),
  tokenTypeIds: new Int32Array(N * S),
  targets: Int32Array.from({ length: N }, (_, i) => (i * 2) % C),
  targetWidth: 1,
};
const initial: Record<string, { shape: number[]; values: number[] }> = {
  'embeddings.weight': { shape: [V, D], values: Array.from({ length: V * D }, (_, i) => Math.sin(i) * 0.5) },
  'classifier.weight': { shape: [D, C], values: Array.from({ length: D * C }, (_, i) => Math.cos(i) * 0.3) },
  'classifier.bias': { shape: [C], values: [0.1, -0.1, 0] },
};
const optimizer = adamw({ lr: linearSchedule({ lr: 0.05, warmupSteps: 1, totalSteps: 6 }), weightDecay: 0.1 });

/** Sum of weighted cross-entropies of one replica's shard (a [b, S] batch). */
function weightedLossSum(params: ParameterTree, ids: Tensor, mask: Tensor, labels: Tensor, weights: Tensor): Tensor {
  const embedded = ops.take(params['embeddings.weight']!, ids); // [b, S, D]
  const m = ops.expandDims(ops.cast(mask, 'f32'), -1); // [b, S, 1]
  const pooled = ops.div(ops.sum(ops.mul(embedded, m), 1), ops.sum(m, 1)); // [b, D]
  const logits = ops.add(ops.matmul(pooled, params['classifier.weight']!), params['classifier.bias']!); // [b, C]
  return ops.sum(ops.mul(ops.crossEntropy(logits, labels, { reduction: 'none' }), weights));
}

/** K train steps over one replica's slab; gradients and the example count summed over `replicas`. */
function trainCall(replicas: number) {
  return (params: ParameterTree, state: AdamState, ids: Tensor, mask: Tensor, labels: Tensor, weights: Tensor) => {
    const b = ids.shape[1]!;
    return ops.forLoop(K, (i, carry: { params: ParameterTree; state: AdamState }) => {
      const at = <T extends Tensor>(x: T, rest: number[]) => ops.reshape(ops.dynamicSlice(x, [i, ...rest.map(() => 0)], [1, ...rest]), rest);
      const [stepIds, stepMask, stepLabels, stepWeights] = [at(ids, [b, S]), at(mask, [b, S]), at(labels, [b]), at(weights, [b])];
      const count = ops.allReduceSum(ops.sum(stepWeights), replicas); // real examples in the global batch
      const loss = (p: ParameterTree) => ops.div(weightedLossSum(p, stepIds!, stepMask!, stepLabels!, stepWeights!), ops.maximum(count, 1));
      const localGrads = grad(loss)(carry.params) as ParameterTree;
      const grads = Object.fromEntries(Object.entries(localGrads).map(([name, g]) => [name, ops.allReduceSum(g, replicas)]));
      const next = optimizer.update(carry.params, clipGradNorm(grads, 1).grads, carry.state);
      // a padding step (no real example anywhere) must not move anything: Adam would
      const real = ops.greater(count, 0);
      const keep = <T extends Record<string, Tensor>>(a: T, b2: T): T => Object.fromEntries(Object.keys(a).map((k) => [k, ops.where(real, a[k]!, b2[k]!)])) as T;
      return {
        params: keep(next.params, carry.params),
        state: { step: ops.where(real, next.state.step, carry.state.step), m: keep(next.state.m, carry.state.m), v: keep(next.state.v, carry.state.v) },
      };
    }, { params, state });
  };
}

async function train(t: Test, rt: Runtime, replicas: number): Promise<{ params: Record<string, number[]>; steps: number; agree: boolean }> {
  const batcher = new SlabBatcher(examples, { globalBatchSize: B, replicas, stepsPerCall: K, seed: 3 });
  const call = jit(trainCall(replicas), { runtime: rt, replicas, donateArgnums: [0, 1] });
  const init = jit((p: ParameterTree) => optimizer.init(p), { runtime: rt });
  const put = (device: number) =>
    Promise.all(Object.entries(initial).map(async ([name, { shape, values }]) => [name, await rt.put(new Float32Array(values), shape, { device })] as const)).then(Object.fromEntries) as Promise<Record<string, DeviceArray>>;
  const startParams = await Promise.all(Array.from({ length: replicas }, (_, r) => put(r)));
  const start0 = await init(await put(0));
  // the initial state on every replica's device: zeros, step 0
  let states = await Promise.all(Array.from({ length: replicas }, async (_, r) => {
    const host = async (a: DeviceArray) => rt.put(await a.toHost(), a.shape, { device: r, dtype: a.dtype });
    const tree = async (x: Record<string, DeviceArray>) => Object.fromEntries(await Promise.all(Object.entries(x).map(async ([k, a]) => [k, await host(a)] as const)));
    return { step: await host(start0.step), m: await tree(start0.m), v: await tree(start0.v) };
  }));
  let params = startParams;
  let slabs = 0;
  for (const slab of batcher.slabs(EPOCHS) as Generator<Slab>) {
    slabs++;
    const args = await Promise.all(slab.replicas.map(async (r, device) => [
      params[device],
      states[device],
      await rt.put(r.inputIds, [K, B / replicas, S], { device }),
      await rt.put(r.attentionMask, [K, B / replicas, S], { device }),
      await rt.put(r.targets as Int32Array, [K, B / replicas], { device }),
      await rt.put(r.weights, [K, B / replicas], { device }),
    ]));
    const outs = replicas === 1 ? [await call(...args[0]!)] : await call.replicated(args);
    params = outs.map((o) => o.params);
    states = outs.map((o) => o.state);
  }
  const hostParams = async (p: Record<string, DeviceArray>) => Object.fromEntries(await Promise.all(Object.entries(p).map(async ([k, a]) => [k, Array.from((await a.toHost()) as Float32Array)] as const)));
  const all = await Promise.all(params.map(hostParams));
  const steps = (await states[0]!.step.toHost() as Int32Array)[0]!;
  call.dispose();
  init.dispose();
  t.equal(slabs, EPOCHS * batcher.callsPerEpoch, `R=${replicas}: ${slabs} calls`);
  return { params: all[0]!, steps, agree: all.every((p) => JSON.stringify(p) === JSON.stringify(all[0])) };
}

t.test('2 replicas of a slab-fed AdamW train step give the parameters of 1 replica', async (t) => {
  const rt = await openTestRuntime();
  if (rt.devices.length < 2) return void t.comment('skipped: needs 2 devices');
  const one = await train(t, rt, 1);
  const two = await train(t, rt, 2);
  t.equal(one.steps, EPOCHS * 3, 'padding steps were skipped: 3 real steps per epoch');
  t.equal(two.steps, one.steps);
  t.ok(two.agree, 'both replicas hold the same parameters');
  let worst = 0;
  for (const name of Object.keys(initial)) {
    const moved = Math.max(...one.params[name]!.map((v, i) => Math.abs(v - Math.fround(initial[name]!.values[i]!))));
    t.ok(moved > 1e-3, `${name} moved (${moved.toExponential(2)})`);
    const error = Math.max(...one.params[name]!.map((v, i) => Math.abs(v - two.params[name]![i]!)));
    worst = Math.max(worst, error / moved);
  }
  t.ok(worst <= 1e-5, `R=2 vs R=1: worst |difference| / movement ${worst.toExponential(2)}`);
});
