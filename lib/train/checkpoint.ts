/**
 * Checkpoints of a training run. The output directory is a Hugging Face model directory
 * (config.json, model.safetensors, vocab.txt, tokenizer files) plus `trainer_state/` and
 * `metrics.jsonl`:
 *
 *     out/
 *       config.json, model.safetensors, ...     the latest checkpoint's model (what transformers loads)
 *       metrics.jsonl                            one line per epoch
 *       best/                                    with keepBest: the best epoch's model
 *       trainer_state/checkpoint-<step>/         the last two complete checkpoints: the model
 *         files, optimizer.safetensors, state.json, metrics.jsonl, and COMPLETE (written last)
 *       .pjrt-bert-output                        marks the directory as a pjrt-bert run
 *
 * Nothing is ever half-written: every file goes to a temporary name, is flushed and renamed
 * into place; a checkpoint counts only once its `COMPLETE` marker exists (written after all
 * its files are on disk); the top-level model files are then replaced one by one, each
 * atomically (copies of the checkpoint's files). A crash at any
 * point leaves the previous complete checkpoint, and {@link findCheckpoint} falls back to it
 * and says so. Only files and folders this module created (recognised by name and by a marker
 * inside) are ever deleted.
 */
import { constants } from 'node:fs';
import { copyFile, readdir, readFile, rm, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeDirectory, syncDirectory, writeFileAtomic, writeJsonAtomic } from '../io/files.js';
import { LOCK_FILE, OutputDirError } from '../io/output-dir.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { Tensor } from '../io/tensor.js';

/** The JSON part of a checkpoint: everything needed to resume exactly. */
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
  /** True once the run ended (all epochs, or early stopping): a rerun has nothing to do. */
  finished?: boolean;
}

/** What a checkpoint holds besides the HF files. */
export interface TrainerState {
  json: TrainerStateJson;
  /** Optimizer state tensors, e.g. `m.bert.embeddings.word_embeddings.weight`. */
  optimizer: Map<string, Tensor>;
}

/** A complete checkpoint found in an output directory. */
export interface Checkpoint {
  /** The folder holding its model files (loadable as a model directory). */
  dir: string;
  state: TrainerState;
  /** Its metrics.jsonl lines, parsed. */
  metrics: Record<string, unknown>[];
}

const STATE_DIR = 'trainer_state';
const STATE_FILE = 'state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const METRICS_FILE = 'metrics.jsonl';
const COMPLETE_FILE = 'COMPLETE';
const CHECKPOINT_MARKER = '.pjrt-bert-checkpoint';
/** Marks a directory as the output of a pjrt-bert run. */
export const OUTPUT_MARKER = '.pjrt-bert-output';
const BEST_DIR = 'best';
/** Files of a checkpoint folder that are not part of the model directory. */
const TRAINER_FILES = new Set([STATE_FILE, OPTIMIZER_FILE, METRICS_FILE, COMPLETE_FILE, CHECKPOINT_MARKER]);
const CHECKPOINT_NAME = /^checkpoint-(\d+)$/;

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );

/** The checkpoint folders of `out`, newest (highest step) first. Async. */
async function checkpointDirs(out: string): Promise<{ dir: string; step: number }[]> {
  let names: string[];
  try {
    names = await readdir(path.join(out, STATE_DIR));
  } catch {
    return [];
  }
  const found: { dir: string; step: number }[] = [];
  for (const name of names) {
    const match = CHECKPOINT_NAME.exec(name);
    const dir = path.join(out, STATE_DIR, name);
    if (match && (await exists(path.join(dir, CHECKPOINT_MARKER)))) found.push({ dir, step: Number(match[1]) });
  }
  return found.sort((a, b) => b.step - a.step);
}

/** True when `dir` holds a version-1 checkpoint (state at `trainer_state/state.json`, model at the top). */
async function isLegacyCheckpoint(dir: string): Promise<boolean> {
  return exists(path.join(dir, STATE_DIR, STATE_FILE));
}

/**
 * Checks that `out` may hold this run: it is empty (apart from a lock and probe files), or
 * already a pjrt-bert output directory; then marks it as one. Async.
 * @throws OutputDirError when `out` holds files of something else (nothing is changed then).
 */
export async function claimOutputDir(out: string, flag = '--out'): Promise<void> {
  const names = (await readdir(out)).filter((name) => !name.startsWith(LOCK_FILE) && !name.startsWith('.pjrt-bert-probe-'));
  const ours = names.includes(OUTPUT_MARKER) || (await isLegacyCheckpoint(out));
  if (names.length > 0 && !ours) {
    throw new OutputDirError(out, `${flag} ${out} exists, is not empty and is not a pjrt-bert output directory (no ${OUTPUT_MARKER}); choose a new or empty directory`);
  }
  if (!names.includes(OUTPUT_MARKER)) await writeJsonAtomic(path.join(out, OUTPUT_MARKER), { createdBy: 'pjrt-bert', layout: 'checkpoint-dirs' });
}

async function readState(dir: string, stateDir: string): Promise<TrainerState> {
  const file = path.join(stateDir, STATE_FILE);
  const json = JSON.parse(await readFile(file, 'utf8')) as TrainerStateJson;
  if (json.format !== 1 || !Number.isInteger(json.step)) throw new Error(`${file}: unsupported trainer state (format ${String(json.format)})`);
  const optimizer = (await readSafetensors(path.join(stateDir, OPTIMIZER_FILE))).tensors;
  void dir;
  return { json, optimizer: new Map(optimizer) };
}

