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
  {
    // HF's class defaults (type_vocab_size 2, so row 0 has segment B); positions from the ids,
    // starting after pad_token_id 1; 10 rows of positions fit the 8 tokens exactly
    name: 'roberta',
    modelType: 'roberta',
    config: { vocab_size: 50, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 10, num_labels: 3 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: true,
    architecture: 'RobertaForSequenceClassification',
  },
  {
    // as the released checkpoints (one token type, eps 1e-5), with another padding id: positions start at 4
    name: 'xlm-roberta',
    modelType: 'xlm-roberta',
    config: { vocab_size: 60, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 12, type_vocab_size: 1, layer_norm_eps: 1e-5, pad_token_id: 3, num_labels: 2 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: false,
    architecture: 'XLMRobertaForSequenceClassification',
    tokenHead: true,
  },
  {
    name: 'distilbert',
    modelType: 'distilbert',
    config: { vocab_size: 50, dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, max_position_embeddings: 16, num_labels: 3 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: false,
    architecture: 'DistilBertForSequenceClassification',
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
