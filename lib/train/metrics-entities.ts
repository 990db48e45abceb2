/**
 * Entity-level metrics of token classification, as seqeval computes them in its default mode
 * (`seqeval.metrics.classification_report`, `precision_score`, `recall_score`, `f1_score`,
 * `accuracy_score`; conlleval-compatible, not `mode='strict'`).
 *
 * Chunking (seqeval's `get_entities` without `suffix`): a tag's first character is its position
 * (B, I, E, S, O, or anything else) and its type is what follows the first '-' after that
 * character (`B-PER` -> PER; a bare `B` or `O` has type `_`). A chunk ends before a tag when the
 * previous tag was E or S, when B/I are followed by B, S or O, or when the type changes after any
 * tag but O and '.'; a chunk starts at B or S, at I or E after O, E or S, and at any tag but O and
 * '.' whose type differs from the previous one. So `I-X` after `O` or after another type starts an
 * entity, `B-X I-Y` is two entities, and IOBES tags work too. Sentences are chunked as one
 * sequence with an `O` after each, as seqeval does with a list of lists; an entity is its type
 * with its start and end in that sequence, and a predicted entity is correct when a true one has
 * the same type, start and end.
 */
import { type AverageScores, type ClassScores, divideOrZero } from './metrics.js';

/** One entity: its type and the tokens it spans, `start` inclusive, `end` exclusive. */
export interface TaggedEntity {
  type: string;
  start: number;
  end: number;
}

/** Scores of one entity type. */
export interface EntityTypeScores extends ClassScores {
  type: string;
  /** Number of predicted entities of the type. */
  predicted: number;
}

/** Entity-level metrics of one token-classification evaluation pass. */
export interface EntityMetrics {
  sentences: number;
  tokens: number;
  /** Micro precision: correct entities / predicted entities (0 when none is predicted). */
  precision: number;
  /** Micro recall: correct entities / true entities (0 when there are none). */
  recall: number;
  /** Micro F1: 2·p·r / (p + r), 0 when both are 0. */
  f1: number;
  /** Number of true entities. */
  support: number;
  /** Number of predicted entities. */
  predicted: number;
  /** Number of predicted entities that match a true one. */
  correct: number;
  /** Unweighted means over the entity types present; NaN when there is no entity at all (as seqeval). */
  macro: AverageScores;
  /** Means weighted by support; all 0 when there is no true entity (as seqeval). */
  weighted: AverageScores;
  /** One row per entity type present in truth or predictions, sorted by code point as Python sorts. */
  perType: EntityTypeScores[];
  /** Fraction of tokens whose predicted tag equals the true tag; NaN with no tokens. */
  accuracy: number;
}

/**
 * Walks `tags` (and then a final `O`) through seqeval's chunking and calls `emit(type, start,
 * endExclusive)` for each chunk, offsets counted from the first tag.
 */
function chunk(tags: Iterable<string>, emit: (type: string, start: number, end: number) => void): void {
  let previousTag = 'O';
  let previousType = '';
  let begin = 0;
  let i = 0;
  const step = (label: string) => {
    const tag = String.fromCodePoint(label.codePointAt(0)!); // Python's chunk[0] is one code point
    const dash = label.indexOf('-', tag.length);
    const type = (dash < 0 ? label.slice(tag.length) : label.slice(dash + 1)) || '_';
    if (endsChunk(previousTag, tag, previousType, type)) emit(previousType, begin, i);
    if (startsChunk(previousTag, tag, previousType, type)) begin = i;
    previousTag = tag;
    previousType = type;
    i++;
  };
  for (const label of tags) step(label);
  step('O');
}

