// The modules and files a source file names (read with the TypeScript compiler), and the import cycles of a set of files.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** A module specifier (`import`, `export … from`, `import()`, `require()`, `import('…').T`) or a relative path in a string. */
export interface Reference {
  file: string;
  line: number;
  text: string;
  /** The file or folder a relative reference points at; undefined for a package name. */
  resolved?: string;
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** Every source file under `dir`, skipping folders named in `skip` (absolute paths) and any node_modules. */
export function sourceFiles(dir: string, skip: string[] = []): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || skip.includes(full) ? [] : sourceFiles(full, skip);
    return SOURCE_EXTENSIONS.includes(path.extname(entry.name)) ? [full] : [];
  });
}

/**
 * The modules `file` imports and the relative paths it names in any string (`new URL('../x', import.meta.url)`, `join(dir,
 * '../x')`): a file can depend on another without importing it. A `.js` specifier names the `.ts` file beside it, as
 * NodeNext resolution does.
 */
export function referencesOf(file: string, text = readFileSync(file, 'utf8')): Reference[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Reference[] = [];
  const add = (literal: ts.StringLiteralLike, isModule: boolean) => {
    const value = literal.text;
    const relative = value.startsWith('./') || value.startsWith('../') || value === '.' || value === '..';
    if (!isModule && !relative) return;
    const line = source.getLineAndCharacterOfPosition(literal.getStart()).line + 1;
    found.push({ file, line, text: value, resolved: relative ? resolveRelative(file, value) : undefined });
  };
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteralLike(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier, true);
      return;
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteralLike(node.argument.literal)) {
      add(node.argument.literal, true);
      return;
    }
    if (ts.isCallExpression(node) && isImportOrRequire(node.expression) && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      add(node.arguments[0], true);
      return;
    }
    if (ts.isStringLiteralLike(node)) add(node, false);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function isImportOrRequire(callee: ts.Expression): boolean {
  return callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require');
}

function resolveRelative(file: string, specifier: string): string {
  const target = path.resolve(path.dirname(file), specifier);
  const asTypeScript = target.replace(/\.(m|c)?js$/, '.$1ts');
  return asTypeScript !== target && SOURCE_EXTENSIONS.includes(path.extname(asTypeScript)) ? asTypeScript : target;
}

/**
 * The import cycles among `edges` (file → the files it references), as the files along each starting from the smallest
 * name; [] when there are none. A depth-first walk: every cycle has an edge back to a file still open on the walk.
 */
export function importCycles(edges: Map<string, string[]>): string[][] {
  const cycles = new Map<string, string[]>();
  const walked = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const walk = (file: string): void => {
    walked.set(file, 'open');
    trail.push(file);
    for (const next of edges.get(file) ?? []) {
      if (walked.get(next) === 'open') {
        const cycle = trail.slice(trail.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join(' → '), rotated);
      } else if (!walked.has(next)) {
        walk(next);
      }
    }
    trail.pop();
    walked.set(file, 'done');
  };
  for (const file of [...edges.keys()].sort()) if (!walked.has(file)) walk(file);
  return [...cycles.values()];
}
