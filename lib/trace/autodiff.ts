/**
 * Reverse-mode autodiff over the trace tape. `valueAndGrad(fn)` runs `fn` in the current trace,
 * then walks the equations it recorded backwards, applying each primitive's VJP rule and
 * summing cotangents per tensor. The backward pass is itself recorded as primitives, so it is
 * lowered with the forward pass into one program (and can be differentiated again).
 */
import { isFloatDType } from '../stablehlo/dtype.js';
import { formatTensorType, sameType } from '../stablehlo/shape.js';
import * as lax from './lax.js';
import type { ParamsOf, PrimitiveName, PrimitiveRule } from './primitive.js';
import { isTensor } from './program.js';
import { PRIMITIVES } from './table.js';
import { currentTrace, Tensor, type Equation, type Trace } from './tensor.js';
import { flattenTree, type Tree } from './tree.js';

/** Which arguments to differentiate, and whether `fn` returns auxiliary outputs. */
export interface GradOptions<N extends number | readonly number[] = number | readonly number[], H extends boolean = boolean> {
  /** Argument positions to differentiate (default 0). A number gives one gradient, an array an array of them. */
  readonly argnums?: N;
  /** If true, `fn` returns `[loss, ...aux]`: only `loss` is differentiated, `aux` is returned alongside. */
  readonly hasAux?: H;
}

/** The gradients' type: each differentiated argument's own type (a tensor or a tree of them). */
export type GradientsOf<A extends readonly unknown[], N> = N extends number
  ? A[N]
  : N extends readonly number[]
    ? { -readonly [K in keyof N]: N[K] extends number ? A[N[K]] : never }
    : never;

/** What `fn` returns after the loss when `hasAux` is set. */
export type AuxOf<R> = R extends readonly [unknown, ...infer Aux] ? Aux : unknown[];

/**
 * `fn` turned into a function returning `[value, gradients]`, where `value` is `fn`'s result
 * (the scalar loss, or `[loss, ...aux]` with `hasAux`) and `gradients` has the structure of the
 * differentiated arguments (trees of tensors allowed). Integer leaves are not differentiated:
 * their gradient is all zeros. Broadcasting inside `fn` is undone (gradients have the
 * arguments' shapes). Call it inside `trace`/`jit`. The returned function is sync and throws
 * Error outside a trace, TypeError if `fn` does not return a scalar float tensor or an argnum
 * is out of range, ShapeError from any op. Sync.
 */
export function valueAndGrad<F extends (...args: any[]) => unknown, const N extends number | readonly number[] = 0, H extends boolean = false>(
  fn: F,
  options: GradOptions<N, H> = {},
): (...args: Parameters<F>) => [ReturnType<F>, GradientsOf<Parameters<F>, N>] {
  const requested: number | readonly number[] = options.argnums ?? 0;
  const single = typeof requested === 'number';
  const argnums: readonly number[] = typeof requested === 'number' ? [requested] : requested;
  return (...args: Parameters<F>) => {
    const trace = currentTrace('grad');
    for (const argnum of argnums) {
      if (!Number.isInteger(argnum) || argnum < 0 || argnum >= args.length) {
        throw new TypeError(`grad: argnum ${argnum} is out of range for ${args.length} arguments`);
      }
    }
    // Differentiated leaves get fresh identity copies, so an argument passed twice gets two gradients.
    const callArgs: unknown[] = [...args];
    const differentiated = argnums.map((argnum) => {
      const flat = flattenTree(args[argnum], isTensor, `grad argument ${argnum}`, 'a Tensor');
      const copies = flat.leaves.map((leaf) => (isFloatDType(leaf.dtype) ? lax.bind('reshape', [leaf], { shape: leaf.shape })[0]! : leaf));
      callArgs[argnum] = flat.unflatten(copies);
      return { flat, copies };
    });
    const start = trace.equations.length;
    const result = fn(...callArgs);
    const loss = options.hasAux ? (Array.isArray(result) ? result[0] : undefined) : result;
    if (!isTensor(loss) || loss.rank !== 0 || !isFloatDType(loss.dtype)) {
      const got = isTensor(loss) ? formatTensorType(loss.type) : String(loss);
      throw new TypeError(`grad: the function must return a scalar float tensor${options.hasAux ? ' as the first of [loss, ...aux]' : ''}, got ${got}`);
    }
    const wrt = differentiated.flatMap(({ copies }) => copies.filter((copy) => isFloatDType(copy.dtype)));
    const cotangents = backward(trace, start, trace.adopt(loss, 'grad'), wrt);
    const gradients = differentiated.map(({ flat, copies }) =>
      flat.unflatten(copies.map((copy) => cotangents.get(copy) ?? lax.fullLike(copy, 0))),
    );
    return [result as ReturnType<F>, (single ? gradients[0] : gradients) as GradientsOf<Parameters<F>, N>];
  };
}

