/**
 * Symbolic tensors and the traces that record them. A {@link Trace} is a graph under
 * construction: its inputs, the primitive applications ({@link Equation}s) in the order they
 * were made, and its outputs once finished. Nested traces (loop bodies) capture tensors of
 * enclosing traces as extra inputs, so closures over outer values just work.
 */
import { formatTensorType, type TensorType } from '../stablehlo/shape.js';
import type { DType } from '../stablehlo/dtype.js';
import type { ParamsOf, PrimitiveName } from './primitive.js';

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

  /** Sync. `parent` is the enclosing trace whose tensors this one may capture. */
  constructor(readonly parent?: Trace) {}

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
