/**
 * The table of task heads, by kind: `EncoderFamily.classificationHead` and `--head` name a row.
 * Adding a head is one file (its `Head`, see head.ts) plus one row here.
 */
import { distilbertHead } from './distilbert-head.js';
import { type Head, bertHead, denseOutProjHead, mlpHead, tokenHead } from './head.js';
import { modernBertHead, modernBertTokenHead } from './modernbert-head.js';

/** Every head, by kind. */
export const HEADS = {
  bert: bertHead,
  roberta: denseOutProjHead('tanh'),
  electra: denseOutProjHead('gelu'),
  distilbert: distilbertHead,
  mlp: mlpHead,
  token: tokenHead,
  modernbert: modernBertHead,
  'modernbert-token': modernBertTokenHead,
} satisfies Record<string, Head<never>>;

/** A head kind. */
export type HeadKind = keyof typeof HEADS;

/** The head of `kind`. Sync; throws RangeError listing the kinds. */
export function headOf(kind: string): Head {
  if (!Object.hasOwn(HEADS, kind)) throw new RangeError(`unknown head '${kind}' (known: ${Object.keys(HEADS).join(', ')})`);
  return HEADS[kind as HeadKind] as unknown as Head;
}
