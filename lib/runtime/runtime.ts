/**
 * `Runtime`: one PJRT plugin and one client over its devices. The entry point of the runtime
 * layer:
 *
 *     const rt = await Runtime.open({ plugin: 'cpu', cpuDevices: 8 });
 *     const exe = await rt.compile(stablehloText, { replicas: 8 });
 *     const x = await rt.put(new Float32Array([1, 2, 3, 4]), [4], { device: 3 });
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadAddon, type ApiVersion, type NamedValue, type NativeClient, type NativeMemoryStats, type NativePlugin } from '../native/binding.js';
import { PjrtError, captureCallSite, rethrowWithCallerStack } from '../native/errors.js';
import { CompileCache, compileCacheKey, type CompileStats, type CompilerIdentity } from './compile-cache.js';
import { encodeCompileOptions, type CompileOptions } from './compile-options.js';
import { DeviceArray } from './device-array.js';
import { checkHostArray, dtypeOfHostArray, elementCount, formatType, pjrtBufferType, type DType, type HostArrayOf } from './dtypes.js';
import { Executable, type ExecutableOrigin } from './executable.js';
import { mainParameterTypes, type TensorType } from './mlir-signature.js';
import { SerializedExecutableError, decodeSerializedExecutable } from './serialized-executable.js';
import { pinnedCpuPlugin, resolvePlugin } from './plugin-discovery.js';

/** Options of {@link Runtime.open}. */
export interface RuntimeOptions {
  /** `'cpu'` (default), `'tpu'`, `'cuda'`, or the path of a PJRT plugin `.so`. */
  plugin?: string;
  /**
   * Number of virtual devices of a CPU plugin (`cpu_device_count`; the plugin's default is 4).
   * Sent only when the plugin's platform is `cpu`; other plugins ignore it.
   */
  cpuDevices?: number;
  /** Extra `PJRT_Client_Create` options, sent as given (integers as int64). */
  createOptions?: Record<string, number | string | boolean | number[]>;
  /**
   * Folder of the on-disk compile cache: compiled programs are stored there and loaded instead
   * of compiled on later runs. Default: none.
   */
  compileCache?: string;
}

/** One addressable device. */
export interface Device {
  /** Position in `Runtime.devices`; what `put({ device })` takes. */
  index: number;
  /** The plugin's global device id (what device assignments use). */
  id: number;
  /** e.g. `cpu`, `TPU v2`, `NVIDIA H100 80GB HBM3`. */
  kind: string;
  localHardwareId?: number;
  processIndex?: number;
  debugString: string;
}

/** Options of {@link Runtime.put}. */
export interface PutOptions<D extends DType = DType> {
  /** Device index (into `Runtime.devices`), default 0. */
  device?: number;
  /** Element type; default from the typed array (required for Uint16Array: `bf16` or `f16`). */
  dtype?: D;
}

/**
 * True if this machine shows TPU devices (`/dev/accel*` or `/dev/vfio/<n>`). A libtpu client
 * must never be created elsewhere: it would call a cloud metadata server. Sync.
 */
export function machineHasTpu(): boolean {
  const dev = (dir: string, pattern: RegExp) => existsSync(dir) && readdirSync(dir).some((name) => pattern.test(name));
  return dev('/dev', /^accel\d+$/) || dev('/dev/vfio', /^\d+$/);
}

function isTpuPlugin(name: string, file: string): boolean {
  return name === 'tpu' || /libtpu/.test(path.basename(file));
}

/** Platform name of each plugin file opened in this realm (a plugin's platform never changes). */
const platforms = new Map<string, string>();

/**
 * Opens a client, adding `cpu_device_count` only where the platform is `cpu` (see
 * {@link Runtime.open}). Async; throws PjrtError.
 */
