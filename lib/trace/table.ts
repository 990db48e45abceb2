/**
 * The primitive table: every primitive's shape rule, lowering and VJP, gathered from the rule
 * modules. Its type, {@link PrimitiveTable}, lists every name of `ParamsOf`, so leaving a
 * primitive out (or any of its three rules) is a compile error.
 */
import type { PrimitiveTable } from './primitive.js';
import { contractionRules } from './rules/contraction.js';
import { controlRules } from './rules/control.js';
import { elementwiseRules } from './rules/elementwise.js';
import { indexingRules } from './rules/indexing.js';
import { structuralRules } from './rules/structural.js';

/** Every primitive's rules, by name. */
export const PRIMITIVES: PrimitiveTable = {
  ...elementwiseRules,
  ...structuralRules,
  ...contractionRules,
  ...indexingRules,
  ...controlRules,
};
