/**
 * `pjrt-bert bench`: our BERT train step against PyTorch eager and a jitted JAX reference,
 * measured in the same run on the same machine; a table, or with `--json` the object of
 * DESIGN.md as the last stdout line.
 */
import { appendFileSync } from 'node:fs';
import { BENCH_CONFIG_NAMES, benchModel, type BenchModel } from '../bench/bench-models.js';
import { formatBenchMarkdown, formatBenchTable } from '../bench/bench-report.js';
import { runBench, type BenchFramework } from '../bench/bench-run.js';
import { runBenchJobCommand } from './bench-job-command.js';
import { runServeBenchCommand } from './bench-serve-command.js';
import { UsageError, choiceList as list, parseFlags, positiveInt } from './flags.js';

const BENCH_HELP = `usage: pjrt-bert bench [--json] [--configs mini] [--plugin cpu|cuda|tpu|PATH] [options]
       pjrt-bert bench --job [--json] [options]   (the whole fine-tuning job: bench --job --help)

Times one BERT classifier train step (forward, backward, Adam; dropout on) with pjrt-bert,
with PyTorch eager (transformers BertForSequenceClassification + torch.optim.Adam) and with a
jitted JAX reference (bench/reference/), one after the other in this run. Also reports compile
time (and a compile served from the compile cache), peak host and device memory, and model
FLOPs utilization against a large matmul timed through pjrt-bert in the same run. The Python
references are installed into .cache/venv by scripts/setup-python.sh on first use.

options:
  --configs LIST            ${BENCH_CONFIG_NAMES.join(', ')} (comma-separated; default mini)
  --plugin P                cpu (default), cuda, tpu or the path of a PJRT plugin
  --batch-size LIST         global batch sizes (default 32)
  --seq-len N               sequence length (default 128)
  --precision LIST          f32, bf16 (default f32)
  --steps-per-execution K   optimizer steps per call, ours and JAX (default 8, as the Trainer's)
  --steps N                 timed optimizer steps per framework (default 5, at least 5)
  --warmup N                untimed calls after the first (default 1)
  --rounds N                time each framework N times, alternating, and take medians over
                            all rounds (default 1; use 2-3 on a shared, noisy machine)
  --dropout P               hidden and attention dropout (default 0.1)
  --frameworks LIST         ours, torch, jax (default all three)
  --matmul-n N              side of the ceiling matmuls (default 2048 on cpu, 8192 otherwise)
  --python PATH             Python with torch/transformers/jax (default: the package's venv)
  --record FILE             append the results as a dated Markdown section to FILE
  --json                    print the result object as JSON (last line of stdout)
  --serve                   measure serving instead (pjrt-bert serve against transformers.js and
                            PyTorch); see pjrt-bert bench --serve --help`;

const FLAGS = {
  configs: { type: 'string', default: 'mini' },
  plugin: { type: 'string', default: 'cpu' },
  'batch-size': { type: 'string', default: '32' },
  'seq-len': { type: 'string', default: '128' },
  precision: { type: 'string', default: 'f32' },
  'steps-per-execution': { type: 'string' },
  steps: { type: 'string', default: '5' },
  warmup: { type: 'string', default: '1' },
  rounds: { type: 'string', default: '1' },
  dropout: { type: 'string', default: '0.1' },
  frameworks: { type: 'string', default: 'ours,torch,jax' },
  'matmul-n': { type: 'string' },
  python: { type: 'string' },
  record: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The models of a bench run: every config x precision x batch size. Sync; throws UsageError. */
export function benchModelsFromFlags(values: Record<string, string | boolean | undefined>): BenchModel[] {
  const configs = list(values.configs as string, '--configs', BENCH_CONFIG_NAMES);
  const precisions = list(values.precision as string, '--precision', ['f32', 'bf16'] as const);
  const batchSizes = (values['batch-size'] as string).split(',').map((b) => positiveInt(b.trim(), '--batch-size')!);
  const seqLen = positiveInt(values['seq-len'] as string, '--seq-len')!;
  if (seqLen > 512) throw new UsageError(`--seq-len must be at most 512 (BERT's position embeddings), got ${seqLen}`);
  const stepsPerExecution = positiveInt(values['steps-per-execution'] as string | undefined, '--steps-per-execution') ?? 8;
  const dropout = Number(values.dropout);
  if (!(dropout >= 0 && dropout < 1)) throw new UsageError(`--dropout must be in [0, 1), got '${values.dropout}'`);
  return configs.flatMap((name) =>
    precisions.flatMap((precision) =>
      batchSizes.map((batchSize) => benchModel(name, { seqLen, batchSize, precision, stepsPerExecution, dropout, vocabSize: 30522, labels: 3 })),
    ),
  );
}

/** `pjrt-bert bench` (`--job`: see runBenchJobCommand; `--serve`: runServeBenchCommand). Async; returns the exit code (1 when any framework failed on a model). */
export async function runBenchCommand(argv: string[]): Promise<number> {
  if (argv.includes('--job')) return runBenchJobCommand(argv);
  if (argv.includes('--serve')) return runServeBenchCommand(argv);
  const parsed = parseFlags(argv, FLAGS, BENCH_HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'\n\n${BENCH_HELP}`);
  const plugin = values.plugin as string;
  const onCpu = plugin === 'cpu' || /cpu/i.test(plugin);
  const models = benchModelsFromFlags(values);
  const timedSteps = positiveInt(values.steps as string, '--steps')!;
  if (timedSteps < 5) throw new UsageError(`--steps must be at least 5 (a median over fewer steps is noise), got ${timedSteps}`);
  const warmupCalls = Number(values.warmup);
  if (!Number.isInteger(warmupCalls) || warmupCalls < 0) throw new UsageError(`--warmup must be a non-negative integer, got '${values.warmup}'`);
  const rounds = positiveInt(values.rounds as string, '--rounds')!;
  const frameworks = list(values.frameworks as string, '--frameworks', ['ours', 'torch', 'jax'] as BenchFramework[]);
  const matmulN = positiveInt(values['matmul-n'] as string | undefined, '--matmul-n') ?? (onCpu ? 2048 : 8192);

  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const report = await runBench({ plugin, models, frameworks, timedSteps, warmupCalls, rounds, matmulN, log, ...(values.python ? { python: values.python as string } : {}) });
  if (values.record) {
    appendFileSync(values.record as string, `\n${formatBenchMarkdown(report, `Command: \`pjrt-bert bench ${argv.filter((a) => !a.startsWith('--record') && a !== values.record).join(' ')}\`.`)}`);
    log(`appended the results to ${values.record}`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${formatBenchTable(report)}\n`);
  return report.results.some((r) => Object.keys(r.errors).length > 0) ? 1 : 0;
}
