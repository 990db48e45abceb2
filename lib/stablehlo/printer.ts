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
  const results = op.results.length;
  const assigned = results === 0 ? '' : results === 1 ? `${op.results[0]!.name} = ` : `${op.results[0]!.name.split('#')[0]!}:${results} = `;
  const head = `${indent}${assigned}"${op.name}"(${names(op.operands)})`;
  const tail = `${printAttributeDictionary(op.attributes, ' ')} : ${functionType(op.operands, op.results)}\n`;
  if (op.regions.length === 0) {
    out.push(head + tail);
    return;
  }
  out.push(`${head} (`);
  op.regions.forEach((region, i) => {
    if (i > 0) out.push(', ');
    printRegion(region, indent, out);
  });
  out.push(`)${tail}`);
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
  let text = '';
  for (let i = 0; i < values.length; i++) text += i === 0 ? values[i]!.name : `, ${values[i]!.name}`;
  return text;
}

function typeList(values: readonly Value[]): string {
  let text = '';
  for (let i = 0; i < values.length; i++) text += i === 0 ? mlirTensorType(values[i]!.type) : `, ${mlirTensorType(values[i]!.type)}`;
  return text;
}

function functionType(operands: readonly Value[], results: readonly Value[]): string {
  return `(${typeList(operands)}) -> ${results.length === 1 ? mlirTensorType(results[0]!.type) : `(${typeList(results)})`}`;
}

function printAttributeDictionary(attributes: ReadonlyArray<readonly [string, Attribute]>, prefix: string): string {
  if (attributes.length === 0) return '';
  return `${prefix}{${attributes.map(([key, value]) => `${key} = ${value}`).join(', ')}}`;
}
