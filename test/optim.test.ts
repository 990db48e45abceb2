/**
 * Optimizer parity with PyTorch: Adam and AdamW (with and without weight decay, HF Trainer
 * decay groups), transformers' warmup schedules and clip_grad_norm_, 20 steps over a small
 * parameter tree with a fixed gradient sequence; run as 20 jitted calls and as one program
 * looping 20 times, on the CPU plugin.
 */
import t, { type Test } from 'tap';
import type { DeviceArray, Runtime } from '../lib/runtime/index.js';
import { jit, ops, type Tensor } from '../lib/trace/index.js';
import { adam, adamw, clipGradNorm, constantSchedule, isDecayedParameter, linearSchedule, type AdamState, type Optimizer, type ParameterTree } from '../lib/optim/index.js';
import { openTestRuntime } from './helpers/runtime.js';
import { runPythonJson } from './reference/python.js';

const STEPS = 20;
const SHAPES: Record<string, number[]> = {
  'bert.encoder.layer.0.attention.self.query.weight': [4, 3],
  'bert.encoder.layer.0.attention.self.query.bias': [3],
  'bert.embeddings.LayerNorm.weight': [3],
  'bert.embeddings.LayerNorm.bias': [3],
  'classifier.weight': [2, 3, 2],
  'scale': [],
};
const NAMES = Object.keys(SHAPES);
/** More names for the weight-decay rule: BERT's, then other norms and near misses. */
const MORE_NAMES = [
  'bert.embeddings.word_embeddings.weight',
  'bert.embeddings.LayerNorm.bias',
  'bert.encoder.layer.11.attention.output.LayerNorm.weight',
  'bert.encoder.layer.11.output.dense.bias',
  'bert.pooler.dense.weight',
  'classifier.0.weight',
  'classifier.3.bias',
  'model.final_norm.weight',
  'model.norm.weight',
  'model.layers.0.input_layernorm.weight',
  'model.rmsnorm.scale',
  'normalizer.weight',
  'enorm.weight',
  'biased_gate.weight',
];
const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Deterministic f32 values: initial parameters and, per step, gradients whose size swings so clipping is sometimes active. */
const initial = Object.fromEntries(NAMES.map((name, n) => [name, Array.from({ length: sizeOf(SHAPES[name]!) }, (_, i) => Math.fround(Math.cos(0.9 * i + n) * 0.5))]));
const grads = Array.from({ length: STEPS }, (_, k) =>
  Object.fromEntries(
    NAMES.map((name, n) => [name, Array.from({ length: sizeOf(SHAPES[name]!) }, (_, i) => Math.fround(Math.sin(1.3 * k + 0.7 * i + n) * (0.05 + (k % 5) * 0.3) + 0.01 * n))]),
  ),
);

interface RunSpec {
  name: string;
  optimizer: 'adam' | 'adamw';
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  schedule: 'constant' | 'linear';
  warmup: number;
  total: number;
  clip: number | null;
}
const base = { lr: 0.01, betas: [0.9, 0.999] as [number, number], eps: 1e-8, total: STEPS };
const RUNS: RunSpec[] = [
  { ...base, name: 'adam', optimizer: 'adam', weight_decay: 0, schedule: 'constant', warmup: 0, clip: null },
  { ...base, name: 'adam-decay-linear-clip', optimizer: 'adam', weight_decay: 0.1, schedule: 'linear', warmup: 5, clip: 1 },
  { ...base, name: 'adamw-nodecay-constant-warmup', optimizer: 'adamw', weight_decay: 0, schedule: 'constant', warmup: 3, clip: null },
  { ...base, name: 'adamw-decay-linear-clip', optimizer: 'adamw', weight_decay: 0.1, schedule: 'linear', warmup: 5, clip: 0.8, betas: [0.8, 0.99], eps: 1e-6 },
];

