/**
 * The user-facing tensor ops, exported from the package as `ops`: elementwise math with
 * broadcasting and number operands, array and reduction ops, neural-network composites,
 * loops and collectives.
 */
export * from './math.js';
export * from './arrays.js';
export * from './nn.js';
export * from './control.js';
