/**
 * `DeviceArray`: an array that lives on one device (one `PJRT_Buffer`), with its dtype and shape.
 */
import type { NativeBuffer } from '../native/binding.js';
import { PjrtError, captureCallSite, rethrowWithCallerStack } from '../native/errors.js';
import { dtypeOfPjrtType, formatType, hostView, type DType, type HostArrayOf } from './dtypes.js';

/**
 * An array on a device. Created by `Runtime.put` or returned by `Executable.execute`.
 * Dispose it (`dispose()` or `using`) when done; a finalizer frees it otherwise, later.
 */
export class DeviceArray<D extends DType = DType> implements Disposable {
  #native: NativeBuffer | undefined;
  #dtype: D | undefined;
  #shape: readonly number[] | undefined;

  /** @internal Wraps a native buffer; `dtype` and `shape` are read from it when not given. */
  constructor(native: NativeBuffer, dtype?: D, shape?: readonly number[]) {
    this.#native = native;
    this.#dtype = dtype;
    this.#shape = shape;
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
    return this.native.device;
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
   * @returns a typed array of the dtype's host type (bf16/f16 as raw Uint16Array bits, pred as Uint8Array).
   * @throws PjrtError if the array was disposed, deleted or donated.
   */
  async toHost(): Promise<HostArrayOf[D]> {
    const stack = captureCallSite();
    const dtype = this.dtype;
    try {
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
