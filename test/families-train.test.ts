// Every encoder family trains as PyTorch does: 20 AdamW steps of the Trainer against a PyTorch
// loop on the same tokens (the tokenizer of the family's kind trained at test time), and 4
// replicas against 1 (test/helpers/family-training.ts). One row per family.
import t from 'tap';

import { type TrainingCase, familyTraining } from './helpers/family-training.js';

const tiny = { num_hidden_layers: 1, num_attention_heads: 2, hidden_size: 16, intermediate_size: 32 };

const CASES: TrainingCase[] = [
  { name: 'bert', modelType: 'bert', config: { ...tiny, max_position_embeddings: 16 }, tokenizer: { kind: 'wordpiece', class: 'BertTokenizerFast', vocabSize: 120 } },
  { name: 'roberta', modelType: 'roberta', config: { ...tiny, max_position_embeddings: 16, type_vocab_size: 1 }, tokenizer: { kind: 'bpe', class: 'RobertaTokenizerFast', vocabSize: 300 } },
  { name: 'xlm-roberta', modelType: 'xlm-roberta', config: { ...tiny, max_position_embeddings: 16, type_vocab_size: 1 }, tokenizer: { kind: 'unigram', class: 'XLMRobertaTokenizerFast', vocabSize: 120 } },
  { name: 'distilbert', modelType: 'distilbert', config: { n_layers: 1, n_heads: 2, dim: 16, hidden_dim: 32, max_position_embeddings: 16 }, tokenizer: { kind: 'wordpiece', class: 'DistilBertTokenizerFast', vocabSize: 120 } },
];

for (const trainingCase of CASES) await t.test(trainingCase.name, async (t) => familyTraining(t, trainingCase));
