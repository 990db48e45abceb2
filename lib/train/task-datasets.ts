/**
 * Generated data sets, one per fine-tuning task, for the README's worked examples and the tests
 * (as `demo-data.ts` is for classification): every word is written here, no third-party data.
 * Each generator is deterministic for a seed and returns its examples plus the WordPiece
 * vocabulary that covers them (special tokens, then every word, sorted), all lower case as the
 * demo's (an uncased vocabulary); `task-dataset-files.ts` writes them as the files the CLI reads.
 *
 * - `generatePairDataset`: premise/hypothesis -> entailment, neutral or contradiction (a small
 *   NLI set); the label depends on how the hypothesis relates to the premise (same facts, one
 *   more fact, a negated or changed fact), so a model must read both segments.
 * - `generateRegressionDataset`: sentence pairs -> a similarity score 0-5: one point per slot
 *   (adjective, noun, verb, adjective, noun) the sentences share, 0.8 for a synonym.
 * - `generateMultiLabelDataset`: texts mentioning 0-3 topics -> those topics.
 * - `generateTokenDataset`: sentences with PER/LOC/ORG entities tagged in IOB2, many of several
 *   words (`maria silva`, `rio de janeiro`, `blue river labs`), a title before some names.
 */
import { SPECIAL_TOKENS, seededRandom } from './demo-data.js';

/** Sentence pairs with a relation label (natural-language inference). */
export interface PairDataset {
  readonly task: 'pairs';
  /** Premises (first segments). */
  texts: string[];
  /** Hypotheses (second segments), one per premise. */
  pairs: string[];
  /** `entailment`, `neutral` or `contradiction`, one per pair. */
  labels: string[];
  vocab: string[];
}

/** Sentence pairs with a similarity score. */
export interface RegressionDataset {
  readonly task: 'regression';
  texts: string[];
  pairs: string[];
  /** Similarity of each pair, 0 (unrelated) to 5 (same meaning), one decimal. */
  scores: number[];
  vocab: string[];
}

/** Texts with a set of topic labels each. */
export interface MultiLabelDataset {
  readonly task: 'multi-label';
  texts: string[];
  /** The topics of each text, in the order of `names` (an empty list for a text without topic). */
  labels: string[][];
  /** Every topic, sorted. */
  names: string[];
  vocab: string[];
}

/** Sentences with one IOB2 tag per word. */
export interface TokenDataset {
  readonly task: 'token-classification';
  sentences: { words: string[]; tags: string[] }[];
  /** The tags, `O` first, then `B-`/`I-` of each entity type. */
  tagNames: string[];
  vocab: string[];
}

/** Any generated task data set. */
export type TaskDataset = PairDataset | RegressionDataset | MultiLabelDataset | TokenDataset;

function checkSize(name: string, size: number, minimum: number): void {
  if (!Number.isInteger(size) || size < minimum) throw new RangeError(`${name} data set size must be an integer >= ${minimum}, got ${size}`);
}