function endsChunk(previousTag: string, tag: string, previousType: string, type: string): boolean {
  if (previousTag === 'E' || previousTag === 'S') return true;
  if ((previousTag === 'B' || previousTag === 'I') && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  return previousTag !== 'O' && previousTag !== '.' && previousType !== type;
}

function startsChunk(previousTag: string, tag: string, previousType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  if ((previousTag === 'E' || previousTag === 'S' || previousTag === 'O') && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && previousType !== type;
}

function checkTags(tags: readonly string[], where: string): void {
  tags.forEach((tag, i) => {
    if (typeof tag !== 'string' || tag.length === 0) throw new RangeError(`${where}, token ${i}: tag ${JSON.stringify(tag)} is not a non-empty string`);
  });
}

/**
 * The entities of one sentence's tags, with seqeval's default chunking (see the file comment):
 * `['B-PER', 'I-PER', 'O', 'I-LOC']` gives PER over tokens [0, 2) and LOC over [3, 4). Sync.
 * @throws RangeError when a tag is empty.
 */
export function extractEntities(tags: readonly string[]): TaggedEntity[] {
  checkTags(tags, 'extractEntities');
  const entities: TaggedEntity[] = [];
  chunk(tags, (type, start, end) => entities.push({ type, start, end }));
  return entities;
}

/** Compares strings by Unicode code point, as Python's `sorted` does. */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** seqeval's per-type scores: F1 from precision and recall, 2·p·r / (p + r). */
function seqevalScores(correct: number, predicted: number, actual: number): ClassScores {
  const precision = divideOrZero(correct, predicted);
  const recall = divideOrZero(correct, actual);
  const denominator = precision + recall;
  return { precision, recall, f1: denominator === 0 ? 0 : (2 * precision * recall) / denominator, support: actual };
}

/** The chunks of all sentences as `type\u0000start\u0000end` keys, per type. */
function entitiesByType(sentences: readonly (readonly string[])[]): Map<string, Set<string>> {
  function* flattened() {
    for (const sentence of sentences) {
      yield* sentence;
      yield 'O';
    }
  }
  const byType = new Map<string, Set<string>>();
  chunk(flattened(), (type, start, end) => {
    let set = byType.get(type);
    if (!set) byType.set(type, (set = new Set()));
    set.add(`${start}:${end}`);
  });
  return byType;
}

/**
 * Entity-level micro precision, recall and F1, the per-type table (precision, recall, F1,
 * support), macro and weighted averages, and token accuracy of `predictedTags` against
 * `trueTags`, one array of tags per sentence, exactly as seqeval's default mode computes them
 * (see the file comment for the chunking rules). Sync.
 * @throws RangeError when the two differ in sentence count or in the length of a sentence, or a
 *   tag is empty.
 */
export function entityMetrics(trueTags: readonly (readonly string[])[], predictedTags: readonly (readonly string[])[]): EntityMetrics {
  if (trueTags.length !== predictedTags.length) {
    throw new RangeError(`entityMetrics: ${trueTags.length} true sentences but ${predictedTags.length} predicted; pass one tag sequence per sentence`);
  }
  let tokens = 0;
  let correctTokens = 0;
  trueTags.forEach((sentence, s) => {
    const other = predictedTags[s]!;
    if (sentence.length !== other.length) {
      throw new RangeError(`entityMetrics: sentence ${s} has ${sentence.length} true tags but ${other.length} predicted; pass one tag per token`);
    }
    checkTags(sentence, `entityMetrics: true tags of sentence ${s}`);
    checkTags(other, `entityMetrics: predicted tags of sentence ${s}`);
    tokens += sentence.length;
    for (let i = 0; i < sentence.length; i++) if (sentence[i] === other[i]) correctTokens++;
  });
  const truth = entitiesByType(trueTags);
  const guess = entitiesByType(predictedTags);
  const types = [...new Set([...truth.keys(), ...guess.keys()])].sort(byCodePoint);
  let support = 0;
  let predicted = 0;
  let correct = 0;
  const perType = types.map((type) => {
    const t = truth.get(type) ?? new Set<string>();
    const p = guess.get(type) ?? new Set<string>();
    let hits = 0;
    for (const key of p) if (t.has(key)) hits++;
    support += t.size;
    predicted += p.size;
    correct += hits;
    return { type, ...seqevalScores(hits, p.size, t.size), predicted: p.size };
  });
  const micro = seqevalScores(correct, predicted, support);
  const mean = (pick: (s: ClassScores) => number) => perType.reduce((a, s) => a + pick(s), 0) / perType.length;
  const weightedMean = (pick: (s: ClassScores) => number) => perType.reduce((a, s) => a + pick(s) * s.support, 0) / support;
  return {
    sentences: trueTags.length,
    tokens,
    precision: micro.precision,
    recall: micro.recall,
    f1: micro.f1,
    support,
    predicted,
    correct,
    macro: { precision: mean((s) => s.precision), recall: mean((s) => s.recall), f1: mean((s) => s.f1) },
    weighted:
      support === 0
        ? { precision: 0, recall: 0, f1: 0 }
        : { precision: weightedMean((s) => s.precision), recall: weightedMean((s) => s.recall), f1: weightedMean((s) => s.f1) },
    perType,
    accuracy: tokens ? correctTokens / tokens : NaN,
  };
}
