/**
 * Checkpoints of a training run, written atomically. The output directory is a Hugging Face
 * model directory (config.json, model.safetensors, vocab.txt, tokenizer files) plus
 * `trainer_state/` (optimizer moments, step, RNG seed, data position) and `metrics.jsonl`.
 *
 * Atomicity: a checkpoint is written in full to `<out>.partial/`, then swapped in with two
 * renames (`out` -> `out.old`, `out.partial` -> `out`). A crash at any point leaves either the
 * previous checkpoint or the new one complete; {@link recoverCheckpoint} finishes an
 * interrupted swap.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { Tensor } from '../io/tensor.js';

/** The JSON part of `trainer_state/`: everything needed to resume exactly. */
export interface TrainerStateJson {
  format: 1;
  /** Optimizer steps taken so far. */
  step: number;
  /** Epoch in progress (0-based) and how many train-program calls of it are done. */
  epoch: number;
  callsDoneInEpoch: number;
  /** True when `epoch` finished (the next run starts epoch + 1). */
  epochComplete: boolean;
  seed: number;
  /** Label names in id order. */
  labels: string[];
  /** Early stopping / best-checkpoint bookkeeping. */
  best?: { metric: string; value: number; epoch: number };
  epochsWithoutImprovement: number;
  /** Settings that must not change on resume (batch size, replicas, ...). */
  fingerprint: Record<string, unknown>;
}

/** What a checkpoint holds besides the HF files. */
export interface TrainerState {
  json: TrainerStateJson;
  /** Optimizer state tensors, e.g. `m.bert.embeddings.word_embeddings.weight`. */
  optimizer: Map<string, Tensor>;
}

const STATE_DIR = 'trainer_state';
const STATE_FILE = 'state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const METRICS_FILE = 'metrics.jsonl';

/** True if `dir` holds a complete pjrt-bert checkpoint. Sync. */
export function isCheckpoint(dir: string): boolean {
  return existsSync(path.join(dir, STATE_DIR, STATE_FILE));
}

/**
 * Makes `out` the latest complete checkpoint after an interrupted swap, and returns whether a
 * checkpoint exists there. Async.
 * @throws Error when `out` exists, is not empty and is not a pjrt-bert output directory.
 */
export async function recoverCheckpoint(out: string): Promise<boolean> {
  const partial = `${out}.partial`;
  const old = `${out}.old`;
  if (!isCheckpoint(out)) {
    if (existsSync(out) && readdirSync(out).length > 0) {
      throw new Error(`--out ${out} exists and is not a pjrt-bert output directory (no ${STATE_DIR}/${STATE_FILE}); choose a new or empty directory`);
    }
    // Crashed between the two renames: the new checkpoint is complete in .partial, or the old one in .old.
    const source = isCheckpoint(partial) ? partial : isCheckpoint(old) ? old : undefined;
    if (source) {
      await rm(out, { recursive: true, force: true });
      await rename(source, out);
    }
  }
  await rm(partial, { recursive: true, force: true });
  await rm(old, { recursive: true, force: true });
  return isCheckpoint(out);
}

/**
 * Writes a checkpoint atomically: `writeModel(dir)` writes the HF model files into the staging
 * directory, then the trainer state and metrics (previous lines + `metricsLine`) are added and
 * the directory is swapped in. Async; throws the file system's errors (the previous checkpoint
 * then stays intact).
 */
export async function writeCheckpoint(
  out: string,
  writeModel: (dir: string) => Promise<void>,
  state: TrainerState,
  metricsLine?: Record<string, unknown>,
): Promise<void> {
  const partial = `${out}.partial`;
  const old = `${out}.old`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(path.join(partial, STATE_DIR), { recursive: true });
  await writeModel(partial);
  let metrics = '';
  try {
    metrics = await readFile(path.join(out, METRICS_FILE), 'utf8');
  } catch {
    // first checkpoint
  }
  if (metricsLine) metrics += `${JSON.stringify(metricsLine)}\n`;
  await writeFile(path.join(partial, METRICS_FILE), metrics);
  await writeSafetensors(path.join(partial, STATE_DIR, OPTIMIZER_FILE), state.optimizer);
  await writeFile(path.join(partial, STATE_DIR, STATE_FILE), `${JSON.stringify(state.json, null, 2)}\n`); // written last: marks completeness
  await rm(old, { recursive: true, force: true });
  if (existsSync(out)) await rename(out, old);
  await rename(partial, out);
  await rm(old, { recursive: true, force: true });
}

/**
 * Reads the trainer state of a checkpoint. Async.
 * @throws Error naming the file when it is missing or malformed.
 */
export async function readTrainerState(out: string): Promise<TrainerState> {
  const file = path.join(out, STATE_DIR, STATE_FILE);
  let json: TrainerStateJson;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as TrainerStateJson;
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (json.format !== 1) throw new Error(`${file}: unsupported trainer state format ${String(json.format)}`);
  const optimizer = (await readSafetensors(path.join(out, STATE_DIR, OPTIMIZER_FILE))).tensors;
  return { json, optimizer: new Map(optimizer) };
}

/** The lines of `metrics.jsonl` in `out`, parsed (empty if none). Async. */
export async function readMetrics(out: string): Promise<Record<string, unknown>[]> {
  try {
    const text = await readFile(path.join(out, METRICS_FILE), 'utf8');
    return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  } catch {
    return [];
  }
}
