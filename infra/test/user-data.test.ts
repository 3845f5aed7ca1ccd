// Checks infra/user-data.sh: shellcheck, the setup's retries and failure report, the hardened unit (systemd-analyze) and that nothing credential-like is in it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETUP_DONE_MARKER, SETUP_FAILED_MARKER } from '../resources/instance.js';
import { APP_ENTRY } from '../stack.js';
import { renderUserData } from '../templates.js';

const TEMPLATE_PATH = fileURLToPath(new URL('../user-data.sh', import.meta.url));
const PACKAGE_JSON = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};
const SINGLE_INSTANCE = {
  bucket: 'demo-bucket',
  keyPrefix: 'photos/',
  region: 'eu-west-1',
  releasePrefix: 'releases/s3-photo-share/0.1.0-abcdef012345/',
  logGroup: '/s3-photo-share/s3-photo-share',
  port: 80,
  trustProxy: 0,
};
const rendered = renderUserData(SINGLE_INSTANCE);
const unit = /<<'UNIT'\n([\s\S]*?)\nUNIT\n/.exec(rendered)?.[1] ?? '';

/**
 * Runs a Debian tool. Where it is missing, a newcomer's run says the test was skipped; CI (CI=true) installs the tools, so there it fails.
 * Returns undefined when skipped.
 */
function runTool(
  t: TestContext,
  tool: string,
  debianPackage: string,
  args: string[],
  input?: string,
): { status: number | null; output: string } | undefined {
  const result = spawnSync(tool, args, { input, encoding: 'utf8' });
  if (result.error) {
    const message = `${tool} is not installed (Debian package ${debianPackage}: apt-get install -y ${debianPackage})`;
    if (process.env.CI === 'true') assert.fail(`${message}; CI must install it`);
    t.skip(message);
    return undefined;
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('when shellcheck reads the user-data template, then it reports nothing', (t) => {
  const result = runTool(t, 'shellcheck', 'shellcheck', [TEMPLATE_PATH]);
  if (result) assert.equal(result.status, 0, result.output);
});

test('when shellcheck reads the rendered user-data, then it reports nothing', (t) => {
  const result = runTool(t, 'shellcheck', 'shellcheck', ['--shell=bash', '-'], rendered);
  if (result) assert.equal(result.status, 0, result.output);
});

test('when systemd-analyze scores the unit offline, then its exposure is 2.0 or lower', (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'unit-')), 's3-photo-share.service');
  writeFileSync(path, `${unit}\n`);
  const result = runTool(t, 'systemd-analyze', 'systemd', ['security', '--offline=yes', '--no-pager', path]);
  if (!result) return;
  const score = /Overall exposure level for s3-photo-share\.service: (\d+\.\d)/.exec(result.output)?.[1];
  assert.ok(score !== undefined, result.output);
  assert.ok(Number(score) <= 2.0, `exposure ${score}\n${result.output}`);
});

test('when systemd-analyze verifies the unit, then it finds no syntax error', (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'unit-')), 's3-photo-share.service');
  writeFileSync(path, `${unit}\n`);
  const result = runTool(t, 'systemd-analyze', 'systemd', ['verify', '--man=no', path]);
  if (!result) return;
  // The binary and user exist only on the instance; anything else is a mistake in the unit.
  const problems = result.output
    .split('\n')
    .filter((line) => line.trim() && !/node-24|photoshare|not executable|No such file|Failed to resolve|Unit .* not found/i.test(line));
  assert.deepEqual(problems, []);
});

test('when the unit starts the app, then it runs the release file npm start runs, as the service user', () => {
  assert.equal(PACKAGE_JSON.scripts.start, `node ${APP_ENTRY}`);
  assert.match(unit, new RegExp(`\\nExecStart=/usr/bin/node-24 /opt/s3-photo-share/${APP_ENTRY.replaceAll('.', '\\.')}\\n`));
  assert.match(rendered, /readonly APP_DIR='\/opt\/s3-photo-share'/);
  assert.match(unit, /\nUser=photoshare\nGroup=photoshare\n/);
});

