/**
 * How a bench report is shown: a plain-text table for the terminal and a dated Markdown
 * section for `bench/RESULTS.md` (`bench --record FILE`).
 */
import type { BenchReport, BenchResult } from './bench-run.js';

const ms = (value: number | null) => (value === null ? '-' : value >= 100 ? value.toFixed(0) : value.toFixed(1));
const seconds = (value: number | null) => (value === null ? '-' : value.toFixed(value < 10 ? 2 : 1));
const times = (value: number | null) => (value === null ? '-' : `${value.toFixed(2)}x`);
const percent = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);
const mib = (value: number | null) => (value === null ? '-' : value.toFixed(0));
const tflops = (flops: number) => `${(flops / 1e12).toFixed(3)} TFLOP/s`;

const COLUMNS: [string, (r: BenchResult) => string][] = [
  ['config', (r) => r.name],
  ['dtype', (r) => r.precision],
  ['B', (r) => `${r.batchSize}`],
  ['S', (r) => `${r.seqLen}`],
  ['K', (r) => `${r.stepsPerExecution}`],
  ['ours ms', (r) => ms(r.ours_ms_per_step)],
  ['torch ms', (r) => ms(r.torch_ms_per_step)],
  ['jax ms', (r) => ms(r.jax_ms_per_step)],
  ['ours/torch', (r) => times(r.ours_vs_torch)],
  ['ours/jax', (r) => times(r.ours_vs_jax)],
  ['compile s ours', (r) => seconds(r.ours_compile_s)],
  ['jax', (r) => seconds(r.jax_compile_s)],
  ['cached', (r) => seconds(r.ours_cached_compile_s)],
  ['MFU ours', (r) => percent(r.ours_mfu)],
  ['torch', (r) => percent(r.torch_mfu)],
  ['jax', (r) => percent(r.jax_mfu)],
  ['host MiB ours', (r) => mib(r.ours_peak_host_mb)],
  ['torch', (r) => mib(r.torch_peak_host_mb)],
  ['jax', (r) => mib(r.jax_peak_host_mb)],
  ['dev MiB ours', (r) => mib(r.ours_peak_device_mb)],
  ['torch', (r) => mib(r.torch_peak_device_mb)],
  ['jax', (r) => mib(r.jax_peak_device_mb)],
];

/** Columns that are all `-` (e.g. device memory on the CPU) are left out of the table. */
function usedColumns(results: readonly BenchResult[]) {
  return COLUMNS.filter(([, cell]) => results.some((r) => cell(r) !== '-'));
}

function errorLines(report: BenchReport): string[] {
  return report.results.flatMap((r) => Object.entries(r.errors).map(([framework, error]) => `${r.name} ${r.precision}: ${framework} failed: ${error!.split('\n')[0]}`));
}

/** The report as an aligned text table with a header of device and ceilings. Sync. */
export function formatBenchTable(report: BenchReport): string {
  const columns = usedColumns(report.results);
  const rows = [columns.map(([title]) => title), ...report.results.map((r) => columns.map(([, cell]) => cell(r)))];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  return [
    `device: ${report.device}; matmul ceiling (n=${report.ceiling.matmul_n}, through pjrt-bert): f32 ${tflops(report.ceiling.f32_flops)}, bf16 ${tflops(report.ceiling.bf16_flops)}`,
    `versions: ${Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; rounds: ${report.rounds}`,
    '',
    ...lines,
    ...errorLines(report),
    '',
    'ms: median per optimizer step; ours/x below 1.00x means pjrt-bert is faster; MFU: model FLOPs per second over the matmul ceiling of the same dtype.',
  ].join('\n');
}

/** The report as a Markdown section (heading with date and device, versions, table). Sync. */
export function formatBenchMarkdown(report: BenchReport, note?: string): string {
  const columns = usedColumns(report.results);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    `### ${report.date.slice(0, 10)}: ${report.device}`,
    '',
    `Versions: ${Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. ` +
      `Matmul ceiling through pjrt-bert (n=${report.ceiling.matmul_n}): f32 ${tflops(report.ceiling.f32_flops)}, bf16 ${tflops(report.ceiling.bf16_flops)}. ` +
      `Each framework timed in ${report.rounds} alternating round(s).` +
      (note ? ` ${note}` : ''),
    '',
    row(columns.map(([title]) => title)),
    row(columns.map(() => '---')),
    ...report.results.map((r) => row(columns.map(([, cell]) => cell(r)))),
    ...errorLines(report).map((line) => `\n${line}`),
    '',
  ].join('\n');
}
