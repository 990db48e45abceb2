// DistilBERT against transformers on tiny random models built at test time: logits, every
// gradient, save -> Auto class -> same logits, bf16, packed rows, the mlp and token heads
// (test/helpers/family-parity.ts); then training: 20 AdamW steps against a PyTorch loop on the
// same tokens, and 4 replicas against 1 (test/helpers/family-training.ts).
import t from 'tap';

import { type FamilyCase, familyParity } from './helpers/family-parity.js';
import { type TrainingCase, familyTraining } from './helpers/family-training.js';
import { openTestRuntime } from './helpers/runtime.js';

const rt = await openTestRuntime();
const tiny = { num_hidden_layers: 1, num_attention_heads: 2, hidden_size: 16, intermediate_size: 32 };

const CASES: FamilyCase[] = [
  {
    name: 'distilbert',
    modelType: 'distilbert',
    config: { vocab_size: 50, dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, max_position_embeddings: 16, num_labels: 3 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: false,
    architecture: 'DistilBertForSequenceClassification',
  },
];

const TRAINING: TrainingCase[] = [
  { name: 'distilbert', modelType: 'distilbert', config: { n_layers: 1, n_heads: 2, dim: 16, hidden_dim: 32, max_position_embeddings: 16 }, tokenizer: { kind: 'wordpiece', class: 'DistilBertTokenizerFast', vocabSize: 120 } },
];

for (const familyCase of CASES) await t.test(familyCase.name, async (t) => familyParity(t, rt, familyCase));
for (const trainingCase of TRAINING) await t.test(`${trainingCase.name} training`, async (t) => familyTraining(t, trainingCase));
