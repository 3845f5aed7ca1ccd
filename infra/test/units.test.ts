// Unit tests of the small pure pieces: architecture, tags and ownership, the bucket's region names, deployment ids, plan formatting, waits and retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regionOfLocation } from '../resources/bucket.js';
import { deploymentId, HOP_LIMIT, isProfilePropagationError } from '../resources/instance.js';
import { amiParameterName, architectureOf, ownershipOf, stackNames, tagFiltersCli, tagsCli } from '../stack.js';
import { formatPlan, required, retryWithBackoff, seconds, waitFor } from '../step.js';
import { fakeRuntime, upSettings } from './fake-aws.js';
import { awsError } from './aws-errors.js';

test('when the instance type is Graviton, then the arm64 image is chosen; otherwise x86_64', () => {
  for (const type of ['t4g.small', 'm7g.large', 'c8g.xlarge', 'm7gd.2xlarge', 'r6gn.large'])
    assert.equal(architectureOf(type), 'arm64', type);
  for (const type of ['t3.micro', 'g5.xlarge', 'm7i.large', 'c5n.large', 'x']) assert.equal(architectureOf(type), 'x86_64', type);
  assert.equal(amiParameterName('t4g.small'), '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64');
});

test('when tags are read, then only app, stack and stack-region together make a resource this stack’s', () => {
  const settings = { stack: 'demo', region: 'eu-west-1' };
  const tags = (app: string, stack: string, region?: string) => [
    { Key: 'app', Value: app },
    { Key: 'stack', Value: stack },
    ...(region ? [{ Key: 'stack-region', Value: region }] : []),
  ];
  assert.deepEqual(ownershipOf(tags('s3-photo-share', 'demo', 'eu-west-1'), settings), { owner: 'this-stack' });
  assert.deepEqual(ownershipOf(tags('s3-photo-share', 'demo', 'us-east-1'), settings), {
    owner: 'this-stack-elsewhere',
    region: 'us-east-1',
  });
  assert.deepEqual(ownershipOf(tags('s3-photo-share', 'demo'), settings), { owner: 'other' });
  assert.deepEqual(ownershipOf(tags('s3-photo-share', 'other', 'eu-west-1'), settings), { owner: 'other' });
  assert.deepEqual(ownershipOf(tags('payroll', 'demo', 'eu-west-1'), settings), { owner: 'other' });
  assert.deepEqual(ownershipOf(undefined, settings), { owner: 'other' });
  assert.equal(tagsCli(settings), 'Key=app,Value=s3-photo-share Key=stack,Value=demo Key=stack-region,Value=eu-west-1');
  assert.equal(
    tagFiltersCli(settings),
    'Name=tag:app,Values=s3-photo-share Name=tag:stack,Values=demo Name=tag:stack-region,Values=eu-west-1',
  );
  assert.deepEqual(stackNames('demo'), {
    roleName: 'demo-role',
    instanceProfileName: 'demo-instance-profile',
    rolePolicyName: 'demo-s3-access',
    securityGroupName: 'demo-web',
    releasePrefix: 'releases/demo/',
    logGroupName: '/s3-photo-share/demo',
    deployRoleName: 'demo-github-deploy',
    loadBalancerName: 'demo-lb',
    targetGroupName: 'demo-tg',
    loadBalancerSecurityGroupName: 'demo-lb',
    appSecurityGroupName: 'demo-app',
    launchTemplateName: 'demo-template',
    autoScalingGroupName: 'demo-asg',
    csrfSecretParameterName: '/demo/csrf-secret',
    deployRolePolicyName: 'demo-operator',
    permissionsBoundaryName: 'demo-boundary',
  });
});

test('when S3 names a bucket region, then its historical names are mapped', () => {
  assert.equal(regionOfLocation(undefined), 'us-east-1');
  assert.equal(regionOfLocation(''), 'us-east-1');
  assert.equal(regionOfLocation('EU'), 'eu-west-1');
  assert.equal(regionOfLocation('ap-south-1'), 'ap-south-1');
});

