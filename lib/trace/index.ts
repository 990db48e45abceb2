/**
 * Tracing TypeScript functions into StableHLO: `trace`, `grad`/`valueAndGrad`, `jit` and the
 * user-facing `ops` (with `lax`, the primitives one to one).
 *
 *     const f = (w: Tensor, x: Tensor) => ops.sum(ops.softmax(ops.tanh(ops.matmul(x, w)), -1));
 *     const df = jit(grad(f, { argnums: [0] }), { runtime: rt });
 *     const [dw] = await df(await rt.put(wData, [4, 3]), await rt.put(xData, [5, 4]));
 *     trace(f, [{ dtype: 'f32', shape: [4, 3] }, { dtype: 'f32', shape: [5, 4] }]).text; // the StableHLO
 */
export { Tensor } from './tensor.js';
export { trace, TracedProgram, matchDonations, isTensor, isTensorSpec, type TensorSpec, type TraceOptions, type Alias } from './program.js';
export { grad, valueAndGrad, type GradOptions, type GradientsOf, type AuxOf } from './autodiff.js';
export type { Tree } from './tree.js';
export * as ops from './ops/index.js';
export * as lax from './lax.js';
export { ShapeError } from '../stablehlo/shape.js';
export { jit, type JitFunction, type JitOptions, type DeviceResult } from './jit.js';
