/**
 * What a prediction reads like, per task (one JSON line each in `pjrt-bert predict`):
 *   classification        { label, labelId, probabilities: [..by id], logits: [..by id] }
 *   regression            { score }
 *   multi-label           { labels: [...], probabilities: { label: p } }
 *   token-classification  { tokens, tags, entities: [{ type, start, end, text }] } with character
 *                         offsets into the input text (UTF-16, as JavaScript strings index)
 * Token predictions need the words of each text and where they are: `encodeForTokens` tokenizes
 * raw texts with offsets (a word is what the tokenizer's pre-tokenizer splits), and pre-split
 * words are placed in the text they make joined by spaces.
 */
import type { ModelTokenizer } from '../pretrained/index.js';
import { type TokenizedExamples, tokenizeWords } from './data.js';
import { argmaxRows, softmaxRows } from './metrics.js';
import type { Task } from './task.js';

/** A single-label prediction. */
export interface ClassPrediction {
  label: string;
  labelId: number;
  probabilities: number[];
  logits: number[];
}

/** A regression prediction. */
export interface ScorePrediction {
  score: number;
}

/** A multi-label prediction: the labels over the threshold, and every label's probability. */
export interface LabelSetPrediction {
  labels: string[];
  probabilities: Record<string, number>;
}

/** An entity found by token classification, `[start, end)` in the input text. */
export interface Entity {
  type: string;
  start: number;
  end: number;
  text: string;
}

/** A token-classification prediction: the words, their tags, and the entities they form. */
export interface TagPrediction {
  tokens: string[];
  tags: string[];
  entities: Entity[];
}

/** A prediction of any task. */
export type Prediction = ClassPrediction | ScorePrediction | LabelSetPrediction | TagPrediction;

/** A word of an input text: where it is, and the position of its first sub-token (-1 when truncated). */
export interface WordSpan {
  text: string;
  start: number;
  end: number;
  firstToken: number;
}

/** Inputs tokenized for token classification, with the words of each text. */
export interface TokenInputs {
  examples: TokenizedExamples;
  words: WordSpan[][];
  /** The texts the offsets index. */
  texts: readonly string[];
}

/**
 * Raw texts tokenized for token classification at `seqLen`: rows padded with the tokenizer's pad
 * id, and each text's words with their character spans and first sub-token. Async; rejects as
 * the tokenizer's encode.
 */
export async function encodeForTokens(tokenizer: ModelTokenizer, texts: readonly string[], seqLen: number): Promise<TokenInputs> {
  const n = texts.length;
  const inputIds = new Int32Array(n * seqLen).fill(tokenizer.padId);
  const attentionMask = new Int32Array(n * seqLen);
  const tokenTypeIds = new Int32Array(n * seqLen);
  const words: WordSpan[][] = [];
  for (let e = 0; e < n; e++) {
    const text = texts[e]!;
    const encoded = await tokenizer.encodeWithOffsets(text, { maxLength: seqLen });
    const spans: WordSpan[] = [];
    let previous: number | null = null;
    encoded.inputIds.forEach((id, position) => {
      inputIds[e * seqLen + position] = id;
      attentionMask[e * seqLen + position] = 1;
      tokenTypeIds[e * seqLen + position] = encoded.tokenTypeIds[position] ?? 0;
      const word = encoded.wordIds[position];
      const [start, end] = encoded.offsets[position]!;
      if (word === null || word === undefined) {
        previous = null;
        return;
      }
      if (word !== previous) spans.push({ text: '', start, end, firstToken: position });
      else spans.at(-1)!.end = end;
      previous = word;
    });
    for (const span of spans) span.text = text.slice(span.start, span.end);
    words.push(spans);
  }
  return { examples: { count: n, seqLen, inputIds, attentionMask, tokenTypeIds, targets: new Int32Array(n * seqLen).fill(-100), targetWidth: seqLen }, words, texts };
}

