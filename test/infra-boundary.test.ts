// infra/ is a package of its own that a forker may delete: nothing in src/, scripts/ or test/ imports from it or names a path in it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Reference, referencesOf, sourceFiles } from './support/module-graph.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const INFRA = path.join(projectRoot, 'infra');
/** The name infra/package.json gives the workspace, under which the app could also import it. */
const INFRA_PACKAGE = 's3-photo-share-infra';

function intoInfra(reference: Reference): boolean {
  if (reference.resolved === undefined) return reference.text === INFRA_PACKAGE || reference.text.startsWith(`${INFRA_PACKAGE}/`);
  const relative = path.relative(INFRA, reference.resolved);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function referencesIntoInfra(files: string[]): string[] {
  return files
    .flatMap((file) => referencesOf(file))
    .filter(intoInfra)
    .map((reference) => `${path.relative(projectRoot, reference.file)}:${reference.line} names ${reference.text}`);
}

describe('when the app is read for what it needs of infra/', () => {
  it('then no file of src/, scripts/ or test/ imports from infra/ or names a path in it', () => {
    const files = ['src', 'scripts', 'test'].flatMap((folder) => sourceFiles(path.join(projectRoot, folder)));
    assert.ok(files.length > 100, `only ${files.length} files read`);
    assert.deepEqual(referencesIntoInfra(files), []);
  });

  it('then the package name it checks for is the one infra/package.json has, when infra/ is there', {
    skip: !existsSync(INFRA) && 'infra/ is not here',
  }, () => {
    const infraPackage = JSON.parse(readFileSync(path.join(INFRA, 'package.json'), 'utf8')) as { name: string };
    assert.equal(infraPackage.name, INFRA_PACKAGE);
  });
});

describe('when a file reaches into infra/', () => {
  const file = path.join(projectRoot, 'test', 'example.test.ts');
  /** What each reference names: the file inside the project, or the package. */
  const reached = (text: string) =>
    referencesOf(file, text)
      .filter(intoInfra)
      .map((reference) => (reference.resolved ? path.relative(projectRoot, reference.resolved) : reference.text));

  it('then each way of naming it is found: imports, exports, import(), import types, require() and relative paths in strings', () => {
    const text = [
      "import { upSteps } from '../infra/up.js';",
      "import type { StackState } from '../infra/state.js';",
      "export { stackNames } from '../infra/stack.js';",
      "const cli = await import('../infra/cli.js');",
      "type Deps = import('../infra/state.js').CommandDeps;",
      "const policy = require('../infra/policies/app-policy.json');",
      "const userData = new URL('../infra/user-data.sh', import.meta.url);",
      "const folder = path.join(here, '../infra');",
      "import { runCli } from 's3-photo-share-infra/cli.ts';",
      "import { x } from 's3-photo-share-infra';",
    ].join('\n');
    assert.deepEqual(reached(text), [
      path.join('infra', 'up.ts'),
      path.join('infra', 'state.ts'),
      path.join('infra', 'stack.ts'),
      path.join('infra', 'cli.ts'),
      path.join('infra', 'state.ts'),
      path.join('infra', 'policies', 'app-policy.json'),
      path.join('infra', 'user-data.sh'),
      'infra',
      's3-photo-share-infra/cli.ts',
      's3-photo-share-infra',
    ]);
  });

  it('then paths beside it are not counted: a folder whose name starts the same, the app itself, packages', () => {
    const text = [
      "import { x } from '../infrastructure/x.js';",
      "import { y } from '../src/app.js';",
      "import { z } from './support/infra.js';",
      "import express from 'express';",
      "import { w } from 's3-photo-share-infrastructure';",
      "const text = 'infra/README.md';",
    ].join('\n');
    assert.deepEqual(reached(text), []);
  });
});
