/**
 * The import layers of src/ (arrows point down only):
 *   cli, web → tasks, sim, serve → data, io, compress → model → nn, optim → backend, util
 * A file may import files of its own level or of a lower one, never of a higher one, and no chain of imports
 * may come back to where it started. Every import counts: `import type`, `export … from` and `import()`.
 * Two files stand outside the levels: src/index.ts (the library's entry point) may import anything and is
 * imported by nothing in src/; src/version.ts may be imported by anything and imports nothing from src/.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const LEVEL: Record<string, number> = { backend: 0, util: 0, nn: 1, optim: 1, model: 2, data: 3, io: 3, compress: 3, api: 4, tasks: 5, sim: 5, serve: 5, cli: 6, web: 6 };
const ENTRIES = ['index.ts', 'browser.ts'], LEAF = 'version.ts'; // the package's two entry points

type Graph = Map<string, string[]>; // file (relative to src/) → the src/ files it imports

/** Every .ts file under src/ and the src/ files each imports (specifiers starting with '.', resolved). */
function readGraph(src: string): Graph {
  const g: Graph = new Map();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const specs = ts.preProcessFile(readFileSync(p, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
        g.set(relative(src, p), specs.filter((s) => s.startsWith('.')).map((s) => {
          const target = resolve(dirname(p), s.replace(/\.js$/, '.ts'));
          assert.ok(existsSync(target), `${relative(src, p)}: imports ${s}, which is not a file of src/`);
          return relative(src, target);
        }));
      }
    }
  };
  walk(src);
  return g;
}

/** One line per broken rule: imports that point up (or into index.ts, or out of version.ts), and circles. */
function violations(g: Graph): string[] {
  const out: string[] = [];
  const top = (f: string): string => f.split('/')[0];
  for (const [from, tos] of g) {
    if (ENTRIES.includes(from)) continue;
    if (from === LEAF && tos.length) out.push(`${from} imports ${tos.join(', ')}: it must import nothing from src/`);
    const lf = LEVEL[top(from)];
    if (from !== LEAF && lf === undefined) out.push(`${from}: folder "${top(from)}" has no level (add it to LEVEL in test/layers.test.ts)`);
    for (const to of tos) {
      if (ENTRIES.includes(to)) out.push(`${from} imports ${to}: the library entry point is imported by nothing in src/`);
      else if (to !== LEAF && lf !== undefined && LEVEL[top(to)] > lf) out.push(`${from} imports ${to}: ${top(from)}/ is below ${top(to)}/`);
    }
  }
  for (const c of circles(g)) out.push(`import circle among ${c.sort().join(', ')}`);
  return out;
}

/** The strongly connected components of more than one file, or a file that imports itself (Tarjan). */
function circles(g: Graph): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
  const found: string[][] = [];
  let n = 0;
  const visit = (v: string): void => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.unshift(w);
      } while (w !== v);
      if (scc.length > 1 || g.get(v)?.includes(v)) found.push(scc);
    }
  };
  for (const v of [...g.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

describe('import layers of src/', () => {
  it('every import points down or sideways within a level, and no import circle exists', () => {
    const g = readGraph(fileURLToPath(new URL('../src', import.meta.url)));
    assert.ok(g.size > 50 && [...g.values()].some((t) => t.length > 5), `read ${g.size} files: too few imports found`);
    assert.deepEqual(violations(g), []);
  });

  it('the check reports an upward import, a circle, an unplaced folder and the two exempt files misused', () => {
    const g: Graph = new Map([
      ['nn/params.ts', ['model/params.ts']], // nn below model: up
      ['model/params.ts', ['nn/layout.ts', 'version.ts']],
      ['nn/layout.ts', []],
      ['tasks/train.ts', ['tasks/train-state.ts', 'sim/cpu.ts', 'data/files.ts']],
      ['tasks/train-state.ts', ['tasks/train.ts']], // circle within a level
      ['sim/cpu.ts', []],
      ['data/files.ts', []],
      ['widgets/app.ts', ['cli/main.ts']],
      ['cli/main.ts', ['index.ts']],
      ['index.ts', ['cli/main.ts', 'tasks/train.ts']],
      ['version.ts', ['util/rng.ts']],
      ['util/rng.ts', []],
    ]);
    assert.deepEqual(violations(g).sort(), [
      'cli/main.ts imports index.ts: the library entry point is imported by nothing in src/',
      'import circle among cli/main.ts, index.ts',
      'import circle among tasks/train-state.ts, tasks/train.ts',
      'nn/params.ts imports model/params.ts: nn/ is below model/',
      'version.ts imports util/rng.ts: it must import nothing from src/',
      'widgets/app.ts: folder "widgets" has no level (add it to LEVEL in test/layers.test.ts)',
    ]);
    // the fixed graph passes
    g.set('nn/params.ts', ['nn/layout.ts']);
    g.set('tasks/train-state.ts', []);
    g.set('cli/main.ts', []);
    g.set('version.ts', []);
    g.delete('widgets/app.ts');
    assert.deepEqual(violations(g), []);
  });
});
