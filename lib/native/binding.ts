/**
 * Loads the native addon (`pjrt_bert.node`) and describes, as one TypeScript interface, exactly
 * what `native/` exports. Nothing here adds policy: the runtime layer builds on these types.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root.js';
import { PjrtError } from './errors.js';

/** `{major, minor}` of a PJRT C API. */
export interface ApiVersion {
  major: number;
  minor: number;
}

/** One create option for `PJRT_Client_Create`. */
export interface NamedValue {
  name: string;
  type: 'int64' | 'string' | 'bool' | 'float' | 'int64list';
  value: number | string | boolean | number[];
}

/** An addressable device as the native layer reports it. */
export interface NativeDeviceInfo {
  index: number;
  id: number;
  kind: string;
  processIndex?: number;
  localHardwareId?: number;
  debugString: string;
}

/** Device memory statistics (`PJRT_Device_MemoryStats`); fields the plugin leaves unset are absent. */
export interface NativeMemoryStats {
  bytesInUse: number;
  peakBytesInUse?: number;
  bytesLimit?: number;
  numAllocs?: number;
  largestAllocSize?: number;
}

/** A loaded plugin (`PJRT_Api`). */
export interface NativePlugin {
  readonly apiVersion: ApiVersion;
  readonly path: string;
  attributes(): Record<string, string | number | boolean | number[]>;
  createClient(options: NamedValue[]): Promise<NativeClient>;
  /**
   * True once per process for a plugin whose PJRT minor version is newer than the header's (the
   * caller reports it); false otherwise and on every later call.
   */
  claimNewerApiWarning(): boolean;
}

/** A `PJRT_Client`. */
export interface NativeClient {
  readonly platformName: string;
  readonly platformVersion: string;
  devices(): NativeDeviceInfo[];
  memoryStats(device: number): NativeMemoryStats | null;
  compile(code: string | Uint8Array, options: Uint8Array): Promise<NativeExecutable>;
  deserialize(bytes: Uint8Array): Promise<NativeExecutable>;
  bufferFromHost(data: ArrayBufferView, type: number, dims: number[], device: number): Promise<NativeBuffer>;
  close(): void;
}

/** A `PJRT_Buffer`. */
export interface NativeBuffer {
  readonly type: number;
  readonly dims: number[];
  readonly onDeviceSizeInBytes: number;
  readonly device: number;
  readonly isDeleted: boolean;
  toHost(): Promise<ArrayBuffer>;
  toHost<T extends ArrayBufferView>(into: T): Promise<T>;
  delete(): void;
  dispose(): void;
}

/** A `PJRT_LoadedExecutable`. */
export interface NativeExecutable {
  readonly name: string;
  readonly numReplicas: number;
  readonly numOutputs: number;
  readonly outputTypes: number[];
  readonly outputDims: number[][];
  readonly devices: number[];
  execute(argLists: NativeBuffer[][], options?: { nonDonatable?: number[]; launchId?: number }): Promise<NativeBuffer[][]>;
  serialize(): Uint8Array;
  dispose(): void;
}

/** Everything the addon exports. */
export interface NativeAddon {
  loadPlugin(path: string): NativePlugin;
  setErrorClass(ctor: typeof PjrtError): void;
  readonly headerApiVersion: ApiVersion;
  readonly bufferTypes: Record<'PRED' | 'S8' | 'S16' | 'S32' | 'S64' | 'U8' | 'U16' | 'U32' | 'U64' | 'F16' | 'F32' | 'F64' | 'BF16', number>;
}

let cached: NativeAddon | undefined;

/** Where the addon is looked for, in order: `$PJRT_BERT_ADDON`, then cmake-js / node-gyp output. */
export function addonCandidates(): string[] {
  const root = packageRoot();
  const fromEnv = process.env.PJRT_BERT_ADDON;
  return [
    ...(fromEnv ? [path.resolve(fromEnv)] : []),
    path.join(root, 'build', 'Release', 'pjrt_bert.node'),
    path.join(root, 'build', 'Debug', 'pjrt_bert.node'),
  ];
}

/**
 * Loads the addon once and registers {@link PjrtError} with it. Sync.
 * @throws Error naming the searched paths and the build command when no addon is built.
 */
export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const candidates = addonCandidates();
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new Error(
      `pjrt-bert: the native addon is not built (looked for ${candidates.join(', ')}). ` +
        'Run `npm run build:native` in the pjrt-bert package folder.',
    );
  }
  const require = createRequire(import.meta.url);
  const addon = require(found) as NativeAddon;
  addon.setErrorClass(PjrtError);
  cached = addon;
  return addon;
}
