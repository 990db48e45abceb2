// ELECTRA against transformers on tiny random models built at test time: logits, every
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
    // embedding_size = hidden_size: no embeddings_project
    name: 'electra',
    modelType: 'electra',
    config: { vocab_size: 50, embedding_size: 32, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16, num_labels: 3, type_vocab_size: 2 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: true,
    architecture: 'ElectraForSequenceClassification',
    tokenHead: true,
  },
  {
    // embedding_size < hidden_size, as electra-small: embeddings_project (16 -> 32) follows the embeddings
    name: 'electra-projected',
    modelType: 'electra',
    config: { vocab_size: 50, embedding_size: 16, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16, num_labels: 3, type_vocab_size: 2 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: true,
    architecture: 'ElectraForSequenceClassification',
    tokenHead: true,
  },
];

const TRAINING: TrainingCase[] = [
  { name: 'electra', modelType: 'electra', config: { ...tiny, embedding_size: 8, max_position_embeddings: 16 }, tokenizer: { kind: 'wordpiece', class: 'ElectraTokenizerFast', vocabSize: 120 } },
];

for (const familyCase of CASES) await t.test(familyCase.name, async (t) => familyParity(t, rt, familyCase));
for (const trainingCase of TRAINING) await t.test(`${trainingCase.name} training`, async (t) => familyTraining(t, trainingCase));
