// Where infra/ turns one AWS error into its own words (not found, access denied, a Xen instance), any other error must
// reach the user unchanged: a catch that swallowed it would print a wrong diagnosis, or go on as if nothing failed.
// Each error code is one the operation's "Errors" section (or EC2's common error codes) lists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachSteps } from '../attach.js';
import { logsSteps } from '../logs.js';
import { upSteps } from '../up.js';
import { awsError } from './aws-errors.js';
import { FakeAccount, runAgainst, upSettings } from './fake-aws.js';

const REGION = 'eu-west-1';

test('when finding the instance to attach fails for another reason than "not found", then attach stops with that error', async () => {
  const account = new FakeAccount();
  await runAgainst(account, REGION, upSteps(upSettings()));
  const target = account.addInstance(REGION, {});
  // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": UnauthorizedOperation.
  const failure = await awsError('ec2', 'UnauthorizedOperation', 'You are not authorized to perform this operation.');
  account.fail('ec2', 'DescribeInstances', failure);

  await assert.rejects(
    runAgainst(
      account,
      REGION,
      attachSteps({ stack: 's3-photo-share', region: REGION, instanceId: target.InstanceId, requireImdsv2: false }),
    ),
    (error) => error === failure,
  );
});

test('when reading the log group fails for another reason than "no such group", then logs stops with that error', async () => {
  const account = new FakeAccount();
  await runAgainst(account, REGION, upSteps(upSettings()));
  // Amazon CloudWatch Logs API Reference, FilterLogEvents "Errors": InvalidParameterException.
  const failure = await awsError('logs', 'InvalidParameterException', 'A parameter is specified incorrectly.');
  account.fail('logs', 'FilterLogEvents', failure);

  await assert.rejects(
    runAgainst(account, REGION, logsSteps({ stack: 's3-photo-share', region: REGION, minutes: 10, lines: 3 })),
    (error) => error === failure,
  );
});

test('when writing the permissions boundary fails for another reason than access denied, then up stops with that error', async () => {
  const account = new FakeAccount();
  // IAM API Reference, CreatePolicy "Errors": LimitExceeded.
  const failure = await awsError('iam', 'LimitExceeded', 'Cannot exceed quota for PoliciesPerAccount: 1500');
  account.fail('iam', 'CreatePolicy', failure);

  await assert.rejects(runAgainst(account, REGION, upSteps(upSettings())), (error) => error === failure);
  assert.equal(account.roles.size, 0);
});

test('when writing the permissions boundary is denied, then the error that says "an administrator" keeps IAM’s own as its cause', async () => {
  const account = new FakeAccount();
  const denied = await awsError('iam', 'AccessDenied', 'User is not authorized to perform: iam:CreatePolicy');
  account.fail('iam', 'CreatePolicy', denied);

  await assert.rejects(runAgainst(account, REGION, upSteps(upSettings())), (error) => {
    assert.match(String(error), /Only an administrator may write the permissions boundary/);
    assert.equal((error as Error).cause, denied);
    return true;
  });
});

test('when the latest console output fails with a server error, then up stops with it instead of taking the instance for a Xen one', async () => {
  const account = new FakeAccount();
  // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InternalError (a server error, retried by the SDK).
  const failure = await awsError('ec2', 'InternalError', 'An internal error has occurred.', { status: 500 });
  account.fail('ec2', 'GetConsoleOutput', failure, Number.POSITIVE_INFINITY, (input) => input.Latest === true);
  const { probeReadiness } = account.deps(REGION);
  let polls = 0;
  const readyOnThirdPoll = async (url: string) => ((polls += 1) >= 3 ? probeReadiness(url) : ('not-ready' as const));

  await assert.rejects(
    runAgainst(account, REGION, upSteps(upSettings({ instanceType: 't3.micro' })), { probeReadiness: readyOnThirdPoll }),
    (error) => error === failure,
  );
  assert.equal(
    account.inputsOf('GetConsoleOutput').some((input) => input.Latest === undefined),
    false,
    'up read the buffered output as if EC2 had refused Latest',
  );
});
