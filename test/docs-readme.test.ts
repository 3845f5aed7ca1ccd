// The README stays a front door: short, with the two commands a newcomer runs, the test commands CI runs,
// and a link to every page of docs/, where the manual lives in lines a reader can follow.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (file: string) => readFileSync(path.join(projectRoot, file), 'utf8');
const readme = read('README.md');
const docsPages = readdirSync(path.join(projectRoot, 'docs')).filter((name) => name.endsWith('.md'));

/** Lines of prose: not in a fenced code block, not a table row (neither can wrap). */
function proseLines(markdown: string): string[] {
  let inFence = false;
  return markdown.split('\n').filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    return !inFence && !/^\s*(```|~~~|\|)/.test(line);
  });
}

describe('when a newcomer opens the README', () => {
  it('then it is at most 150 lines and 15 KB', () => {
    assert.ok(readme.split('\n').length <= 151, `${readme.split('\n').length} lines`);
    assert.ok(Buffer.byteLength(readme) <= 15 * 1024, `${Buffer.byteLength(readme)} bytes`);
  });

  it('then the two commands to run it and to test it are there, one line each', () => {
    const lines = readme.split('\n');
    assert.ok(lines.includes('npm install && npm run dev'));
    assert.ok(lines.includes('npm install && npm test'));
  });

  it('then it links to every page of docs/', () => {
    const missing = docsPages.filter((page) => !readme.includes(`](docs/${page}`));
    assert.deepEqual(missing, []);
  });

  it('then the README and docs/ wrap their prose (no line over 120 characters)', () => {
    const long = ['README.md', ...docsPages.map((page) => `docs/${page}`)].flatMap((file) =>
      proseLines(read(file))
        .filter((line) => [...line].length > 120)
        .map((line) => `${file}: ${line.slice(0, 60)}…`),
    );
    assert.deepEqual(long, []);
  });
});

describe('when CI runs "the README\'s test commands"', () => {
  const ciCommands = read('.ci/run')
    .split('\n')
    .filter((line) => /^npm (?!ci\b)/.test(line));

  it('then .ci/run runs npm test, then the browser test', () => {
    assert.deepEqual(ciCommands, ['npm test', 'npm run test:browser']);
  });

  it('then .ci/run runs npm test once more on Node 22, from the npm registry', () => {
    assert.ok(read('.ci/run').split('\n').includes("npx -y -p node@22 -c 'npm test'"));
  });

  it('then the README and the Tests page state each of them', () => {
    for (const command of ciCommands) {
      assert.ok(readme.includes(command), `README.md lacks ${command}`);
      assert.ok(read('docs/tests.md').includes(command), `docs/tests.md lacks ${command}`);
    }
  });
});
