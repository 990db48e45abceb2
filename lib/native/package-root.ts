/** Locates the installed `pjrt-bert` package folder, from source (`lib/`) or compiled (`dist/lib/`). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding pjrt-bert's package.json. Sync; throws if the layout is broken. */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'pjrt-bert') {
      root = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('pjrt-bert: cannot find the package folder (no package.json named pjrt-bert above this file)');
    dir = parent;
  }
}
