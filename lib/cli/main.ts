/**
 * The `pjrt-bert` command: parses the subcommand and hands over to its module. Errors that a
 * user can act on are printed as one clear message (exit 1); usage errors exit 2.
 */
import { runBenchCommand } from './bench-command.js';
import { runDataset } from './dataset-command.js';
import { UsageError } from './flags.js';
import { runPredict } from './predict-command.js';
import { runServe } from './serve-command.js';
import { runDemo, runEvaluate, runTrain } from './train-commands.js';
import { runDevices, runPlugin } from './runtime-commands.js';

/** A subcommand: takes its own argv, returns the process exit code. */
export type Command = (argv: string[]) => Promise<number>;

export { UsageError } from './flags.js';

const COMMANDS: Record<string, { summary: string; run: Command }> = {
  devices: { summary: 'list the devices of a PJRT plugin', run: runDevices },
  plugin: { summary: 'install or locate PJRT plugins (plugin install cpu | plugin where [cpu|tpu|cuda])', run: runPlugin },
  train: { summary: 'fine-tune an encoder for a task (classification, pairs, regression, multi-label, tokens)', run: runTrain },
  evaluate: { summary: 'the task metrics and tables of a fine-tuned model on labelled data', run: runEvaluate },
  predict: { summary: 'predict with a fine-tuned model directory (one JSON line per input)', run: runPredict },
  serve: { summary: 'serve a fine-tuned model over HTTP (Hugging Face TEI API, dynamic batching)', run: runServe },
  demo: { summary: 'fine-tune a small model on generated data, no download needed', run: runDemo },
  dataset: { summary: 'write a generated data set of a task (the README examples), with its vocabulary', run: runDataset },
  bench: { summary: 'time the BERT train step against PyTorch and JAX on this machine', run: runBenchCommand },
};

/** The top-level help text. Sync. */
export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'usage: pjrt-bert <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Run `pjrt-bert <command> --help` for its options.',
  ].join('\n');
}

/**
 * Runs the CLI with `argv` (without node and script). Async; resolves to the exit code and
 * never throws: failures are printed to stderr.
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`pjrt-bert: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pjrt-bert ${name}: ${error.message}\n`);
      return 2;
    }
    const message = (error instanceof Error ? error.message : String(error)).replace(/^pjrt-bert: /, '');
    process.stderr.write(`pjrt-bert ${name}: ${message}\n`);
    if (process.env.PJRT_BERT_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
