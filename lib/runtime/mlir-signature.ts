/**
 * Reads the parameter types of `@main` from StableHLO text, so that wrong argument counts,
 * shapes and dtypes are reported by name before PJRT is called. Only the pretty
 * `func.func ... @main(%a: tensor<4x3xf32>, ...)` form is read; for anything else (bytecode,
 * generic syntax) the signature is unknown and only the plugin checks the arguments.
 */
import { dtypeOfMlirElement, isRuntimeDType } from '../base/dtypes.js';
import type { TensorType as BaseTensorType } from '../base/shapes.js';
import type { DType } from './dtypes.js';

/** The type of one program parameter or result: `lib/base`'s tensor type over the runtime's dtypes. */
export type TensorType = BaseTensorType<DType>;

/** Parses `4x3xf32` / `f32` (the inside of `tensor<...>`). Sync; returns undefined if unsupported. */
export function parseTensorType(body: string): TensorType | undefined {
  const parts = body.split(',')[0]!.trim().split('x');
  const element = dtypeOfMlirElement(parts.pop()!.trim());
  if (!isRuntimeDType(element)) return undefined;
  const shape = parts.map((dim) => Number(dim));
  if (shape.some((dim) => !Number.isInteger(dim) || dim < 0)) return undefined;
  return { dtype: element, shape };
}

/** Splits `text` at top-level commas (outside (), <>, {}, [] and strings). Sync. */
function splitTopLevel(text: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if ('(<{['.includes(c)) depth++;
    else if (')>}]'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      pieces.push(text.slice(start, i));
      start = i + 1;
    }
  }
  const last = text.slice(start);
  if (last.trim()) pieces.push(last);
  return pieces;
}

/**
 * The parameter types of `@main`, or undefined when the text does not show them in the pretty
 * form. Sync.
 */
export function mainParameterTypes(code: string): TensorType[] | undefined {
  const match = /func\.func\s+(?:public\s+)?@main\s*\(/.exec(code);
  if (!match) return undefined;
  const open = match.index + match[0].length;
  let depth = 1;
  let close = open;
  for (; close < code.length && depth > 0; close++) {
    const c = code[close];
    if (c === '(') depth++;
    else if (c === ')') depth--;
  }
  if (depth !== 0) return undefined;
  const types: TensorType[] = [];
  for (const piece of splitTopLevel(code.slice(open, close - 1))) {
    const tensor = /:\s*tensor<([^>]*)>/.exec(piece);
    const type = tensor ? parseTensorType(tensor[1]!) : undefined;
    if (!type) return undefined;
    types.push(type);
  }
  return types;
}
