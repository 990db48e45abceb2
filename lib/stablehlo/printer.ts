/**
 * Writes a {@link ModuleBuilder} as MLIR text the PJRT plugins parse: the module and
 * `func.func` headers in pretty syntax (which the runtime reads to check arguments), every
 * operation in MLIR's generic syntax, so one code path prints every StableHLO and CHLO op.
 */
import type { Attribute } from './attributes.js';
import type { Block, FunctionBuilder, ModuleBuilder, Operation, Value } from './builder.js';
import { mlirTensorType } from './shape.js';

/** The module as MLIR text. Sync; throws Error if a function body has not returned. */
export function printModule(module: ModuleBuilder): string {
  const out: string[] = [];
  out.push(`module @${module.name}${printAttributeDictionary(module.attributes, ' attributes ')} {\n`);
  for (const fn of module.functions) printFunction(fn, out);
  out.push('}\n');
  return out.join('');
}

function printFunction(fn: FunctionBuilder, out: string[]): void {
  const params = fn.body.args.map((arg, i) => `${arg.name}: ${mlirTensorType(arg.type)}${printAttributeDictionary(fn.parameters[i]!.attributes ?? [], ' ')}`);
  const results = fn.resultTypes.map(mlirTensorType);
  const resultText = results.length === 1 ? results[0] : `(${results.join(', ')})`;
  out.push(`  func.func ${fn.visibility} @${fn.name}(${params.join(', ')}) -> ${resultText} {\n`);
  printOperations(fn.body, '    ', out);
  out.push(`    ${printReturn('func.return', fn.body.returned)}\n  }\n`);
}

function printOperations(block: Block, indent: string, out: string[]): void {
  for (const op of block.operations) printOperation(op, indent, out);
}

function printOperation(op: Operation, indent: string, out: string[]): void {
  out.push(indent);
  if (op.results.length === 1) out.push(op.results[0]!.name, ' = ');
  else if (op.results.length > 1) out.push(op.results[0]!.name.split('#')[0]!, ':', String(op.results.length), ' = ');
  out.push('"', op.name, '"(', names(op.operands), ')');
  if (op.regions.length > 0) {
    out.push(' (');
    op.regions.forEach((region, i) => {
      if (i > 0) out.push(', ');
      printRegion(region, indent, out);
    });
    out.push(')');
  }
  out.push(printAttributeDictionary(op.attributes, ' '), ' : ', functionType(op.operands, op.results), '\n');
}

function printRegion(block: Block, indent: string, out: string[]): void {
  const args = block.args.map((arg) => `${arg.name}: ${mlirTensorType(arg.type)}`).join(', ');
  out.push(`{\n${indent}^bb0(${args}):\n`);
  printOperations(block, `${indent}  `, out);
  out.push(`${indent}  ${printReturn('stablehlo.return', block.returned)}\n${indent}}`);
}

function printReturn(name: string, values: readonly Value[]): string {
  return `"${name}"(${names(values)}) : ${functionType(values, [])}`;
}

function names(values: readonly Value[]): string {
  return values.map((value) => value.name).join(', ');
}

function functionType(operands: readonly Value[], results: readonly Value[]): string {
  const inputs = operands.map((value) => mlirTensorType(value.type)).join(', ');
  const outputs = results.map((value) => mlirTensorType(value.type));
  return `(${inputs}) -> ${outputs.length === 1 ? outputs[0] : `(${outputs.join(', ')})`}`;
}

function printAttributeDictionary(attributes: ReadonlyArray<readonly [string, Attribute]>, prefix: string): string {
  if (attributes.length === 0) return '';
  return `${prefix}{${attributes.map(([key, value]) => `${key} = ${value}`).join(', ')}}`;
}
