/**
 * `pjrt-bert bench --serve`, the run: for each prepared model (serve-setup.ts), start each server
 * in its own process and check its answers on a sample of the texts, then measure throughput and
 * latency at each client count with the load generator (serve-load.ts), one server at a time
 * (alternating over rounds), and stop them by their PIDs. The servers:
 *
 * - `ours`: `pjrt-bert serve --model DIR --port 0` (this package's bin);
 * - `transformers.js`: `@huggingface/transformers` over the same weights exported to ONNX,
 *   behind lib/serve's Server (tjs-server.ts: the same HTTP code and dynamic batching as ours);
 * - `torch`: transformers' text-classification pipeline behind a minimal batching HTTP server
 *   (bench/reference/torch_serve.py).
 *
 * All get the same flags: `--seq-len`, `--max-batch-size`, `--max-wait-ms`.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { readTable } from '../data/tables.js';
import { generatedTweets } from '../data/generated-tweets.js';
import { packageRoot } from '../native/package-root.js';
import { type LoadResult, type LoadSlice, loopbackUrl, mergeLoads, postPredict, runLoadSlice } from './serve-load.js';
import { type RunningServer, type ServerCommand, startServer } from './serve-process.js';
import type { PreparedModel } from './serve-setup.js';

/** The servers `bench --serve` compares. */
export const SERVE_FRAMEWORKS = ['ours', 'transformers.js', 'torch'] as const;
/** One of {@link SERVE_FRAMEWORKS}. */
export type ServeFramework = (typeof SERVE_FRAMEWORKS)[number];

/** Serving settings every server gets. */
export interface ServeSettings {
  readonly seqLen: number;
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
  /** PJRT plugin of ours (`cpu`, `cuda`, ...); the others run on the CPU unless it says cuda. */
  readonly plugin: string;
}

/** Where the other servers' pieces are. */
export interface ServerTools {
  /** Python of the reference environment (torch, transformers). */
  readonly python?: string;
  /** transformers.js's `transformers.node.mjs`. */
  readonly transformersJs?: string;
  /** The `pjrt-bert` bin whose `serve` is measured as ours (default: this package's bin/pjrt-bert.js). */
  readonly oursBin?: string;
}

