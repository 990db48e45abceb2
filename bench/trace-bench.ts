/**
 * Tracing + printing speed: builds programs of about 5,000 StableHLO ops (a deep elementwise
 * and matmul chain, and the gradient of a smaller one) and prints how long tracing, lowering and
 * printing take. The target is under 100 ms per 5,000-op program. Run after `npm run build`:
 * `node dist/bench/trace-bench.js`. Prints one line per program (best and median of 6 runs) and a
 * JSON summary.
 */
import type { Block } from '../lib/stablehlo/builder.js';
import { grad, ops, trace, type Tensor, type TracedProgram } from '../lib/trace/index.js';

/** Number of operations in a block, including those in nested regions. */
function countOperations(block: Block): number {
  let count = 0;
  for (const op of block.operations) {
    count += 1;
    for (const region of op.regions) count += countOperations(region);
  }
  return count;
}

/** `layers` repetitions of a small dense block: about 10 ops each. */
function chain(layers: number) {
  return (x: Tensor, w: Tensor): Tensor => {
    let h = x;
    for (let i = 0; i < layers; i++) h = ops.add(ops.tanh(ops.matmul(h, w)), ops.mul(ops.gelu(h), 0.5));
    return ops.sum(h);
  };
}

interface Measurement {
  name: string;
  operations: number;
  traceAndLowerMs: number;
  printMs: number;
  totalMs: number;
  characters: number;
}

function measure(name: string, build: () => TracedProgram): Measurement {
  const start = performance.now();
  const program = build();
  const traced = performance.now();
  const text = program.text;
  const printed = performance.now();
  const main = program.module.functions[0]!;
  return {
    name,
    operations: countOperations(main.body),
    traceAndLowerMs: traced - start,
    printMs: printed - traced,
    totalMs: printed - start,
    characters: text.length,
  };
}

const specs = [
  { dtype: 'f32' as const, shape: [8, 64] },
  { dtype: 'f32' as const, shape: [64, 64] },
];
const programs: Array<[string, () => TracedProgram]> = [
  ['forward chain', () => trace(chain(385), specs)],
  ['gradient of a chain', () => trace(grad(chain(150), { argnums: [1] }), specs)],
];

// The machine may be busy: each program is built 7 times (the first as warm-up for V8) and the
// fastest and median of the other 6 are reported.
const runs = 6;
const results = programs.map(([name, build]) => {
  void build().text;
  const samples = Array.from({ length: runs }, () => measure(name, build)).sort((a, b) => a.totalMs - b.totalMs);
  return { best: samples[0]!, median: samples[runs / 2]! };
});
for (const { best, median } of results) {
  console.log(
    `${best.name.padEnd(22)} ${String(best.operations).padStart(6)} ops  best: trace+lower ${best.traceAndLowerMs.toFixed(1).padStart(6)} ms, ` +
      `print ${best.printMs.toFixed(1).padStart(6)} ms, total ${best.totalMs.toFixed(1).padStart(6)} ms  median total ${median.totalMs.toFixed(1).padStart(6)} ms  ` +
      `(${(best.characters / 1e6).toFixed(2)} MB of text)`,
  );
}
console.log(JSON.stringify({ benchmark: 'trace', targetMsPer5000Ops: 100, results }));
