// Sentence pairs (natural-language inference), classification of pairs against transformers and PyTorch on tiny random
// models built at test time: 20 AdamW steps, then evaluate's metrics against Python's on the
// same logits, for two families with replicas, K steps per call and padding modes varied
// (test/helpers/task-parity.ts).
import t from 'tap';

import { TASK_FAMILIES, taskParity } from './helpers/task-parity.js';

await taskParity(t, 'classification', TASK_FAMILIES.bert, { padding: 'bucket', replicas: 2, stepsPerExecution: 4 });
await taskParity(t, 'classification', TASK_FAMILIES.roberta, { padding: 'pack', replicas: 2, stepsPerExecution: 5 });
