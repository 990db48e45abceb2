// Native work stays off the event loop, and repeated calls do not leak.
import t, { type Test } from 'tap';
import { openTestRuntime, program } from './helpers/runtime.js';

/** Runs `work` while a 2 ms interval timer ticks; returns the ticks and elapsed milliseconds. */
async function ticksDuring(work: () => Promise<unknown>): Promise<{ ticks: number; ms: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 2);
  const start = performance.now();
  await work();
  const ms = performance.now() - start;
  clearInterval(timer);
  return { ticks, ms };
}

/** A program with `n` chained elementwise ops: slow to compile, fast to run. */
function longProgram(n: number): string {
  const body: string[] = [];
  let last = '%arg0';
  for (let i = 0; i < n; i++) {
    const op = ['stablehlo.sine', 'stablehlo.cosine', 'stablehlo.tanh'][i % 3];
    body.push(`%v${i} = ${op} ${last} : tensor<64xf32>`);
    last = `%v${i}`;
  }
  body.push(`return ${last} : tensor<64xf32>`);
  return program(['tensor<64xf32>'], ['tensor<64xf32>'], body);
}

/** A program that loops `n` times over a 256x256 matmul: slow to run. */
function longRunningProgram(n: number): string {
  return `func.func public @main(%arg0: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %zero = stablehlo.constant dense<0> : tensor<i32>
  %one = stablehlo.constant dense<1> : tensor<i32>
  %limit = stablehlo.constant dense<${n}> : tensor<i32>
  %r:2 = stablehlo.while(%i = %zero, %x = %arg0) : tensor<i32>, tensor<256x256xf32>
    cond {
      %c = stablehlo.compare LT, %i, %limit : (tensor<i32>, tensor<i32>) -> tensor<i1>
      stablehlo.return %c : tensor<i1>
    } do {
      %y = stablehlo.dot_general %x, %x, contracting_dims = [1] x [0] : (tensor<256x256xf32>, tensor<256x256xf32>) -> tensor<256x256xf32>
      %t = stablehlo.tanh %y : tensor<256x256xf32>
      %j = stablehlo.add %i, %one : tensor<i32>
      stablehlo.return %j, %t : tensor<i32>, tensor<256x256xf32>
    }
  return %r#1 : tensor<256x256xf32>
}`;
}

t.test('the event loop keeps ticking during a long compile', async (t) => {
  const rt = await openTestRuntime();
  const { ticks, ms } = await ticksDuring(() => rt.compile(longProgram(800)));
  t.ok(ms > 100, `compile took ${ms.toFixed(0)} ms (long enough to observe)`);
  // A blocked loop would tick at most once; a free one ticks roughly every 2 ms.
  t.ok(ticks >= ms / 2 / 10, `${ticks} timer ticks in ${ms.toFixed(0)} ms`);
});

t.test('the event loop keeps ticking during a long execute', async (t) => {
  const rt = await openTestRuntime();
  const exe = await rt.compile(longRunningProgram(2000)); // about 0.5 s on an idle 2-core machine
  const x = await rt.put(new Float32Array(256 * 256).fill(0.001), [256, 256]);
  const { ticks, ms } = await ticksDuring(() => exe.execute([x], { donate: false }));
  t.ok(ms > 100, `execute took ${ms.toFixed(0)} ms`);
  t.ok(ticks >= ms / 2 / 10, `${ticks} timer ticks in ${ms.toFixed(0)} ms`);
});

function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

// Under AddressSanitizer freed memory sits in a quarantine, so RSS says nothing there; the loops
// still run (for ASan to check every access) and LeakSanitizer checks for leaks instead.
const underAsan = process.env.PJRT_BERT_UNDER_ASAN === '1';

function checkGrowth(t: Test, growth: number, bound: number, what: string): void {
  if (underAsan) t.pass(`${what}: RSS bound not checked under AddressSanitizer`);
  else t.ok(growth < bound, `RSS grew ${growth.toFixed(1)} MiB over ${what} (bound: ${bound} MiB)`);
}

t.test('10,000 small executes do not grow resident memory', async (t) => {
  const rt = await openTestRuntime();
  const exe = await rt.compile(program(['tensor<16xf32>'], ['tensor<16xf32>'], ['%0 = stablehlo.negate %arg0 : tensor<16xf32>', 'return %0 : tensor<16xf32>']));
  const x = await rt.put(new Float32Array(16).fill(1), [16]);
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const [[out]] = await exe.execute([x]);
      out!.dispose();
    }
  };
  await run(1000); // warm up allocators and JIT
  global.gc?.();
  const before = rssMiB();
  await run(10_000);
  global.gc?.();
  const growth = rssMiB() - before;
  checkGrowth(t, growth, 40, '10,000 executes');
});

t.test('1,000 put/toHost round trips of 256 KiB do not grow resident memory', async (t) => {
  const rt = await openTestRuntime();
  const data = new Float32Array(65536).map((_, i) => i);
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const array = await rt.put(data, [65536]);
      const back = await array.toHost();
      if (back[65535] !== 65535) throw new Error('round trip corrupted the data');
      array.dispose();
    }
  };
  await run(300);
  global.gc?.();
  const before = rssMiB();
  await run(1000);
  global.gc?.();
  const growth = rssMiB() - before;
  checkGrowth(t, growth, 64, '1,000 round trips of 256 KiB (250 MiB moved)');
});
