// Regression (similarity scores), mean squared error against transformers and PyTorch on tiny random
// models built at test time: 20 AdamW steps, then evaluate's metrics against Python's on the
// same logits, for two families with replicas, K steps per call and padding modes varied
// (test/helpers/task-parity.ts).
import t from 'tap';

import { TASK_FAMILIES, taskParity } from './helpers/task-parity.js';

await taskParity(t, 'regression', TASK_FAMILIES.bert, { padding: 'pack', replicas: 2, stepsPerExecution: 4 });
await taskParity(t, 'regression', TASK_FAMILIES.distilbert, { padding: 'bucket', replicas: 1, stepsPerExecution: 5 });
