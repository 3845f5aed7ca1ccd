// Edge cases found by mutation testing: the printed plans word for word, reruns that send no needless change, and the less common paths of each resource.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { attachSteps } from '../attach.js';
import { parseCommandLine, runCli, USAGE, type CliDeps } from '../cli.js';
import { downSteps } from '../down.js';
import { buildRelease } from '../release.js';
import { architectureOf } from '../stack.js';
import { retryWithBackoff } from '../step.js';
import { formatUpSummary, upSteps } from '../up.js';
import { FakeAccount, runAgainst, STACK_TAG_FILTERS, upSettings } from './fake-aws.js';
import { awsError } from './aws-errors.js';

const ROLE = 's3-photo-share-role';
const PROFILE = 's3-photo-share-instance-profile';
const DOWN = { stack: 's3-photo-share', region: 'eu-west-1', bucket: 'demo-bucket', deleteBucket: false };

function printingCli(createDeps: CliDeps['createDeps'] = () => assert.fail('no AWS client expected')) {
  const printed: string[] = [];
  const errors: string[] = [];
  return {
    printed,
    errors,
    createDeps,
    print: (text: string) => void printed.push(text),
    printError: (text: string) => void errors.push(text),
  };
}

function liveInstances(account: FakeAccount) {
  return [...account.region('eu-west-1').instances.values()].filter(
    (instance) => !['terminated', 'shutting-down'].includes(instance.State.Name),
  );
}

function stackGroup(account: FakeAccount) {
  return [...account.region('eu-west-1').groups.values()].find((group) => group.GroupName === 's3-photo-share-web')!;
}

test('when the plans are printed, then they read word for word as infra/test/fixtures/plans.txt', async () => {
  const fixture = readFileSync(new URL('./fixtures/plans.txt', import.meta.url), 'utf8');
  const blocks = fixture.split(/^\$ npm run infra:plan -- /m).filter(Boolean);
  assert.equal(blocks.length, 10);
  for (const block of blocks) {
    const [args = '', ...expected] = block.split('\n');
    const cli = printingCli();
    assert.equal(await runCli(['plan', ...args.split(' ')], cli), 0);
    assert.equal(`${cli.printed.join('\n')}\n`, `${expected.join('\n').replace(/\n$/, '')}`, `plan ${args}`);
  }
});

test('when up runs again with nothing changed, then it only re-applies its own settings and launches, starts or replaces nothing', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.calls.length = 0;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.deepEqual(
    account.commandNames().filter((name) => !/:(Get|Describe|List)/.test(name)),
    [
      's3:PutPublicAccessBlock',
      's3:PutBucketOwnershipControls',
      's3:PutBucketEncryption',
      's3:PutBucketPolicy',
      's3:PutBucketLifecycleConfiguration',
      's3:PutObject',
      's3:PutObject',
      'logs:CreateLogGroup',
      'logs:PutRetentionPolicy',
      'iam:CreateRole',
      'iam:PutRolePolicy',
      'iam:CreateInstanceProfile',
    ],
  );
  assert.deepEqual(account.inputsOf('DescribeSecurityGroups'), [
    {
      Filters: [
        { Name: 'group-name', Values: ['s3-photo-share-web'] },
        { Name: 'vpc-id', Values: ['vpc-eu-west-1'] },
      ],
    },
    // The look for groups of the load-balanced mode, which a single-instance rerun would remove.
    { Filters: STACK_TAG_FILTERS },
  ]);
  assert.deepEqual(account.inputsOf('DescribeVpcs'), [{ Filters: [{ Name: 'is-default', Values: ['true'] }] }]);
  assert.deepEqual(account.inputsOf('GetParameter'), [{ Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' }]);
});

test('when up creates the bucket and the group, then it sends exactly these inputs', async () => {
  const account = new FakeAccount();

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  const tags = [
    { Key: 'app', Value: 's3-photo-share' },
    { Key: 'stack', Value: 's3-photo-share' },
    { Key: 'stack-region', Value: 'eu-west-1' },
  ];
  assert.deepEqual(account.inputsOf('CreateBucket'), [
    {
      Bucket: 'demo-bucket',
      ObjectOwnership: 'BucketOwnerEnforced',
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1', Tags: tags },
    },
  ]);
  assert.deepEqual(account.inputsOf('CreateSecurityGroup'), [
    {
      GroupName: 's3-photo-share-web',
      Description: 'S3 Photo Share demo (s3-photo-share)',
      VpcId: 'vpc-eu-west-1',
      TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'Name', Value: 's3-photo-share' }, ...tags] }],
    },
  ]);
  assert.deepEqual(account.inputsOf('GetConsoleOutput'), []);
});