test('when the app exits with 78 (bad configuration), then the unit does not restart it, and crashes are restarted a bounded number of times', () => {
  for (const line of ['Restart=on-failure', 'RestartPreventExitStatus=78', 'StartLimitIntervalSec=300', 'StartLimitBurst=5'])
    assert.ok(unit.includes(`\n${line}\n`), `unit lacks ${line}`);
});

test('when the unit is installed, then it carries the hardening the review asked for', () => {
  for (const line of [
    'NoNewPrivileges=true',
    'ProtectSystem=strict',
    'SystemCallFilter=@system-service',
    'SystemCallArchitectures=native',
    'ProtectProc=invisible',
    'ProcSubset=pid',
    'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
    'AmbientCapabilities=CAP_NET_BIND_SERVICE',
    'StandardOutput=append:/var/log/s3-photo-share/app.log',
  ]) {
    assert.ok(unit.includes(`\n${line}\n`), `unit lacks ${line}`);
  }
});

test('when user-data runs, then any failing command stops it with a FAILED line on the console', () => {
  const lines = rendered.split('\n');
  assert.equal(
    lines.find((line) => /^set /.test(line)),
    'set -Eeuo pipefail',
  );
  assert.ok(rendered.includes(`trap 'echo "${SETUP_FAILED_MARKER} (exit $?) at line \${LINENO}: \${BASH_COMMAND}"' ERR`));
});

