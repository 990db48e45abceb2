/**
 * pjrt-bert: fine-tune BERT from TypeScript on TPUs, GPUs and CPUs through the PJRT C API.
 * This is the package's public entry point.
 */
export * from './runtime/index.js';
export {
  jit,
  grad,
  valueAndGrad,
  ops,
  lax,
  trace,
  Tensor,
  TracedProgram,
  ShapeError,
  matchDonations,
  type JitFunction,
  type JitOptions,
  type DeviceResult,
  type GradOptions,
  type GradientsOf,
  type AuxOf,
  type TensorSpec,
  type TraceOptions,
  type Alias,
  type Tree,
} from './trace/index.js';