async function createClient(plugin: NativePlugin, options: NamedValue[], cpuDevices: number | undefined): Promise<NativeClient> {
  const withCount = (): NamedValue[] => [...options, { name: 'cpu_device_count', type: 'int64', value: cpuDevices! }];
  const known = platforms.get(plugin.path);
  if (cpuDevices !== undefined && known === 'cpu') return plugin.createClient(withCount());
  const client = await plugin.createClient(options);
  const platform = client.platformName;
  platforms.set(plugin.path, platform);
  if (cpuDevices === undefined || platform !== 'cpu' || client.devices().length === cpuDevices) return client;
  client.close();
  return plugin.createClient(withCount());
}

/**
 * Reports, once per process and plugin, a plugin whose PJRT minor version is newer than the
 * header's (`process.emitWarning`, type `PjrtVersionWarning`): it usually works, but a call whose
 * argument struct grew since the header fails. Not called for the pinned CPU plugins installed by
 * `pjrt-bert plugin install cpu` (see `pinnedCpuPlugin`): the test suite runs them with this
 * header. Sync.
 */
function warnIfNewerApi(plugin: NativePlugin): void {
  if (!plugin.claimNewerApiWarning()) return;
  const { major, minor } = plugin.apiVersion;
  const header = loadAddon().headerApiVersion;
  process.emitWarning(
    `PJRT plugin ${plugin.path} implements PJRT C API ${major}.${minor}, newer than the ${header.major}.${header.minor} ` +
      `header this build of pjrt-bert was compiled against. Newer plugins accept older argument structs, so it should ` +
      `work; a call that fails with a PjrtError about a struct size needs pjrt-bert rebuilt against a pjrt_c_api.h of ` +
      `API ${major}.${minor} or later (npm run build:native).`,
    { type: 'PjrtVersionWarning', code: 'PJRT_BERT_NEWER_PLUGIN_API' },
  );
}

/**
 * A PJRT client over one plugin's devices. Create with {@link Runtime.open}; dispose when done
 * (buffers and executables made from it keep the underlying client alive until they go too).
 */
export class Runtime implements Disposable {
  #client: NativeClient | undefined;
  readonly #plugin: NativePlugin;
  readonly #cache: CompileCache | undefined;
  /** Addressable devices, in the plugin's order. */
  readonly devices: readonly Device[];
  /** What `compile` has done so far: programs compiled, and loaded from the compile cache. */
  readonly compileStats: CompileStats = { compiled: 0, cacheHits: 0 };

  private constructor(plugin: NativePlugin, client: NativeClient, cacheDir: string | undefined) {
    this.#plugin = plugin;
    this.#client = client;
    this.#cache = cacheDir ? new CompileCache(cacheDir) : undefined;
    this.devices = Object.freeze(client.devices().map((device) => Object.freeze({ ...device })));
  }

  /**
   * Loads the plugin and opens a client. Async.
   *
   * `cpu_device_count` is sent only to a plugin whose platform is `cpu`, as PJRT plugins refuse
   * options they do not know. The platform is the client's own `PJRT_Client_PlatformName`: the
   * first time a plugin is opened with `cpuDevices` in this process, a client without the option
   * tells it (that client is kept when it is not a CPU client or already has `cpuDevices`
   * devices; otherwise it is closed and a second one created: about 2 ms more on the first open
   * of the CPU plugin, measured here).
   * @throws Error when the plugin is not installed (naming the install command) or when a TPU
   *   plugin is asked for on a machine without TPUs; TypeError for a bad `cpuDevices`; PjrtError
   *   for API-version mismatches and client-creation failures.
   */
  static async open(options: RuntimeOptions = {}): Promise<Runtime> {
    const stack = captureCallSite();
    const name = options.plugin ?? 'cpu';
    const file = resolvePlugin(name);
    if (isTpuPlugin(name, file) && !machineHasTpu()) {
      throw new Error(
        'pjrt-bert: this machine has no TPU (/dev/accel* or /dev/vfio), so no libtpu client is created ' +
          '(it would contact a cloud metadata server). Use --plugin cpu or cuda here.',
      );
    }
    const { cpuDevices } = options;
    if (cpuDevices !== undefined && (!Number.isInteger(cpuDevices) || cpuDevices < 1)) {
      throw new TypeError(`cpuDevices must be a positive integer, got ${cpuDevices}`);
    }
    const createOptions: NamedValue[] = [];
    for (const [key, value] of Object.entries(options.createOptions ?? {})) {
      const type = Array.isArray(value) ? 'int64list' : typeof value === 'string' ? 'string' : typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? 'int64' : 'float';
      createOptions.push({ name: key, type, value });
    }
    try {
      const plugin = loadAddon().loadPlugin(file);
      if (!pinnedCpuPlugin(file)) warnIfNewerApi(plugin);
      const client = await createClient(plugin, createOptions, cpuDevices);
      return new Runtime(plugin, client, options.compileCache);
    } catch (error) {
      rethrowWithCallerStack(error, stack);
    }
  }