/** The command line that starts `framework`'s server for `model`. Sync; throws Error when a tool it needs is missing. */
export function serverCommand(framework: ServeFramework, model: PreparedModel, settings: ServeSettings, tools: ServerTools): ServerCommand {
  const common = ['--host', '127.0.0.1', '--port', '0', '--seq-len', `${settings.seqLen}`, '--max-batch-size', `${settings.maxBatchSize}`, '--max-wait-ms', `${settings.maxWaitMs}`];
  if (framework === 'ours') {
    return { name: framework, command: process.execPath, args: [tools.oursBin ?? path.join(packageRoot(), 'bin/pjrt-bert.js'), 'serve', '--model', model.modelDir, ...common, '--plugin', settings.plugin] };
  }
  if (framework === 'transformers.js') {
    if (!tools.transformersJs) throw new Error('the transformers.js server needs an installed @huggingface/transformers (installTransformersJs)');
    if (!model.onnxDir) throw new Error(`the transformers.js server needs the ONNX export of ${model.modelDir} (prepareModel with exportPackages)`);
    // beside this module when running from dist/; the compiled copy when running the TypeScript source (tests)
    const sibling = fileURLToPath(new URL('./tjs-server.js', import.meta.url));
    const script = existsSync(sibling) ? sibling : path.join(packageRoot(), 'dist/lib/bench/tjs-server.js');
    return { name: framework, command: process.execPath, args: [script, '--transformers', tools.transformersJs, '--model', model.onnxDir, ...common] };
  }
  if (!tools.python) throw new Error('the PyTorch server needs the reference Python (referencePython)');
  const device = /cuda|gpu/i.test(settings.plugin) ? 'cuda' : 'cpu';
  return { name: framework, command: tools.python, args: [path.join(packageRoot(), 'bench/reference/torch_serve.py'), '--model', model.modelDir, ...common, '--device', device], env: { HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' } };
}

/** One server's measurements on one model. */
export interface ServeServerResult {
  framework: ServeFramework;
  /** Seconds from starting the process to `/health` answering 200 (load + compile/warm-up). */
  startup_s: number | null;
  /** Peak resident memory of the server process, MiB. */
  peak_rss_mb: number | null;
  /** Top label and score of each sample text (the check before measuring). */
  sample: { label: string; score: number }[];
  /** One row per client count. */
  levels: LoadResult[];
  /** Why the server could not be measured (then `levels` is empty or partial). */
  error?: string;
}

/** One model's results. */
export interface ServeModelResult {
  model: string;
  model_dir: string;
  servers: ServeServerResult[];
  /**
   * The sample answers of each server against the first reference among torch, ours: the
   * fraction of texts with the same top label, and the largest difference of the top score.
   */
  agreement: { framework: ServeFramework; against: ServeFramework; same_label: number; max_score_diff: number }[];
  /** The issue's goal at the most clients: ours' throughput over transformers.js's, and both p99s. */
  goal: { clients: number; throughput_ratio: number | null; ours_p99_ms: number | null; tjs_p99_ms: number | null; met: boolean | null };
}

/** What `--serve` adds to the bench's JSON object. */
export interface ServeReport {
  texts: { source: string; count: number; mean_chars: number };
  settings: { seq_len: number; max_batch_size: number; max_wait_ms: number; duration_s: number; warmup_s: number; rounds: number; clients: number[]; plugin: string };
  versions: Record<string, string>;
  /** The machine's 1/5/15-minute load averages before and after the run (other tenants of a shared machine show here). */
  load_average: { start: number[]; end: number[] };
  models: ServeModelResult[];
}

/** Options of {@link runServeBench}. */
export interface ServeBenchOptions {
  readonly models: readonly PreparedModel[];
  readonly frameworks: readonly ServeFramework[];
  readonly clients: readonly number[];
  /** Measured time per server and client count, split evenly over the rounds. */
  readonly durationMs: number;
  /** Unmeasured time before each measured slice (each round of each server). */
  readonly warmupMs: number;
  /** Rounds per client count, the servers alternating (default 1). */
  readonly rounds?: number;
  readonly settings: ServeSettings;
  readonly tools: ServerTools;
  readonly texts: { readonly texts: readonly string[]; readonly source: string };
  readonly versions?: Record<string, string>;
  /** Texts checked on every server before measuring (default 16). */
  readonly sampleSize?: number;
  /** Replaces the command of a framework (tests: a stand-in for `pjrt-bert serve`). */
  readonly commandFor?: (framework: ServeFramework, model: PreparedModel) => ServerCommand | undefined;
  readonly readyTimeoutMs?: number;
  readonly log: (line: string) => void;
}

/**
 * The request texts: `file` (a .csv/.tsv/.jsonl with `textColumn`), else the real GRGE tweets
 * in `$PJRT_BERT_DATA` when there, else 2,000 generated tweets. Async; rejects as readTable.
 */
export async function loadServeTexts(file?: string, textColumn = 'Text'): Promise<{ texts: string[]; source: string }> {
  if (file) return { texts: (await readTable(file, { textColumn })).texts, source: file };
  const dataDir = process.env.PJRT_BERT_DATA;
  const grge = dataDir ? path.join(path.resolve(dataDir), 'GRGE_sentiment.csv') : undefined;
  if (grge && existsSync(grge)) return { texts: (await readTable(grge, { textColumn: 'Text' })).texts, source: grge };
  return { texts: generatedTweets(2000, 7), source: 'generated tweets (lib/data/generated-tweets.ts, seed 7)' };
}

/** The sample answers of `texts`, sent all at once (so they are batched). Async; rejects on the first failed request. */
async function sampleAnswers(url: string, texts: readonly string[]): Promise<{ label: string; score: number }[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: texts.length });
  try {
    return await Promise.all(
      texts.map(async (text) => {
        const answer = await postPredict(loopbackUrl(url), { inputs: text, truncate: true }, agent, 120_000);
        if (answer.status !== 200) throw new Error(`the sample request answered HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
        const [top] = JSON.parse(answer.body) as { label: string; score: number }[];
        if (!top || typeof top.label !== 'string' || typeof top.score !== 'number') throw new Error(`the sample request's answer is not a list of {label, score}: ${answer.body.slice(0, 200)}`);
        return { label: top.label, score: top.score };
      }),
    );
  } finally {
    agent.destroy();
  }
}

/** How each server's sample compares with the reference's (torch when measured, else ours). Sync. */
export function compareSamples(servers: readonly ServeServerResult[]): ServeModelResult['agreement'] {
  const reference = servers.find((s) => s.framework === 'torch' && s.sample.length) ?? servers.find((s) => s.framework === 'ours' && s.sample.length);
  if (!reference) return [];
  return servers
    .filter((s) => s !== reference && s.sample.length === reference.sample.length)
    .map((s) => ({
      framework: s.framework,
      against: reference.framework,
      same_label: s.sample.filter((a, i) => a.label === reference.sample[i]!.label).length / s.sample.length,
      max_score_diff: Math.max(...s.sample.map((a, i) => Math.abs(a.score - reference.sample[i]!.score))),
    }));
}

/** The goal of the issue, at the largest client count: ours >= 1.5x transformers.js's requests/s at no worse p99. Sync. */
export function serveGoal(servers: readonly ServeServerResult[]): ServeModelResult['goal'] {
  const clients = Math.max(0, ...servers.flatMap((s) => s.levels.map((l) => l.clients)));
  const at = (framework: ServeFramework) => servers.find((s) => s.framework === framework)?.levels.find((l) => l.clients === clients);
  const ours = at('ours');
  const tjs = at('transformers.js');
  const ratio = ours && tjs && tjs.rps > 0 ? ours.rps / tjs.rps : null;
  const oursP99 = ours?.p99_ms ?? null;
  const tjsP99 = tjs?.p99_ms ?? null;
  const met = ratio === null || oursP99 === null || tjsP99 === null ? null : ratio >= 1.5 && oursP99 <= tjsP99 && ours!.errors === 0;
  return { clients, throughput_ratio: ratio, ours_p99_ms: oursP99, tjs_p99_ms: tjsP99, met };
}

/** Starts one server and checks its sample answers; a failure is recorded in `result`, never thrown. */
async function startChecked(result: ServeServerResult, model: PreparedModel, options: ServeBenchOptions): Promise<RunningServer | undefined> {
  let server: RunningServer | undefined;
  try {
    const command = options.commandFor?.(result.framework, model) ?? serverCommand(result.framework, model, options.settings, options.tools);
    server = await startServer({ ...command, log: options.log, ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}) });
    result.startup_s = server.startupSeconds;
    result.sample = await sampleAnswers(server.url, options.texts.texts.slice(0, options.sampleSize ?? 16));
    return server;
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    options.log(`${model.name} / ${result.framework} failed: ${result.error}`);
    if (server) result.peak_rss_mb = (await server.stop()).peakRssMb;
    return undefined;
  }
}

