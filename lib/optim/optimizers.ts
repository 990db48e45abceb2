/**
 * The table of optimizers, by the name `--optimizer` takes: each row builds an optimizer from
 * the shared settings (learning rate or schedule, betas, eps, weight decay).
 */
import { adamFromSettings, adamwFromSettings } from './adam.js';
import type { Optimizer, OptimizerSettings } from './optimizer.js';

/** Every optimizer, by name. */
export const OPTIMIZERS = {
  /** `torch.optim.Adam`: L2 weight decay added to the gradient. */
  adam: adamFromSettings,
  /** `torch.optim.AdamW`: decoupled weight decay. */
  adamw: adamwFromSettings,
} satisfies Record<string, (settings: OptimizerSettings) => Optimizer>;

/** An optimizer name. */
export type OptimizerName = keyof typeof OPTIMIZERS;

/** The optimizer `name` built from `settings`. Sync; throws RangeError listing the names, or for bad settings. */
export function makeOptimizer(name: string, settings: OptimizerSettings): Optimizer {
  if (!Object.hasOwn(OPTIMIZERS, name)) throw new RangeError(`unknown optimizer '${name}' (known: ${Object.keys(OPTIMIZERS).join(', ')})`);
  return OPTIMIZERS[name as OptimizerName](settings);
}
