// Tests the infra command line run by node as a process: the plan it prints and its exit codes, with no credentials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CREATE } from './ci-role-fixtures.js';

test('when the CLI file is run by node, then it prints the plan and exits 0, or exits 2 on a usage error', () => {
  const cliPath = fileURLToPath(new URL('../cli.ts', import.meta.url));
  const plan = spawnSync(process.execPath, ['--import', 'tsx', cliPath, 'plan', '--for', 'logs', '--region', 'eu-west-1'], {
    encoding: 'utf8',
  });
  assert.equal(plan.status, 0, plan.stderr);
  assert.match(plan.stdout, /^Plan for `npm run infra:logs`/);
  const wrong = spawnSync(process.execPath, ['--import', 'tsx', cliPath, 'launch'], { encoding: 'utf8' });
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /Unknown command "launch"/);
});

test('when the CLI file is run by node for plan --for ci-role, then it prints the plan with no credentials and exits 0', async () => {
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('../cli.ts', import.meta.url)), 'plan', '--for', ...CREATE],
    {
      encoding: 'utf8',
      // No credentials and no reachable endpoint: a plan that called AWS would fail or hang here.
      env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
      timeout: 30_000,
    },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /aws iam create-open-id-connect-provider/);
});
