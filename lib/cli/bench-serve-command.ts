/**
 * `pjrt-bert bench --serve`: serving throughput and latency of `pjrt-bert serve` against
 * transformers.js and a PyTorch server, on the same fine-tuned models, in one run; a table, or
 * with `--json` one JSON object (`{"device", "platform", "date", "versions", "serve": {...}}`)
 * as the last stdout line.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';

import { referencePython, runLogged } from '../bench/references.js';
import { SERVE_FRAMEWORKS, type ServeFramework, cpuDescription, loadServeTexts, runServeBench } from '../bench/serve-bench.js';
import { formatServeMarkdown, formatServeTable } from '../bench/serve-report.js';
import { type PreparedModel, SERVE_MODEL_NAMES, type ServeModelName, installExportPackages, installTransformersJs, prepareModel, serveBenchCacheDir, transformersJsVersions } from '../bench/serve-setup.js';
import { UsageError, choiceList as list, parseFlags, positiveInt } from './flags.js';

const HELP = `usage: pjrt-bert bench --serve [--json] [--models minilm,mini | --model DIR] [options]

Serves the same fine-tuned model with pjrt-bert serve, with transformers.js in Node (the same
weights exported to ONNX, behind the same HTTP server and dynamic batching) and with a PyTorch
transformers pipeline behind a minimal batching server, one at a time, and measures each
with N concurrent clients sending {"inputs": text} to POST /predict over loopback: requests/s,
p50 and p99 latency, errors. Goal on the CPU: at 64 clients, at least 1.5x transformers.js's
throughput at no worse p99.

The first run prepares, into ${path.join('<cache>', 'bench-serve')} (<cache>: $PJRT_BERT_CACHE, else
$XDG_CACHE_HOME/pjrt-bert, else ~/.cache/pjrt-bert): the models (all-MiniLM-L6-v2 from the
Python reference environment with a classification head, and the mini preset, each fine-tuned
here on generated reviews), their ONNX export, and @huggingface/transformers (npm, ~470 MB).

options:
  --models LIST          ${SERVE_MODEL_NAMES.join(', ')} (default both)
  --model DIR            a fine-tuned model directory (pjrt-bert train --out) instead of --models
  --frameworks LIST      ${SERVE_FRAMEWORKS.join(', ')} (default all three)
  --clients LIST         concurrent clients (default 1,8,64)
  --duration S           measured seconds per client count (default 20)
  --warmup S             unmeasured seconds before each measured slice (default 5)
  --rounds N             split each measurement into N slices, the servers alternating, so
                         load from other tenants of a shared machine falls on all alike (default 1)
  --seq-len N            longest input in tokens, longer ones truncated (default 128)
  --max-batch-size N     largest batch a server runs (default 32)
  --max-wait-ms MS       how long a batch waits to fill (default 5)
  --plugin P             PJRT plugin of pjrt-bert serve (default cpu)
  --data FILE            request texts from FILE (.csv/.tsv/.jsonl; --text-column, default Text);
                         default: the GRGE tweets in $PJRT_BERT_DATA when there, else generated tweets
  --text-column NAME     text column of --data
  --python PATH          Python with torch/transformers (default: the package's venv)
  --ours-bin FILE        the pjrt-bert bin whose serve is measured as ours (default: this package's;
                         e.g. another build or version to compare)
  --record FILE          append the results as a dated Markdown section to FILE
  --json                 print the result object as JSON (last line of stdout)`;

const FLAGS = {
  serve: { type: 'boolean' },
  models: { type: 'string', default: SERVE_MODEL_NAMES.join(',') },
  model: { type: 'string' },
  frameworks: { type: 'string', default: SERVE_FRAMEWORKS.join(',') },
  clients: { type: 'string', default: '1,8,64' },
  duration: { type: 'string', default: '20' },
  warmup: { type: 'string', default: '5' },
  rounds: { type: 'string', default: '1' },
  'seq-len': { type: 'string', default: '128' },
  'max-batch-size': { type: 'string', default: '32' },
  'max-wait-ms': { type: 'string', default: '5' },
  plugin: { type: 'string', default: 'cpu' },
  data: { type: 'string' },
  'text-column': { type: 'string', default: 'Text' },
  python: { type: 'string' },
  'ours-bin': { type: 'string' },
  record: { type: 'string' },
  json: { type: 'boolean' },
} as const;

function seconds(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= min)) throw new UsageError(`${flag} must be a number of seconds >= ${min}, got '${value}'`);
  return n;
}

/** The parsed settings of `bench --serve`. */
export interface ServeBenchFlags {
  models: ServeModelName[];
  modelDir: string | undefined;
  frameworks: ServeFramework[];
  clients: number[];
  durationMs: number;
  warmupMs: number;
  rounds: number;
  seqLen: number;
  maxBatchSize: number;
  maxWaitMs: number;
  plugin: string;
}

