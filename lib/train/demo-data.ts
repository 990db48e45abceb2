/**
 * The built-in data set of `pjrt-bert demo`: short product reviews generated from templates,
 * labelled `negative`, `neutral` or `positive` by the sentiment words they contain (with
 * negation flipping positive and negative), plus the WordPiece vocabulary that covers them.
 * Deterministic for a seed; needs no download.
 */

/** A generated labelled text set. */
export interface DemoDataset {
  texts: string[];
  labels: string[];
  /** Vocabulary lines for vocab.txt: special tokens, then every word of the templates. */
  vocab: string[];
}

const POSITIVE = ['great', 'excellent', 'wonderful', 'lovely', 'perfect', 'fantastic', 'good', 'superb', 'delightful', 'brilliant'];
const NEGATIVE = ['terrible', 'awful', 'poor', 'horrible', 'bad', 'disappointing', 'broken', 'useless', 'dreadful', 'mediocre'];
const NEUTRAL = ['okay', 'average', 'ordinary', 'standard', 'typical', 'fine', 'usual', 'plain', 'normal', 'acceptable'];
const NOUNS = ['phone', 'camera', 'laptop', 'book', 'film', 'meal', 'hotel', 'service', 'game', 'chair', 'jacket', 'car'];
const FILLERS = ['really', 'quite', 'very', 'rather', 'honestly', 'truly', 'mostly', 'overall'];
const TEMPLATES = [
  'the {noun} was {filler} {adj}',
  'i think this {noun} is {adj}',
  'my new {noun} feels {filler} {adj}',
  'what a {adj} {noun}',
  '{filler} , the {noun} is {adj} .',
  'this {noun} was {not} {adj} at all',
  'the {noun} is {not} {adj} , {filler}',
];
/** The special tokens that open every generated vocabulary. */
export const SPECIAL_TOKENS: readonly string[] = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/**
 * mulberry32: a small, fast, well-mixed 32-bit PRNG; the generators of the demo and task data
 * sets share it. Sync; returns a function giving floats in [0, 1), never throws.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Generates `size` reviews with balanced labels. Sync.
 * @throws RangeError for a size below 3.
 */
export function generateDemoDataset(size = 1200, seed = 7): DemoDataset {
  if (!Number.isInteger(size) || size < 3) throw new RangeError(`demo data set size must be an integer >= 3, got ${size}`);
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const texts: string[] = [];
  const labels: string[] = [];
  for (let i = 0; i < size; i++) {
    const label = (['negative', 'neutral', 'positive'] as const)[i % 3]!;
    let template = pick(TEMPLATES);
    const negated = template.includes('{not}');
    if (label === 'neutral' && negated) template = TEMPLATES[0]!; // "not okay" is not neutral
    // With a negation, a positive review uses a negative word and vice versa.
    const words = label === 'neutral' ? NEUTRAL : (label === 'positive') !== negated ? POSITIVE : NEGATIVE;
    texts.push(
      template
        .replace('{noun}', pick(NOUNS))
        .replace('{adj}', pick(words))
        .replace('{filler}', pick(FILLERS))
        .replace('{not}', 'not'),
    );
    labels.push(label);
  }
  const words = new Set<string>();
  for (const template of TEMPLATES) for (const word of template.split(' ')) if (!word.startsWith('{')) words.add(word);
  for (const list of [POSITIVE, NEGATIVE, NEUTRAL, NOUNS, FILLERS, ['not']]) for (const word of list) words.add(word);
  return { texts, labels, vocab: [...SPECIAL_TOKENS, ...[...words].sort()] };
}
