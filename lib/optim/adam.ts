/**
 * Adam and AdamW as traced functions over parameter trees, numerically as PyTorch computes
 * them (`torch.optim.Adam` / `torch.optim.AdamW`, single-tensor path, f32):
 *
 *     t      = step + 1
 *     g      = grad (+ weightDecay * p, adam only, decayed parameters only)
 *     p      = p * (1 - lr * weightDecay)            (adamw only, decayed parameters only)
 *     m      = m + (1 - beta1) * (g - m)              (torch's lerp_ for a weight < 0.5)
 *     v      = v * beta2 + (1 - beta2) * g * g
 *     denom  = sqrt(v) / sqrt(1 - beta2^t) + eps
 *     p      = p - (lr / (1 - beta1^t)) * m / denom
 *
 * The step count lives in the state as an s32 scalar tensor, so K updates inside one program
 * (a `forLoop` over a slab) each use their own `t`. Bias corrections `1 - beta^t` are
 * computed from `ln(beta)` (taken in double precision on the host) with an accurate
 * `expm1`, so they match torch's double-precision scalars to f32 rounding even for
 * `beta2 = 0.999`, where `1 - f32(beta2)^t` would lose five digits.
 */
import { ops, type Tensor } from '../trace/index.js';
import type { TensorSpec } from '../trace/index.js';
import type { Optimizer as OptimizerInterface, OptimizerSettings, OptimizerUpdate, ParameterTree } from './optimizer.js';
import { resolveLearningRate, type LearningRate } from './schedules.js';

export type { ParameterTree } from './optimizer.js';

/**
 * Optimizer state: completed updates (s32 scalar) and the two moment trees, keyed like the
 * parameters. A type alias, not an interface, so it is a `Tree<Tensor>` (loop state, jit results).
 */
export type AdamState = {
  /** Number of updates done so far (torch's `state['step']`); the next update uses `t = step + 1`. */
  readonly step: Tensor;
  /** First moments (`exp_avg`), f32 like the parameters. */
  readonly m: ParameterTree;
  /** Second moments (`exp_avg_sq`). */
  readonly v: ParameterTree;
};

/** Settings of {@link adam} and {@link adamw}; defaults are torch's. */
export interface AdamOptions {
  /** A fixed learning rate, or a schedule of the completed step count (default 1e-3). */
  readonly lr?: LearningRate;
  /** Moment decay rates (default `[0.9, 0.999]`). */
  readonly betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  readonly eps?: number;
  /** Weight decay (default 0 for adam, 0.01 for adamw, as torch). */
  readonly weightDecay?: number;
  /**
   * Which parameters get weight decay, by name (default {@link isDecayedParameter}: all but
   * biases and LayerNorm weights, the Hugging Face Trainer convention).
   */
  readonly decays?: (name: string) => boolean;
}

/** Result of one {@link Optimizer.update}. */
export type AdamUpdate<P extends ParameterTree> = OptimizerUpdate<P, AdamState>;

/** Adam or AdamW: an {@link OptimizerInterface} over {@link AdamState}, with its resolved settings. */
export interface Optimizer extends OptimizerInterface<AdamState> {
  /** `adam` (L2 weight decay added to the gradient) or `adamw` (decoupled weight decay). */
  readonly kind: 'adam' | 'adamw';
  /** The resolved settings. */
  readonly settings: Readonly<Required<Omit<AdamOptions, 'lr'>>> & { readonly lr: LearningRate };
}

/**
 * Name patterns the Hugging Face Trainer (transformers 5, `Trainer.get_decay_parameter_names`)
 * exempts from weight decay, matched anywhere in the lower-cased name.
 */
const NO_DECAY_PATTERNS = [/bias/, /layernorm/, /rmsnorm/, /(?:^|\.)norm(?:$|\.)/, /_norm(?:$|\.)/];

