/**
 * How `pjrt-bert bench --serve` shows its results: a plain-text table for the terminal and a
 * dated Markdown section for `bench/RESULTS.md` (`--record FILE`). One row per model and client
 * count; for each server its requests/s, p50 and p99 latency (ms); then ours' throughput over
 * transformers.js's. Below the table: errors, start-up time and memory of each server, how the
 * servers' answers agree, and whether the issue's goal was met.
 */
import type { ServeFramework, ServeModelResult, ServeReport } from './serve-bench.js';

/** Short column names of the servers. */
const SHORT: Record<ServeFramework, string> = { ours: 'ours', 'transformers.js': 'tjs', torch: 'torch' };

const num = (value: number | null | undefined) => (value === null || value === undefined ? '-' : value >= 100 ? value.toFixed(0) : value.toFixed(1));
const times = (value: number | null | undefined) => (value === null || value === undefined ? '-' : `${value.toFixed(2)}x`);

/** The frameworks measured on any model, in report order. */
function frameworksOf(report: ServeReport): ServeFramework[] {
  const seen = new Set(report.models.flatMap((m) => m.servers.map((s) => s.framework)));
  return (['ours', 'transformers.js', 'torch'] as const).filter((f) => seen.has(f));
}

/** The table as rows of cells, header first. Sync. */
export function serveTableRows(report: ServeReport): string[][] {
  const frameworks = frameworksOf(report);
  const header = ['model', 'clients', ...(['req/s', 'p50 ms', 'p99 ms'] as const).flatMap((metric) => frameworks.map((f, i) => (i === 0 ? `${metric} ${SHORT[f]}` : SHORT[f]))), 'ours/tjs req/s'];
  const rows = [header];
  for (const model of report.models) {
    for (const clients of report.settings.clients) {
      const level = (f: ServeFramework) => model.servers.find((s) => s.framework === f)?.levels.find((l) => l.clients === clients);
      const ours = level('ours');
      const tjs = level('transformers.js');
      rows.push([
        model.model,
        `${clients}`,
        ...frameworks.map((f) => num(level(f)?.rps)),
        ...frameworks.map((f) => num(level(f)?.p50_ms)),
        ...frameworks.map((f) => num(level(f)?.p99_ms)),
        times(ours && tjs && tjs.rps > 0 ? ours.rps / tjs.rps : null),
      ]);
    }
  }
  return rows;
}

/** The lines under the table: errors, start-up, memory, agreement, goal. Sync. */
export function serveNotes(report: ServeReport): string[] {
  const lines: string[] = [];
  const goalLine = (m: ServeModelResult) => {
    const g = m.goal;
    if (g.met === null) return `${m.model}: goal (>= 1.50x transformers.js's req/s at ${g.clients} clients, p99 no worse) not measured`;
    return `${m.model}: goal at ${g.clients} clients ${g.met ? 'MET' : 'NOT met'}: ours ${times(g.throughput_ratio)} transformers.js's req/s, p99 ${num(g.ours_p99_ms)} ms vs ${num(g.tjs_p99_ms)} ms`;
  };
  for (const model of report.models) {
    for (const server of model.servers) {
      if (server.error) {
        const errorLines = server.error.split('\n').filter((line) => line.trim());
        lines.push(`${model.model} / ${server.framework} FAILED: ${errorLines[0]}${errorLines.length > 1 ? ` ... ${errorLines[errorLines.length - 1]!.trim()}` : ''}`);
      }
      for (const level of server.levels) {
        if (level.errors > 0) lines.push(`${model.model} / ${server.framework} @${level.clients}: ${level.errors} failed requests (${level.error_samples.join('; ')})`);
      }
    }
    const servers = model.servers.map((s) => `${s.framework} ${s.startup_s === null ? '-' : `${s.startup_s.toFixed(1)} s`}, ${s.peak_rss_mb === null ? '-' : `${s.peak_rss_mb.toFixed(0)} MiB`}`);
    lines.push(`${model.model}: start-up to healthy and peak memory: ${servers.join('; ')}`);
    for (const a of model.agreement) {
      lines.push(`${model.model}: ${a.framework} vs ${a.against} on the sample: same top label ${(a.same_label * 100).toFixed(0)}%, top score within ${a.max_score_diff.toExponential(1)}`);
    }
    lines.push(goalLine(model));
  }
  return lines;
}

function header(report: ServeReport): string {
  const s = report.settings;
  return (
    `${report.texts.count} texts from ${report.texts.source} (mean ${report.texts.mean_chars.toFixed(0)} characters), sent one per request ({"inputs": text, "truncate": true}); ` +
    `seq-len ${s.seq_len}, max batch ${s.max_batch_size}, max wait ${s.max_wait_ms} ms; ${s.duration_s} s measured per server and client count` +
    (s.rounds > 1 ? ` in ${s.rounds} rounds, the servers alternating, each slice after ${s.warmup_s} s warm-up` : ` after ${s.warmup_s} s warm-up`) +
    `; plugin ${s.plugin}. ` +
    `Load average (1/5/15 min) ${report.load_average.start.map((l) => l.toFixed(2)).join('/')} before, ${report.load_average.end.map((l) => l.toFixed(2)).join('/')} after. ` +
    `Versions: ${Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`
  );
}

const LEGEND =
  'ours: pjrt-bert serve; tjs: transformers.js (ONNX Runtime, same weights exported to ONNX) behind the same lib/serve HTTP server and batching; ' +
  'torch: transformers pipeline behind a minimal batching Python server. req/s: answered requests per second; p50/p99: latency percentiles.';

/** The report as an aligned text table with its notes. Sync. */
export function formatServeTable(report: ServeReport, device: string): string {
  const rows = serveTableRows(report);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  return [`device: ${device}`, header(report), '', ...lines, '', ...serveNotes(report), '', LEGEND].join('\n');
}

/** The report as a dated Markdown section (heading with date and device, settings, table, notes). Sync. */
export function formatServeMarkdown(report: ServeReport, device: string, date: string, note?: string): string {
  const rows = serveTableRows(report);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    `### ${date.slice(0, 10)}: serving, ${device}`,
    '',
    header(report) + (note ? ` ${note}` : ''),
    '',
    row(rows[0]!),
    row(rows[0]!.map(() => '---')),
    ...rows.slice(1).map(row),
    '',
    ...serveNotes(report).map((line) => `- ${line}`),
    '',
    LEGEND,
    '',
  ].join('\n');
}