  get #live(): NativeClient {
    if (!this.#client) throw new PjrtError('this Runtime was disposed; open a new one', 'FAILED_PRECONDITION', 'Runtime', 9);
    return this.#client;
  }

  /** Folder of this runtime's on-disk compile cache, or undefined when it has none. Sync. */
  get compileCacheDir(): string | undefined {
    return this.#cache?.dir;
  }

  /** Path of the loaded plugin file. Sync. */
  get pluginPath(): string {
    return this.#plugin.path;
  }

  /** PJRT C API version the plugin implements. Sync. */
  get apiVersion(): ApiVersion {
    return this.#plugin.apiVersion;
  }

  /** PJRT C API version of the header pjrt-bert was built against. Sync. */
  static get headerApiVersion(): ApiVersion {
    return loadAddon().headerApiVersion;
  }

  /** The plugin's attributes (`PJRT_Plugin_Attributes`), e.g. its StableHLO versions. Sync. */
  get pluginAttributes(): Record<string, string | number | boolean | number[]> {
    return this.#plugin.attributes();
  }

  /** Platform name, e.g. `cpu`, `tpu`, `cuda`. Sync. */
  get platformName(): string {
    return this.#live.platformName;
  }

  /** Platform version string. Sync. */
  get platformVersion(): string {
    return this.#live.platformVersion;
  }

  /** Memory statistics of a device, or null where the plugin reports none (the CPU plugin). Sync. */
  memoryStats(device = 0): NativeMemoryStats | null {
    this.#checkDevice(device, 'memoryStats');
    return this.#live.memoryStats(device);
  }

