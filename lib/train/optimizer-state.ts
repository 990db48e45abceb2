/**
 * The optimizer's state on the devices, handled as an opaque tree: made by the optimizer's own
 * `init` (one small compiled program, run on every replica), saved to a checkpoint by the
 * paths of its leaves (Adam's `step`, `m.<param>`, `v.<param>`), and put back from one. Nothing
 * here knows which optimizer it is.
 */
import type { Tensor as HostTensor } from '../io/tensor.js';
import type { ModelParams } from '../models/index.js';
import type { AnyOptimizer, OptimizerState } from '../optim/index.js';
import { DeviceArray, type Runtime } from '../runtime/index.js';
import { jit, type Tensor, type Tree } from '../trace/index.js';

/** The leaves of a tree with their dotted paths, depth first (object keys in order, array items by index). Sync. */
export function leafPaths<L>(tree: Tree<L>, isLeaf: (value: unknown) => value is L, prefix = ''): [string, L][] {
  if (isLeaf(tree)) return [[prefix, tree]];
  const join = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (Array.isArray(tree)) return tree.flatMap((item, i) => leafPaths(item as Tree<L>, isLeaf, join(String(i))));
  return Object.entries(tree as Record<string, Tree<L>>).flatMap(([key, value]) => leafPaths(value, isLeaf, join(key)));
}

/** The same tree with each leaf replaced by `fn(path, leaf)`. Sync. */
export function mapLeafPaths<L, M>(tree: Tree<L>, isLeaf: (value: unknown) => value is L, fn: (path: string, leaf: L) => M, prefix = ''): Tree<M> {
  if (isLeaf(tree)) return fn(prefix, tree);
  const join = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (Array.isArray(tree)) return tree.map((item, i) => mapLeafPaths(item as Tree<L>, isLeaf, fn, join(String(i))));
  return Object.fromEntries(Object.entries(tree as Record<string, Tree<L>>).map(([key, value]) => [key, mapLeafPaths(value, isLeaf, fn, join(key))]));
}

const isDeviceArray = (value: unknown): value is DeviceArray => value instanceof DeviceArray;

/**
 * The optimizer's state for every replica: `optimizer.init` run on each replica's parameters,
 * then, when `saved` is given (a checkpoint), every leaf replaced by the saved tensor of its
 * path. A saved state without a `step` leaf (written before steps were saved as tensors) takes
 * `step`. Async; throws Error naming a leaf the checkpoint lacks or whose shape differs.
 */
export async function placeOptimizerState(
  runtime: Runtime,
  optimizer: AnyOptimizer,
  params: readonly ModelParams<DeviceArray>[],
  saved?: { tensors: ReadonlyMap<string, HostTensor>; step: number },
): Promise<Tree<DeviceArray>[]> {
  const initState = (p: Record<string, Tensor>): unknown => optimizer.init(p);
  const init = jit(initState, { runtime, replicas: params.length, name: `${optimizer.kind}_init` });
  try {
    const fresh = (await init.replicated(params.map((p) => [p]))) as unknown as Tree<DeviceArray>[];
    if (!saved) return fresh;
    return await Promise.all(
      fresh.map(async (tree, replica) => {
        const arrays = await Promise.all(
          leafPaths(tree, isDeviceArray).map(async ([path, array]) => {
            const tensor = saved.tensors.get(path) ?? (path === 'step' ? { dtype: 's32' as const, shape: [], data: Int32Array.of(saved.step) } : undefined);
            if (!tensor) throw new Error(`the checkpoint's optimizer state lacks ${path}`);
            if (tensor.shape.join() !== array.shape.join()) throw new Error(`the checkpoint's optimizer state ${path} is [${tensor.shape.join(', ')}], the model needs [${array.shape.join(', ')}]`);
            const put = await runtime.put(tensor.data as never, tensor.shape, { device: replica, dtype: array.dtype });
            array.dispose();
            return put;
          }),
        );
        let next = 0;
        return mapLeafPaths(tree, isDeviceArray, () => arrays[next++]!);
      }),
    );
  } finally {
    init.dispose();
  }
}

/** The state of one replica on the host, by leaf path (for a checkpoint). Async; rejects with PjrtError. */
export async function optimizerStateToHost(state: Tree<DeviceArray>): Promise<Map<string, HostTensor>> {
  const leaves = leafPaths(state, isDeviceArray);
  const values = await Promise.all(leaves.map(([, array]) => array.toHost()));
  return new Map(leaves.map(([path, array], i) => [path, { dtype: array.dtype, shape: [...array.shape], data: values[i]! } as HostTensor]));
}

/** Disposes every array of a state tree. Sync; never throws. */
export function disposeState(state: Tree<DeviceArray>): void {
  for (const [, array] of leafPaths(state, isDeviceArray)) array.dispose();
}

/** The state tree type the train program carries. */
export type DeviceOptimizerState = Tree<DeviceArray>;
export type { OptimizerState };
