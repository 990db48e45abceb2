/** The runtime layer: typed, disposable access to PJRT plugins, devices, programs and arrays. */
export { Runtime, machineHasTpu, type Device, type PutOptions, type RuntimeOptions } from './runtime.js';
export { DeviceArray } from './device-array.js';
export { Executable, type ExecuteOptions } from './executable.js';
export { encodeCompileOptions, type CompileOptions } from './compile-options.js';
export { CompileCache, compileCacheKey, type CompileStats, type CompilerIdentity } from './compile-cache.js';
export { DTYPES, dtypeBytes, elementCount, isDType, type DType, type HostArray, type HostArrayOf } from './dtypes.js';
export { mainParameterTypes, type TensorType } from './mlir-signature.js';
export { SerializedExecutableError } from './serialized-executable.js';
export { INSTALL_COMMANDS, isPluginName, pluginCandidates, resolvePlugin, type PluginName } from './plugin-discovery.js';
export { CPU_PLUGINS, PJRT_HEADER, compileCacheDir, installCacheDir, installCpuPlugin, pluginCacheDir, provisionHeader } from './provision.js';
export { PjrtError, type PjrtErrorCode } from '../native/errors.js';
