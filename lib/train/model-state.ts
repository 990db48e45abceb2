/**
 * The state the `Trainer`, its training runs and its evaluations share: what model is being
 * trained, and moving its parameters between the host and the devices. Apart from `trainer.ts`
 * so that `training-run.ts` and `evaluation.ts`, which `trainer.ts` imports, need not import it
 * back.
 */
import type { HostParam, ModelParams, ModelSpec } from '../models/index.js';
import type { DeviceArray, Runtime } from '../runtime/index.js';

/** The model being trained: architecture and host parameters (between runs). */
export interface ModelState {
  spec: ModelSpec;
  params: ModelParams<HostParam>;
}

/**
 * Copies host parameters to device `device` (default 0), keeping the record's order. Async;
 * rejects with TypeError/PjrtError from `Runtime.put`.
 */
export async function putParams(runtime: Runtime, params: ModelParams<HostParam>, device = 0): Promise<ModelParams<DeviceArray>> {
  const entries = await Promise.all(Object.entries(params).map(async ([name, tensor]) => [name, await runtime.put(tensor.data, tensor.shape, { device })] as const));
  return Object.fromEntries(entries);
}

/** Copies device parameters back to host f32 tensors, keeping the record's order. Async; rejects with PjrtError, TypeError for a non-f32 array. */
export async function getParams(params: ModelParams<DeviceArray>): Promise<ModelParams<HostParam>> {
  const entries = await Promise.all(
    Object.entries(params).map(async ([name, array]) => {
      if (array.dtype !== 'f32') throw new TypeError(`getParams: ${name} is ${array.dtype}, expected f32`);
      return [name, { dtype: 'f32', shape: [...array.shape], data: (await array.toHost()) as Float32Array } satisfies HostParam] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** Disposes every array of a parameter record (or any record of arrays). Sync; never throws. */
export function disposeAll(arrays: Readonly<Record<string, DeviceArray>>): void {
  for (const array of Object.values(arrays)) array.dispose();
}
