/**
 * What a primitive is: its parameters, its pure shape rule, its lowering to StableHLO and its
 * vector-Jacobian product, side by side. {@link ParamsOf} names every primitive; the table in
 * `table.ts` must give a complete {@link PrimitiveRule} for each, so a primitive without a
 * gradient rule (or without a lowering) does not compile.
 */
import type { Block, FunctionBuilder, Value } from '../stablehlo/builder.js';
import type { DType } from '../stablehlo/dtype.js';
import type { TensorType } from '../stablehlo/shape.js';
import type { Tensor, Trace } from './tensor.js';

/** Comparison directions of `compare`. */
export type ComparisonDirection = 'EQ' | 'NE' | 'LT' | 'LE' | 'GT' | 'GE';

/** A constant's value: one scalar (splat) or every element in row-major order. */
export type ConstantValue = number | bigint | boolean | ArrayLike<number | bigint | boolean>;

/** A loop traced into two graphs; see `whileLoop` in `lax.ts` for how carried values are laid out. */
export interface WhileParams {
  /** pred[] condition over the carried values (state, then captures of cond, then captures of body). */
  readonly cond: Trace;
  /** next state from the carried values. */
  readonly body: Trace;
  /** How many carried values are loop state (the rest are captured, passed through unchanged). */
  readonly stateCount: number;
}

type NoParams = Record<string, never>;

/** Every primitive and the parameters it takes. */
export interface ParamsOf {
  add: NoParams;
  sub: NoParams;
  mul: NoParams;
  div: NoParams;
  max: NoParams;
  min: NoParams;
  pow: NoParams;
  neg: NoParams;
  exp: NoParams;
  log: NoParams;
  sqrt: NoParams;
  rsqrt: NoParams;
  tanh: NoParams;
  erf: NoParams;
  /** Bitwise xor of integers. */
  xor: NoParams;
  /** `lhs << rhs` on integers (0 where rhs >= the bit width). */
  shift_left: NoParams;
  /** `lhs >>> rhs` on integers, zeros shifted in (0 where rhs >= the bit width). */
  shift_right_logical: NoParams;
  compare: { readonly direction: ComparisonDirection };
  select: NoParams;
  convert: { readonly dtype: DType };
  constant: { readonly value: ConstantValue; readonly type: TensorType };
  iota: { readonly type: TensorType; readonly dimension: number };
  broadcast_in_dim: { readonly shape: readonly number[]; readonly broadcastDimensions: readonly number[] };
  reshape: { readonly shape: readonly number[] };
  transpose: { readonly permutation: readonly number[] };
  slice: { readonly start: readonly number[]; readonly limit: readonly number[]; readonly strides: readonly number[] };
  pad: { readonly low: readonly number[]; readonly high: readonly number[]; readonly interior: readonly number[] };
  concatenate: { readonly axis: number };
  reduce_sum: { readonly axes: readonly number[] };
  reduce_max: { readonly axes: readonly number[] };
  dot_general: {
    readonly lhsBatch: readonly number[];
    readonly rhsBatch: readonly number[];
    readonly lhsContracting: readonly number[];
    readonly rhsContracting: readonly number[];
    /** Result dtype when it differs from the operands' (e.g. bf16 operands, f32 accumulation). */
    readonly resultDType?: DType;
  };
  /** Rows of `table` [V, ...rest] at integer `indices` [...I] -> [...I, ...rest]. */
  gather: NoParams;
  /** Adds `updates` [...I, ...rest] into rows `indices` [...I] of `operand` [V, ...rest]. */
  scatter_add: NoParams;
  /** Inputs: operand, then one scalar integer start per dimension. */
  dynamic_slice: { readonly sizes: readonly number[] };
  /** Inputs: operand, update, then one scalar integer start per dimension. */
  dynamic_update_slice: NoParams;
  /** Input: an s64[2] key; outputs: the next key and u32 random bits of `shape`. */
  rng_bit_generator: { readonly shape: readonly number[] };
  while: WhileParams;
  /** Sum over the replicas of each group. */
  all_reduce_sum: { readonly replicaGroups: readonly (readonly number[])[] };
  stop_gradient: NoParams;
}

/** The name of a primitive. */
export type PrimitiveName = keyof ParamsOf;

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