function optimizerOf(spec: RunSpec): Optimizer {
  const schedule = spec.schedule === 'linear' ? linearSchedule({ lr: spec.lr, warmupSteps: spec.warmup, totalSteps: spec.total }) : constantSchedule({ lr: spec.lr, warmupSteps: spec.warmup });
  const make = spec.optimizer === 'adam' ? adam : adamw;
  return make({ lr: schedule, betas: spec.betas, eps: spec.eps, weightDecay: spec.weight_decay });
}

/** One train-step body: clip (optional), then update; returns the new params and state, the lr used and the norm. */
function stepOf(spec: RunSpec, optimizer: Optimizer) {
  return (params: ParameterTree, state: AdamState, g: ParameterTree) => {
    const clipped = spec.clip === null ? { grads: g, norm: ops.zeros([]) } : clipGradNorm(g, spec.clip);
    const next = optimizer.update(params, clipped.grads, state);
    return { params: next.params, state: next.state, lr: next.lr, norm: clipped.norm };
  };
}

const hostTree = async (tree: Record<string, DeviceArray>): Promise<Record<string, number[]>> =>
  Object.fromEntries(await Promise.all(NAMES.map(async (name) => [name, await toNumbers(tree[name]!)] as const)));
const toNumbers = async (array: DeviceArray): Promise<number[]> => Array.from((await array.toHost()) as Float32Array);
const putTree = (rt: Runtime, values: Record<string, number[]>, leading: number[] = []): Promise<Record<string, DeviceArray>> =>
  Promise.all(NAMES.map(async (name) => [name, await rt.put(new Float32Array(values[name]!), [...leading, ...SHAPES[name]!])] as const)).then(Object.fromEntries);

interface TorchRun {
  params: Record<string, number[]>;
  lrs: number[];
  norms: number[];
}

/** Per tensor: max |ours - torch| / max |torch_final - initial|. */
function ratios(ours: Record<string, number[]>, torch: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(
    NAMES.map((name) => {
      const moved = Math.max(...torch[name]!.map((v, i) => Math.abs(v - initial[name]![i]!)));
      const error = Math.max(...ours[name]!.map((v, i) => Math.abs(v - torch[name]![i]!)));
      return [name, error / moved];
    }),
  );
}

t.test('Adam/AdamW, schedules and clipping match PyTorch over 20 steps, stepwise and in one loop', async (t) => {
  const rt = await openTestRuntime();
  // torch takes longer to import than our programs take to compile and run: start it first
  const referenceRun = runPythonJson<{ runs: Record<string, TorchRun>; decay: string[] }>('optim_reference.py', [], {
    params: Object.fromEntries(NAMES.map((name) => [name, { shape: SHAPES[name], values: initial[name] }])),
    grads,
    runs: RUNS,
    names: MORE_NAMES,
  });
  referenceRun.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
  const ours = [];
  for (const spec of RUNS) ours.push(await runOurs(t, rt, spec));
  const { runs: reference, decay } = await referenceRun;
  const allNames = [...NAMES, ...MORE_NAMES];
  t.same(allNames.filter(isDecayedParameter), decay, "isDecayedParameter = transformers' Trainer.get_decay_parameter_names");
  for (const [index, spec] of RUNS.entries()) {
    const { stepwise, looped, lrs, norms, optimizer } = ours[index]!;
    const torch = reference[spec.name]!;
    const stepwiseRatios = ratios(stepwise, torch.params);
    t.ok(Object.values(stepwiseRatios).every((r) => r <= 1e-4), `${spec.name}: 20 jitted steps within 1e-4 of each tensor's movement`, { ratios: stepwiseRatios });
    const loopRatios = ratios(looped, torch.params);
    t.ok(Object.values(loopRatios).every((r) => r <= 1e-4), `${spec.name}: one 20-step program within 1e-4`, { ratios: loopRatios });
    t.ok(lrs.every((lr, k) => Math.abs(lr - torch.lrs[k]!) <= 1e-7 * spec.lr), `${spec.name}: learning rate of every step`, { lrs, torch: torch.lrs });
    const schedule = optimizer.settings.lr as Exclude<typeof optimizer.settings.lr, number>;
    t.same(torch.lrs.map((_, k) => schedule.valueAt(k)), torch.lrs, `${spec.name}: host-side schedule values`);
    if (spec.clip !== null) {
      t.ok(norms.every((norm, k) => Math.abs(norm - torch.norms[k]!) <= 1e-6 * torch.norms[k]!), `${spec.name}: clip norms`, { norms, torch: torch.norms });
      t.ok(torch.norms.some((n) => n > spec.clip!) && torch.norms.some((n) => n < spec.clip!), `${spec.name}: clipping both active and inactive`);
    }
    t.comment(`${spec.name}: worst ratio stepwise ${Math.max(...Object.values(stepwiseRatios)).toExponential(2)}, looped ${Math.max(...Object.values(loopRatios)).toExponential(2)}`);
  }
});

