/**
 * The table of fine-tuning tasks, by the name `--task` takes. Adding a task is one file
 * implementing `Task` (task.ts) plus one row here.
 */
import type { Task, TaskName } from './task.js';
import { classificationTask } from './task-classification.js';
import { multiLabelTask } from './task-multi-label.js';
import { regressionTask } from './task-regression.js';
import { tokenClassificationTask } from './task-token.js';

/** Settings some tasks take. */
export interface TaskOptions {
  /** Multi-label: the probability from which a label is predicted (default 0.5). */
  readonly threshold?: number;
}

/** Every task, by name. */
export const TASKS: Record<TaskName, (options: TaskOptions) => Task> = {
  classification: () => classificationTask,
  regression: () => regressionTask,
  'multi-label': (options) => multiLabelTask(options.threshold),
  'token-classification': () => tokenClassificationTask,
};

/** The task named `name`. Sync; throws RangeError listing the tasks. */
export function taskNamed(name: string, options: TaskOptions = {}): Task {
  if (!Object.hasOwn(TASKS, name)) throw new RangeError(`unknown task '${name}' (known: ${Object.keys(TASKS).join(', ')})`);
  return TASKS[name as TaskName](options);
}

/** The task of a saved model's config: HF's `problem_type`, else `token-classification` for a token head, else classification. Sync. */
export function taskOfModel(problemType: string | undefined, tokenHead: boolean, options: TaskOptions = {}): Task {
  if (tokenHead) return tokenClassificationTask;
  if (problemType === 'regression') return regressionTask;
  if (problemType === 'multi_label_classification') return multiLabelTask(options.threshold);
  return classificationTask;
}