test('when the group holds other rules beside the wanted one, then up revokes each of them and authorizes nothing new', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const group = stackGroup(account);
  group.IpPermissions[0]!.IpRanges.push({ CidrIp: '10.1.0.0/16' });
  group.IpPermissions.push(
    { IpProtocol: 'udp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '203.0.113.0/24' }] },
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 81, IpRanges: [{ CidrIp: '203.0.113.0/24' }] },
    { IpProtocol: 'tcp', FromPort: 79, ToPort: 80, IpRanges: [{ CidrIp: '203.0.113.0/24' }] },
  );
  account.calls.length = 0;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.deepEqual(group.IpPermissions, [
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'S3 Photo Share HTTP' }] },
  ]);
  assert.equal(account.inputsOf('AuthorizeSecurityGroupIngress').length, 0);
  assert.equal(account.inputsOf('RevokeSecurityGroupIngress').length, 1);
});

test('when creating a resource fails for another reason than "exists", then up stops with that error', async () => {
  // Each quota error from the operation's "Errors" section (S3: "Error responses", EC2: "Error codes for the Amazon EC2 API").
  for (const [service, command, code] of [
    ['s3', 'CreateBucket', 'TooManyBuckets'],
    ['iam', 'CreateRole', 'LimitExceeded'],
    ['iam', 'CreateInstanceProfile', 'LimitExceeded'],
    ['ec2', 'CreateSecurityGroup', 'SecurityGroupLimitExceeded'],
    ['logs', 'CreateLogGroup', 'LimitExceededException'],
  ] as const) {
    const account = new FakeAccount();
    const failure = await awsError(service, code, `${command} quota reached`);
    account.fail(service, command, failure);

    await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), (error) => error === failure, command);
  }
});

test('when the stack profile holds another role, then up refuses to add its own', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.profiles.get(PROFILE)!.roles = ['other-role'];

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /^Error: Instance profile s3-photo-share-instance-profile holds role other-role, and a profile holds one role\. Run `npm run infra:down` for this stack first\.$/,
  );
  assert.deepEqual(account.profiles.get(PROFILE)?.roles, ['other-role']);
});

test('when IAM shows the new profile only after a while, then up polls for it every 2 s; never, and it stops after 60 s', async () => {
  const slow = new FakeAccount();
  slow.fail(
    'iam',
    'GetInstanceProfile',
    await awsError('iam', 'NoSuchEntity', 'Instance Profile s3-photo-share-instance-profile cannot be found.'),
    3,
  );
  await runAgainst(slow, 'eu-west-1', upSteps(upSettings()));
  assert.deepEqual(slow.runtime.sleeps.slice(0, 2), [2_000, 2_000]);
  assert.equal(slow.inputsOf('GetInstanceProfile').length, 4);

  const never = new FakeAccount();
  never.fail(
    'iam',
    'GetInstanceProfile',
    await awsError('iam', 'NoSuchEntity', 'Instance Profile s3-photo-share-instance-profile cannot be found.'),
  );
  await assert.rejects(runAgainst(never, 'eu-west-1', upSteps(upSettings())), /did not show role s3-photo-share-role within 60 s/);
  assert.equal(never.inputsOf('RunInstances').length, 0);
});

test('when the stack instance is still pending from an earlier run, then up reuses it', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const [instance] = liveInstances(account);
  instance!.State = { Name: 'pending' };
  instance!.stateChangeAt = account.now() + 10_000;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.equal(account.inputsOf('RunInstances').length, 1);
  assert.equal(instance?.State.Name, 'running');
});

