/**
 * Tracing TypeScript functions into StableHLO: `trace`, `grad`/`valueAndGrad`, `jit` and the
 * user-facing `ops`.
 */
export { Tensor } from './tensor.js';
export { trace, TracedProgram, matchDonations, isTensor, isTensorSpec, type TensorSpec, type TraceOptions, type Alias } from './program.js';
export { grad, valueAndGrad, type GradOptions, type GradientsOf, type AuxOf } from './autodiff.js';
export type { Tree } from './tree.js';
export * as ops from './ops/index.js';
export * as lax from './lax.js';
export { ShapeError } from '../stablehlo/shape.js';
export { jit, type JitFunction, type JitOptions, type DeviceResult } from './jit.js';
