/**
 * The optimizer's parts on their own: the weight-decay name rule, bias corrections against
 * double precision, schedules on the host and traced, clipping's edge cases, state specs and
 * the errors.
 */
import t from 'tap';
import type { DeviceArray } from '../lib/runtime/index.js';
import { jit, ops, type Tensor } from '../lib/trace/index.js';
import { adam, adamStateSpec, adamw, clipGradNorm, constantSchedule, isDecayedParameter, linearSchedule, oneMinusPower } from '../lib/optim/index.js';
import { openTestRuntime } from './helpers/runtime.js';

const f32 = async (array: DeviceArray): Promise<number[]> => Array.from((await array.toHost()) as Float32Array);

t.test('weight decay skips biases and LayerNorm parameters (HF Trainer convention)', async (t) => {
  const decayed = ['bert.encoder.layer.0.attention.self.query.weight', 'bert.embeddings.word_embeddings.weight', 'classifier.weight', 'bert.pooler.dense.weight'];
  const skipped = ['bert.encoder.layer.0.attention.self.query.bias', 'classifier.bias', 'bert.embeddings.LayerNorm.weight', 'bert.embeddings.LayerNorm.bias', 'bert.encoder.layer.3.output.LayerNorm.weight', 'old.LayerNorm.gamma', 'old.LayerNorm.beta'];
  t.same(decayed.map(isDecayedParameter), decayed.map(() => true));
  t.same(skipped.map(isDecayedParameter), skipped.map(() => false));
  t.equal(adamw().settings.weightDecay, 0.01, 'torch AdamW default');
  t.equal(adam().settings.weightDecay, 0, 'torch Adam default');
  const custom = (name: string) => name.startsWith('classifier');
  t.equal(adamw({ decays: custom }).settings.decays, custom, 'callers override the rule');
});

t.test('bias corrections 1 - beta^t match double precision to f32 rounding, up to t = 2^20', async (t) => {
  const rt = await openTestRuntime();
  const steps = [1, 2, 3, 5, 10, 50, 100, 500, 999, 1000, 5000, 10_000, 100_000, 1 << 20];
  const corrections = jit((tt: Tensor) => [oneMinusPower(0.9, tt), oneMinusPower(0.999, tt), oneMinusPower(0.98, tt), oneMinusPower(0, tt)], { runtime: rt });
  const [c1, c2, c3, c0] = await Promise.all((await corrections(await rt.put(Float32Array.from(steps), [steps.length]))).map(f32));
  let worst = 0;
  for (const [values, beta] of [[c1!, 0.9], [c2!, 0.999], [c3!, 0.98]] as const) {
    values.forEach((got, i) => (worst = Math.max(worst, Math.abs(got - (1 - beta ** steps[i]!)) / (1 - beta ** steps[i]!))));
  }
  t.ok(worst < 3e-7, `max relative error ${worst.toExponential(2)} (f32 epsilon 6e-8; 1 - f32(0.999)^1 would be off by 1.3e-5)`);
  t.same(c0, steps.map(() => 1), 'beta 0: no correction');
  corrections.dispose();
});

t.test('schedules: HF warmup semantics on the host and traced', async (t) => {
  const linear = linearSchedule({ lr: 1, warmupSteps: 4, totalSteps: 10 });
  t.same([0, 1, 2, 3, 4, 5, 9, 10, 11, 50].map((s) => linear.valueAt(s)), [0, 0.25, 0.5, 0.75, 1, 5 / 6, 1 / 6, 0, 0, 0]);
  const constant = constantSchedule({ lr: 2, warmupSteps: 2 });
  t.same([0, 1, 2, 100].map((s) => constant.valueAt(s)), [0, 1, 2, 2]);
  t.same([0, 7].map((s) => constantSchedule({ lr: 3 }).valueAt(s)), [3, 3], 'no warmup: constant from the first step');
  t.same([0, 5].map((s) => linearSchedule({ lr: 1, totalSteps: 10 }).valueAt(s)), [1, 0.5]);
  t.throws(() => linearSchedule({ lr: 1, warmupSteps: 2 }), { name: 'RangeError', message: /totalSteps/ });
  t.throws(() => constantSchedule({ lr: -1 }), RangeError);
  t.throws(() => constantSchedule({ lr: 1, warmupSteps: 1.5 }), RangeError);
  t.throws(() => linear.valueAt(-1), RangeError);

  const rt = await openTestRuntime();
  const traced = jit((s: Tensor) => [linear(s), constant(s)], { runtime: rt });
  const steps = [0, 1, 3, 4, 5, 10, 12];
  const [l, c] = await Promise.all((await traced(await rt.put(Int32Array.from(steps), [steps.length]))).map(f32));
  // XLA turns a division by a constant into a multiplication by its reciprocal: one f32 ulp
  const withinUlp = (got: number[], host: (s: number) => number) => got.every((v, i) => Math.abs(v - host(steps[i]!)) <= 2 ** -23 * Math.abs(host(steps[i]!)));
  t.ok(withinUlp(l!, (s) => linear.valueAt(s)), 'traced linear = host, to an f32 ulp', { l });
  t.ok(withinUlp(c!, (s) => constant.valueAt(s)), 'traced constant = host, to an f32 ulp', { c });
  traced.dispose();
});