/**
 * The Hugging Face Trainer's weight-decay rule: false (no decay) for biases and normalization
 * parameters, i.e. when the lower-cased name contains `bias`, `layernorm` or `rmsnorm`, or has
 * a `norm` path component or one ending in `_norm`; true for every other parameter. For BERT
 * that exempts every `*.bias` and every `*.LayerNorm.weight`. Pass another predicate as
 * {@link AdamOptions.decays} to change it. Sync; never throws.
 */
export function isDecayedParameter(name: string): boolean {
  const lower = name.toLowerCase();
  return !NO_DECAY_PATTERNS.some((pattern) => pattern.test(lower));
}

/**
 * `torch.optim.Adam`: weight decay is L2, added to the gradient (`g += weightDecay * p`).
 * Sync; throws RangeError for settings torch rejects (negative lr/eps/decay, betas outside [0, 1)).
 */
export function adam(options: AdamOptions = {}): Optimizer {
  return makeAdam('adam', options, 0);
}

/**
 * `torch.optim.AdamW`: decoupled weight decay (`p *= 1 - lr * weightDecay` before the Adam
 * step). Sync; throws RangeError like {@link adam}.
 */
export function adamw(options: AdamOptions = {}): Optimizer {
  return makeAdam('adamw', options, 0.01);
}

/**
 * The specs of an {@link AdamState} for parameters of `paramSpecs` (for `trace`/`jit.lower`
 * signatures and for allocating the state on the host). Sync; never throws.
 */
export function adamStateSpec(paramSpecs: Readonly<Record<string, TensorSpec>>): { step: TensorSpec; m: Record<string, TensorSpec>; v: Record<string, TensorSpec> } {
  const copy = (): Record<string, TensorSpec> => Object.fromEntries(Object.entries(paramSpecs).map(([name, spec]) => [name, { dtype: spec.dtype, shape: [...spec.shape] }]));
  return { step: { dtype: 's32', shape: [] }, m: copy(), v: copy() };
}

function makeAdam(kind: 'adam' | 'adamw', options: AdamOptions, defaultDecay: number): Optimizer {
  const [beta1, beta2] = options.betas ?? [0.9, 0.999];
  const settings = {
    lr: options.lr ?? 1e-3,
    betas: [beta1, beta2] as const,
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? defaultDecay,
    decays: options.decays ?? isDecayedParameter,
  };
  if (typeof settings.lr === 'number' && !(settings.lr >= 0)) throw new RangeError(`${kind}: invalid learning rate ${settings.lr}`);
  if (!(settings.eps >= 0)) throw new RangeError(`${kind}: invalid eps ${settings.eps}`);
  if (!(settings.weightDecay >= 0)) throw new RangeError(`${kind}: invalid weight decay ${settings.weightDecay}`);
  for (const [i, beta] of [beta1, beta2].entries()) {
    if (!(beta >= 0 && beta < 1)) throw new RangeError(`${kind}: invalid beta parameter at index ${i}: ${beta}`);
  }

  const update = <P extends ParameterTree>(params: P, grads: ParameterTree, state: AdamState): AdamUpdate<P> => {
    const names = Object.keys(params);
    requireSameNames(`${kind} gradients`, names, grads);
    requireSameNames(`${kind} state.m`, names, state.m);
    requireSameNames(`${kind} state.v`, names, state.v);
    const lr = ops.cast(resolveLearningRate(settings.lr, state.step), 'f32');
    const nextStep = ops.add(state.step, 1);
    const t = ops.cast(nextStep, 'f32');
    const stepSize = ops.div(lr, oneMinusPower(beta1, t)); // lr / (1 - beta1^t)
    const correction2Sqrt = ops.sqrt(oneMinusPower(beta2, t)); // sqrt(1 - beta2^t)
    const decayFactor = ops.sub(1, ops.mul(lr, settings.weightDecay)); // adamw: 1 - lr * wd
    // torch keeps these as double scalars and rounds them once to the tensor's dtype
    const gradWeight = 1 - beta1;
    const squareWeight = 1 - beta2;

    const nextParams: ParameterTree = {};
    const m: ParameterTree = {};
    const v: ParameterTree = {};
    for (const name of names) {
      let p = params[name]!;
      let g = ops.cast(grads[name]!, p.dtype);
      const decayed = settings.weightDecay !== 0 && settings.decays(name);
      if (decayed && kind === 'adam') g = ops.add(g, ops.mul(settings.weightDecay, p));
      if (decayed && kind === 'adamw') p = ops.mul(p, ops.cast(decayFactor, p.dtype));
      m[name] = lerp(state.m[name]!, g, gradWeight);
      v[name] = ops.add(ops.mul(state.v[name]!, beta2), ops.mul(ops.mul(squareWeight, g), g));
      const denom = ops.add(ops.div(ops.sqrt(v[name]!), ops.cast(correction2Sqrt, p.dtype)), settings.eps);
      nextParams[name] = ops.add(p, ops.div(ops.mul(ops.neg(ops.cast(stepSize, p.dtype)), m[name]!), denom));
    }
    return { params: nextParams as P, state: { step: nextStep, m, v }, lr };
  };

  const init = (params: ParameterTree): AdamState => {
    const zeros = (): ParameterTree => Object.fromEntries(Object.entries(params).map(([name, p]) => [name, ops.zeros(p.shape, p.dtype)]));
    return { step: ops.zeros([], 's32'), m: zeros(), v: zeros() };
  };

  return { kind, settings, init, update };
}

