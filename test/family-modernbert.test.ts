// ModernBERT against transformers on tiny random models built at test time: logits, every
// gradient, save -> Auto class -> same logits, bf16, packed rows, the mlp and token heads, with
// sequences longer than the local attention window (test/helpers/family-parity.ts); then
// training: 20 AdamW steps against a PyTorch loop, and 4 replicas against 1.
import t from 'tap';

import { type FamilyCase, familyParity } from './helpers/family-parity.js';
import { type TrainingCase, familyTraining } from './helpers/family-training.js';
import { openTestRuntime } from './helpers/runtime.js';

const rt = await openTestRuntime();

const MODERNBERT_TINY = {
  vocab_size: 50,
  hidden_size: 32,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  intermediate_size: 48,
  max_position_embeddings: 64,
  local_attention: 8,
  num_labels: 3,
  pad_token_id: 0,
  bos_token_id: 1,
  cls_token_id: 1,
  eos_token_id: 2,
  sep_token_id: 2,
  embedding_dropout: 0.1,
  attention_dropout: 0.1,
  mlp_dropout: 0.1,
  classifier_dropout: 0.1,
};

const CASES: FamilyCase[] = [
  {
    name: 'modernbert (cls pooling, no biases)',
    modelType: 'modernbert',
    config: { ...MODERNBERT_TINY, global_attn_every_n_layers: 2, global_rope_theta: 1000, local_rope_theta: 100, classifier_pooling: 'cls' },
    seqLen: 20,
    lengths: [20, 13, 6],
    tokenTypes: false,
    architecture: 'ModernBertForSequenceClassification',
    tokenHead: true,
  },
  {
    name: 'modernbert (mean pooling, biases, layer_types)',
    modelType: 'modernbert',
    config: {
      ...MODERNBERT_TINY,
      layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'],
      rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 500 }, sliding_attention: { rope_type: 'default', rope_theta: 50 } },
      classifier_pooling: 'mean',
      attention_bias: true,
      mlp_bias: true,
      norm_bias: true,
      classifier_bias: true,
      classifier_activation: 'silu',
    },
    seqLen: 20,
    lengths: [20, 13, 6],
    tokenTypes: false,
    architecture: 'ModernBertForSequenceClassification',
  },

];

const TRAINING: TrainingCase[] = [
  { name: 'modernbert', modelType: 'modernbert', config: { num_hidden_layers: 2, num_attention_heads: 2, hidden_size: 16, intermediate_size: 24, max_position_embeddings: 32, local_attention: 4, global_attn_every_n_layers: 2 }, tokenizer: { kind: 'bpe', class: 'PreTrainedTokenizerFast', vocabSize: 300 } },
];

for (const familyCase of CASES) await t.test(familyCase.name, async (t) => familyParity(t, rt, familyCase));
for (const trainingCase of TRAINING) await t.test(`${trainingCase.name} training`, async (t) => familyTraining(t, trainingCase));
