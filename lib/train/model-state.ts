/**
 * The state the `Trainer`, its training runs and its evaluations share: what model is being
 * trained. Apart from `trainer.ts` so that `training-run.ts` and `evaluation.ts`, which
 * `trainer.ts` imports, need not import it back.
 */
import type { Tensor as HostTensor } from '../io/tensor.js';
import type { BertParams, BertSpec } from '../models/bert.js';

/** The model being trained: architecture, host parameters (between runs), tokenizer. */
export interface ModelState {
  spec: BertSpec;
  params: BertParams<HostTensor<'f32'>>;
}