test('when stack instances are pending, stopping, stopped or shutting down, then down terminates and waits for each before deleting the group', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const [first] = liveInstances(account);
  const extra = ['pending', 'stopping', 'stopped', 'shutting-down'].map((state) =>
    account.addInstance('eu-west-1', {
      State: { Name: state },
      Tags: first!.Tags,
      SecurityGroupIds: first!.SecurityGroupIds,
      stateChangeAt: state === 'shutting-down' ? account.now() + 200_000 : undefined,
    }),
  );

  await runAgainst(account, 'eu-west-1', downSteps(DOWN));

  assert.deepEqual(
    [first, ...extra].map((instance) => instance?.State.Name),
    ['terminated', 'terminated', 'terminated', 'terminated', 'terminated'],
  );
  assert.equal(account.region('eu-west-1').groups.size, 0);
});

test('when the group is still in use after termination, then down retries deleting it; another error is not retried', async () => {
  const busy = new FakeAccount();
  await runAgainst(busy, 'eu-west-1', upSteps(upSettings()));
  busy.fail('ec2', 'DeleteSecurityGroup', await awsError('ec2', 'DependencyViolation', 'resource has a dependent object'), 2);
  await runAgainst(busy, 'eu-west-1', downSteps(DOWN));
  assert.equal(busy.inputsOf('DeleteSecurityGroup').length, 3);
  assert.equal(busy.region('eu-west-1').groups.size, 0);

  const denied = new FakeAccount();
  await runAgainst(denied, 'eu-west-1', upSteps(upSettings()));
  denied.fail('ec2', 'DeleteSecurityGroup', await awsError('ec2', 'UnauthorizedOperation', 'not allowed'));
  await assert.rejects(runAgainst(denied, 'eu-west-1', downSteps(DOWN)), /not allowed/);
  assert.equal(denied.inputsOf('DeleteSecurityGroup').length, 1);
});

test('when the instance already uses the stack profile with IMDSv2, then attach sends no change at all', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const target = account.addInstance('eu-west-1', {
    profileArn: account.profiles.get(PROFILE)!.arn,
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
  });
  account.calls.length = 0;

  await runAgainst(
    account,
    'eu-west-1',
    attachSteps({ stack: 's3-photo-share', region: 'eu-west-1', instanceId: target.InstanceId, requireImdsv2: true }),
  );

  assert.deepEqual(account.commandNames(), [
    'sts:GetCallerIdentity',
    'iam:GetInstanceProfile',
    'ec2:DescribeInstances',
    'ec2:DescribeIamInstanceProfileAssociations',
  ]);
});

test('when a bucket tagged for this stack in another region is adopted, then up refuses and names that region', async () => {
  const account = new FakeAccount();
  account.addBucket('demo-bucket', {
    tags: [
      { Key: 'app', Value: 's3-photo-share' },
      { Key: 'stack', Value: 's3-photo-share' },
      { Key: 'stack-region', Value: 'us-east-1' },
    ],
  });

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings({ adoptBucket: true }))),
    /lives in us-east-1 \(recorded on bucket demo-bucket\)/,
  );
});

