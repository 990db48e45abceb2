/**
 * What a primitive is: its parameters, its pure shape rule, its lowering to StableHLO and its
 * vector-Jacobian product, side by side. {@link ParamsOf} (declared beside the traces that record
 * primitive applications, in `tensor.ts`) names every primitive; the table in
 * `table.ts` must give a complete {@link PrimitiveRule} for each, so a primitive without a
 * gradient rule (or without a lowering) does not compile.
 */
import type { Block, FunctionBuilder, Value } from '../stablehlo/builder.js';
import type { TensorType } from '../stablehlo/shape.js';
import type { ParamsOf, PrimitiveName, Tensor, Trace } from './tensor.js';

export type { ComparisonDirection, ConstantValue, ParamsOf, PrimitiveName, WhileParams } from './tensor.js';

/** What a lowering may use besides its own operands. */
export interface LoweringContext {
  /** The function being emitted (to make region blocks). */
  readonly fn: FunctionBuilder;
  /** Emits `graph`'s equations into `block` with `inputs` bound to its inputs; returns its outputs' values. */
  lowerGraph(graph: Trace, block: Block, inputs: readonly Value[]): Value[];
}

/** A primitive application as the VJP rule sees it. */
export interface EquationView<P> {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly params: P;
}

/**
 * Cotangents of the inputs from cotangents of the outputs (zeros filled in for outputs without
 * one); `undefined` where no gradient flows (integer inputs, indices). Emits primitives into the
 * current trace.
 */
export type VjpRule<P> = (cotangents: readonly Tensor[], equation: EquationView<P>) => ReadonlyArray<Tensor | undefined>;

/** One primitive: pure shape rule, lowering and VJP. */
export interface PrimitiveRule<P> {
  /**
   * Output types from input types. Pure; throws ShapeError naming the primitive and every
   * operand's type when they do not fit.
   */
  readonly shape: (inputs: readonly TensorType[], params: P) => TensorType[];
  /** Emits StableHLO for one application into `block`; returns one value per output. */
  readonly lower: (block: Block, inputs: readonly Value[], params: P, outputs: readonly TensorType[], context: LoweringContext) => Value[];
  /** The VJP, or `'no-gradient'` for primitives whose outputs never carry gradients (constants, integers, random bits). */
  readonly vjp: VjpRule<P> | 'no-gradient';
}

/** A complete table: one rule per primitive (a missing entry or field is a compile error). */
export type PrimitiveTable = { readonly [K in PrimitiveName]: PrimitiveRule<ParamsOf[K]> };

/** The rules for a subset of primitives, as each rules module exports them. */
export type PrimitiveRules<K extends PrimitiveName> = { readonly [N in K]: PrimitiveRule<ParamsOf[N]> };
