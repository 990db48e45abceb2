/**
 * The error class that the native addon throws for every failed PJRT call. It is defined here,
 * in TypeScript, and handed to native code once at load time (better-sqlite3 / sharp style), so
 * `instanceof PjrtError` works and the fields are typed.
 */

/** Names of `PJRT_Error_Code` values, as carried by {@link PjrtError.code}. */
export type PjrtErrorCode =
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED';

/**
 * A failed PJRT C API call (or a PJRT-level precondition checked by the binding, such as using a
 * disposed buffer). `code` is the PJRT error code name, `pjrtFunction` the C function that failed
 * (e.g. `PJRT_Client_Compile`), and the message is the plugin's own text prefixed by the function.
 */
export class PjrtError extends Error {
  /** PJRT error code name, e.g. `INVALID_ARGUMENT`. */
  readonly code: PjrtErrorCode;
  /** Numeric `PJRT_Error_Code`. */
  readonly codeNumber: number;
  /** The C API function (or binding step such as `dlopen`) that failed. */
  readonly pjrtFunction: string;

  /** Called by native code: `new PjrtError(message, code, function, codeNumber)`. */
  constructor(message: string, code: string, pjrtFunction: string, codeNumber = 2) {
    super(`${pjrtFunction}: ${message}`);
    this.name = 'PjrtError';
    this.code = code as PjrtErrorCode;
    this.codeNumber = codeNumber;
    this.pjrtFunction = pjrtFunction;
  }
}

/** Where a public async entry point was called from; its `stack` is formatted only if read. */
export interface CallSite {
  stack?: string;
}

/**
 * Records the caller's stack cheaply (formatting is deferred until an error needs it). Sync.
 */
export function captureCallSite(): CallSite {
  const site: CallSite = {};
  Error.captureStackTrace(site, captureCallSite);
  return site;
}

/**
 * Rethrows `error` with the caller's stack appended, so an async native failure points at the
 * user's code rather than at the event loop. Sync; always throws.
 */
export function rethrowWithCallerStack(error: unknown, site: CallSite): never {
  const callerStack = site.stack;
  if (error instanceof Error && callerStack) {
    const frames = callerStack.split('\n').slice(1).join('\n');
    error.stack = `${error.stack ?? String(error)}\n    --- called from ---\n${frames}`;
  }
  throw error;
}
