// Every encoder family against transformers on tiny random models built at test time: logits,
// gradients, save -> Auto class -> same logits, bf16 (test/helpers/family-parity.ts). One row
// per family.
import t from 'tap';

import { type FamilyCase, familyParity } from './helpers/family-parity.js';
import { openTestRuntime } from './helpers/runtime.js';

const rt = await openTestRuntime();

/** A tiny ModernBERT: 3 layers, hidden 32 (4 heads of 8), GeGLU of 2 x 48, window 8, dropouts set (off in the checks). */
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
    name: 'bert',
    modelType: 'bert',
    config: { vocab_size: 50, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16, num_labels: 3, type_vocab_size: 2 },
    seqLen: 8,
    lengths: [8, 5, 3],
    tokenTypes: true,
    architecture: 'BertForSequenceClassification',
  },
  // ModernBERT: 20 tokens with a window of 8 (a query sees 4 tokens each side), so the sliding
  // layers differ from the global ones; layers global, sliding, global (every 2nd); the legacy
  // spelling of the rotary bases, small so that positions matter at 20 tokens.
  {
    name: 'modernbert (cls pooling, no biases)',
    modelType: 'modernbert',
    config: { ...MODERNBERT_TINY, global_attn_every_n_layers: 2, global_rope_theta: 1000, local_rope_theta: 100, classifier_pooling: 'cls' },
    seqLen: 20,
    lengths: [20, 13, 6],
    tokenTypes: false,
    architecture: 'ModernBertForSequenceClassification',
    tokenArchitecture: 'ModernBertForTokenClassification',
  },
  // HF 5's spelling (layer_types, rope_parameters), every bias on, small rotary bases so positions matter.
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

for (const familyCase of CASES) await t.test(familyCase.name, async (t) => familyParity(t, rt, familyCase));
