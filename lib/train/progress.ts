/**
 * Progress output for long jobs: a one-line bar on a terminal (step, ETA, loss, examples/s),
 * JSON lines otherwise, or nothing.
 */
import type { EpochMetrics, StepProgress } from './config.js';

/** Where progress goes: stderr for the bar, stdout for JSON lines. */
export interface ProgressReporter {
  step(progress: StepProgress, secondsElapsed: number): void;
  epoch(metrics: EpochMetrics): void;
  message(text: string): void;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

class BarReporter implements ProgressReporter {
  constructor(private readonly stream: NodeJS.WriteStream) {}

  step(p: StepProgress, elapsed: number): void {
    const width = 24;
    const done = Math.min(width, Math.round((p.step / p.stepsPerEpoch) * width));
    const eta = (elapsed / Math.max(1, p.step)) * (p.stepsPerEpoch - p.step);
    const line = `epoch ${p.epoch} [${'='.repeat(done)}${' '.repeat(width - done)}] ${p.step}/${p.stepsPerEpoch}  ETA ${formatSeconds(eta)}  loss ${p.loss.toFixed(4)}${p.accuracy === undefined ? '' : `  acc ${p.accuracy.toFixed(3)}`}  ${p.examplesPerSecond.toFixed(1)} ex/s`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns || 120) - 1)}\x1b[K`);
  }

  epoch(m: EpochMetrics): void {
    const validation = Object.entries(m)
      .filter(([key, value]) => key.startsWith('val_') && typeof value === 'number')
      .map(([key, value]) => `  ${key} ${(value as number).toFixed(4)}`)
      .join('');
    this.stream.write(`\repoch ${m.epoch}: loss ${m.loss.toFixed(4)}${m.accuracy === undefined ? '' : `  acc ${m.accuracy.toFixed(4)}`}${validation}  ${formatSeconds(m.seconds)}  ${m.examplesPerSecond.toFixed(1)} ex/s\x1b[K\n`);
  }

  message(text: string): void {
    this.stream.write(`\r${text}\x1b[K\n`);
  }
}

class JsonReporter implements ProgressReporter {
  step(p: StepProgress, elapsed: number): void {
    process.stdout.write(`${JSON.stringify({ event: 'step', ...p, seconds: elapsed })}\n`);
  }

  epoch(m: EpochMetrics): void {
    process.stdout.write(`${JSON.stringify({ event: 'epoch', ...m })}\n`);
  }

  message(text: string): void {
    process.stdout.write(`${JSON.stringify({ event: 'message', text })}\n`);
  }
}

const silent: ProgressReporter = { step() {}, epoch() {}, message() {} };

/** The reporter for a `progress` setting: `auto` is a bar on a TTY stderr, else JSON lines. Sync. */
export function progressReporter(mode: 'auto' | 'bar' | 'json' | 'none'): ProgressReporter {
  if (mode === 'none') return silent;
  if (mode === 'bar' || (mode === 'auto' && process.stderr.isTTY)) return new BarReporter(process.stderr);
  return new JsonReporter();
}