t.test('clipping: below the limit gradients keep their values; the norm is returned', async (t) => {
  const rt = await openTestRuntime();
  const clip = (maxNorm: number) => jit((a: Tensor, b: Tensor) => clipGradNorm({ a, b }, maxNorm), { runtime: rt });
  const a = await rt.put(new Float32Array([3, 0]), [2]);
  const b = await rt.put(new Float32Array([4]), [1]);
  const loose = await clip(10)(a, b);
  t.same(await f32(loose.norm), [5]);
  t.same(await f32(loose.grads.a), [3, 0], 'coef clamped to 1');
  const tight = await clip(1)(a, b);
  const coef = Math.fround(1 / Math.fround(5 + 1e-6));
  t.same(await f32(tight.grads.b), [Math.fround(4 * coef)], 'scaled by max / (norm + 1e-6)');
  t.throws(() => clipGradNorm({}, 1), { name: 'RangeError', message: 'globalNorm: no gradients' });
  t.throws(() => clipGradNorm({}, 0), { name: 'RangeError', message: /maxNorm must be a positive number/ });
});

t.test('state specs, initial state and misuse', async (t) => {
  const spec = adamStateSpec({ w: { dtype: 'f32', shape: [2, 3] }, b: { dtype: 'f32', shape: [3] } });
  t.same(spec, { step: { dtype: 's32', shape: [] }, m: { w: { dtype: 'f32', shape: [2, 3] }, b: { dtype: 'f32', shape: [3] } }, v: { w: { dtype: 'f32', shape: [2, 3] }, b: { dtype: 'f32', shape: [3] } } });
  const optimizer = adam({ lr: 0.1 });
  const rt = await openTestRuntime();
  const init = jit((params: Record<string, Tensor>) => optimizer.init(params), { runtime: rt });
  const state = await init({ w: await rt.put(new Float32Array(6), [2, 3]) });
  t.same(Array.from((await state.step.toHost()) as Int32Array), [0]);
  t.same(await f32(state.v.w), [0, 0, 0, 0, 0, 0]);
  const update = jit((p: Record<string, Tensor>, g: Record<string, Tensor>, s: ReturnType<typeof optimizer.init>) => optimizer.update(p, g, s).params, { runtime: rt });
  const w = await rt.put(new Float32Array(6), [2, 3]);
  await t.rejects(update({ w }, { v: w }, state), { name: 'TypeError', message: 'adam gradients: not keyed like the parameters (missing w; unknown v)' });
  t.throws(() => adam({ betas: [0.9, 1] }), { name: 'RangeError', message: 'adam: invalid beta parameter at index 1: 1' });
  t.throws(() => adamw({ lr: -1 }), RangeError);
  t.throws(() => adamw({ eps: -1 }), RangeError);
  t.throws(() => adamw({ weightDecay: -0.1 }), RangeError);
  t.match(update.lower({ w: { dtype: 'f32', shape: [2, 3] } }, { w: { dtype: 'f32', shape: [2, 3] } }, { step: { dtype: 's32', shape: [] }, m: { w: { dtype: 'f32', shape: [2, 3] } }, v: { w: { dtype: 'f32', shape: [2, 3] } } }).text, /stablehlo.sqrt/);
  init.dispose();
  update.dispose();
});
