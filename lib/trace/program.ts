/**
 * `trace(fn, specs)`: runs a function over symbolic tensors, records its graph and lowers it to
 * a StableHLO module whose `@main` takes the flattened inputs and returns the flattened
 * outputs. Lowering walks the graph once, calling each primitive's lowering.
 */
import { i32 } from '../stablehlo/attributes.js';
import { FunctionBuilder, ModuleBuilder, type Block, type Parameter, type Value } from '../stablehlo/builder.js';
import type { DType } from '../stablehlo/dtype.js';
import { printModule } from '../stablehlo/printer.js';
import { ShapeError, sameType, tensorType, type TensorType } from '../stablehlo/shape.js';
import type { LoweringContext, ParamsOf, PrimitiveName, PrimitiveRule } from './primitive.js';
import { PRIMITIVES } from './table.js';
import { Tensor, Trace, withTrace, type Equation } from './tensor.js';
import { flattenTree, type Flattened, type Tree } from './tree.js';

/** The dtype and shape of one input, as passed to {@link trace}. */
export interface TensorSpec {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** An input of `@main` donated to an output of the same type (flat indices). */
export interface Alias {
  readonly input: number;
  readonly output: number;
}

/** How {@link trace} builds the module. */
export interface TraceOptions {
  /** Module name (default `traced`). */
  readonly name?: string;
  /** Replicas the program will run on; sets `mhlo.num_replicas` (default 1). */
  readonly replicas?: number;
  /** Inputs whose buffers the outputs may reuse (`tf.aliasing_output` on `@main`'s arguments). */
  readonly aliases?: readonly Alias[];
  /**
   * Flat input indices to donate: each is aliased to the first output of its type not taken
   * yet (see {@link matchDonations}); added to `aliases`.
   */
  readonly donate?: readonly number[];
}

/** True for a {@link TensorSpec}-shaped value (a `dtype` string and a `shape` array). Sync. */
export function isTensorSpec(value: unknown): value is TensorSpec {
  return typeof value === 'object' && value !== null && typeof (value as TensorSpec).dtype === 'string' && Array.isArray((value as TensorSpec).shape);
}

/** True for a symbolic tensor. Sync. */
export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

/** A traced function: its graph, the StableHLO module lowered from it, and its text. */
export class TracedProgram {
  #text: string | undefined;

  /** @internal Made by {@link trace}. */
  constructor(
    readonly graph: Trace,
    readonly module: ModuleBuilder,
    readonly inputTypes: readonly TensorType[],
    readonly outputTypes: readonly TensorType[],
    readonly outputStructure: Flattened<Tensor>,
  ) {}

