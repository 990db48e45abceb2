/**
 * Small saved models for the serving tests: 1-layer, hidden-32 BERT directories (compiled in
 * seconds) for each serving task, with the classifier scaled up so that the classes' scores are
 * far apart (a random head gives near-uniform scores, whose order would hang on rounding).
 * {@link centerHead} then shifts the classifier's bias so that the classes win on different texts
 * (a random BERT's pooled output barely depends on the text). The token-classification model carries a tokenizer.json built here with the `tokenizers`
 * package, so it is served through the asynchronous HfTokenizer, with sub-word pieces so that
 * words split.
 */
import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { BertTokenizer } from '../../lib/data/bert-tokenizer.js';
import { readSafetensors, writeSafetensors } from '../../lib/io/index.js';
import { FAMILIES, bertPresetConfig, initModelParams, modelSpec } from '../../lib/models/index.js';
import { saveModelDir, tokenizerWriter } from '../../lib/pretrained/index.js';
import type { Runtime } from '../../lib/runtime/index.js';
import { Predictor } from '../../lib/train/predictor.js';

/** What kind of micro model to save. */
export interface ServeModelOptions {
  readonly vocab: readonly string[];
  readonly labels: readonly string[];
  /** `linear` (default) or `token`. */
  readonly head?: string;
  /** config.json `problem_type`. */
  readonly problemType?: string;
  /** The training length to record (default 24). */
  readonly seqLen?: number;
  /** Write tokenizer.json (through the `tokenizers` package) instead of vocab.txt. */
  readonly tokenizerJson?: boolean;
  readonly seed?: number;
}

/** A new temporary folder for test models. Sync. */
export function modelsFolder(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-serve-models-'));
}

/** Writes a tokenizer.json (BERT normalizer, pre-tokenizer and [CLS]/[SEP] template, WordPiece) for `vocab` into `dir`. Async. */
export async function writeWordPieceJson(dir: string, vocab: readonly string[]): Promise<void> {
  const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, bertProcessing } = await import('tokenizers');
  const ids = Object.fromEntries(vocab.map((token, id) => [token, id]));
  const tokenizer = new Tokenizer(WordPiece.init(ids, { unkToken: '[UNK]' }));
  tokenizer.setNormalizer(bertNormalizer({ lowercase: true }));
  tokenizer.setPreTokenizer(bertPreTokenizer());
  tokenizer.setPostProcessor(bertProcessing(['[SEP]', ids['[SEP]']!], ['[CLS]', ids['[CLS]']!]));
  tokenizer.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  tokenizer.save(path.join(dir, 'tokenizer.json'));
  await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 512 }));
}

/** Saves a micro BERT model directory into `dir`; returns `dir`. Async. */
export async function saveServeModel(dir: string, options: ServeModelOptions): Promise<string> {
  const base = bertPresetConfig('tiny', { vocabSize: options.vocab.length, labels: options.labels });
  const config = { ...base, hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 64, problemType: options.problemType };
  const spec = modelSpec(FAMILIES.bert, config, options.head ?? 'linear');
  const params = initModelParams(spec, options.seed ?? 7);
  const classifier = params['classifier.weight']!.data;
  for (let i = 0; i < classifier.length; i++) classifier[i]! *= 40;
  const writeTokenizer = options.tokenizerJson ? (target: string) => writeWordPieceJson(target, options.vocab) : tokenizerWriter(new BertTokenizer(options.vocab));
  await saveModelDir(dir, spec, params, { writeTokenizer, seqLen: options.seqLen ?? 24 });
  return dir;
}

/** Rows of `width` values of a row-major [n, width] array, as plain arrays. Sync. */
export function logitRows(values: Float32Array, width: number): number[][] {
  return Array.from({ length: values.length / width }, (_, i) => Array.from(values.subarray(i * width, (i + 1) * width)));
}

/**
 * Shifts `classifier.bias` of the sequence model in `dir` by minus the mean logits of `texts`,
 * so that every class wins on some texts. Async.
 */
export async function centerHead(dir: string, runtime: Runtime, texts: readonly string[]): Promise<void> {
  const predictor = await Predictor.open(dir, { runtime, batchSize: 8, compileCache: false });
  let logits: number[][];
  try {
    logits = logitRows(await predictor.logits(texts), predictor.labels.length);
  } finally {
    predictor.dispose();
  }
  const file = path.join(dir, 'model.safetensors');
  const { tensors } = await readSafetensors(file);
  const bias = tensors.get('classifier.bias')!.data as Float32Array;
  for (let c = 0; c < bias.length; c++) bias[c]! -= logits.reduce((sum, row) => sum + row[c]!, 0) / logits.length;
  await writeSafetensors(file, tensors, { format: 'pt' });
}
