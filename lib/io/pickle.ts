/**
 * A restricted Python unpickler: a stack machine over the pickle opcodes that data
 * (protocols 0-5) uses, which never executes anything. Every `GLOBAL`/`STACK_GLOBAL`
 * reference goes through a caller-supplied resolver that either returns a JS
 * implementation for an allowed name (e.g. `collections.OrderedDict`) or refuses; a
 * refused name (`os.system`, `builtins.eval`, ...) raises `UnsafePickleError` naming it.
 *
 * Python values map to: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
 * float -> number, str -> string, bytes -> Uint8Array, list and tuple -> arrays,
 * dict -> Map, set -> Set.
 */
import { FileFormatError } from './files.js';

/** An allowed global: what calling it (REDUCE/NEWOBJ) and building it (BUILD) do. */
export interface PickleGlobal {
  readonly module: string;
  readonly name: string;
  /** Called for REDUCE (args tuple) and NEWOBJ; absent = not callable. */
  call?(args: unknown[]): unknown;
}

/** Returns the implementation of an allowed global, or `undefined` to refuse it. */
export type GlobalResolver = (module: string, name: string) => PickleGlobal | undefined;

/** Thrown when a pickle references a global that is not allowed; names the global. */
export class UnsafePickleError extends FileFormatError {
  override readonly name: string = 'UnsafePickleError';

  constructor(
    file: string,
    readonly global: string,
  ) {
    super(file, `refusing to unpickle global ${global}: only the types of PyTorch tensor checkpoints are allowed`);
  }
}

const MARK = Symbol('mark');

/** What the unpickler needs besides the bytes. */
export interface UnpickleOptions {
  /** The file the pickle came from, for error messages. */
  file: string;
  resolveGlobal: GlobalResolver;
  /** Resolves a persistent id (BINPERSID/PERSID); absent = persistent ids are refused. */
  persistentLoad?(pid: unknown): unknown;
}

function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(bytes.length * 8);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/**
 * Unpickles `bytes`. Every opcode consumes at least one byte and allocates at most in
 * proportion to the bytes it consumes, so time and memory are linear in the input.
 * Synchronous; throws `UnsafePickleError` for a refused global and `FileFormatError`
 * naming the file for a malformed pickle, an unsupported opcode, or arguments an allowed
 * global cannot take.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  const { file } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const fail = (problem: string): never => {
    throw new FileFormatError(file, `malformed pickle at byte ${pos}: ${problem}`);
  };
  const need = (n: number): number => {
    if (n < 0) fail(`negative length ${n}`);
    if (pos + n > bytes.length) fail('unexpected end of data');
    const at = pos;
    pos += n;
    return at;
  };
  const take = (n: number): Uint8Array => bytes.subarray(need(n), pos);
  const readLine = (): string => {
    const end = bytes.indexOf(10, pos);
    if (end < 0) fail('unterminated line');
    const line = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return line;
  };
  const pop = (): unknown => (stack.length === 0 ? fail('stack underflow') : stack.pop());
  const top = (): unknown => (stack.length === 0 ? fail('empty stack') : stack[stack.length - 1]);
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) fail('no MARK');
    const items = stack.splice(mark!);
    return items;
  };
  const lookupGlobal = (module: string, name: string): PickleGlobal => {
    const resolved = options.resolveGlobal(module, name);
    if (resolved === undefined) throw new UnsafePickleError(file, `${module}.${name}`);
    return resolved;
  };
  const callGlobal = (callable: unknown, args: unknown): unknown => {
    const global = callable as PickleGlobal;
    if (typeof global?.call !== 'function') fail(`cannot call ${global?.module}.${global?.name}`);
    if (!Array.isArray(args)) fail('call arguments are not a tuple');
    try {
      return global.call!(args as unknown[]);
    } catch (error) {
      if (error instanceof FileFormatError) throw error;
      return fail(`${global.module}.${global.name} got arguments it cannot take (${(error as Error).message})`);
    }
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) fail('SETITEM(S) on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target)) fail('APPEND(S) on a non-list');
    for (const item of items) (target as unknown[]).push(item);
  };

  for (;;) {
    if (pos >= bytes.length) fail('missing STOP');
    const op = bytes[pos++]!;
    switch (op) {
      case 0x80: need(1); break; // PROTO
      case 0x95: need(8); break; // FRAME
      case 0x2e: return pop(); // STOP
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(bytes[need(1)]); break; // BININT1
      case 0x4d: stack.push(view.getUint16(need(2), true)); break; // BININT2
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x8a: stack.push(decodeLong(take(bytes[need(1)]!))); break; // LONG1
      case 0x8b: stack.push(decodeLong(take(view.getInt32(need(4), true)))); break; // LONG4
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT
      case 0x49: { // INT (text)
        const line = readLine();
        stack.push(line === '01' ? true : line === '00' ? false : Number.parseInt(line, 10));
        break;
      }
      case 0x4c: stack.push(Number.parseInt(readLine().replace(/L$/, ''), 10)); break; // LONG (text)
      case 0x46: stack.push(Number.parseFloat(readLine())); break; // FLOAT (text)
      case 0x8c: stack.push(text.decode(take(bytes[need(1)]!))); break; // SHORT_BINUNICODE
      case 0x58: stack.push(text.decode(take(view.getUint32(need(4), true)))); break; // BINUNICODE
      case 0x8d: stack.push(text.decode(take(Number(view.getBigUint64(need(8), true))))); break; // BINUNICODE8
      case 0x55: stack.push(latin1.decode(take(bytes[need(1)]!))); break; // SHORT_BINSTRING
      case 0x54: stack.push(latin1.decode(take(view.getUint32(need(4), true)))); break; // BINSTRING
      case 0x43: stack.push(take(bytes[need(1)]!).slice()); break; // SHORT_BINBYTES
      case 0x42: stack.push(take(view.getUint32(need(4), true)).slice()); break; // BINBYTES
      case 0x8e: stack.push(take(Number(view.getBigUint64(need(8), true))).slice()); break; // BINBYTES8
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const map = new Map(); setItems(map, popMark()); stack.push(map); break; } // DICT
      case 0x73: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x61: { const value = pop(); appendItems(top(), [value]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x90: { // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof Set)) fail('ADDITEMS on a non-set');
        for (const item of items) (set as Set<unknown>).add(item);
        break;
      }
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x71: memo.set(bytes[need(1)]!, top()); break; // BINPUT
      case 0x72: memo.set(view.getUint32(need(4), true), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number.parseInt(readLine(), 10), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const key = op === 0x68 ? bytes[need(1)]! : op === 0x6a ? view.getUint32(need(4), true) : Number.parseInt(readLine(), 10);
        if (!memo.has(key)) fail(`memo key ${key} not found`);
        stack.push(memo.get(key));
        break;
      }
      case 0x63: { // GLOBAL
        const module = readLine();
        stack.push(lookupGlobal(module, readLine()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(lookupGlobal(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); stack.push(callGlobal(pop(), args)); break; } // REDUCE
      case 0x81: { const args = pop(); stack.push(callGlobal(pop(), args)); break; } // NEWOBJ
      case 0x62: { // BUILD: only attribute state on dicts (OrderedDict._metadata) is accepted and ignored
        const state = pop();
        const target = top();
        if (!(target instanceof Map)) fail('BUILD is only supported on dict-like objects');
        void state;
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (options.persistentLoad === undefined) fail('persistent ids are not supported here');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x50: { // PERSID
        const pid = readLine();
        if (options.persistentLoad === undefined) fail('persistent ids are not supported here');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
