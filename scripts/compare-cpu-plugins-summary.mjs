#!/usr/bin/env node
// Summarizes a scripts/compare-cpu-plugins.sh run as a Markdown table: per config, precision and
// plugin, the median ms per step over the timed steps of every round, the spread of the
// per-round medians, compile and cached-compile seconds (medians over rounds), and ratios
// against the first plugin passed (the baseline) and against PyTorch and JAX from the same run.
//
//   node scripts/compare-cpu-plugins-summary.mjs OUT_DIR [BASELINE_LABEL]
//
// BASELINE_LABEL defaults to xla-cpu-pjrt. Reads OUT_DIR/<config>-<precision>-r<round>-<label>.json.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [dir, baseline = 'xla-cpu-pjrt'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: compare-cpu-plugins-summary.mjs OUT_DIR [BASELINE_LABEL]');
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, digits = 0) => (x === null || x === undefined || Number.isNaN(x) ? '' : x.toFixed(digits));

// runs[config-precision][label] = [{ round, stepMs, compileS, cachedS, api, torch, jax }]
const runs = {};
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const match = /^(\w+)-(f32|bf16)-r(\d+)-(.+)\.json$/.exec(file);
  if (!match) continue;
  const [, config, precision, round, label] = match;
  const report = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  const row = report.results[0];
  const key = `${config} ${precision}`;
  (runs[key] ??= {})[label] ??= [];
  runs[key][label].push({
    round: Number(round),
    stepMs: row.ours_step_ms,
    compileS: row.ours_compile_s,
    cachedS: row.ours_cached_compile_s,
    api: report.versions.pjrt_plugin_api,
    torchMs: row.torch_step_ms,
    jaxMs: row.jax_step_ms,
    errors: row.errors,
  });
}

const lines = [
  '| config | plugin (PJRT API) | rounds | ms/step median | per-round medians | vs baseline (per round) | vs torch | vs jax | compile s | cached s |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const [key, byLabel] of Object.entries(runs)) {
  const refs = byLabel.references ?? [];
  const torch = refs.flatMap((r) => r.torchMs ?? []);
  const jax = refs.flatMap((r) => r.jaxMs ?? []);
  const base = byLabel[baseline] ?? [];
  const baseRound = new Map(base.filter((r) => r.stepMs).map((r) => [r.round, median(r.stepMs)]));
  for (const [label, list] of Object.entries(byLabel)) {
    if (label === 'references') continue;
    const ok = list.filter((r) => r.stepMs && r.stepMs.length);
    if (!ok.length) {
      lines.push(`| ${key} | ${label} | 0 | failed: ${JSON.stringify(list[0]?.errors ?? {})} | | | | | | |`);
      continue;
    }
    const all = ok.flatMap((r) => r.stepMs);
    const perRound = ok.map((r) => median(r.stepMs));
    const vsBase = ok.filter((r) => baseRound.has(r.round)).map((r) => median(r.stepMs) / baseRound.get(r.round));
    const m = median(all);
    lines.push(
      `| ${key} | ${label} (${ok[0].api}) | ${ok.length} | ${fmt(m)} | ${perRound.map((x) => fmt(x)).join(', ')} | ` +
        `${vsBase.length ? `${fmt(median(vsBase), 2)}x (${vsBase.map((x) => fmt(x, 2)).join(', ')})` : ''} | ` +
        `${torch.length ? `${fmt(m / median(torch), 2)}x` : ''} | ${jax.length ? `${fmt(m / median(jax), 2)}x` : ''} | ` +
        `${fmt(median(ok.map((r) => r.compileS)), 2)} | ${fmt(median(ok.map((r) => r.cachedS)), 2)} |`,
    );
  }
  if (torch.length || jax.length) {
    lines.push(`| ${key} | PyTorch / JAX | ${refs.length} | ${fmt(median(torch))} / ${fmt(median(jax))} | | | | | | |`);
  }
}
console.log(lines.join('\n'));