test('when anything the instance is configured from changes, then the deployment id changes', () => {
  const base = deploymentId(upSettings(), '0.1.0-a');
  assert.match(base, /^[0-9a-f]{16}$/);
  assert.equal(deploymentId(upSettings({ allowCidr: '192.0.2.1/32', instanceType: 't3.small' }), '0.1.0-a'), base);
  for (const changed of [
    deploymentId(upSettings({ bucket: 'other-bucket' }), '0.1.0-a'),
    deploymentId(upSettings({ keyPrefix: 'other/' }), '0.1.0-a'),
    deploymentId(upSettings({ region: 'us-east-1' }), '0.1.0-a'),
    deploymentId(upSettings(), '0.1.0-b'),
  ]) {
    assert.notEqual(changed, base);
  }
  assert.equal(HOP_LIMIT, 1);
});

test('when RunInstances fails, then only the instance-profile propagation error is retryable', async () => {
  assert.equal(
    isProfilePropagationError(
      await awsError(
        'ec2',
        'InvalidParameterValue',
        'Value (x) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
      ),
    ),
    true,
  );
  assert.equal(
    isProfilePropagationError(await awsError('ec2', 'InvalidParameterValue', 'Value (t3.nano2) for parameter instanceType is invalid.')),
    false,
  );
  assert.equal(isProfilePropagationError(await awsError('ec2', 'InvalidInstanceProfile', 'Invalid IAM Instance Profile name')), false);
});

test('when a plan is formatted, then each step shows its number, why, commands, comments and documents', () => {
  const text = formatPlan(
    ['Heading'],
    [
      {
        title: 'Do it',
        why: 'Because',
        cli: ['aws do-it', '# a note'],
        documents: { 'doc.json': { a: 1 }, 'raw.txt': 'line one\nline two' },
      },
    ],
    ['Footer'],
  );
  assert.equal(
    text,
    [
      'Heading',
      '',
      '1. Do it',
      '   Why: Because',
      '   $ aws do-it',
      '     # a note',
      '     doc.json:',
      '       {',
      '         "a": 1',
      '       }',
      '     raw.txt:',
      '       line one',
      '       line two',
      '',
      'Footer',
    ].join('\n'),
  );
});

test('when waiting, then the probe is polled at the interval until it answers or the timeout would pass', async () => {
  const runtime = fakeRuntime();
  let calls = 0;
  assert.equal(await waitFor(async () => (++calls === 3 ? 'done' : undefined), { intervalMs: 10, timeoutMs: 100 }, runtime), 'done');
  assert.deepEqual(runtime.sleeps, [10, 10]);
  const never = fakeRuntime();
  assert.equal(await waitFor(async () => undefined, { intervalMs: 10, timeoutMs: 30 }, never), undefined);
  assert.deepEqual(never.sleeps, [10, 10, 10]);
});

test('when retrying, then delays double up to the maximum and stop before the budget; other errors pass through at once', async () => {
  const runtime = fakeRuntime();
  const failure = await awsError('ec2', 'RequestLimitExceeded', 'Request limit exceeded.');
  const options = {
    isRetryable: (error: unknown) => error === failure,
    describeWait: (delay: number, waited: number) => `wait ${delay} after ${waited}`,
    firstDelayMs: 1,
    maxDelayMs: 4,
    budgetMs: 20,
  };
  await assert.rejects(
    retryWithBackoff(async () => Promise.reject(failure), options, runtime),
    (error) => error === failure,
  );
  assert.deepEqual(runtime.sleeps, [1, 2, 4, 4, 4, 4]);
  assert.deepEqual(runtime.lines.slice(0, 3), ['wait 1 after 0', 'wait 2 after 1', 'wait 4 after 3']);
  const other = fakeRuntime();
  const unexpected = new Error('boom');
  await assert.rejects(
    retryWithBackoff(async () => Promise.reject(unexpected), options, other),
    (error) => error === unexpected,
  );
  assert.deepEqual(other.sleeps, []);
  assert.equal(await retryWithBackoff(async () => 'ok', options, other), 'ok');
});

test('when a value an earlier step sets is missing, then the error names it; seconds are rounded', () => {
  assert.throws(
    () => required(undefined, 'the AMI id'),
    /^Error: Internal error: the AMI id is not known yet; an earlier step should have set it$/,
  );
  assert.equal(required(0, 'zero'), 0);
  assert.equal(seconds(1_499), '1 s');
  assert.equal(seconds(120_000), '120 s');
});
