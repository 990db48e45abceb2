#!/usr/bin/env node
// `npm test`: runs every test file with tap (TypeScript, CPU plugin with 8 devices), passes its
// output through, and closes with one plain line, "N passed, N failed", that CI can read.
// Arguments are passed to tap; a folder stands for the *.test.ts files in it (`test/full`).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2).flatMap((arg) => {
  const full = path.resolve(root, arg);
  let isDir = false;
  try {
    isDir = statSync(full).isDirectory();
  } catch {
    // not a path: a tap flag
  }
  return isDir ? readdirSync(full).filter((name) => name.endsWith('.test.ts')).sort().map((name) => path.join(arg, name)) : [arg];
});
const tap = spawn(path.join(root, 'node_modules', '.bin', 'tap'), args, {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let tail = '';
tap.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4096);
});
tap.on('close', (code) => {
  // tap's own summary: "# { total: 123, pass: 120, fail: 2, skip: 1 }"
  const summary = /#\s*\{\s*total:\s*(\d+)(?:,\s*pass:\s*(\d+))?(?:,\s*fail:\s*(\d+))?(?:,\s*skip:\s*(\d+))?/.exec(tail);
  const total = Number(summary?.[1] ?? 0);
  const passed = Number(summary?.[2] ?? 0);
  const skipped = Number(summary?.[4] ?? 0);
  const failed = Number(summary?.[3] ?? Math.max(0, total - passed - skipped)) || (code === 0 ? 0 : Math.max(1, total - passed - skipped));
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(code ?? 1);
});