/** The lines of a metrics.jsonl, parsed (empty if the file is missing). Async. */
export async function readMetrics(file: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * The newest complete checkpoint in `out`, if any, and notes for the user about newer ones that
 * were skipped (interrupted while being written, or unreadable). Reads version-1 output
 * directories (state in `trainer_state/state.json`) too. Async; never throws for a damaged
 * checkpoint (it is skipped and noted).
 */
export async function findCheckpoint(out: string): Promise<{ checkpoint?: Checkpoint; notes: string[] }> {
  const notes: string[] = [];
  for (const { dir } of await checkpointDirs(out)) {
    const name = path.relative(out, dir);
    if (!(await exists(path.join(dir, COMPLETE_FILE)))) {
      notes.push(`${name} is incomplete (the run stopped while saving it); falling back to the checkpoint before it`);
      continue;
    }
    try {
      const state = await readState(dir, dir);
      return { checkpoint: { dir, state, metrics: await readMetrics(path.join(dir, METRICS_FILE)) }, notes };
    } catch (error) {
      notes.push(`${name} cannot be read (${(error as Error).message}); falling back to the checkpoint before it`);
    }
  }
  if (await isLegacyCheckpoint(out)) {
    try {
      const state = await readState(out, path.join(out, STATE_DIR));
      return { checkpoint: { dir: out, state, metrics: await readMetrics(path.join(out, METRICS_FILE)) }, notes };
    } catch (error) {
      notes.push(`${STATE_DIR}/${STATE_FILE} cannot be read (${(error as Error).message}); starting over`);
    }
  }
  return { notes };
}

/**
 * Replaces `target` with a copy of `source` atomically (a copy-on-write clone where the file
 * system has them): never a hard link, so a tool that rewrites the top-level model in place
 * cannot change a checkpoint.
 */
async function replaceWith(source: string, target: string): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await copyFile(source, temp, constants.COPYFILE_FICLONE);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Makes `target` hold the model files of checkpoint folder `source` (each file replaced atomically). */
async function exportModelFiles(source: string, target: string): Promise<void> {
  await makeDirectory(target);
  for (const name of await readdir(source)) {
    if (TRAINER_FILES.has(name)) continue;
    await replaceWith(path.join(source, name), path.join(target, name));
  }
  await syncDirectory(target);
}

/**
 * Makes the top level of `out` (the model files and metrics.jsonl) match `checkpoint`, e.g.
 * after a crash between completing a checkpoint and updating the top level. Async; throws the
 * file system's errors.
 */
export async function exportCheckpoint(out: string, checkpoint: Checkpoint): Promise<void> {
  if (checkpoint.dir === out) return; // a version-1 checkpoint is the top level
  await exportModelFiles(checkpoint.dir, out);
  await replaceWith(path.join(checkpoint.dir, METRICS_FILE), path.join(out, METRICS_FILE));
}

/** What {@link writeCheckpoint} writes. */
export interface CheckpointContents {
  /** Writes the HF model files into the given folder. */
  writeModel: (dir: string) => Promise<void>;
  state: TrainerState;
  /** Every epoch's metrics so far, this one's last. */
  metrics: readonly Record<string, unknown>[];
  /** Also make this the `best/` model. */
  isBest?: boolean;
}

/**
 * Writes a checkpoint of `out` (see the module comment): a new `trainer_state/checkpoint-<step>`
 * folder, complete before anything else changes; then the top-level model files, metrics.jsonl
 * and (when `isBest`) `best/`; then older checkpoints beyond the last two are removed. Async;
 * throws the file system's errors (the previous complete checkpoint then stays usable).
 */
export async function writeCheckpoint(out: string, contents: CheckpointContents): Promise<string> {
  const dir = path.join(out, STATE_DIR, `checkpoint-${contents.state.json.step}`);
  if (await exists(path.join(dir, CHECKPOINT_MARKER))) await rm(dir, { recursive: true, force: true }); // ours, from an interrupted save
  await makeDirectory(dir);
  await writeFile(path.join(dir, CHECKPOINT_MARKER), 'written by pjrt-bert; removed by it when superseded\n');
  await contents.writeModel(dir);
  await writeSafetensors(path.join(dir, OPTIMIZER_FILE), contents.state.optimizer);
  await writeJsonAtomic(path.join(dir, STATE_FILE), contents.state.json);
  await writeFileAtomic(path.join(dir, METRICS_FILE), contents.metrics.map((line) => `${JSON.stringify(line)}\n`).join(''));
  await writeJsonAtomic(path.join(dir, COMPLETE_FILE), { step: contents.state.json.step });
  const checkpoint: Checkpoint = { dir, state: contents.state, metrics: [...contents.metrics] };
  await exportCheckpoint(out, checkpoint);
  if (contents.isBest) await exportModelFiles(dir, path.join(out, BEST_DIR));
  await pruneCheckpoints(out, 2);
  return dir;
}

/** Removes this module's checkpoint folders beyond the newest `keep` complete ones, and version-1 state files. */
async function pruneCheckpoints(out: string, keep: number): Promise<void> {
  let complete = 0;
  for (const { dir } of await checkpointDirs(out)) {
    const done = await exists(path.join(dir, COMPLETE_FILE));
    if (done && complete < keep) {
      complete++;
      continue;
    }
    await rm(dir, { recursive: true, force: true });
  }
  if (await isLegacyCheckpoint(out)) {
    await rm(path.join(out, STATE_DIR, STATE_FILE), { force: true });
    await rm(path.join(out, STATE_DIR, OPTIMIZER_FILE), { force: true });
  }
}