  /** The module as MLIR text (printed once, then cached). Sync. */
  get text(): string {
    this.#text ??= printModule(this.module);
    return this.#text;
  }
}

/**
 * Traces `fn` with one symbolic tensor per leaf of `inputSpecs` (trees of {@link TensorSpec})
 * and lowers it to a module with a public `@main`. `fn` may return a tensor or a tree of them.
 * Sync; throws ShapeError from any op whose operands do not fit (before anything is emitted),
 * TypeError for a return value that is not a tree of tensors, RangeError for a bad alias.
 */
export function trace(fn: (...args: any[]) => unknown, inputSpecs: readonly Tree<TensorSpec>[], options: TraceOptions = {}): TracedProgram {
  const flatSpecs = flattenTree(inputSpecs, isTensorSpec, 'trace inputs', 'a {dtype, shape} spec');
  const inputTypes = flatSpecs.leaves.map((spec) => tensorType(spec.dtype, spec.shape));
  const graph = new Trace(undefined, PRIMITIVES);
  const inputs = inputTypes.map((type) => graph.addInput(type));
  const args = flatSpecs.unflatten(inputs) as readonly unknown[];
  const outputStructure = withTrace(graph, () => {
    const structure = flattenTree(fn(...args), isTensor, 'traced function result', 'a Tensor');
    graph.finish(structure.leaves);
    return structure;
  });
  const outputTypes = graph.outputs.map((output) => output.type);
  const aliases = [...(options.aliases ?? []), ...matchDonations(inputTypes, outputTypes, options.donate ?? [], options.aliases ?? [])];
  const module = lowerToModule(graph, options.name ?? 'traced', options.replicas ?? 1, aliases);
  return new TracedProgram(graph, module, inputTypes, outputTypes, outputStructure);
}

function lowerToModule(graph: Trace, name: string, replicas: number, aliases: readonly Alias[]): ModuleBuilder {
  const module = new ModuleBuilder(name, [
    ['mhlo.num_replicas', i32(replicas)],
    ['mhlo.num_partitions', i32(1)],
  ]);
  const aliasOf = checkAliases(aliases, graph);
  const parameters: Parameter[] = graph.inputs.map((input, i) => {
    const output = aliasOf.get(i);
    return output === undefined ? { type: input.type } : { type: input.type, attributes: [['tf.aliasing_output', i32(output)]] };
  });
  const main = module.addFunction('main', parameters);
  const context = loweringContext(main);
  main.body.return(context.lowerGraph(graph, main.body, main.body.args));
  return module;
}

function checkAliases(aliases: readonly Alias[], graph: Trace): Map<number, number> {
  const byInput = new Map<number, number>();
  const usedOutputs = new Set<number>();
  for (const { input, output } of aliases) {
    const inputType = graph.inputs[input]?.type;
    const outputType = graph.outputs[output]?.type;
    if (!inputType || !outputType) throw new RangeError(`alias ${input} -> ${output}: no such input or output`);
    if (!sameType(inputType, outputType)) {
      throw new ShapeError('alias', `input ${input} and output ${output} differ`, [['input', inputType], ['output', outputType]]);
    }
    if (byInput.has(input) || usedOutputs.has(output)) throw new RangeError(`alias ${input} -> ${output}: input or output aliased twice`);
    byInput.set(input, output);
    usedOutputs.add(output);
  }
  return byInput;
}

function loweringContext(fn: FunctionBuilder): LoweringContext {
  const context: LoweringContext = {
    fn,
    lowerGraph(graph: Trace, block: Block, inputs: readonly Value[]): Value[] {
      if (inputs.length !== graph.inputs.length) throw new Error(`lowering a graph of ${graph.inputs.length} inputs with ${inputs.length} values`);
      const values = new Map<Tensor, Value>();
      graph.inputs.forEach((input, i) => values.set(input, inputs[i]!));
      const valueOf = (tensor: Tensor): Value => {
        const value = values.get(tensor);
        if (!value) throw new Error(`internal: ${tensor.toString()} used before it was defined`);
        return value;
      };
      for (const equation of liveEquations(graph)) {
        const outputs = lowerEquation(equation, block, equation.inputs.map(valueOf), context);
        equation.outputs.forEach((output, i) => values.set(output, outputs[i]!));
      }
      return graph.outputs.map(valueOf);
    },
  };
  return context;
}

/** The equations `graph`'s outputs depend on, in order (the rest, e.g. unused gradients, are not emitted). */
function liveEquations(graph: Trace): Equation[] {
  const needed = new Set<Tensor>(graph.outputs);
  const live: Equation[] = [];
  for (let i = graph.equations.length - 1; i >= 0; i--) {
    const equation = graph.equations[i]!;
    if (!equation.outputs.some((output) => needed.has(output))) continue;
    live.push(equation);
    for (const input of equation.inputs) needed.add(input);
  }
  return live.reverse();
}

function lowerEquation<K extends PrimitiveName>(equation: Equation<K>, block: Block, inputs: readonly Value[], context: LoweringContext): Value[] {
  const rule: PrimitiveRule<ParamsOf[K]> = PRIMITIVES[equation.primitive];
  return rule.lower(block, inputs, equation.params, equation.outputs.map((output) => output.type), context);
}

/**
 * Pairs donated inputs with outputs of the same type, each output used once, first come first
 * served (as JAX does with donate_argnums), skipping inputs and outputs `existing` aliases
 * already use. Inputs without a matching output are not aliased. Sync.
 */
export function matchDonations(
  inputTypes: readonly TensorType[],
  outputTypes: readonly TensorType[],
  donatedInputs: readonly number[],
  existing: readonly Alias[] = [],
): Alias[] {
  const taken = new Set<number>(existing.map((alias) => alias.output));
  const aliasedInputs = new Set<number>(existing.map((alias) => alias.input));
  const aliases: Alias[] = [];
  for (const input of donatedInputs) {
    if (aliasedInputs.has(input)) continue;
    const output = outputTypes.findIndex((type, i) => !taken.has(i) && sameType(type, inputTypes[input]!));
    if (output < 0) continue;
    taken.add(output);
    aliases.push({ input, output });
  }
  return aliases;
}
