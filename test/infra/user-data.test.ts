// Checks infra/user-data.sh: shellcheck on the template and on a rendered copy, and that nothing credential-like is in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { renderUserData } from '../../infra/templates.js';

const TEMPLATE_PATH = fileURLToPath(new URL('../../infra/user-data.sh', import.meta.url));
const rendered = renderUserData({
  bucket: 'demo-bucket',
  keyPrefix: 'photos/',
  region: 'eu-west-1',
  releasePrefix: 'releases/s3-photo-share/0.1.0-abcdef012345/',
  port: 80,
});

/** Fails, never skips, when shellcheck is missing: CI must install the Debian package `shellcheck`. */
function shellcheck(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('shellcheck', args, { input, encoding: 'utf8' });
  if (result.error) assert.fail(`shellcheck could not run (${result.error.message}); install it with: apt-get install -y shellcheck`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('when shellcheck reads the user-data template, then it reports nothing', () => {
  const { status, output } = shellcheck([TEMPLATE_PATH]);
  assert.equal(status, 0, output);
});

test('when shellcheck reads the rendered user-data, then it reports nothing', () => {
  const { status, output } = shellcheck(['--shell=bash', '-'], rendered);
  assert.equal(status, 0, output);
});

test('when user-data is rendered, then no placeholder is left', () => {
  assert.doesNotMatch(rendered, /\{\{\w+\}\}/);
});

test('when user-data is rendered, then it contains no credential or credential variable', () => {
  const credentialPatterns = [
    /\b(AKIA|ASIA)[A-Z0-9]{16}\b/,
    /AWS_ACCESS_KEY_ID/i,
    /AWS_SECRET_ACCESS_KEY/i,
    /AWS_SESSION_TOKEN/i,
    /AWS_PROFILE/i,
    /aws_access_key/i,
    /secret/i,
    /--profile\b/,
  ];
  for (const pattern of credentialPatterns) assert.doesNotMatch(rendered, pattern);
});

test('when user-data writes the environment file, then it holds bucket, prefix, region, port and host only', () => {
  const envBlock = /<<ENV\n([\s\S]*?)\nENV\n/.exec(rendered)?.[1] ?? '';
  const names = envBlock.split('\n').map((line) => line.split('=')[0]);
  assert.deepEqual(names, ['S3_BUCKET', 'S3_PREFIX', 'AWS_REGION', 'PORT', 'HOST']);
  assert.match(rendered, /readonly S3_BUCKET='demo-bucket'/);
});

test('when user-data installs the systemd unit, then it runs unprivileged, restarts on failure and is hardened', () => {
  for (const line of ['User=${APP_USER}', 'Restart=on-failure', 'NoNewPrivileges=true', 'ProtectSystem=strict', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'StandardOutput=journal']) {
    assert.ok(rendered.includes(`\n${line}\n`), `unit lacks ${line}`);
  }
});

test('when user-data fetches the release, then it uses the instance role through the AWS CLI', () => {
  assert.match(rendered, /aws s3 cp "s3:\/\/\$\{S3_BUCKET\}\/\$\{RELEASE_PREFIX\}app\.tgz"/);
  assert.match(rendered, /npm-\$\{NODE_MAJOR\}" ci --omit=dev/);
});