test('when attach, up and down run through the CLI, then only up prints a summary and a CIDR warning', async () => {
  const account = new FakeAccount();
  const cli = printingCli((region) => account.deps(region));
  assert.equal(await runCli(['up', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--allow-cidr', '203.0.113.0/24'], cli), 0);
  const target = account.addInstance('eu-west-1');
  account.runtime.lines.length = 0;

  assert.equal(await runCli(['attach', '--instance-id', target.InstanceId, '--region', 'eu-west-1'], cli), 0);
  assert.equal(await runCli(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1'], cli), 1);

  assert.ok(!account.runtime.lines.some((line) => /^Warning: --allow-cidr|^App URL/.test(line)));
  assert.match(cli.errors.join('\n'), new RegExp(`still associated with ${target.InstanceId}`));
});

test('when the up summary is printed, then it lists the URL, instance, role and profile', () => {
  assert.deepEqual(
    formatUpSummary({ appUrl: 'http://198.51.100.7/', instanceId: 'i-1', roleArn: 'arn:role', instanceProfileArn: 'arn:profile' }),
    [
      '',
      'App URL:              http://198.51.100.7/',
      'Instance id:          i-1',
      'Role ARN:             arn:role',
      'Instance profile ARN: arn:profile',
    ],
  );
});

test('when the command line has a stray word, a stack for logs or a long region, then each is handled', async () => {
  assert.throws(
    () => parseCommandLine(['up', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--allow-cidr', '203.0.113.0/24', 'extra']),
    /Unexpected argument 'extra'/,
  );
  assert.deepEqual(parseCommandLine(['logs', '--region', 'me-central-12', '--stack', 'demo2']), {
    name: 'logs',
    settings: { stack: 'demo2', region: 'me-central-12', minutes: 60, lines: 200 },
  });
  assert.equal(
    (
      parseCommandLine([
        'up',
        '--bucket',
        'demo-bucket',
        '--region',
        'eu-west-1',
        '--allow-cidr',
        '203.0.113.0/24',
        '--key-prefix',
        'photos/2024/',
      ]) as { settings: { keyPrefix: string } }
    ).settings.keyPrefix,
    'photos/2024/',
  );
  const cli = printingCli();
  assert.equal(await runCli(['launch'], cli), 2);
  assert.equal(cli.errors.join(''), `Unknown command "launch": expected plan, up, attach, down, logs or ci-role.\n\n${USAGE}`);
  assert.equal(architectureOf('im4gn.large'), 'arm64');
});

test('when retrying against a clock that does not start at zero, then the waited time and the budget edge are exact', async () => {
  const runtime = {
    clockMs: 1_000,
    sleeps: [] as number[],
    lines: [] as string[],
    log: (line: string) => void runtime.lines.push(line),
    sleep: async (ms: number) => void (runtime.sleeps.push(ms), (runtime.clockMs += ms)),
    now: () => runtime.clockMs,
  };
  const failure = await awsError('ec2', 'RequestLimitExceeded', 'Request limit exceeded.');
  const options = {
    isRetryable: () => true,
    describeWait: (delay: number, waited: number) => `${delay}/${waited}`,
    firstDelayMs: 1,
    maxDelayMs: 4,
    budgetMs: 7,
  };

  await assert.rejects(retryWithBackoff(async () => Promise.reject(failure), options, runtime));

  assert.deepEqual(runtime.sleeps, [1, 2, 4]);
  assert.deepEqual(runtime.lines, ['1/0', '2/1', '4/3']);
});

test('when a release is built, then its temporary pack folder is removed', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const repo = mkdtempSync(join(tmpdir(), 'fake-release-'));
  writeFileSync(
    join(repo, 'package.json'),
    JSON.stringify({
      name: 'fake-app',
      version: '1.0.0',
      private: true,
      files: ['dist'],
      scripts: {
        build: `node -e "require('fs').mkdirSync('dist/src',{recursive:true});require('fs').writeFileSync('dist/src/server.js','')"`,
      },
    }),
  );
  writeFileSync(join(repo, 'package-lock.json'), '{}');
  // A folder of this test's own: other processes (a parallel mutation run) pack into the system's at the same time.
  const tempParent = mkdtempSync(join(tmpdir(), 'pack-parent-'));
  const packFolders = () => readdirSync(tempParent).length;

  await buildRelease(repo, tempParent);

  assert.equal(packFolders(), 0);
});

test('when the role or instance profile lookups are denied in the region check, then up stops before creating anything', async () => {
  const account = new FakeAccount();
  account.fail('iam', 'GetRole', await awsError('iam', 'AccessDenied', 'not allowed: iam:GetRole'));

  await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), /not allowed: iam:GetRole/);
  assert.equal(account.buckets.size + account.roles.size, 0);
  assert.equal(ROLE, 's3-photo-share-role');
});