/** torch's `lerp(start, end, weight)`: `start + weight * (end - start)` below 0.5, else `end - (end - start) * (1 - weight)`. */
function lerp(start: Tensor, end: Tensor, weight: number): Tensor {
  const difference = ops.sub(end, start);
  return Math.abs(weight) < 0.5 ? ops.add(start, ops.mul(weight, difference)) : ops.sub(end, ops.mul(difference, 1 - weight));
}

/**
 * `1 - beta^t` for a float tensor `t`, accurate to f32 rounding: `-expm1(t * ln(beta))` with
 * `ln(beta)` taken on the host in double precision. `expm1(x)` is `e^x - 1` where that loses
 * nothing (|x| >= 0.5), else its Taylor series to x^9/9! (Horner form, error below 1e-8
 * relative). (Kahan's `(u - 1) * x / ln(u)` would not survive XLA, which simplifies
 * `ln(e^x)` to `x`.) Sync, traced.
 */
export function oneMinusPower(beta: number, t: Tensor): Tensor {
  if (beta === 0) return ops.where(ops.greater(t, 0), ops.ones([], t.dtype), ops.zeros([], t.dtype));
  const x = ops.mul(t, Math.log(beta));
  let series = ops.ones(x.shape, x.dtype);
  for (let k = EXPM1_SERIES_TERMS; k >= 2; k--) series = ops.add(1, ops.mul(ops.div(x, k), series));
  const expm1 = ops.where(ops.less(ops.abs(x), 0.5), ops.mul(x, series), ops.sub(ops.exp(x), 1));
  return ops.neg(expm1);
}

/** Terms of the expm1 series for |x| < 0.5: 0.5^8 / 9! = 1.1e-8 is below f32's half-ulp. */
const EXPM1_SERIES_TERMS = 9;

function requireSameNames(what: string, names: readonly string[], tree: ParameterTree): void {
  const known = new Set(names);
  const missing = names.filter((name) => !Object.hasOwn(tree, name));
  const extra = Object.keys(tree).filter((name) => !known.has(name));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [missing.length > 0 ? `missing ${missing.join(', ')}` : '', extra.length > 0 ? `unknown ${extra.join(', ')}` : ''].filter(Boolean);
    throw new TypeError(`${what}: not keyed like the parameters (${parts.join('; ')})`);
  }
}

/** Adam from the table's settings (`torch.optim.Adam`). Sync; throws as {@link adam}. */
export const adamFromSettings = (settings: OptimizerSettings): Optimizer => adam(settings);
/** AdamW from the table's settings (`torch.optim.AdamW`). Sync; throws as {@link adamw}. */
export const adamwFromSettings = (settings: OptimizerSettings): Optimizer => adamw(settings);