/** Our side of one run: 20 jitted calls, then one program looping 20 times; checks that the two agree. */
async function runOurs(t: Test, rt: Runtime, spec: RunSpec) {
  const optimizer = optimizerOf(spec);
  const step = stepOf(spec, optimizer);

  // 20 jitted calls, params and state donated and kept on the device between them
  const init = jit((params: ParameterTree) => optimizer.init(params), { runtime: rt });
  const jittedStep = jit(step, { runtime: rt, donateArgnums: [0, 1] });
  let params = await putTree(rt, initial);
  let state = await init(params);
  const lrs: number[] = [];
  const norms: number[] = [];
  for (let k = 0; k < STEPS; k++) {
    const out = await jittedStep(params, state, await putTree(rt, grads[k]!));
    params = out.params as Record<string, DeviceArray>;
    state = out.state;
    lrs.push((await toNumbers(out.lr))[0]!);
    norms.push((await toNumbers(out.norm))[0]!);
  }
  t.equal(jittedStep.compileCount, 1, `${spec.name}: one compile for 20 calls`);
  t.same((await state.step.toHost()) as Int32Array, Int32Array.from([STEPS]), `${spec.name}: state.step counts updates`);
  const stepwise = await hostTree(params);

  // one program: forLoop over a [20, ...] slab of gradients
  const looped = jit(
    (params0: ParameterTree, state0: AdamState, slab: ParameterTree) =>
      ops.forLoop(STEPS, (i: Tensor, carry: { params: ParameterTree; state: AdamState }) => {
        const g = Object.fromEntries(NAMES.map((name) => [name, ops.reshape(ops.dynamicSlice(slab[name]!, [i, ...SHAPES[name]!.map(() => 0)], [1, ...SHAPES[name]!]), SHAPES[name]!)]));
        const next = step(carry.params, carry.state, g);
        return { params: next.params, state: next.state };
      }, { params: params0, state: state0 }),
    { runtime: rt },
  );
  const slab = Object.fromEntries(NAMES.map((name) => [name, grads.flatMap((g) => g[name]!)]));
  const start = await putTree(rt, initial);
  const result = await looped(start, await init(start), await putTree(rt, slab, [STEPS]));
  const loopedParams = await hostTree(result.params as Record<string, DeviceArray>);
  const maxDifference = Math.max(...NAMES.flatMap((name) => loopedParams[name]!.map((v, i) => Math.abs(v - stepwise[name]![i]!))));
  t.ok(maxDifference <= 1e-6, `${spec.name}: loop and stepwise agree (max difference ${maxDifference})`);
  t.same((await result.state.step.toHost()) as Int32Array, Int32Array.from([STEPS]), `${spec.name}: the loop counted 20 updates`);
  init.dispose();
  jittedStep.dispose();
  looped.dispose();
  return { stepwise, looped: loopedParams, lrs, norms, optimizer };
}
