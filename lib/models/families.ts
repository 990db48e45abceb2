/**
 * The table of encoder families, keyed by family name; a config.json's `model_type` picks its
 * row. Adding a family is one module implementing `EncoderFamily` plus one row here.
 */
import { bert } from './bert.js';
import { distilbert } from './distilbert.js';
import { electra } from './electra.js';
import { type EncoderFamily, erased } from './family.js';
import { roberta, xlmRoberta } from './roberta.js';
import { modernbert } from './modernbert.js';
import { FileFormatError } from '../base/errors.js';

/** Every supported family. */
export const FAMILIES = {
  bert: erased(bert),
  roberta: erased(roberta),
  'xlm-roberta': erased(xlmRoberta),
  distilbert: erased(distilbert),
  electra: erased(electra),
  modernbert: erased(modernbert),
} satisfies Record<string, EncoderFamily>;

/** A family name. */
export type FamilyName = keyof typeof FAMILIES;

/** Every `model_type` this package reads, for messages. */
export function supportedModelTypes(): string[] {
  return Object.values(FAMILIES).flatMap((family) => [...family.modelTypes]);
}

/**
 * The family of a config.json's `model_type` (a config without one is taken as BERT, as the
 * first checkpoints were). Sync; throws FileFormatError naming `file`, the model type and the
 * supported ones.
 */
export function familyOfModelType(modelType: unknown, file: string): EncoderFamily {
  if (modelType === undefined) return FAMILIES.bert;
  const family = Object.values(FAMILIES).find((f) => (f.modelTypes as readonly unknown[]).includes(modelType));
  if (!family) throw new FileFormatError(file, `model_type ${JSON.stringify(modelType)} is not supported (supported: ${supportedModelTypes().join(', ')})`);
  return family;
}

/** The family named `name`. Sync; throws RangeError listing the families. */
export function familyNamed(name: string): EncoderFamily {
  if (!Object.hasOwn(FAMILIES, name)) throw new RangeError(`unknown model family '${name}' (known: ${Object.keys(FAMILIES).join(', ')})`);
  return FAMILIES[name as FamilyName];
}
