/**
 * A 1-layer, hidden-32 BERT model directory with fresh weights over the demo vocabulary: it
 * compiles in seconds, so the Trainer and CLI tests use it as a real Hugging Face directory.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BertTokenizer } from '../../lib/data/bert-tokenizer.js';
import { FAMILIES, bertPresetConfig, initModelParams, modelSpec } from '../../lib/models/index.js';
import { saveModelDir, tokenizerWriter } from '../../lib/pretrained/index.js';

/**
 * Writes the micro model for `vocab` and `labels` into a new folder under the system temp dir
 * (or `dir`) and returns it. Async.
 */
export async function microModel(vocab: readonly string[], labels: readonly string[] = ['negative', 'neutral', 'positive'], options: { dir?: string; seed?: number; maxPositions?: number } = {}): Promise<string> {
  const dir = options.dir ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-micro-')), 'model');
  const base = bertPresetConfig('tiny', { vocabSize: vocab.length, labels });
  const config = { ...base, hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: options.maxPositions ?? 64 };
  const spec = modelSpec(FAMILIES.bert, config, 'linear');
  await saveModelDir(dir, spec, initModelParams(spec, options.seed ?? 5), { writeTokenizer: tokenizerWriter(new BertTokenizer(vocab)) });
  return dir;
}
