// Tests of `logs` against the in-memory account: the last lines of the window, oldest first, from every stream of the stack's log group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAwsClients } from '../aws-clients.js';
import { logsSteps } from '../logs.js';
import { upSteps } from '../up.js';
import { FakeAccount, runAgainst, upSettings } from './fake-aws.js';

const LOG_GROUP = '/s3-photo-share/s3-photo-share';
const settings = (overrides = {}) => ({ stack: 's3-photo-share', region: 'eu-west-1', minutes: 10, lines: 3, ...overrides });

test('when the log group has lines, then logs prints the last ones of the window in time order with their stream', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.runtime.clockMs = 60 * 60_000;
  const minute = 60_000;
  account
    .region('eu-west-1')
    .logGroups.get(LOG_GROUP)!
    .events.push(
      { timestamp: 30 * minute, logStreamName: 'i-1/setup', message: 'too old' },
      { timestamp: 55 * minute, logStreamName: 'i-1/app', message: '{"msg":"listening"}\n' },
      { timestamp: 51 * minute, logStreamName: 'i-1/setup', message: 'Installing Node.js 24' },
      { timestamp: 52 * minute, logStreamName: 'i-1/setup', message: 's3-photo-share-setup: DONE' },
      { timestamp: 50 * minute, logStreamName: 'i-1/setup', message: 'dropped: only the last three are shown' },
    );
  account.runtime.lines.length = 0;

  await runAgainst(account, 'eu-west-1', logsSteps(settings({ minutes: 10 })));

  assert.deepEqual(account.runtime.lines.slice(1), [
    '1970-01-01T00:51:00.000Z i-1/setup Installing Node.js 24',
    '1970-01-01T00:52:00.000Z i-1/setup s3-photo-share-setup: DONE',
    '1970-01-01T00:55:00.000Z i-1/app {"msg":"listening"}',
  ]);
  assert.deepEqual(
    account.inputsOf('FilterLogEvents').map((input) => [input.logGroupName, input.startTime, input.nextToken]),
    [
      [LOG_GROUP, 50 * minute, undefined],
      [LOG_GROUP, 50 * minute, '2'],
    ],
  );
});

test('when nothing was logged in the window, then logs says so', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  // The instance's setup lines are older than the window.
  account.runtime.clockMs += 11 * 60_000;
  account.runtime.lines.length = 0;

  await runAgainst(account, 'eu-west-1', logsSteps(settings()));

  assert.deepEqual(account.runtime.lines.slice(1), ['No log line in the past 10 minutes']);
});

test('when the stack has no log group in the region, then logs says to run up or check the region', async () => {
  const account = new FakeAccount();

  await assert.rejects(
    runAgainst(account, 'eu-west-1', logsSteps(settings())),
    /no log group \/s3-photo-share\/s3-photo-share in eu-west-1.*infra:up/,
  );
});

test('when the clients are built for a region, then every one of them uses it', async () => {
  const clients = createAwsClients('ap-southeast-2');
  for (const client of Object.values(clients)) assert.equal(await client.config.region(), 'ap-southeast-2');
});

test('when the stack runs behind the load balancer, then logs prints every instance’s boot and app lines, each with its stream', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings({ loadBalanced: { instances: 2 } })));
  const [first, second] = [...account.region('eu-west-1').instances.keys()];
  const now = account.runtime.clockMs;
  const { events } = account.region('eu-west-1').logGroups.get(LOG_GROUP)!;
  // These lines in place of the DONE lines the instances shipped in the model.
  events.length = 0;
  events.push(
    { timestamp: now - 3_000, logStreamName: `${first}/setup`, message: 's3-photo-share-setup: DONE' },
    { timestamp: now - 2_000, logStreamName: `${second}/setup`, message: 's3-photo-share-setup: FAILED (exit 1) at line 42' },
    { timestamp: now - 1_000, logStreamName: `${first}/app`, message: '{"msg":"listening"}' },
  );
  account.runtime.lines.length = 0;

  await runAgainst(account, 'eu-west-1', logsSteps(settings({ minutes: 10, lines: 10 })));

  assert.deepEqual(
    account.runtime.lines.slice(1).map((line) => line.slice(25)),
    [
      `${first}/setup s3-photo-share-setup: DONE`,
      `${second}/setup s3-photo-share-setup: FAILED (exit 1) at line 42`,
      `${first}/app {"msg":"listening"}`,
    ],
  );
});