/** A picker over the seeded generator: `pick(list)`, `chance(p)`, `int(n)`, `shuffle(list)`. */
function randomTools(seed: number) {
  const next = seededRandom(seed);
  const int = (n: number): number => Math.floor(next() * n);
  return {
    int,
    chance: (p: number): boolean => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
    other: <T>(items: readonly T[], not: T): T => {
      const rest = items.filter((item) => item !== not);
      return rest[int(rest.length)]!;
    },
    shuffle: <T>(items: readonly T[]): T[] => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}

/** Special tokens, then every word of `texts` once, sorted. */
function vocabularyOf(texts: Iterable<string>): string[] {
  const words = new Set<string>();
  for (const text of texts) for (const word of text.split(' ')) if (word !== '') words.add(word);
  return [...SPECIAL_TOKENS, ...[...words].sort()];
}

// ---- sentence pairs (NLI) ----

const PEOPLE = ['man', 'woman', 'boy', 'girl', 'doctor', 'teacher', 'farmer', 'student', 'pilot', 'chef', 'singer', 'nurse'];
const ACTIVITIES = [
  'reading a book',
  'playing football',
  'cooking dinner',
  'riding a bike',
  'painting a wall',
  'singing a song',
  'washing a car',
  'eating an apple',
  'writing a letter',
  'fixing a chair',
  'feeding a dog',
  'drinking some tea',
];
const PLACES = ['park', 'kitchen', 'garden', 'street', 'library', 'school', 'office', 'station', 'market', 'hall'];
const EXTRAS = ['with a friend', 'after lunch', 'with a smile', 'for an hour'];
const FEELINGS = ['happy', 'tired', 'bored', 'hungry', 'worried', 'proud'];
const NLI_LABELS = ['entailment', 'neutral', 'contradiction'] as const;

/**
 * Generates `size` premise/hypothesis pairs with balanced labels (entailment, neutral,
 * contradiction in turn). A premise says who does what where (`a tired chef is cooking dinner in
 * the kitchen after lunch`); an entailed hypothesis repeats some of it or denies something else,
 * a neutral one adds a fact (another extra or feeling, someone elsewhere), a contradiction
 * changes or denies a fact. Sync; throws RangeError for a size below 3 or not an integer.
 */
export function generatePairDataset(size = 900, seed = 7): PairDataset {
  checkSize('pair', size, 3);
  const r = randomTools(seed);
  const texts: string[] = [];
  const pairs: string[] = [];
  const labels: string[] = [];
  for (let i = 0; i < size; i++) {
    const label = NLI_LABELS[i % 3]!;
    const person = r.pick(PEOPLE);
    const activity = r.pick(ACTIVITIES);
    const place = r.pick(PLACES);
    const extra = r.chance(0.5) ? r.pick(EXTRAS) : undefined;
    const feeling = r.chance(0.5) ? r.pick(FEELINGS) : undefined;
    texts.push(`a ${feeling ? `${feeling} ` : ''}${person} is ${activity} in the ${place}${extra ? ` ${extra}` : ''}`);
    // The forms of one label mirror those of the others (`not`, a place, a feeling, an extra), so
    // that the hypothesis alone tells little: what decides is how it relates to the premise.
    const forms =
      label === 'entailment'
        ? [
            `the ${person} is ${activity}`,
            `a ${person} is in the ${place}`,
            `the ${person} is ${activity} in the ${place}`,
            `someone is ${activity} in the ${place}`,
            `the ${person} is not ${r.other(ACTIVITIES, activity)}`,
            `the ${person} is not in the ${r.other(PLACES, place)}`,
            ...(extra ? [`the ${person} is ${activity} ${extra}`] : []),
            ...(feeling ? [`the ${person} is ${feeling}`] : []),
          ]
        : label === 'neutral'
          ? [
              `the ${person} is ${activity} ${r.other(EXTRAS, extra)}`,
              `the ${person} is ${r.other(FEELINGS, feeling)}`,
              `the ${person} is ${activity} ${r.other(EXTRAS, extra)} in the ${place}`,
              `someone is ${activity} in the ${r.other(PLACES, place)}`,
            ]
          : [
              `the ${person} is ${r.other(ACTIVITIES, activity)}`,
              `the ${person} is not ${activity}`,
              `a ${person} is in the ${r.other(PLACES, place)}`,
              `nobody is ${activity}`,
              `the ${person} is not in the ${place}`,
              `the ${person} is ${activity} in the ${r.other(PLACES, place)}`,
            ];
    const hypothesis = r.pick(forms);
    pairs.push(hypothesis);
    labels.push(label);
  }
  const all = [
    'a the is in someone nobody not',
    ...PEOPLE,
    ...ACTIVITIES,
    ...PLACES,
    ...EXTRAS,
    ...FEELINGS,
  ];
  return { task: 'pairs', texts, pairs, labels, vocab: vocabularyOf(all) };
}

// ---- regression (semantic similarity) ----

/** Slot words with a synonym each: `[word, synonym]`. */
const ADJECTIVES: readonly (readonly [string, string])[] = [
  ['big', 'large'],
  ['small', 'little'],
  ['old', 'aged'],
  ['quick', 'fast'],
  ['quiet', 'silent'],
  ['happy', 'glad'],
  ['angry', 'furious'],
  ['clever', 'smart'],
];
const NOUNS: readonly (readonly [string, string])[] = [
  ['dog', 'hound'],
  ['cat', 'kitten'],
  ['car', 'automobile'],
  ['child', 'kid'],
  ['boat', 'ship'],
  ['house', 'home'],
  ['road', 'street'],
  ['horse', 'pony'],
];
const VERBS: readonly (readonly [string, string])[] = [
  ['watches', 'observes'],
  ['follows', 'chases'],
  ['finds', 'discovers'],
  ['helps', 'assists'],
  ['passes', 'overtakes'],
  ['likes', 'loves'],
];
const SYNONYM_CREDIT = 0.8;

/**
 * Generates `size` sentence pairs `the ADJ NOUN VERB the ADJ NOUN` with a similarity score: each
 * of the five slots adds 1 when both sentences have the same word, 0.8 for a synonym, 0 for
 * another word; the number of shared slots is uniform over 0-5. Sync; throws RangeError for a
 * size below 2 or not an integer.
 */
export function generateRegressionDataset(size = 900, seed = 7): RegressionDataset {
  checkSize('regression', size, 2);
  const r = randomTools(seed);
  const slots = [ADJECTIVES, NOUNS, VERBS, ADJECTIVES, NOUNS];
  const texts: string[] = [];
  const pairs: string[] = [];
  const scores: number[] = [];
  for (let i = 0; i < size; i++) {
    const first = slots.map((options) => r.pick(options));
    const shared = new Set(r.shuffle([0, 1, 2, 3, 4]).slice(0, i % 6));
    let score = 0;
    const second = first.map((entry, k) => {
      if (!shared.has(k)) return r.other(slots[k]!, entry)[r.int(2)]!;
      const synonym = r.chance(0.3);
      score += synonym ? SYNONYM_CREDIT : 1;
      return entry[synonym ? 1 : 0]!;
    });
    const sentence = (words: readonly string[]): string => `the ${words[0]} ${words[1]} ${words[2]} the ${words[3]} ${words[4]}`;
    texts.push(sentence(first.map((entry) => entry[0]!)));
    pairs.push(sentence(second));
    scores.push(Math.round(score * 10) / 10);
  }
  const all = ['the', ...[ADJECTIVES, NOUNS, VERBS].flatMap((options) => options.flat())];
  return { task: 'regression', texts, pairs, scores, vocab: vocabularyOf(all) };
}

// ---- multi-label (topics) ----

/** Each topic's keywords; no word belongs to two topics. */
const TOPICS: Readonly<Record<string, readonly string[]>> = {
  food: ['pizza', 'soup', 'bakery', 'recipe', 'noodles', 'dessert', 'cheese', 'breakfast'],
  music: ['guitar', 'concert', 'piano', 'album', 'drummer', 'melody', 'orchestra', 'choir'],
  sports: ['football', 'tennis', 'basketball', 'marathon', 'goalkeeper', 'stadium', 'referee', 'cycling'],
  technology: ['laptop', 'software', 'robot', 'smartphone', 'internet', 'battery', 'website', 'computer'],
  travel: ['airport', 'passport', 'luggage', 'hotel', 'train', 'journey', 'island', 'museum'],
  weather: ['rain', 'snow', 'storm', 'sunshine', 'thunder', 'forecast', 'fog', 'wind'],
};
const CLAUSES = [
  'we talked about the {k}',
  'my sister keeps asking about the {k}',
  'the news was all about the {k}',
  'i could not stop thinking about the {k}',
  'everyone at work mentioned the {k}',
  'there was a long story on the {k}',
];
const PLAIN_CLAUSES = ['it was a quiet day', 'nothing much happened', 'i stayed at home and slept'];
const JOINERS = [' and ', ' , then ', ' , but '];

/**
 * Generates `size` short texts, each mentioning 0 (one in twelve), 1, 2 or 3 topics through
 * their keywords, labelled with those topics. Sync; throws RangeError for a size below 1 or not
 * an integer.
 */
export function generateMultiLabelDataset(size = 900, seed = 7): MultiLabelDataset {
  checkSize('multi-label', size, 1);
  const r = randomTools(seed);
  const names = Object.keys(TOPICS).sort();
  const texts: string[] = [];
  const labels: string[][] = [];
  for (let i = 0; i < size; i++) {
    const count = i % 12 === 11 ? 0 : 1 + r.int(3);
    const topics = r.shuffle(names).slice(0, count);
    const clauses = topics.map((topic) => r.pick(CLAUSES).replace('{k}', r.pick(TOPICS[topic]!)));
    if (clauses.length === 0 || r.chance(0.2)) clauses.splice(r.int(clauses.length + 1), 0, r.pick(PLAIN_CLAUSES));
    texts.push(clauses.reduce((text, clause, k) => (k === 0 ? clause : text + r.pick(JOINERS) + clause), ''));
    labels.push(names.filter((name) => topics.includes(name)));
  }
  const all = [...CLAUSES, ...PLAIN_CLAUSES, ...JOINERS, ...Object.values(TOPICS).flat()].map((text) => text.replace('{k}', ''));
  return { task: 'multi-label', texts, labels, names, vocab: vocabularyOf(all) };
}

// ---- token classification (named entities) ----

const FIRST_NAMES = ['anna', 'maria', 'john', 'peter', 'lucas', 'sofia', 'elena', 'david', 'omar', 'yuki', 'priya', 'tomas'];
const LAST_NAMES = ['berg', 'novak', 'silva', 'tanaka', 'okafor', 'kowalski', 'moreau', 'jensen'];
const TITLES = ['dr', 'mrs', 'mr'];
const LOCATIONS = ['lisbon', 'oslo', 'nairobi', 'lima', 'kyoto', 'cairo', 'buenos aires', 'cape town', 'hong kong', 'rio de janeiro', 'san diego', 'tel aviv'];
const ORGANIZATIONS = ['acme', 'globex', 'initech', 'northwind bank', 'blue river labs', 'city hospital', 'union railways', 'orbit media group'];
const ENTITY_TEMPLATES = [
  '{PER} works for {ORG} in {LOC} .',
  '{PER} met {PER} in {LOC} last week .',
  'yesterday {PER} flew from {LOC} to {LOC} .',
  '{ORG} opened a new office in {LOC} .',
  'according to {PER} , {ORG} will hire more staff .',
  'the weather in {LOC} was cold .',
  '{PER} joined {ORG} after leaving {ORG} .',
  'we visited {LOC} and {LOC} in may .',
  'nothing happened today .',
];
/** The entity types, in the order of `TokenDataset.tagNames`. */
const ENTITY_TYPES = ['PER', 'LOC', 'ORG'] as const;

function personName(r: ReturnType<typeof randomTools>): { title?: string; name: string } {
  const form = r.int(4);
  if (form === 0) return { name: r.pick(FIRST_NAMES) };
  if (form === 1) return { title: r.pick(TITLES), name: r.pick(LAST_NAMES) };
  return { name: `${r.pick(FIRST_NAMES)} ${r.pick(LAST_NAMES)}` };
}

/**
 * Generates `size` sentences from templates with person, location and organization names
 * tagged in IOB2 (`B-PER I-PER`; a title before a name is `O`). Sync; throws RangeError for a
 * size below 1 or not an integer.
 */
export function generateTokenDataset(size = 600, seed = 7): TokenDataset {
  checkSize('token', size, 1);
  const r = randomTools(seed);
  const sentences: { words: string[]; tags: string[] }[] = [];
  for (let i = 0; i < size; i++) {
    const words: string[] = [];
    const tags: string[] = [];
    const entity = (text: string, type: string): void => {
      text.split(' ').forEach((word, k) => (words.push(word), tags.push(`${k === 0 ? 'B' : 'I'}-${type}`)));
    };
    for (const piece of r.pick(ENTITY_TEMPLATES).split(' ')) {
      if (piece === '{PER}') {
        const { title, name } = personName(r);
        if (title) (words.push(title), tags.push('O'));
        entity(name, 'PER');
      } else if (piece === '{LOC}') entity(r.pick(LOCATIONS), 'LOC');
      else if (piece === '{ORG}') entity(r.pick(ORGANIZATIONS), 'ORG');
      else (words.push(piece), tags.push('O'));
    }
    sentences.push({ words, tags });
  }
  const tagNames = ['O', ...ENTITY_TYPES.flatMap((type) => [`B-${type}`, `I-${type}`])];
  const all = [...ENTITY_TEMPLATES.map((text) => text.replace(/\{[A-Z]+\}/g, '')), ...FIRST_NAMES, ...LAST_NAMES, ...TITLES, ...LOCATIONS, ...ORGANIZATIONS];
  return { task: 'token-classification', sentences, tagNames, vocab: vocabularyOf(all) };
}
