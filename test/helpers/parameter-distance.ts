/**
 * How far a trained parameter set is from PyTorch's, measured against how far training moved
 * it: the one measure of "within 1e-4 of the distance moved" that every 20-step parity test
 * (trainer, families, tasks, padding) asserts.
 */
import type { Test } from 'tap';

import type { HostParam } from '../../lib/models/index.js';

/**
 * Attention key biases: softmax ignores a shift shared by all keys of a query, so their exact
 * gradient is zero and both sides see only rounding noise, which Adam scales up to steps of
 * about the learning rate in directions that differ between implementations. Not comparable.
 */
export const ZERO_GRADIENT = /(attention\.self\.key|attention\.k_lin)\.bias$/;

/** How far two parameter sets are apart, relative to how far training moved them (see relativeToMovement). */
export interface Movement {
  /** ||a - b|| / ||b - initial|| over all parameters (Euclidean norms of the whole parameter vector). */
  readonly overall: number;
  /** The largest per-tensor value of max |a - b| / max(max |a - initial|, floor), and its tensor. */
  readonly worst: number;
  readonly name: string;
}

/**
 * How far `a` is from `b` relative to the distance training moved them from `initial`: over the
 * whole parameter vector (`overall`, the measure of "within 1e-4 of the distance moved"), and
 * per tensor (`worst`: the largest elementwise difference relative to that tensor's largest move;
 * a tensor that moved less than a tenth of the farthest-moving tensor is measured against that
 * tenth). Per tensor, Adam shows rounding at its worst: a gradient made of cancelling terms (a
 * query bias) has a relative rounding error far above float epsilon, and Adam's normalisation
 * turns it into steps of about the learning rate; so `worst` gets a looser bound than
 * `overall`, still tight enough to catch a tensor trained wrongly. Attention key biases (exact
 * gradient zero, see ZERO_GRADIENT) are left out.
 */
export function relativeToMovement(a: Record<string, HostParam>, b: Record<string, { data: ArrayLike<number> }>, initial: Record<string, HostParam>): Movement {
  const names = Object.keys(a).filter((name) => !ZERO_GRADIENT.test(name));
  const moved = new Map<string, number>();
  const differs = new Map<string, number>();
  let differSquares = 0;
  let moveSquares = 0;
  for (const name of names) {
    const x = a[name]!.data;
    const y = b[name]!.data;
    const x0 = initial[name]!.data;
    let move = 0;
    let diff = 0;
    for (let i = 0; i < x.length; i++) {
      move = Math.max(move, Math.abs(x[i]! - x0[i]!));
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      differSquares += (x[i]! - y[i]!) ** 2;
      moveSquares += (y[i]! - x0[i]!) ** 2;
    }
    moved.set(name, move);
    differs.set(name, diff);
  }
  const floor = Math.max(0.1 * Math.max(0, ...moved.values()), 1e-6);
  let worst = 0;
  let worstName = '';
  for (const name of names) {
    const relative = differs.get(name)! / Math.max(moved.get(name)!, floor);
    if (relative > worst) [worst, worstName] = [relative, name];
  }
  return { overall: Math.sqrt(differSquares / Math.max(moveSquares, 1e-30)), worst, name: worstName };
}

/**
 * Asserts that `ours` is within 1e-4 of the distance moved from PyTorch's parameters `torch`
 * over the whole model, and within 1e-3 in every tensor (see relativeToMovement). Sync.
 */
export function assertNearPyTorch(t: Test, tag: string, ours: Record<string, HostParam>, torch: Record<string, { data: ArrayLike<number> }>, initial: Record<string, HostParam>): void {
  const { overall, worst, name } = relativeToMovement(ours, torch, initial);
  t.ok(overall < 1e-4, `${tag}parameters after 20 steps within ${overall.toExponential(2)} of the distance moved (bound 1e-4)`);
  t.ok(worst < 1e-3, `${tag}every tensor within ${worst.toExponential(2)} of its own move (${name}; bound 1e-3)`);
}
