// Every encoder family against transformers on tiny random models built at test time: logits,
// gradients, save -> Auto class -> same logits, bf16 (test/helpers/family-parity.ts). One row
// per family.
import t from 'tap';

import { type FamilyCase, familyParity } from './helpers/family-parity.js';
import { openTestRuntime } from './helpers/runtime.js';

const rt = await openTestRuntime();

const CASES: FamilyCase[] = [
  {
    name: 'bert',
    modelType: 'bert',
    config: { vocab_size: 50, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16, num_labels: 3, type_vocab_size: 2 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: true,
    architecture: 'BertForSequenceClassification',
  },
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

for (const familyCase of CASES) await t.test(familyCase.name, async (t) => familyParity(t, rt, familyCase));