  /**
   * Compiles StableHLO (MLIR text or bytecode) for `replicas` x `partitions` devices, or loads
   * it from the compile cache when the runtime has one. Async.
   * @throws TypeError for bad options; PjrtError (INVALID_ARGUMENT / UNKNOWN) with the compiler's
   *   message for invalid programs.
   */
  async compile(code: string | Uint8Array, options: CompileOptions = {}): Promise<Executable> {
    const stack = captureCallSite();
    const client = this.#live;
    const replicas = options.replicas ?? 1;
    const partitions = options.partitions ?? 1;
    if (replicas * partitions > this.devices.length) {
      throw new TypeError(`compile: ${replicas} replica(s) x ${partitions} partition(s) need ${replicas * partitions} devices, this runtime has ${this.devices.length}`);
    }
    const deviceAssignment =
      options.deviceAssignment ??
      Array.from({ length: partitions }, (_, p) => Array.from({ length: replicas }, (_, r) => this.devices[p * replicas + r]!.id));
    const bytes = encodeCompileOptions({ ...options, replicas, partitions, deviceAssignment });
    const parameters = typeof code === 'string' ? mainParameterTypes(code) : undefined;
    const key = this.#cache && compileCacheKey(code, bytes, this.#compilerIdentity());
    try {
      const cached = key && this.#cache!.read(key);
      if (cached) {
        try {
          const executable = await this.#load(cached);
          this.compileStats.cacheHits++;
          return executable;
        } catch {
          // A stale, foreign or corrupt entry: compile again and overwrite it.
        }
      }
      const executable = new Executable(await client.compile(code, bytes), parameters, this.#origin());
      this.compileStats.compiled++;
      if (key) this.#cache!.write(key, executable.serialize());
      return executable;
    } catch (error) {
      rethrowWithCallerStack(error, stack);
    }
  }

  /**
   * Loads an executable produced by `Executable.serialize()` on the same platform. It checks its
   * arguments as the executable it was serialized from did (the signature travels in the
   * bytes). Async.
   * @throws SerializedExecutableError for bytes without pjrt-bert's signature header (raw PJRT
   *   bytes), a corrupt or truncated header or executable, or another platform's executable;
   *   PjrtError when PJRT cannot load it.
   */
  async deserialize(bytes: Uint8Array): Promise<Executable> {
    const stack = captureCallSite();
    try {
      return await this.#load(bytes);
    } catch (error) {
      rethrowWithCallerStack(error, stack);
    }
  }

  async #load(bytes: Uint8Array): Promise<Executable> {
    const { header, payload } = decodeSerializedExecutable(bytes);
    const client = this.#live;
    if (header.platform !== client.platformName) {
      throw new SerializedExecutableError(
        `Runtime.deserialize: this executable was compiled for platform '${header.platform}' (${header.platformVersion}); ` +
          `this runtime's platform is '${client.platformName}'. Compile the program again with this runtime.`,
      );
    }
    const executable = new Executable(await client.deserialize(payload), header.parameters ?? undefined, this.#origin());
    const outputs = executable.outputs;
    const same = outputs.length === header.outputs.length && outputs.every((o, i) => o.dtype === header.outputs[i]!.dtype && o.shape.join() === header.outputs[i]!.shape.join());
    if (!same) {
      executable.dispose();
      const list = (types: readonly TensorType[]) => types.map((o) => formatType(o.dtype, o.shape)).join(', ');
      throw new SerializedExecutableError(
        `Runtime.deserialize: the signature header lists outputs (${list(header.outputs)}) but the executable has (${list(outputs)}): ` +
          'the data is corrupt. Compile the program again.',
      );
    }
    return executable;
  }

  /**
   * Copies a host typed array to a device. Async; `data` may be reused once the promise settles.
   * @throws TypeError when the data's length does not match `shape`, the typed array does not fit
   *   the dtype, or the device index is out of range; PjrtError if the transfer fails.
   */
  async put<D extends DType>(data: HostArrayOf[D] | ArrayBufferView, shape: readonly number[], options: PutOptions<D> = {}): Promise<DeviceArray<D>> {
    const stack = captureCallSite();
    const client = this.#live;
    const dtype = (options.dtype ?? dtypeOfHostArray(data)) as D;
    checkHostArray(data, dtype);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new TypeError(`put: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const count = elementCount(shape);
    const length = (data as { length?: number }).length ?? data.byteLength;
    if (length !== count) throw new TypeError(`put: shape [${shape.join(',')}] has ${count} elements but the data has ${length}`);
    const device = options.device ?? 0;
    this.#checkDevice(device, 'put');
    try {
      const native = await client.bufferFromHost(data, pjrtBufferType(dtype), [...shape], device);
      return new DeviceArray(native, dtype, Object.freeze([...shape]), client);
    } catch (error) {
      rethrowWithCallerStack(error, stack);
    }
  }

  #origin(): ExecutableOrigin {
    return { platform: this.platformName, platformVersion: this.platformVersion, client: this.#live };
  }

  #compilerIdentity(): CompilerIdentity {
    const { major, minor } = this.#plugin.apiVersion;
    return { pluginPath: this.#plugin.path, apiVersion: `${major}.${minor}`, platform: this.platformName, platformVersion: this.platformVersion };
  }

  #checkDevice(device: number, what: string): void {
    if (!Number.isInteger(device) || device < 0 || device >= this.devices.length) {
      throw new TypeError(`${what}: device ${device} does not exist; this runtime has devices 0..${this.devices.length - 1}`);
    }
  }

  /** Closes the client (idempotent). Sync. Arrays and executables still alive keep it open until disposed. */
  dispose(): void {
    this.#client?.close();
    this.#client = undefined;
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
