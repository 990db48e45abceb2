// BERT against transformers on tiny random models built at test time: logits, every
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
    name: 'bert',
    modelType: 'bert',
    config: { vocab_size: 50, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16, num_labels: 3, type_vocab_size: 2 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: true,
    architecture: 'BertForSequenceClassification',
    tokenHead: true,
  },
  {
    name: 'bert (3 token types, eps 1e-7, 1 layer)',
    modelType: 'bert',
    config: { vocab_size: 41, hidden_size: 24, num_hidden_layers: 1, num_attention_heads: 3, intermediate_size: 40, max_position_embeddings: 12, num_labels: 3, type_vocab_size: 3, layer_norm_eps: 1e-7 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: true,
    architecture: 'BertForSequenceClassification',
  },
];

const TRAINING: TrainingCase[] = [
  { name: 'bert', modelType: 'bert', config: { ...tiny, max_position_embeddings: 16 }, tokenizer: { kind: 'wordpiece', class: 'BertTokenizerFast', vocabSize: 120 } },
];

for (const familyCase of CASES) await t.test(familyCase.name, async (t) => familyParity(t, rt, familyCase));
for (const trainingCase of TRAINING) await t.test(`${trainingCase.name} training`, async (t) => familyTraining(t, trainingCase));