test('when user-data reaches the network, then every download goes through retry', () => {
  const networkLines = rendered.split('\n').filter((line) => /^\s*[^#]*\b(dnf install|aws s3 cp|npm-\$\{NODE_MAJOR\}" ci)/.test(line));
  assert.equal(networkLines.length, 4);
  for (const line of networkLines) assert.match(line, /^(retry |install_dependencies\(\) )/);
  assert.match(rendered, /\nretry install_dependencies\n/);
});

test('when the service has started, then DONE, the readiness up reads from CloudWatch Logs, is printed only once the app answers /readyz on the instance', () => {
  const retryFunction = /\nretry\(\) \{\n[\s\S]*?\n\}\n/.exec(rendered)?.[0] ?? '';
  const tail = rendered.slice(rendered.indexOf('echo "Starting s3-photo-share.service"'));
  const runTail = (answersAfter: number) =>
    spawnSync(
      'bash',
      [
        '-c',
        `set -Eeuo pipefail
now=0
date() { echo "$now"; }
sleep() { now=$((now + $1)); }
systemctl() { :; }
calls=0
curl() { calls=$((calls + 1)); echo "curl $*"; [ "$calls" -gt ${answersAfter} ]; }
SETUP_DEADLINE=200 LOG_DIR=/var/log/s3-photo-share LOG_GROUP=/s3-photo-share/s3-photo-share PORT=80
${retryFunction}
${tail}`,
      ],
      { encoding: 'utf8' },
    );

  const ready = runTail(2);
  const lines = ready.stdout.trim().split('\n');
  assert.equal(ready.status, 0, ready.stderr);
  assert.equal(
    lines.filter((line) => line === 'curl --fail --silent --output /dev/null --max-time 5 http://127.0.0.1:80/readyz').length,
    3,
  );
  assert.ok(lines.at(-1)?.startsWith(`${SETUP_DONE_MARKER}; `), lines.at(-1));

  const never = runTail(1_000);
  assert.notEqual(never.status, 0);
  assert.doesNotMatch(never.stdout, new RegExp(SETUP_DONE_MARKER));
  assert.match(never.stdout, /Giving up after the setup deadline: curl/);
});

test('when a network step keeps failing, then retry backs off up to a minute and gives up at the deadline', (t) => {
  const retryFunction = /\nretry\(\) \{\n[\s\S]*?\n\}\n/.exec(rendered)?.[0] ?? '';
  // A fake clock: `date` prints the script's own counter, `sleep` advances it.
  const script = `set -Eeuo pipefail
now=0
date() { echo "$now"; }
sleep() { echo "slept $1"; now=$((now + $1)); }
SETUP_DEADLINE=200
${retryFunction}
attempts=0
flaky() { attempts=$((attempts + 1)); [ "$attempts" -ge 4 ]; }
retry flaky && echo "succeeded after $attempts"
retry false || echo "gave up"
`;
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  if (result.error) return t.skip('bash is not available');
  const slept = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('slept '))
    .map((line) => Number(line.slice(6)));
  assert.deepEqual(slept, [5, 10, 20, 5, 10, 20, 40, 60]);
  assert.match(result.stdout, /succeeded after 4\n[\s\S]*Giving up after the setup deadline: false\ngave up\n$/);
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
  // The one variable allowed to say "secret" holds a parameter's name, never its value.
  const withoutParameterName = rendered.replaceAll('CSRF_SECRET_PARAMETER', 'CSRF_PARAMETER_NAME');
  for (const pattern of credentialPatterns) assert.doesNotMatch(withoutParameterName, pattern);
});

test('when user-data writes the environment file, then it holds bucket, prefix, region, port, host and the two load-balancer settings only', () => {
  const envBlock = /<<ENV\n([\s\S]*?)\nENV\n/.exec(rendered)?.[1] ?? '';
  assert.deepEqual(envBlock.split('\n'), [
    'S3_BUCKET=${S3_BUCKET}',
    'S3_PREFIX=${S3_PREFIX}',
    'AWS_REGION=${AWS_REGION}',
    'PORT=${PORT}',
    'HOST=0.0.0.0',
    'TRUST_PROXY=${TRUST_PROXY}',
    'CSRF_SECRET_PARAMETER=${CSRF_SECRET_PARAMETER}',
  ]);
  assert.match(rendered, /readonly CSRF_SECRET_PARAMETER=''\nreadonly TRUST_PROXY='0'\n/);
  assert.match(
    rendered,
    /readonly S3_BUCKET='demo-bucket'\nreadonly S3_PREFIX='photos\/'\nreadonly AWS_REGION='eu-west-1'\nreadonly RELEASE_PREFIX='releases\/s3-photo-share\/0\.1\.0-abcdef012345\/'\nreadonly LOG_GROUP='\/s3-photo-share\/s3-photo-share'\nreadonly PORT='80'/,
  );
});

test('when user-data is rendered for an instance behind the load balancer, then it names the parameter and trusts one proxy hop', () => {
  const behindLoadBalancer = renderUserData({
    ...SINGLE_INSTANCE,
    csrfSecretParameter: '/s3-photo-share/csrf-secret',
    trustProxy: 1,
  });

  assert.match(behindLoadBalancer, /readonly CSRF_SECRET_PARAMETER='\/s3-photo-share\/csrf-secret'\nreadonly TRUST_PROXY='1'\n/);
  assert.equal(
    behindLoadBalancer.replace(/readonly CSRF_SECRET_PARAMETER='.*'\nreadonly TRUST_PROXY='.'\n/, ''),
    rendered.replace(/readonly CSRF_SECRET_PARAMETER=''\nreadonly TRUST_PROXY='0'\n/, ''),
  );
});

test('when user-data configures the CloudWatch agent, then setup.log and app.log go to the stack log group, one stream each per instance', () => {
  const config = /<<AGENT\n([\s\S]*?)\nAGENT\n/.exec(rendered)?.[1] ?? '';
  const expanded = config.replaceAll('${LOG_DIR}', '/var/log/s3-photo-share').replaceAll('${LOG_GROUP}', '/s3-photo-share/s3-photo-share');
  assert.deepEqual(
    (JSON.parse(expanded) as { logs: { logs_collected: { files: { collect_list: unknown[] } } } }).logs.logs_collected.files.collect_list,
    [
      {
        file_path: '/var/log/s3-photo-share/setup.log',
        log_group_name: '/s3-photo-share/s3-photo-share',
        log_stream_name: '{instance_id}/setup',
      },
      {
        file_path: '/var/log/s3-photo-share/app.log',
        log_group_name: '/s3-photo-share/s3-photo-share',
        log_stream_name: '{instance_id}/app',
      },
    ],
  );
});

test('when user-data fetches the release, then it uses the instance role through the AWS CLI', () => {
  assert.match(rendered, /retry aws s3 cp "s3:\/\/\$\{S3_BUCKET\}\/\$\{RELEASE_PREFIX\}app\.tgz"/);
  assert.match(rendered, /npm-\$\{NODE_MAJOR\}" ci --omit=dev/);
});
