/**
 * scripts/check-imports.mjs, the CI check on lib/'s imports: the real tree passes, and generated
 * trees with a cycle (value or type-only, direct or through several files) or an import against
 * the layer order fail, naming the files.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';

const root = path.resolve(import.meta.dirname, '..');
const script = path.join(root, 'scripts', 'check-imports.mjs');

function check(dir?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, dir ? [script, dir] : [script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Writes `files` (path under lib/ -> source) into a fresh temporary lib/ folder; returns its path. */
function tree(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pjrt-bert-imports-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lib = path.join(dir, 'lib');
  for (const [name, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(lib, name)), { recursive: true });
    writeFileSync(path.join(lib, name), source);
  }
  return lib;
}

t.test("the package's own lib/ has no cycle and keeps the layer order", async (t) => {
  const { status, stdout, stderr } = check();
  t.equal(status, 0, stderr);
  t.match(stdout, /no import cycles, layer order base < stablehlo < native < runtime < trace/);
});

t.test('a cycle through three files fails, naming every file and one cycle', async (t) => {
  const lib = tree(t, {
    'train/a.ts': "import { b } from './b.js';\nexport const a = () => b();\n",
    'train/b.ts': "import { c } from './nested/c.js';\nexport const b = () => c();\n",
    'train/nested/c.ts': "import { a } from '../a.js';\nexport const c = () => a();\n",
    'train/d.ts': "import { a } from './a.js';\nexport const d = a;\n",
  });
  const { status, stderr } = check(lib);
  t.equal(status, 1);
  t.match(stderr, /import cycle among 3 file\(s\): lib\/train\/a\.ts, lib\/train\/b\.ts, lib\/train\/nested\/c\.ts/);
  t.match(stderr, /e\.g\. lib\/train\/a\.ts -> lib\/train\/b\.ts -> lib\/train\/nested\/c\.ts -> lib\/train\/a\.ts/);
  t.notMatch(stderr, /d\.ts/, 'a file that only imports into the cycle is not part of it');
});

t.test('type-only, multi-line, re-export and dynamic imports count; imports in comments and strings do not', async (t) => {
  const cyclic = tree(t, {
    'cli/main.ts': "import type {\n  Command,\n} from './command.js';\nexport type Run = Command;\n",
    'cli/command.ts': "export { type Run } from './main.js';\nexport type Command = () => void;\n",
    'cli/lazy.ts': "export const load = () => import('./lazy.js');\n",
  });
  const { status, stderr } = check(cyclic);
  t.equal(status, 1);
  t.match(stderr, /import cycle among 2 file\(s\): lib\/cli\/command\.ts, lib\/cli\/main\.ts/);
  t.match(stderr, /import cycle among 1 file\(s\): lib\/cli\/lazy\.ts/);

  const clean = tree(t, {
    'cli/main.ts': "// import { x } from './other.js';\nexport const text = \"import { y } from './other.js'\";\nexport const tpl = `${1} from './other.js'`;\n",
    'cli/other.ts': "/* import { text } from './main.js'; */\nimport { text } from './main.js';\nexport const other = text;\n",
  });
  const result = check(clean);
  t.equal(result.status, 0, result.stderr);
});

t.test('an import against the layer order fails, naming the file, the line and both layers', async (t) => {
  const lib = tree(t, {
    'base/dtypes.ts': "export type DType = 'f32';\n",
    'runtime/dtypes.ts': "import type { DType } from '../base/dtypes.js';\nexport type RuntimeDType = DType;\n",
    'stablehlo/dtype.ts': "export const x = 1;\nimport type { RuntimeDType } from '../runtime/dtypes.js';\nexport type D = RuntimeDType;\n",
  });
  const { status, stderr } = check(lib);
  t.equal(status, 1);
  t.match(stderr, /lib\/stablehlo\/dtype\.ts:2 imports lib\/runtime\/dtypes\.ts: layer stablehlo may not import layer runtime, which is above it/);
  t.notMatch(stderr, /lib\/runtime\/dtypes\.ts:\d+ imports/, 'importing a lower layer is fine');
});

t.test('a folder that is in no layer is reported', async (t) => {
  const lib = tree(t, { 'misc/x.ts': 'export const x = 1;\n' });
  const { status, stderr } = check(lib);
  t.equal(status, 1);
  t.match(stderr, /lib\/misc\/ is in no layer: add it to LAYERS in scripts\/check-imports\.mjs/);
});

t.test('a missing folder is a usage error', async (t) => {
  const { status, stderr } = check(path.join(os.tmpdir(), 'pjrt-bert-no-such-lib'));
  t.equal(status, 2);
  t.match(stderr, /does not exist/);
});
