/**
 * StableHLO: dtypes, tensor types, attribute constructors, the module/function builder and the
 * MLIR text printer. Nothing here knows about tracing or devices.
 */
export * from './dtype.js';
export * from './shape.js';
export * from './attributes.js';
export * from './builder.js';
export * from './printer.js';
