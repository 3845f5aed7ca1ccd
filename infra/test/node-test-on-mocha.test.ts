// Stryker's mutation score is only as true as the shim that runs infra/test under mocha (test/mutation/):
// a shim that lost a failure would let every mutant survive, one that lost a test would hide coverage.
// So the same cases run under node --test (the real thing) and under mocha with the shim, and must agree.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const casesFile = 'infra/test/fixtures/node-test-on-mocha/cases.ts';
const run = promisify(execFile);

type Outcome = 'passes' | 'fails' | 'skipped';

/**
 * Runs a command from the repository root; a failed test exits non-zero, which is expected here. Without
 * NODE_TEST_CONTEXT: inherited from this test's own runner, it would make the inner node --test report in binary.
 */
async function output(args: string[]): Promise<string> {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const options = { cwd: repositoryRoot, env: { ...env, NODE_OPTIONS: '' } };
  const result = await run(process.execPath, args, options).catch((error: { stdout?: string }) => error);
  return result.stdout ?? '';
}

async function outcomesUnderNodeTest(): Promise<Map<string, Outcome>> {
  const tap = await output(['--import', 'tsx', '--test', '--test-reporter=tap', casesFile]);
  const outcomes = new Map<string, Outcome>();
  for (const [, result, title, skip] of tap.matchAll(/^\s*(ok|not ok) \d+ - (.*?)( # SKIP.*)?$/gm)) {
    if (title === 'a describe block') continue;
    outcomes.set(title, skip ? 'skipped' : result === 'ok' ? 'passes' : 'fails');
  }
  return outcomes;
}

/** Runs the cases under mocha with exactly the node arguments Stryker's workers get. */
async function outcomesUnderMochaShim(): Promise<Map<string, Outcome>> {
  const config = JSON.parse(readFileSync(new URL('../stryker.config.json', import.meta.url), 'utf8')) as { testRunnerNodeArgs: string[] };
  const json = await output([
    ...config.testRunnerNodeArgs,
    'node_modules/mocha/bin/mocha.js',
    '--no-config',
    '--reporter',
    'json',
    casesFile,
  ]);
  const report = JSON.parse(json) as Record<'passes' | 'failures' | 'pending', { title: string }[]>;
  const outcomes = new Map<string, Outcome>();
  for (const { title } of report.passes) outcomes.set(title, 'passes');
  for (const { title } of report.failures) outcomes.set(title, 'fails');
  for (const { title } of report.pending) outcomes.set(title, 'skipped');
  return outcomes;
}

test('when the same node:test cases run under node --test and under the mocha shim, each test has the same outcome', async () => {
  const [underNodeTest, underMocha] = await Promise.all([outcomesUnderNodeTest(), outcomesUnderMochaShim()]);

  assert.equal(underNodeTest.size, 14, 'node --test should have run every case in the file');
  for (const [title, outcome] of underNodeTest) assert.ok(title.startsWith(outcome), `node --test: "${title}" ${outcome}`);
  assert.deepEqual(Object.fromEntries(underMocha), Object.fromEntries(underNodeTest));
});