/** Reads and checks the flags of `bench --serve`. Sync; throws UsageError naming the flag. */
export function serveBenchFlags(values: Record<string, string | boolean | undefined>): ServeBenchFlags {
  const seqLen = positiveInt(values['seq-len'] as string, '--seq-len')!;
  if (seqLen < 2 || seqLen > 512) throw new UsageError(`--seq-len must be from 2 to 512 (BERT's position embeddings), got ${seqLen}`);
  const maxWaitMs = Number(values['max-wait-ms']);
  if (!(maxWaitMs >= 0 && Number.isFinite(maxWaitMs))) throw new UsageError(`--max-wait-ms must be a number >= 0, got '${values['max-wait-ms']}'`);
  return {
    models: list(values.models as string, '--models', SERVE_MODEL_NAMES),
    modelDir: values.model as string | undefined,
    frameworks: list(values.frameworks as string, '--frameworks', SERVE_FRAMEWORKS),
    clients: [...new Set((values.clients as string).split(',').map((c) => positiveInt(c.trim(), '--clients')!))],
    durationMs: seconds(values.duration as string, '--duration', 1) * 1000,
    warmupMs: seconds(values.warmup as string, '--warmup', 0) * 1000,
    rounds: positiveInt(values.rounds as string, '--rounds')!,
    seqLen,
    maxBatchSize: positiveInt(values['max-batch-size'] as string, '--max-batch-size')!,
    maxWaitMs,
    plugin: values.plugin as string,
  };
}

/** `pjrt-bert bench --serve`. Async; returns the exit code (1 when any server failed or dropped requests). */
export async function runServeBenchCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, FLAGS, HELP);
  if (!parsed) return 0;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'\n\n${HELP}`);
  const { values } = parsed;
  const flags = serveBenchFlags(values);
  const log = (line: string) => process.stderr.write(`[bench --serve] ${line}\n`);
  const texts = await loadServeTexts(values.data as string | undefined, values['text-column'] as string);
  const cacheDir = serveBenchCacheDir();
  const python = await referencePython({ device: 'cpu', log, ...(values.python ? { python: values.python as string } : {}) });
  const withTjs = flags.frameworks.includes('transformers.js');
  const exportPackages = withTjs ? await installExportPackages(cacheDir, python, log) : undefined;
  const transformersJs = withTjs ? await installTransformersJs(cacheDir, log) : undefined;
  const prepare = { cacheDir, python, plugin: flags.plugin, log, ...(exportPackages ? { exportPackages } : {}) };
  const models: PreparedModel[] = [];
  if (flags.modelDir) models.push(await prepareModel({ dir: flags.modelDir }, prepare));
  else for (const name of flags.models) models.push(await prepareModel(name, prepare));
  const versions = { ...(transformersJs ? transformersJsVersions(transformersJs) : {}), ...(await pythonVersions(python, log)) };
  const date = new Date().toISOString();
  const serve = await runServeBench({
    models,
    frameworks: flags.frameworks,
    clients: flags.clients,
    durationMs: flags.durationMs,
    warmupMs: flags.warmupMs,
    rounds: flags.rounds,
    settings: { seqLen: flags.seqLen, maxBatchSize: flags.maxBatchSize, maxWaitMs: flags.maxWaitMs, plugin: flags.plugin },
    tools: { python, ...(transformersJs ? { transformersJs } : {}), ...(values['ours-bin'] ? { oursBin: path.resolve(values['ours-bin'] as string) } : {}) },
    texts,
    versions,
    log,
  });
  const device = flags.plugin === 'cpu' ? cpuDescription() : `${flags.plugin} (${cpuDescription()})`;
  const report = { device, platform: flags.plugin === 'cpu' ? 'cpu' : flags.plugin, date, versions: serve.versions, serve };
  if (values.record) {
    const command = argv.filter((a, i) => a !== '--record' && argv[i - 1] !== '--record' && !a.startsWith('--record=')).join(' ');
    appendFileSync(values.record as string, `\n${formatServeMarkdown(serve, device, date, `Command: \`pjrt-bert bench ${command}\`.`)}`);
    log(`appended the results to ${values.record}`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${formatServeTable(serve, device)}\n`);
  const failed = serve.models.some((m) => m.servers.some((s) => s.error !== undefined || s.levels.some((l) => l.errors > 0)));
  return failed ? 1 : 0;
}

/** torch and transformers versions of the reference Python. Async; never rejects (unknown on failure). */
async function pythonVersions(python: string, log: (line: string) => void): Promise<Record<string, string>> {
  try {
    const out = await runLogged(python, ['-c', 'import json, torch, transformers; print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__}))'], log, 'reading torch/transformers versions');
    return JSON.parse(out.trim().split('\n').pop()!) as Record<string, string>;
  } catch {
    return { torch: 'unknown', transformers: 'unknown' };
  }
}
