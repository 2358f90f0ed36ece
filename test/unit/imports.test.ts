import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The module graph of src/, read with the TypeScript compiler's own pre-parser so static,
// dynamic (`await import()`) and type-only imports all count: a cycle through any of them
// still ties the modules together for a reader, and dynamic ones for the bundle too.
const src = resolve(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importGraph(): Map<string, string[]> {
  const files = sourceFiles(src);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((imported) => imported.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => resolve(dirname(file), name.replace(/\.js$/, '.ts')));
    graph.set(file, targets.filter((target) => known.has(target)));
  }
  return graph;
}

/** Strongly connected components of more than one module (Tarjan), each an import circle. */
function importCircles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)!) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(relative(src, member));
    } while (member !== node);
    if (component.length > 1) circles.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return circles;
}

/** The top folder of src/ a module lives in: its layer. */
const layerOf = (file: string): string => relative(src, file).split('/')[0]!;

describe('src/ module graph', () => {
  const graph = importGraph();

  it('has no import circles', () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it('finds a circle when there is one', () => {
    const a = join(src, 'a.ts');
    const b = join(src, 'b.ts');
    const c = join(src, 'c.ts');
    expect(importCircles(new Map([[a, [b]], [b, [c]], [c, [a]]]))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('imports only downwards: cli → engine → the rest, never back', () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((target) => {
          const from = layerOf(file);
          const to = layerOf(target);
          if (from === 'cli') return false;
          if (from === 'engine') return to === 'cli';
          return to === 'cli' || to === 'engine';
        })
        .map((target) => `${relative(src, file)} → ${relative(src, target)}`),
    );
    expect(upward).toEqual([]);
  });
});

describe('native/src include graph', () => {
  const native = resolve(import.meta.dirname, '..', '..', 'native', 'src');

  it('has no circles between modules (x.c/x.h pairs)', () => {
    // A module is a .c file with its .h: x.c or x.h including "y.h" makes x depend on y.
    const graph = new Map<string, string[]>();
    for (const name of readdirSync(native).filter((f) => /\.[ch]$/.test(f))) {
      const module = join(native, name.slice(0, -2));
      const includes = [...readFileSync(join(native, name), 'utf8').matchAll(/^#include "([^"]+)\.h"/gm)].map((m) => join(native, m[1]!));
      graph.set(module, [...(graph.get(module) ?? []), ...includes.filter((dep) => dep !== module)]);
    }
    for (const deps of graph.values()) for (const dep of deps) if (!graph.has(dep)) graph.set(dep, []);
    expect(importCircles(graph)).toEqual([]);
  });
});
