// RoBERTa and XLM-RoBERTa against transformers on tiny random models built at test time: logits, every
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
];

const TRAINING: TrainingCase[] = [
  { name: 'roberta', modelType: 'roberta', config: { ...tiny, max_position_embeddings: 16, type_vocab_size: 1 }, tokenizer: { kind: 'bpe', class: 'RobertaTokenizerFast', vocabSize: 300 } },
  { name: 'xlm-roberta', modelType: 'xlm-roberta', config: { ...tiny, max_position_embeddings: 16, type_vocab_size: 1 }, tokenizer: { kind: 'unigram', class: 'XLMRobertaTokenizerFast', vocabSize: 200 } },
];

for (const familyCase of CASES) await t.test(familyCase.name, async (t) => familyParity(t, rt, familyCase));
for (const trainingCase of TRAINING) await t.test(`${trainingCase.name} training`, async (t) => familyTraining(t, trainingCase));
