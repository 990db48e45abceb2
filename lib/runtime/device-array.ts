/**
 * `DeviceArray`: an array that lives on one device (one `PJRT_Buffer`), with its dtype and shape.
 */
import type { NativeBuffer } from '../native/binding.js';
import { PjrtError, captureCallSite, rethrowWithCallerStack } from '../native/errors.js';
import { checkHostArray, dtypeOfPjrtType, elementCount, formatType, hostView, type DType, type HostArrayOf } from './dtypes.js';

/**
 * An array on a device. Created by `Runtime.put` or returned by `Executable.execute`.
 * Dispose it (`dispose()` or `using`) when done; a finalizer frees it otherwise, later.
 */
export class DeviceArray<D extends DType = DType> implements Disposable {
  #native: NativeBuffer | undefined;
  #dtype: D | undefined;
  #shape: readonly number[] | undefined;
  #device: number | undefined;

  /** @internal The client (runtime) that made it, when known: only that runtime's programs take it. */
  readonly client: object | undefined;

  /** @internal Wraps a native buffer; `dtype` and `shape` are read from it when not given. */
  constructor(native: NativeBuffer, dtype?: D, shape?: readonly number[], client?: object) {
    this.#native = native;
    this.#dtype = dtype;
    this.#shape = shape;
    this.client = client;
  }

  /** @internal The native buffer; throws PjrtError FAILED_PRECONDITION once disposed. */
  get native(): NativeBuffer {
    if (!this.#native) {
      throw new PjrtError('this DeviceArray was disposed; it can no longer be used', 'FAILED_PRECONDITION', 'DeviceArray', 9);
    }
    return this.#native;
  }

  /** Element type. Sync. */
  get dtype(): D {
    this.#dtype ??= dtypeOfPjrtType(this.native.type) as D;
    return this.#dtype;
  }

  /** Dimensions, outermost first (`[]` for a scalar). Sync. */
  get shape(): readonly number[] {
    this.#shape ??= Object.freeze(this.native.dims);
    return this.#shape;
  }

  /** Index (into `Runtime.devices`) of the device holding the array. Sync. */
  get device(): number {
    this.#device ??= this.native.device; // a buffer never moves: ask PJRT once
    return this.#device;
  }

  /** Bytes the array takes on its device. Sync. */
  get sizeInBytes(): number {
    return this.native.onDeviceSizeInBytes;
  }

  /** True once disposed, deleted, or donated to an execution. Sync. */
  get isDeleted(): boolean {
    return this.#native === undefined || this.#native.isDeleted;
  }

  /**
   * Copies the array to the host. Async.
   * @param into optional destination of the dtype's host type and exact length: reusing one
   *   array avoids allocating (and first-touching) fresh memory on every read.
   * @returns a typed array of the dtype's host type (bf16/f16 as raw Uint16Array bits, pred as
   *   Uint8Array): `into` when given.
   * @throws TypeError for a destination of the wrong type or length; PjrtError if the array was
   *   disposed, deleted or donated.
   */
  async toHost(into?: HostArrayOf[D]): Promise<HostArrayOf[D]> {
    const stack = captureCallSite();
    const dtype = this.dtype;
    if (into !== undefined) {
      checkHostArray(into, dtype);
      const expected = elementCount(this.shape);
      if (into.length !== expected) throw new TypeError(`toHost: destination has ${into.length} elements, ${formatType(dtype, this.shape)} has ${expected}`);
    }
    try {
      if (into !== undefined) return await this.native.toHost(into);
      return hostView(dtype, await this.native.toHost());
    } catch (error) {
      rethrowWithCallerStack(error, stack);
    }
  }

  /** Frees the device memory now; the object stays but can no longer be read. Sync. */
  delete(): void {
    this.native.delete();
  }

  /** Releases the array (idempotent). Sync. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** e.g. `DeviceArray<f32[4,3] on device 0>`. */
  toString(): string {
    if (!this.#native) return 'DeviceArray<disposed>';
    return `DeviceArray<${formatType(this.dtype, this.shape)} on device ${this.device}>`;
  }
}
