/**
 * `Executable`: a compiled program, replicated over one or more devices.
 */
import type { NativeExecutable } from '../native/binding.js';
import { PjrtError, captureCallSite, rethrowWithCallerStack } from '../native/errors.js';
import { DeviceArray } from './device-array.js';
import { sameShape } from '../base/shapes.js';
import { dtypeOfPjrtType, formatType } from './dtypes.js';
import type { TensorType } from './mlir-signature.js';
import { encodeSerializedExecutable } from './serialized-executable.js';

/** @internal The platform a program was compiled for, recorded by `serialize()`. */
export interface ExecutableOrigin {
  platform: string;
  platformVersion: string;
  /** The runtime's client: arrays of another client cannot be arguments. */
  client?: object;
}

/** Options of {@link Executable.execute}. */
export interface ExecuteOptions {
  /**
   * Whether inputs that the program aliases to outputs (`tf.aliasing_output`) are donated, i.e.
   * their device memory is reused for the outputs and the input arrays become deleted. Default
   * true; `false` keeps every input, a list keeps just those parameter indices.
   */
  donate?: boolean | { keep: number[] };
}

/**
 * A program compiled for `numReplicas` devices. Created by `Runtime.compile` /
 * `Runtime.deserialize`; dispose it when done.
 */
export class Executable implements Disposable {
  #native: NativeExecutable | undefined;
  readonly #parameters: TensorType[] | undefined;
  readonly #outputs: TensorType[];
  readonly #devices: readonly number[];
  readonly #origin: ExecutableOrigin;

  /** @internal */
  constructor(native: NativeExecutable, parameters: TensorType[] | undefined, origin: ExecutableOrigin) {
    this.#native = native;
    this.#parameters = parameters;
    this.#origin = origin;
    const dims = native.outputDims;
    this.#outputs = native.outputTypes.map((type, i) => ({ dtype: dtypeOfPjrtType(type), shape: dims[i] ?? [] }));
    this.#devices = Object.freeze(native.devices);
  }

  /** @internal The native executable; throws PjrtError FAILED_PRECONDITION once disposed. */
  get native(): NativeExecutable {
    if (!this.#native) throw new PjrtError('this Executable was disposed; compile it again', 'FAILED_PRECONDITION', 'Executable', 9);
    return this.#native;
  }

  /** Number of replicas (argument lists per call). Sync. */
  get numReplicas(): number {
    return this.#devices.length;
  }

  /** Device index (into `Runtime.devices`) that runs each replica. Sync. */
  get devices(): readonly number[] {
    return this.#devices;
  }

  /** Parameter types of `@main`, when they could be read from the program text. Sync. */
  get parameters(): readonly TensorType[] | undefined {
    return this.#parameters;
  }

  /** Output types, per replica. Sync. */
  get outputs(): readonly TensorType[] {
    return this.#outputs;
  }

  /**
   * Runs the program once on every replica. Async: resolves when all replicas have finished.
   * @param args one argument list per replica (`args[replica][parameter]`); a flat list is
   *   accepted for a single replica. Replica r's arrays must live on device `devices[r]`.
   * @returns `outputs[replica][output]`.
   * @throws TypeError for a wrong number of lists or arguments, a wrong shape, dtype or device
   *   (named before PJRT is called); PjrtError if PJRT fails.
   */
  async execute(args: readonly DeviceArray[] | readonly (readonly DeviceArray[])[], options: ExecuteOptions = {}): Promise<DeviceArray[][]> {
    const stack = captureCallSite();
    const native = this.native;
    const lists = (args.length > 0 && Array.isArray(args[0]) ? args : [args]) as readonly (readonly DeviceArray[])[];
    this.#checkArguments(lists);
    const donate = options.donate ?? true;
    const nonDonatable = donate === true ? undefined : donate === false ? lists[0]!.map((_, i) => i) : donate.keep;
    try {
      const results = await native.execute(
        lists.map((list) => list.map((array) => array.native)),
        nonDonatable ? { nonDonatable } : undefined,
      );
      const outputs = this.#outputs;
      return results.map((row) => row.map((buffer, i) => new DeviceArray(buffer, outputs[i]?.dtype, outputs[i]?.shape, this.#origin.client)));
    } catch (error) {
      rethrowWithCallerStack(error, stack);
    }
  }

  #checkArguments(lists: readonly (readonly DeviceArray[])[]): void {
    if (lists.length !== this.numReplicas) {
      throw new TypeError(`execute: this program runs on ${this.numReplicas} replica(s) and needs ${this.numReplicas} argument list(s), got ${lists.length}`);
    }
    const parameters = this.#parameters;
    lists.forEach((list, replica) => {
      if (parameters && list.length !== parameters.length) {
        throw new TypeError(
          `execute: @main takes ${parameters.length} argument(s) (${parameters.map((p) => formatType(p.dtype, p.shape)).join(', ')}), ` +
            `replica ${replica} got ${list.length}`,
        );
      }
      list.forEach((array, i) => {
        if (!(array instanceof DeviceArray)) throw new TypeError(`execute: argument ${i} of replica ${replica} is not a DeviceArray`);
        const expected = parameters?.[i];
        if (expected && (array.dtype !== expected.dtype || !sameShape(array.shape, expected.shape))) {
          throw new TypeError(
            `execute: argument ${i} of replica ${replica} is ${formatType(array.dtype, array.shape)}, ` +
              `@main expects ${formatType(expected.dtype, expected.shape)}`,
          );
        }
        if (array.client !== undefined && this.#origin.client !== undefined && array.client !== this.#origin.client) {
          throw new TypeError(`execute: argument ${i} of replica ${replica} was made by another Runtime (another PJRT client); an array can only be used with the runtime that made it: put the data with this runtime (rt.put(...))`);
        }
        const device = this.#devices[replica]!;
        if (array.device !== device) {
          throw new TypeError(`execute: argument ${i} of replica ${replica} is on device ${array.device}, but replica ${replica} runs on device ${device}; put it there (rt.put(..., { device: ${device} }))`);
        }
      });
    });
  }

  /**
   * Serializes the compiled program, with its signature (parameter and output types) and
   * platform in a small header, for `Runtime.deserialize` (and the compile cache). Sync.
   * @throws PjrtError.
   */
  serialize(): Uint8Array {
    const payload = this.native.serialize();
    const { platform, platformVersion } = this.#origin;
    return encodeSerializedExecutable({ platform, platformVersion, parameters: this.#parameters ?? null, outputs: this.#outputs.map((o) => ({ dtype: o.dtype, shape: [...o.shape] })) }, payload);
  }

  /** Releases the program (idempotent). Sync. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
