/**
 * Engine outputs to `POST /predict` results, in the shapes Hugging Face clients read:
 *
 * - classification: TEI's `[{"label", "score"}]` sorted by score, highest first; scores are the
 *   softmax of the logits (the sigmoid for a model with one logit, as TEI), or the logits
 *   themselves with `"raw_scores": true`;
 * - multi-label: the same list with a sigmoid per label (labels are independent);
 * - regression: `[{"label", "score"}]` with the single label and the raw output (there is no
 *   probability to take, so `raw_scores` changes nothing);
 * - token classification: Hugging Face's token-classification pipeline shape. With
 *   `aggregation_strategy: "simple"` (the default here) adjacent tokens of one entity are grouped
 *   (`B-X` starts a group, `I-X` continues one of type X) into `{"entity_group", "score", "word",
 *   "start", "end"}` with the mean score of its tokens; with `"none"` one `{"entity", "score",
 *   "index", "word", "start", "end"}` per token. Tokens and groups labelled `O` are left out, as the
 *   pipeline's default `ignore_labels`. `start`/`end` count Unicode code points, as Python string
 *   offsets do. One difference from the pipeline: a group's `word` is the span of the input text it
 *   covers (original case and accents), not the tokens joined back together.
 */
import type { EngineInfo, EngineOutput, ServeInput, TokenOutput } from './engine.js';
import type { Aggregation } from './request.js';

/** One label and its score (TEI's `Prediction`). */
export interface LabelScore {
  label: string;
  score: number;
}

/** A group of tokens of one entity (`aggregation_strategy: "simple"`). */
export interface EntityGroup {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

/** One token's entity (`aggregation_strategy: "none"`). */
export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start: number;
  end: number;
}

/** The result for one input. */
export type PredictResult = LabelScore[] | EntityGroup[] | TokenEntity[];

/** How to present scores: the request's `raw_scores` and `aggregation_strategy`. */
export interface ResultOptions {
  readonly rawScores: boolean;
  readonly aggregation: Aggregation;
}

/** Softmax of `logits` (max-shifted, in float64). Sync; never throws. */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const exps = Array.from(logits, (z) => Math.exp(z - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** The logistic sigmoid. Sync; never throws. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function checkLogits(logits: ArrayLike<number> | undefined, count: number, what: string): ArrayLike<number> {
  if (logits === undefined || typeof logits.length !== 'number') throw new Error(`the engine returned no logits for ${what}`);
  if (logits.length !== count) throw new Error(`the engine returned ${logits.length} logits for ${what}; the model has ${count} labels`);
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) throw new Error(`the engine returned a non-finite logit (${logits[i]}) for ${what}`);
  }
  return logits;
}

/** Labels with scores, highest score first (ties keep label order). */
function ranked(labels: readonly string[], scores: readonly number[]): LabelScore[] {
  return scores
    .map((score, i) => ({ label: labels[i]!, score, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map(({ label, score }) => ({ label, score }));
}

/** The code-point offset of UTF-16 index `index` of `text` (equal to it when `text` has no surrogate pairs). */
function codePointOffset(text: string, index: number): number {
  let offset = index;
  for (let i = 0; i < index && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < index) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) (offset--, i++);
    }
  }
  return offset;
}

/** A BIO tag split as the pipeline does: `B-X` -> (B, X), `I-X` -> (I, X), anything else -> (I, itself). */
function splitTag(label: string): { bi: 'B' | 'I'; tag: string } {
  if (label.startsWith('B-')) return { bi: 'B', tag: label.slice(2) };
  if (label.startsWith('I-')) return { bi: 'I', tag: label.slice(2) };
  return { bi: 'I', tag: label };
}

function tokenEntities(tokens: readonly TokenOutput[], input: ServeInput, info: EngineInfo, options: ResultOptions): TokenEntity[] {
  return tokens.map((token, t) => {
    const what = `token ${t} ('${token.token}')`;
    const logits = checkLogits(token.logits, info.labels.length, what);
    if (!(Number.isInteger(token.start) && Number.isInteger(token.end) && token.start >= 0 && token.start <= token.end && token.end <= input.text.length)) {
      throw new Error(`the engine returned offsets ${token.start}..${token.end} for ${what}, outside the text of ${input.text.length} characters`);
    }
    const probabilities = softmax(logits);
    let best = 0;
    for (let k = 1; k < probabilities.length; k++) if (probabilities[k]! > probabilities[best]!) best = k;
    return {
      entity: info.labels[best]!,
      score: options.rawScores ? logits[best]! : probabilities[best]!,
      index: token.index,
      word: token.token,
      start: token.start,
      end: token.end,
    };
  });
}

function groupEntities(entities: readonly TokenEntity[], text: string): EntityGroup[] {
  const groups: TokenEntity[][] = [];
  for (const entity of entities) {
    const current = groups[groups.length - 1];
    const { bi, tag } = splitTag(entity.entity);
    if (current && bi !== 'B' && splitTag(current[current.length - 1]!.entity).tag === tag) current.push(entity);
    else groups.push([entity]);
  }
  return groups.map((members) => {
    const first = members[0]!;
    const last = members[members.length - 1]!;
    return {
      entity_group: splitTag(first.entity).tag,
      score: members.reduce((sum, m) => sum + m.score, 0) / members.length,
      word: text.slice(first.start, last.end),
      start: first.start,
      end: last.end,
    };
  });
}

/**
 * The `/predict` result for one input from its engine output. Sync; throws an Error naming the
 * problem when the output does not fit the model (missing or wrong number of logits, a non-finite
 * logit, token offsets outside the text): the server answers that as an engine failure (500).
 */
export function formatResult(output: EngineOutput, input: ServeInput, info: EngineInfo, options: ResultOptions): PredictResult {
  if (info.task === 'token-classification') {
    const tokens = (output as { tokens?: readonly TokenOutput[] }).tokens;
    if (!Array.isArray(tokens)) throw new Error('the engine returned no tokens for a token-classification input');
    const entities = tokenEntities(tokens, input, info, options);
    const kept = (list: readonly (TokenEntity | EntityGroup)[]) =>
      list.filter((e) => ('entity' in e ? e.entity : e.entity_group) !== 'O');
    const toCodePoints = <T extends { start: number; end: number }>(e: T): T => ({
      ...e,
      start: codePointOffset(input.text, e.start),
      end: codePointOffset(input.text, e.end),
    });
    if (options.aggregation === 'none') return (kept(entities) as TokenEntity[]).map(toCodePoints);
    return (kept(groupEntities(entities, input.text)) as EntityGroup[]).map(toCodePoints);
  }
  const logits = checkLogits((output as { logits?: ArrayLike<number> }).logits, info.labels.length, 'an input');
  const raw = Array.from(logits);
  if (info.task === 'regression') return [{ label: info.labels[0]!, score: raw[0]! }];
  if (options.rawScores) return ranked(info.labels, raw);
  if (info.task === 'multi-label' || raw.length === 1) return ranked(info.labels, raw.map(sigmoid));
  return ranked(info.labels, softmax(raw));
}