/** Pre-split sentences tokenized for token classification; offsets index the words joined by spaces. Async. */
export async function encodeWordsForTokens(tokenizer: ModelTokenizer, sentences: readonly (readonly string[])[], seqLen: number): Promise<TokenInputs> {
  const examples = await tokenizeWords(tokenizer, sentences, seqLen);
  const texts = sentences.map((words) => words.join(' '));
  const words = sentences.map((sentence, e) => {
    let at = 0;
    return sentence.map((word, w) => {
      const span = { text: word, start: at, end: at + word.length, firstToken: examples.wordStarts[e]![w]! };
      at += word.length + 1;
      return span;
    });
  });
  return { examples, words, texts };
}

/**
 * Entities of IOB2 tags over words, as seqeval groups them: `B-X` starts one, `I-X` continues
 * one of type X (and starts one after `O` or another type), `O` ends it. Sync; never throws.
 */
export function entitiesOf(words: readonly WordSpan[], tags: readonly string[], text: string): Entity[] {
  const entities: Entity[] = [];
  let open: Entity | undefined;
  tags.forEach((tag, i) => {
    const word = words[i]!;
    const [prefix, type] = tag === 'O' ? ['O', ''] : [tag.slice(0, 2), tag.slice(2)];
    const continues = open !== undefined && prefix === 'I-' && open.type === type;
    if (continues) {
      open!.end = word.end;
      return;
    }
    if (open) entities.push(open);
    open = prefix === 'B-' || prefix === 'I-' ? { type, start: word.start, end: word.end, text: '' } : undefined;
  });
  if (open) entities.push(open);
  for (const entity of entities) entity.text = text.slice(entity.start, entity.end);
  return entities;
}

/**
 * The predictions of `logits` (as the eval program returns them: [N, outputs], or [N, S,
 * labels] for tokens) for `task` with label names `labels`. `tokens` is required for token
 * classification. Sync; throws Error when token inputs are missing.
 */
export function formatPredictions(task: Task, logits: Float32Array, labels: readonly string[], count: number, options: { threshold?: number; tokens?: TokenInputs } = {}): Prediction[] {
  const classes = labels.length;
  if (task.name === 'regression') return Array.from({ length: count }, (_, i) => ({ score: logits[i]! }));
  if (task.name === 'multi-label') {
    const threshold = options.threshold ?? 0.5;
    return Array.from({ length: count }, (_, i) => {
      const probabilities: Record<string, number> = {};
      const chosen: string[] = [];
      labels.forEach((label, c) => {
        const p = 1 / (1 + Math.exp(-logits[i * classes + c]!));
        probabilities[label] = p;
        if (p > threshold) chosen.push(label);
      });
      return { labels: chosen, probabilities };
    });
  }
  if (task.name === 'token-classification') {
    const inputs = options.tokens;
    if (!inputs) throw new Error('formatPredictions: token classification needs the tokenized words');
    const seqLen = inputs.examples.seqLen;
    return inputs.words.map((words, e) => {
      const kept = words.filter((word) => word.firstToken >= 0);
      const tags = kept.map((word) => {
        const row = logits.subarray((e * seqLen + word.firstToken) * classes, (e * seqLen + word.firstToken + 1) * classes);
        let best = 0;
        for (let c = 1; c < classes; c++) if (row[c]! > row[best]!) best = c;
        return labels[best]!;
      });
      return { tokens: kept.map((word) => word.text), tags, entities: entitiesOf(kept, tags, inputs.texts[e]!) };
    });
  }
  const probabilities = softmaxRows(logits, classes);
  const best = argmaxRows(logits, classes);
  return Array.from({ length: count }, (_, i) => ({
    label: labels[best[i]!]!,
    labelId: best[i]!,
    probabilities: Array.from(probabilities.subarray(i * classes, (i + 1) * classes)),
    logits: Array.from(logits.subarray(i * classes, (i + 1) * classes)),
  }));
}
