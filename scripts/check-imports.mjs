#!/usr/bin/env node
// Checks the relative imports of lib/**/*.ts (or of the folder given as the first argument):
//   1. no import cycles: every strongly connected group of files is reported with its files and
//      one cycle through them;
//   2. the layer order: a file may import only from its own layer and the layers below it.
// Type-only imports count too: they are a dependency of the source even when erased at run time.
// Exits 0 and prints one line when all holds; exits 1 listing every problem otherwise.
// Node only, no dependencies, so CI and `npm test` run it before anything is built.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layers, lowest first; each entry lists the folders of lib/ in that layer. A file in a
 * layer imports only from its own layer and those before it. This is DESIGN.md's layer table
 * with two changes that its text and the code call for: stablehlo sits below native and runtime,
 * since it "imports no runtime" (it builds programs; running them is the runtime's job); nn and
 * models (pure: configs, parameters, forward) sit below data and io, so model code reads no
 * files and knows no tokenizer; `pretrained` (reading and writing model directories: a family's
 * config and weights through io, its tokenizer through data) sits above both. `base` (dtype and
 * shape facts) is the leaf under everything. `.` is lib/index.ts, the package's entry point.
 */
export const LAYERS = [
  ['base'],
  ['stablehlo'],
  ['native'],
  ['runtime'],
  ['trace'],
  ['nn', 'models'],
  ['data', 'io'],
  ['pretrained'],
  ['optim'],
  ['train'],
  ['serve'],
  ['cli', 'bench'],
  ['.'],
];

const RANK = new Map(LAYERS.flatMap((folders, rank) => folders.map((folder) => [folder, rank])));

/** All .ts files under `dir` (recursively), as absolute paths. */
function listSources(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listSources(full));
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
  }
  return files;
}

/**
 * Blanks comments and the insides of string and template literals (keeping their quotes and
 * the line breaks), so that only code is searched for imports. Import specifiers are literals,
 * so they are read back from the original text at the same offsets.
 */
function codeOnly(text) {
  let out = '';
  let i = 0;
  const templateDepth = [];
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') (out += ' '), i++;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      out += c;
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') (out += '  '), (i += 2);
        else if (c === '`' && text[i] === '$' && text[i + 1] === '{') break;
        else (out += text[i] === '\n' ? '\n' : ' '), i++;
      }
      if (c === '`' && text[i] === '$') {
        templateDepth.push(0);
        out += '${';
        i += 2;
      } else if (i < text.length) (out += c), i++;
    } else if (templateDepth.length > 0 && (c === '{' || c === '}')) {
      if (c === '{') templateDepth[templateDepth.length - 1]++;
      else if (templateDepth[templateDepth.length - 1] > 0) templateDepth[templateDepth.length - 1]--;
      else {
        // the end of a `${...}`: continue the template literal
        templateDepth.pop();
        out += '}';
        i++;
        while (i < text.length && text[i] !== '`') {
          if (text[i] === '\\') (out += '  '), (i += 2);
          else if (text[i] === '$' && text[i + 1] === '{') break;
          else (out += text[i] === '\n' ? '\n' : ' '), i++;
        }
        if (text[i] === '$') {
          templateDepth.push(0);
          out += '${';
          i += 2;
        } else if (i < text.length) (out += '`'), i++;
        continue;
      }
      out += c;
      i++;
    } else (out += c), i++;
  }
  return out;
}