/**
 * Measures every server on one model. The servers are started one after the other (each
 * start-up alone on the machine) and stay up; then, for each client count, each round measures
 * every server once, in an order that rotates from round to round, so a change of load from
 * other tenants falls on all of them alike; a server's rounds are merged (mergeLoads). Failures
 * are recorded in the results, never thrown; every server is stopped by its PID at the end.
 */
async function measureModel(model: PreparedModel, options: ServeBenchOptions): Promise<ServeServerResult[]> {
  const { log } = options;
  const rounds = options.rounds ?? 1;
  const results = options.frameworks.map((framework): ServeServerResult => ({ framework, startup_s: null, peak_rss_mb: null, sample: [], levels: [] }));
  const running = new Map<ServeServerResult, RunningServer>();
  try {
    for (const result of results) {
      const server = await startChecked(result, model, options);
      if (server) running.set(result, server);
    }
    const slice = options.durationMs / rounds;
    for (const clients of options.clients) {
      const slices = new Map<ServeServerResult, LoadSlice[]>();
      for (let round = 0; round < rounds; round++) {
        const order = [...running.keys()];
        for (const result of [...order.slice(round % order.length), ...order.slice(0, round % order.length)]) {
          const server = running.get(result)!;
          log(`${model.name} / ${result.framework}: ${clients} client${clients === 1 ? '' : 's'}${rounds > 1 ? ` (round ${round + 1} of ${rounds})` : ''}, ${options.warmupMs / 1000} s warm-up + ${slice / 1000} s`);
          const part = await runLoadSlice({ url: server.url, texts: options.texts.texts, clients, durationMs: slice, warmupMs: options.warmupMs });
          slices.set(result, [...(slices.get(result) ?? []), part]);
        }
      }
      for (const [result, parts] of slices) {
        const level = mergeLoads(parts);
        log(`${model.name} / ${result.framework} @${clients}: ${level.rps.toFixed(1)} req/s, p50 ${level.p50_ms?.toFixed(0)} ms, p99 ${level.p99_ms?.toFixed(0)} ms, ${level.errors} errors`);
        result.levels.push(level);
      }
    }
  } finally {
    for (const [result, server] of running) result.peak_rss_mb = (await server.stop()).peakRssMb;
  }
  return results;
}

/**
 * Runs the whole serving comparison. Async; a server that fails is recorded in its result's
 * `error` and the others are still measured.
 * @throws RangeError for no texts, no models, or a client count that is not a positive integer.
 */
export async function runServeBench(options: ServeBenchOptions): Promise<ServeReport> {
  const { texts } = options.texts;
  if (texts.length === 0) throw new RangeError(`no request texts in ${options.texts.source}`);
  if (options.models.length === 0) throw new RangeError('no models to serve');
  for (const clients of options.clients) if (!Number.isInteger(clients) || clients < 1) throw new RangeError(`client counts must be positive integers, got ${clients}`);
  const loadAtStart = os.loadavg();
  const models: ServeModelResult[] = [];
  for (const model of options.models) {
    const servers = await measureModel(model, options);
    models.push({ model: model.name, model_dir: model.modelDir, servers, agreement: compareSamples(servers), goal: serveGoal(servers) });
  }
  return {
    texts: { source: options.texts.source, count: texts.length, mean_chars: texts.reduce((sum, t) => sum + t.length, 0) / texts.length },
    settings: {
      seq_len: options.settings.seqLen,
      max_batch_size: options.settings.maxBatchSize,
      max_wait_ms: options.settings.maxWaitMs,
      duration_s: options.durationMs / 1000,
      warmup_s: options.warmupMs / 1000,
      rounds: options.rounds ?? 1,
      clients: [...options.clients],
      plugin: options.settings.plugin,
    },
    versions: { node: process.version, ...options.versions },
    load_average: { start: loadAtStart, end: os.loadavg() },
    models,
  };
}

/** A one-line description of this machine's CPU, for the report. Sync. */
export function cpuDescription(): string {
  const cpus = os.cpus();
  return `cpu (${cpus.length} cores: ${cpus[0]?.model.trim() ?? 'unknown'})`;
}
