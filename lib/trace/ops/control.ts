/**
 * Loops and cross-replica collectives for users. Loop state is a tree of tensors (a parameter
 * dict, optimizer moments, a step counter), so a whole train step can run K times inside one
 * program.
 */
import { ShapeError, tensorType } from '../../stablehlo/shape.js';
import * as lax from '../lax.js';
import { isTensor } from '../program.js';
import type { Tensor } from '../tensor.js';
import { flattenTree, mapTree, type Tree } from '../tree.js';
import { div, less, add } from './math.js';

/**
 * `state = body(state)` while `cond(state)`, with `state` any tree of tensors. `cond` returns a
 * pred scalar; `body` returns a tree of the same structure and types. Sync; throws ShapeError
 * when `body` changes the state's types or `cond` does not return pred[].
 */
export function whileLoop<S extends Tree<Tensor>>(cond: (state: S) => Tensor, body: (state: S) => S, init: S): S {
  const structure = flattenTree(init, isTensor, 'whileLoop init', 'a Tensor');
  const rebuild = (leaves: readonly Tensor[]): S => structure.unflatten(leaves) as S;
  const final = lax.whileLoop(
    (leaves) => cond(rebuild(leaves)),
    (leaves) => {
      const next = flattenTree(body(rebuild(leaves)), isTensor, 'whileLoop body result', 'a Tensor');
      if (next.leaves.length !== leaves.length) {
        throw new ShapeError('while', `body returned ${next.leaves.length} tensors for a state of ${leaves.length}`, leaves.map((t, i) => [`state${i}`, t.type]));
      }
      return next.leaves;
    },
    structure.leaves,
  );
  return rebuild(final);
}

/**
 * `state = body(i, state)` for `i` = 0 .. count-1 (an s32 scalar tensor), as one while loop.
 * Sync; throws ShapeError like {@link whileLoop}, RangeError for a negative count.
 */
export function forLoop<S extends Tree<Tensor>>(count: number, body: (i: Tensor, state: S) => S, init: S): S {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`forLoop count must be a non-negative integer, got ${count}`);
  const index = lax.constant(0, tensorType('s32', []));
  const [, final] = whileLoop<[Tensor, S]>(
    ([i]) => less(i, count),
    ([i, state]) => [add(i, 1), body(i, state)],
    [index, init],
  );
  return final;
}

/**
 * `fn` applied leaf by leaf to tensor trees of one structure, e.g.
 * `mapTensors((p, g) => ops.sub(p, ops.mul(g, lr)), params, grads)`. Sync; throws TypeError if
 * the structures differ, and whatever `fn` throws.
 */
export function mapTensors<T extends Tree<Tensor>>(fn: (...leaves: Tensor[]) => Tensor, first: T, ...others: T[]): T {
  return mapTree(isTensor, fn, first, ...others) as T;
}

/** Replica groups: a count R means one group of replicas 0..R-1. */
function groupsOf(replicas: number | readonly (readonly number[])[]): readonly (readonly number[])[] {
  return typeof replicas === 'number' ? [[...Array(replicas).keys()]] : replicas;
}

/**
 * Sum of `x` across replicas (`stablehlo.all_reduce`): every replica of a group gets the
 * group's sum. `replicas` is a count R (one group 0..R-1) or explicit groups. The program must
 * be compiled for that many replicas. Sync; throws RangeError for malformed groups.
 */
export function allReduceSum(x: Tensor, replicas: number | readonly (readonly number[])[]): Tensor {
  return lax.allReduceSum(x, groupsOf(replicas));
}

/** Mean of `x` across `replicas` replicas (sum, then divide by the group size). Sync; throws RangeError. */
export function allReduceMean(x: Tensor, replicas: number | readonly (readonly number[])[]): Tensor {
  const groups = groupsOf(replicas);
  return div(lax.allReduceSum(x, groups), groups[0]?.length ?? 1);
}
