/**
 * `jit(fn, { runtime })`: an async function over device arrays that traces `fn` on the first
 * call with each input signature (tree structure, dtypes, shapes), compiles the StableHLO once
 * with the runtime, caches the executable, and runs it.
 */
import { DeviceArray, type Executable, type Runtime } from '../runtime/index.js';
import { isTensorSpec, trace, type TensorSpec, type TracedProgram } from './program.js';
import type { Tensor } from './tensor.js';
import { flattenTree, type Flattened, type Tree } from './tree.js';

/** How {@link jit} compiles and runs. */
export interface JitOptions {
  /** The runtime that compiles and runs the program. */
  readonly runtime: Runtime;
  /**
   * Arguments whose buffers may be reused for outputs of the same type (JAX's donate_argnums);
   * donated device arrays are deleted by the call. Default none.
   */
  readonly donateArgnums?: readonly number[];
  /** Replicas to compile for (default 1); with more than one, call {@link JitFunction.replicated}. */
  readonly replicas?: number;
  /** Module name in the printed program (default `jit`). */
  readonly name?: string;
}

/** A traced result tree with each Tensor replaced by a DeviceArray (`any` where the type is unknown). */
export type DeviceResult<T> = 0 extends 1 & T
  ? any
  : unknown extends T
    ? any
    : T extends Tensor
      ? DeviceArray
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: DeviceResult<T[K]> }
        : T extends object
          ? { -readonly [K in keyof T]: DeviceResult<T[K]> }
          : never;

/** The function {@link jit} returns. */
export interface JitFunction<F extends (...args: any[]) => unknown> {
  /**
   * Runs on one replica. Async: traces and compiles on the first call with a new signature.
   * Rejects with ShapeError/TypeError from tracing (before compiling), TypeError for arguments
   * that are not trees of DeviceArrays or when compiled for several replicas, PjrtError from
   * compiling or running.
   */
  (...args: unknown[]): Promise<DeviceResult<ReturnType<F>>>;
  /**
   * Runs on every replica: `argsPerReplica[r]` are replica r's arguments (on its device).
   * Async; resolves to one result tree per replica. Rejects like a single call, and with
   * TypeError unless there is one argument list per replica.
   */
  replicated(argsPerReplica: readonly (readonly unknown[])[]): Promise<DeviceResult<ReturnType<F>>[]>;
  /**
   * Traces and compiles the program for arguments like `args` (their tree, dtypes and shapes)
   * without running it, as JAX's `jit(f).lower(...).compile()`; a no-op when already compiled.
   * Async; rejects like a call.
   */
  compile(...args: unknown[]): Promise<void>;
  /** The program for arguments of these specs (traced, not compiled). Sync; throws like tracing. */
  lower(...specs: Tree<TensorSpec>[]): TracedProgram;
  /** How many programs have been compiled (one per distinct input signature). */
  readonly compileCount: number;
  /** Frees every compiled executable. Sync. */
  dispose(): void;
}

interface Compiled {
  readonly program: TracedProgram;
  readonly executable: Executable;
}

const isDeviceArray = (value: unknown): value is DeviceArray => value instanceof DeviceArray;

/**
 * Wraps `fn` (a function over Tensors returning a tensor or a tree of them) into an async
 * function over DeviceArrays, compiled once per input signature. JS values `fn` closes over
 * (learning rates, flags) are baked into the program at its first trace, as in JAX. Sync; the
 * returned function is async (see {@link JitFunction}). Throws RangeError for a bad replica
 * count.
 */
export function jit<F extends (...args: any[]) => unknown>(fn: F, options: JitOptions): JitFunction<F> {
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`jit: replicas must be a positive integer, got ${replicas}`);
  const cache = new Map<string, Promise<Compiled>>();
  let compileCount = 0;

  const lower = (...specs: Tree<TensorSpec>[]): TracedProgram =>
    trace(fn, specs, { name: options.name ?? 'jit', replicas, donate: donatedInputs(specs, options.donateArgnums ?? []) });

  const compiled = (args: readonly unknown[]): [Flattened<DeviceArray>, Promise<Compiled>] => {
    const flat = flattenTree(args, isDeviceArray, 'jit arguments', 'a DeviceArray');
    const key = flat.describe((leaf) => `${leaf.dtype}[${leaf.shape.join(',')}]`);
    let entry = cache.get(key);
    if (!entry) {
      const specs = flat.unflatten(flat.leaves.map((leaf) => ({ dtype: leaf.dtype, shape: leaf.shape }))) as Tree<TensorSpec>[];
      const program = lower(...specs); // throws synchronously on shape errors, before any compile
      compileCount++;
      entry = options.runtime.compile(program.text, { replicas }).then((executable) => ({ program, executable }));
      entry.catch(() => cache.delete(key));
      cache.set(key, entry);
    }
    return [flat, entry];
  };

  const run = async (...args: unknown[]): Promise<DeviceResult<ReturnType<F>>> => {
    if (replicas !== 1) throw new TypeError(`jit: compiled for ${replicas} replicas; call .replicated([...argsPerReplica])`);
    const [flat, entry] = compiled(args);
    const { program, executable } = await entry;
    const [outputs] = await executable.execute(flat.leaves);
    return program.outputStructure.unflatten(outputs!) as DeviceResult<ReturnType<F>>;
  };

  const replicated = async (argsPerReplica: readonly (readonly unknown[])[]): Promise<DeviceResult<ReturnType<F>>[]> => {
    if (argsPerReplica.length !== replicas) throw new TypeError(`jit: compiled for ${replicas} replica(s), got ${argsPerReplica.length} argument lists`);
    const [first, entry] = compiled(argsPerReplica[0]!);
    const lists = argsPerReplica.map((args, replica) => {
      const flat = replica === 0 ? first : flattenTree(args, isDeviceArray, `jit arguments of replica ${replica}`, 'a DeviceArray');
      return flat.leaves;
    });
    const { program, executable } = await entry;
    const outputs = await executable.execute(lists);
    return outputs.map((row) => program.outputStructure.unflatten(row) as DeviceResult<ReturnType<F>>);
  };

  const jitted = Object.assign(run, {
    replicated,
    async compile(...args: unknown[]): Promise<void> {
      await compiled(args)[1];
    },
    lower,
    dispose() {
      for (const entry of cache.values()) entry.then(({ executable }) => executable.dispose(), () => undefined);
      cache.clear();
    },
  });
  return Object.defineProperty(jitted, 'compileCount', { get: () => compileCount, enumerable: true }) as typeof jitted & { readonly compileCount: number };
}

/** Flat input indices of the leaves of the donated arguments. */
function donatedInputs(specs: readonly Tree<TensorSpec>[], donateArgnums: readonly number[]): number[] {
  const indices: number[] = [];
  let offset = 0;
  specs.forEach((spec, argnum) => {
    const count = flattenTree(spec, isTensorSpec, 'jit', 'a spec').leaves.length;
    if (donateArgnums.includes(argnum)) for (let i = 0; i < count; i++) indices.push(offset + i);
    offset += count;
  });
  return indices;
}