const IMPORT_PATTERNS = [
  /\b(?:import|export)\s[^;]*?\bfrom\s*(['"])/g, // import x from '...', export { x } from '...'
  /\bimport\s*(['"])/g, // import '...'
  /\bimport\s*\(\s*(['"])/g, // import('...')
];

/** The relative import specifiers of one source text, with their line numbers. */
export function relativeImports(text) {
  const code = codeOnly(text);
  const found = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of code.matchAll(pattern)) {
      const start = match.index + match[0].length;
      const end = text.indexOf(match[1], start);
      const specifier = text.slice(start, end);
      if (specifier.startsWith('./') || specifier.startsWith('../')) {
        found.push({ specifier, line: text.slice(0, start).split('\n').length });
      }
    }
  }
  return found;
}

/** The .ts file a specifier names (`./x.js` -> `./x.ts`), or undefined when it is no source of ours. */
function resolveSource(from, specifier) {
  const target = path.resolve(path.dirname(from), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), `${target}.ts`, path.join(target, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Tarjan's strongly connected components of `graph` (Map file -> Set of files). */
function stronglyConnected(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const groups = [];
  let counter = 0;
  const visit = (root) => {
    // iterative, so deep chains cannot overflow the stack
    const work = [[root, [...graph.get(root)]]];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const [node, pending] = work[work.length - 1];
      if (pending.length > 0) {
        const next = pending.shift();
        if (!index.has(next)) {
          index.set(next, counter);
          low.set(next, counter++);
          stack.push(next);
          onStack.add(next);
          work.push([next, [...graph.get(next)]]);
        } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), index.get(next)));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        const group = [];
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          group.push(member);
        } while (member !== node);
        groups.push(group);
      }
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return groups;
}

/** A shortest cycle through `start` inside `members` (breadth-first), as a list of files. */
function cycleThrough(graph, start, members) {
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const next of graph.get(node)) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        for (let at = previous.get(node); at !== undefined; at = previous.get(at)) path.unshift(at);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/**
 * Checks the tree under `libDir`. Returns { files, problems }, one message per problem.
 */
export function checkImports(libDir) {
  const root = path.resolve(libDir);
  const rel = (file) => path.relative(path.dirname(root), file);
  const layerOf = (file) => {
    const parts = path.relative(root, file).split(path.sep);
    return parts.length === 1 ? '.' : parts[0];
  };
  const files = listSources(root).sort();
  const graph = new Map(files.map((file) => [file, new Set()]));
  const problems = [];
  const unknown = new Set();
  for (const file of files) {
    const layer = layerOf(file);
    if (!RANK.has(layer)) {
      if (!unknown.has(layer)) {
        unknown.add(layer);
        problems.push(`${rel(path.join(root, layer))}/ is in no layer: add it to LAYERS in scripts/check-imports.mjs`);
      }
      continue;
    }
    for (const { specifier, line } of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolveSource(file, specifier);
      if (target === undefined || !graph.has(target)) continue;
      graph.get(file).add(target);
      const targetLayer = layerOf(target);
      if (RANK.has(targetLayer) && RANK.get(targetLayer) > RANK.get(layer)) {
        problems.push(
          `${rel(file)}:${line} imports ${rel(target)}: layer ${layer} may not import layer ${targetLayer}, which is above it ` +
            `(order: ${LAYERS.map((l) => l.join(',')).join(' < ')}); move the shared code down`,
        );
      }
    }
  }
  for (const group of stronglyConnected(graph)) {
    const selfImport = group.length === 1 && graph.get(group[0]).has(group[0]);
    if (group.length < 2 && !selfImport) continue;
    const members = new Set(group);
    const start = [...group].sort()[0];
    const cycle = cycleThrough(graph, start, members).map(rel);
    problems.push(
      `import cycle among ${group.length} file(s): ${[...group].map(rel).sort().join(', ')}\n    e.g. ${cycle.join(' -> ')}\n` +
        `    break it by moving what they share into a module that imports none of them`,
    );
  }
  return { files: files.length, problems };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const libDir = process.argv[2] ?? path.join(repo, 'lib');
  if (!existsSync(libDir)) {
    console.error(`check-imports: ${libDir} does not exist; pass the folder of TypeScript sources to check`);
    process.exit(2);
  }
  const { files, problems } = checkImports(libDir);
  if (problems.length > 0) {
    console.error(`check-imports: ${problems.length} problem(s) in ${libDir}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`check-imports: ${files} files in ${libDir}, no import cycles, layer order ${LAYERS.map((l) => l.join(',')).join(' < ')} holds`);
}
