/**
 * Symbolic tensors and the traces that record them. A {@link Trace} is a graph under
 * construction: its inputs, the primitive applications ({@link Equation}s) in the order they
 * were made, and its outputs once finished. Nested traces (loop bodies) capture tensors of
 * enclosing traces as extra inputs, so closures over outer values just work. The primitives a
 * trace can record and their parameters ({@link ParamsOf}) are declared here too, since a loop's
 * parameters are traces; their rules are in `primitive.ts` and `table.ts`.
 */
import { formatTensorType, type TensorType } from '../stablehlo/shape.js';
import type { DType } from '../stablehlo/dtype.js';

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

/**
 * The shape rules a trace checks each primitive application with: the `shape` fields of the
 * primitive table, which the root trace is given (nested traces use their parent's).
 */
export type ShapeRules = { readonly [K in PrimitiveName]: { readonly shape: (inputs: readonly TensorType[], params: ParamsOf[K]) => TensorType[] } };

/** A symbolic array inside a trace: only its dtype and shape are known. */
export class Tensor {
  /** @internal Made by {@link Trace}; user code gets tensors from trace inputs and ops. */
  constructor(
    readonly trace: Trace,
    readonly type: TensorType,
    readonly id: number,
  ) {}

  /** Dimensions, outermost first. Sync. */
  get shape(): readonly number[] {
    return this.type.shape;
  }

  /** Element type. Sync. */
  get dtype(): DType {
    return this.type.dtype;
  }

  /** Number of dimensions. Sync. */
  get rank(): number {
    return this.type.shape.length;
  }

  /** `Tensor<f32[5,4]>`. Sync. */
  toString(): string {
    return `Tensor<${formatTensorType(this.type)}>`;
  }
}

/** One application of a primitive: inputs and outputs are tensors of the same trace. */
export interface Equation<K extends PrimitiveName = PrimitiveName> {
  readonly primitive: K;
  readonly inputs: readonly Tensor[];
  readonly params: ParamsOf[K];
  readonly outputs: readonly Tensor[];
}

let nextTensorId = 0;

/** A graph being recorded. Tensors of a trace may only be used in that trace or in traces nested in it. */
export class Trace {
  /** Declared inputs, then captured outer tensors in order of first use. */
  readonly inputs: Tensor[] = [];
  readonly equations: Equation[] = [];
  /** Outer tensor -> the input of this trace standing for it. */
  readonly captures = new Map<Tensor, Tensor>();
  #outputs: readonly Tensor[] | undefined;

  /** The shape rules of the primitives, shared by a root trace with the traces nested in it. */
  readonly rules: ShapeRules;

  /**
   * Sync. `parent` is the enclosing trace whose tensors this one may capture; a root trace (no
   * parent) is given the shape `rules` of the primitive table. Throws TypeError for a root trace
   * without rules.
   */
  constructor(readonly parent?: Trace, rules?: ShapeRules) {
    const inherited = rules ?? parent?.rules;
    if (!inherited) throw new TypeError('a root Trace needs the primitive shape rules: new Trace(undefined, PRIMITIVES)');
    this.rules = inherited;
  }

  /** Adds a declared input. Sync; throws Error once captures exist (declared inputs come first). */
  addInput(type: TensorType): Tensor {
    if (this.captures.size > 0) throw new Error('declared inputs must be added before any capture');
    const input = this.newTensor(type);
    this.inputs.push(input);
    return input;
  }

  /** @internal A fresh tensor owned by this trace. */
  newTensor(type: TensorType): Tensor {
    return new Tensor(this, type, nextTensorId++);
  }

  /**
   * `tensor` as usable here: itself if it belongs to this trace, a capture input if it belongs
   * to an enclosing trace. Sync; throws Error naming `op` if it belongs to an unrelated trace
   * (a tensor that escaped the function that made it).
   */
  adopt(tensor: Tensor, op: string): Tensor {
    if (tensor.trace === this) return tensor;
    const existing = this.captures.get(tensor);
    if (existing) return existing;
    for (let outer = this.parent; outer; outer = outer.parent) {
      if (tensor.trace === outer) {
        const input = this.newTensor(tensor.type);
        this.inputs.push(input);
        this.captures.set(tensor, input);
        return input;
      }
    }
    throw new Error(`${op}: ${tensor.toString()} belongs to another trace (a tensor leaked out of the function that made it)`);
  }

  /** Number of declared (non-captured) inputs. Sync. */
  get declaredInputCount(): number {
    return this.inputs.length - this.captures.size;
  }

  /** Sets the outputs. Sync; throws Error if already finished. */
  finish(outputs: readonly Tensor[]): void {
    if (this.#outputs) throw new Error('trace already finished');
    this.#outputs = outputs.map((output) => this.adopt(output, 'return'));
  }

  /** The outputs. Sync; throws Error if the trace has not finished. */
  get outputs(): readonly Tensor[] {
    if (!this.#outputs) throw new Error('trace not finished');
    return this.#outputs;
  }
}

const traceStack: Trace[] = [];

/** The innermost trace being recorded. Sync; throws Error naming `op` when called outside `trace`/`jit`. */
export function currentTrace(op: string): Trace {
  const trace = traceStack[traceStack.length - 1];
  if (!trace) throw new Error(`${op}: called outside of trace()/jit(); tensor ops only run while a function is being traced`);
  return trace;
}

/** Runs `body` with `trace` as the current trace. Sync; rethrows what `body` throws. */
export function withTrace<T>(trace: Trace, body: () => T): T {
  traceStack.push(trace);
  try {
    return body();
  } finally {
    traceStack.pop();
  }
}