/**
 * `fn` turned into a function returning the gradient of its scalar result with respect to the
 * arguments named by `argnums` (see {@link valueAndGrad}; with `hasAux`, returns
 * `[gradients, aux]`). Sync to build; the returned function is sync and throws like
 * {@link valueAndGrad}'s.
 */
export function grad<F extends (...args: any[]) => unknown, const N extends number | readonly number[] = 0, H extends boolean = false>(
  fn: F,
  options: GradOptions<N, H> = {},
): (...args: Parameters<F>) => H extends true ? [GradientsOf<Parameters<F>, N>, AuxOf<ReturnType<F>>] : GradientsOf<Parameters<F>, N> {
  const withValue = valueAndGrad(fn, options);
  return (...args) => {
    const [value, gradients] = withValue(...args);
    return (options.hasAux ? [gradients, (value as Tree<Tensor>[]).slice(1)] : gradients) as H extends true
      ? [GradientsOf<Parameters<F>, N>, AuxOf<ReturnType<F>>]
      : GradientsOf<Parameters<F>, N>;
  };
}

/**
 * Cotangents of the tensors recorded in `trace` from `start` on that lie on a path from `wrt`
 * to `loss` (only those are computed).
 */
function backward(trace: Trace, start: number, loss: Tensor, wrt: readonly Tensor[]): Map<Tensor, Tensor> {
  const cotangents = new Map<Tensor, Tensor>([[loss, lax.fullLike(loss, 1)]]);
  const end = trace.equations.length; // the backward pass appends after this
  const dependsOnWrt = new Set<Tensor>(wrt);
  for (let i = start; i < end; i++) {
    const equation = trace.equations[i]!;
    if (equation.inputs.some((input) => dependsOnWrt.has(input))) for (const output of equation.outputs) dependsOnWrt.add(output);
  }
  for (let i = end - 1; i >= start; i--) {
    const equation = trace.equations[i]!;
    if (!equation.outputs.some((output) => dependsOnWrt.has(output))) continue;
    const outputCotangents = equation.outputs.map((output) => cotangents.get(output));
    if (outputCotangents.every((ct) => ct === undefined)) continue;
    const filled = outputCotangents.map((ct, j) => ct ?? lax.fullLike(equation.outputs[j]!, 0));
    const inputCotangents = applyVjp(equation, filled);
    equation.inputs.forEach((input, j) => {
      const ct = inputCotangents[j];
      if (!ct || !isFloatDType(input.dtype) || !dependsOnWrt.has(input)) return;
      if (!sameType(ct.type, input.type)) {
        throw new Error(`internal: ${equation.primitive} VJP gave ${formatTensorType(ct.type)} for input ${j} of type ${formatTensorType(input.type)}`);
      }
      const previous = cotangents.get(input);
      cotangents.set(input, previous ? lax.add(previous, ct) : ct);
    });
  }
  return cotangents;
}

function applyVjp<K extends PrimitiveName>(equation: Equation<K>, cotangents: readonly Tensor[]): ReadonlyArray<Tensor | undefined> {
  const rule: PrimitiveRule<ParamsOf[K]> = PRIMITIVES[equation.primitive];
  return rule.vjp === 'no-gradient' ? [] : rule.vjp(cotangents, equation);
}
