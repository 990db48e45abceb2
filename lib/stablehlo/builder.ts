/**
 * An in-memory StableHLO module: functions made of blocks of operations over SSA values.
 * The builder checks nothing about op semantics (shape rules run earlier, in the tracer); it
 * only records operations, names values uniquely per function and keeps regions nested, so
 * the printer can write the module in one pass.
 */
import type { Attribute } from './attributes.js';
import type { TensorType } from './shape.js';

/** An SSA value: an argument of a block or a result of an operation. */
export interface Value {
  /** `%arg0`, `%7`, `%7#1` */
  readonly name: string;
  readonly type: TensorType;
}

/** One recorded operation, printed in MLIR's generic form. */
export interface Operation {
  /** Fully qualified op name, e.g. `stablehlo.add`, `chlo.erf`. */
  readonly name: string;
  readonly operands: readonly Value[];
  readonly results: readonly Value[];
  readonly attributes: ReadonlyArray<readonly [string, Attribute]>;
  readonly regions: readonly Block[];
}

/** Everything an operation carries besides operands and result types. */
export interface OperationExtras {
  attributes?: ReadonlyArray<readonly [string, Attribute]>;
  regions?: readonly Block[];
}

/**
 * A straight-line list of operations with arguments, ended by a return of some values
 * (`stablehlo.return` inside regions, `func.return` in a function body).
 */
export class Block {
  readonly args: readonly Value[];
  readonly operations: Operation[] = [];
  #returned: readonly Value[] | undefined;

  /** @internal Use {@link FunctionBuilder.body} or {@link FunctionBuilder.region}. */
  constructor(
    private readonly owner: FunctionBuilder,
    argTypes: readonly TensorType[],
    argNames: readonly string[],
  ) {
    this.args = argTypes.map((type, i) => ({ name: argNames[i]!, type }));
  }

  /**
   * Appends an operation and returns its results. Sync; throws Error if the block has already
   * returned.
   */
  op(name: string, operands: readonly Value[], resultTypes: readonly TensorType[], extras: OperationExtras = {}): Value[] {
    if (this.#returned) throw new Error(`cannot add ${name}: the block has already returned`);
    const base = this.owner.nextValueName();
    const results = resultTypes.map((type, i) => ({ name: resultTypes.length === 1 ? base : `${base}#${i}`, type }));
    this.operations.push({ name, operands, results, attributes: extras.attributes ?? [], regions: extras.regions ?? [] });
    return results;
  }

  /** {@link op} for an operation with exactly one result. Sync. */
  op1(name: string, operands: readonly Value[], resultType: TensorType, extras: OperationExtras = {}): Value {
    return this.op(name, operands, [resultType], extras)[0]!;
  }

  /** Ends the block with a return of `values`. Sync; throws Error if called twice. */
  return(values: readonly Value[]): void {
    if (this.#returned) throw new Error('the block has already returned');
    this.#returned = values;
  }

  /** The returned values. Sync; throws Error if the block has not returned yet. */
  get returned(): readonly Value[] {
    if (!this.#returned) throw new Error('the block has not returned yet');
    return this.#returned;
  }
}

/** A `func.func` parameter: its type and its argument attributes (e.g. `tf.aliasing_output`). */
export interface Parameter {
  readonly type: TensorType;
  readonly attributes?: ReadonlyArray<readonly [string, Attribute]>;
}

/** A `func.func` under construction. Its body is a {@link Block}; regions are more blocks. */
export class FunctionBuilder {
  readonly body: Block;
  #nextValue = 0;

  /** Sync. */
  constructor(
    readonly name: string,
    readonly parameters: readonly Parameter[],
    readonly visibility: 'public' | 'private' = 'public',
  ) {
    this.body = new Block(
      this,
      parameters.map((p) => p.type),
      parameters.map((_, i) => `%arg${i}`),
    );
  }

  /** A fresh block with arguments of `argTypes`, to pass as a region of an operation. Sync. */
  region(argTypes: readonly TensorType[]): Block {
    return new Block(
      this,
      argTypes,
      argTypes.map(() => this.nextValueName()),
    );
  }

  /** @internal A value name unique within the function (`%0`, `%1`, ...). */
  nextValueName(): string {
    return `%${this.#nextValue++}`;
  }

  /** Result types, taken from the body's return. Sync; throws Error if the body has not returned. */
  get resultTypes(): TensorType[] {
    return this.body.returned.map((value) => value.type);
  }
}

/** A `module` with attributes such as `mhlo.num_replicas`, holding functions. */
export class ModuleBuilder {
  readonly functions: FunctionBuilder[] = [];

  /** Sync. */
  constructor(
    readonly name: string,
    readonly attributes: ReadonlyArray<readonly [string, Attribute]> = [],
  ) {}

  /** Adds a function and returns its builder. Sync; throws Error if the name is taken. */
  addFunction(name: string, parameters: readonly Parameter[], visibility: 'public' | 'private' = 'public'): FunctionBuilder {
    if (this.functions.some((f) => f.name === name)) throw new Error(`function @${name} already exists in module @${this.name}`);
    const fn = new FunctionBuilder(name, parameters, visibility);
    this.functions.push(fn);
    return fn;
  }
}
