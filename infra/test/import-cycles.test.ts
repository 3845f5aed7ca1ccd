// infra/'s modules import one another without a cycle, so each can be read (and replaced) from the bottom up.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { importCycles, referencesOf, sourceFiles } from '../../test/support/module-graph.js';

const INFRA = path.resolve(import.meta.dirname, '..');

/** Each infra/ module → the infra/ modules it imports (types included: a type-only circle still ties two files together). */
function infraImports(): Map<string, string[]> {
  const files = sourceFiles(INFRA, [path.join(INFRA, 'test')]).filter((file) => file.endsWith('.ts'));
  return new Map(
    files.map((file) => [
      path.relative(INFRA, file),
      referencesOf(file)
        .filter((reference) => reference.resolved !== undefined && files.includes(reference.resolved))
        .map((reference) => path.relative(INFRA, reference.resolved!)),
    ]),
  );
}

describe('when infra/ is read for its imports', () => {
  it('then they form no cycle', () => {
    const imports = infraImports();
    assert.ok(imports.size >= 25 && imports.has('up.ts'), `only ${[...imports.keys()].join(', ')}`);
    assert.deepEqual(importCycles(imports), []);
  });
});

describe('when the cycle finder is given a graph', () => {
  it('then it names each cycle once, from its smallest file, and none in a graph without one', () => {
    const graph = new Map([
      ['up.ts', ['state.ts', 'step.ts']],
      ['state.ts', ['resources/github.ts']],
      ['resources/github.ts', ['state.ts', 'step.ts']],
      ['step.ts', ['step.ts']],
      ['down.ts', ['up.ts']],
    ]);
    assert.deepEqual(importCycles(graph), [['resources/github.ts', 'state.ts'], ['step.ts']]);
    assert.deepEqual(
      importCycles(
        new Map([
          ['a.ts', ['b.ts', 'c.ts']],
          ['b.ts', ['c.ts']],
        ]),
      ),
      [],
    );
  });
});
