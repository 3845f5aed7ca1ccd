// Tests of `up` against the in-memory account: the end state of a fresh run, reruns that converge, and what up refuses to touch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GetConsoleOutputCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { bucketPolicy } from '../resources/bucket.js';
import { DEPLOYMENT_TAG_KEY, READINESS_TIMEOUT_MS } from '../resources/instance.js';
import { permissionsBoundary } from '../resources/permissions-boundary.js';
import { appPolicy, trustPolicy } from '../resources/role.js';
import { upSteps } from '../up.js';
import { ACCOUNT_ID, AMI_ID, FakeAccount, RELEASE_ID, runAgainst, STACK_TAGS, upSettings } from './fake-aws.js';
import { awsError } from './aws-errors.js';

const ROLE = 's3-photo-share-role';
const PROFILE = 's3-photo-share-instance-profile';
const LOG_GROUP = '/s3-photo-share/s3-photo-share';
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT_ID}:policy/s3-photo-share-boundary`;

function liveInstances(account: FakeAccount, region = 'eu-west-1') {
  return [...account.region(region).instances.values()].filter(
    (instance) => instance.State.Name !== 'terminated' && instance.State.Name !== 'shutting-down',
  );
}

function stackGroup(account: FakeAccount, region = 'eu-west-1') {
  return [...account.region(region).groups.values()].find((group) => group.GroupName === 's3-photo-share-web');
}

test('when up runs on a fresh account, then the bucket is private, tagged, encrypted with SSE-S3, TLS-only and has the lifecycle rule', async () => {
  const account = new FakeAccount();

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  const bucket = account.buckets.get('demo-bucket');
  assert.equal(bucket?.region, 'eu-west-1');
  assert.deepEqual(bucket?.tags, STACK_TAGS);
  assert.equal(bucket?.objectOwnership, 'BucketOwnerEnforced');
  assert.deepEqual(bucket?.publicAccessBlock, {
    BlockPublicAcls: true,
    IgnorePublicAcls: true,
    BlockPublicPolicy: true,
    RestrictPublicBuckets: true,
  });
  assert.deepEqual(bucket?.encryption, { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
  assert.deepEqual(bucket?.policy, bucketPolicy('demo-bucket'));
  assert.deepEqual(bucket?.lifecycle, {
    Rules: [
      {
        ID: 'abort-incomplete-multipart-uploads',
        Status: 'Enabled',
        Filter: {},
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
    ],
  });
  assert.deepEqual(
    [...(bucket?.objects.keys() ?? [])],
    [`releases/s3-photo-share/${RELEASE_ID}/app.tgz`, `releases/s3-photo-share/${RELEASE_ID}/package-lock.json`],
  );
});

test('when up runs on a fresh account, then the role trusts EC2 only, holds exactly the app policy, and sits in the tagged profile', async () => {
  const account = new FakeAccount();

  const state = await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  const role = account.roles.get(ROLE);
  assert.deepEqual(role?.tags, STACK_TAGS);
  assert.deepEqual(role?.trust, trustPolicy());
  assert.deepEqual([...(role?.inlinePolicies ?? [])], [['s3-photo-share-s3-access', appPolicy(upSettings(), ACCOUNT_ID)]]);
  assert.equal(role?.permissionsBoundary, BOUNDARY_ARN);
  assert.deepEqual(account.managedPolicies.get(BOUNDARY_ARN)?.versions, [
    { id: 'v1', document: permissionsBoundary(upSettings(), ACCOUNT_ID), isDefault: true },
  ]);
  assert.deepEqual(account.managedPolicies.get(BOUNDARY_ARN)?.tags, STACK_TAGS);
  assert.deepEqual(account.profiles.get(PROFILE)?.tags, STACK_TAGS);
  assert.deepEqual(account.profiles.get(PROFILE)?.roles, [ROLE]);
  assert.deepEqual(state, {
    accountId: ACCOUNT_ID,
    releaseId: RELEASE_ID,
    roleArn: `arn:aws:iam::${ACCOUNT_ID}:role/${ROLE}`,
    instanceProfileArn: `arn:aws:iam::${ACCOUNT_ID}:instance-profile/${PROFILE}`,
    securityGroupId: stackGroup(account)?.GroupId,
    amiId: AMI_ID,
    instanceId: liveInstances(account)[0]?.InstanceId,
    appUrl: `http://${liveInstances(account)[0]?.PublicIpAddress}/`,
  });
});

test('when up runs on a fresh account, then one tagged instance runs in the stack group with the profile, IMDSv2 and hop limit 1', async () => {
  const account = new FakeAccount();

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  const [instance, ...others] = liveInstances(account);
  assert.equal(others.length, 0);
  assert.equal(instance?.State.Name, 'running');
  assert.equal(instance?.ImageId, AMI_ID);
  assert.deepEqual(instance?.MetadataOptions, { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' });
  assert.deepEqual(instance?.SecurityGroupIds, [stackGroup(account)?.GroupId]);
  assert.deepEqual(instance?.Tags.slice(0, 4), [{ Key: 'Name', Value: 's3-photo-share' }, ...STACK_TAGS]);
  assert.equal(instance?.Tags[4]?.Key, DEPLOYMENT_TAG_KEY);
  assert.deepEqual(
    [...account.region('eu-west-1').associations.values()].map((association) => [
      association.InstanceId,
      association.IamInstanceProfile.Arn,
    ]),
    [[instance?.InstanceId, account.profiles.get(PROFILE)?.arn]],
  );
  assert.match(instance?.UserData ?? '', /readonly RELEASE_PREFIX='releases\/s3-photo-share\/0\.1\.0-abcdef012345\/'/);
  assert.match(
    instance?.UserData ?? '',
    /readonly S3_BUCKET='demo-bucket'\nreadonly S3_PREFIX='photos\/'\nreadonly AWS_REGION='eu-west-1'/,
  );
  assert.match(instance?.UserData ?? '', /readonly LOG_GROUP='\/s3-photo-share\/s3-photo-share'/);
});

test('when up runs on a fresh account, then the group allows TCP 80 from the given range only, and the log group keeps 7 days', async () => {
  const account = new FakeAccount();

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  const group = stackGroup(account);
  assert.deepEqual(group?.Tags, [{ Key: 'Name', Value: 's3-photo-share' }, ...STACK_TAGS]);
  assert.deepEqual(group?.IpPermissions, [
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'S3 Photo Share HTTP' }] },
  ]);
  const logGroup = account.region('eu-west-1').logGroups.get(LOG_GROUP);
  assert.deepEqual(logGroup?.tags, { app: 's3-photo-share', stack: 's3-photo-share', 'stack-region': 'eu-west-1' });
  assert.equal(logGroup?.retentionInDays, 7);
});

test('when up runs in us-east-1, then the bucket is created there without a location constraint', async () => {
  const account = new FakeAccount();
  const settings = upSettings({ region: 'us-east-1' });

  await runAgainst(account, 'us-east-1', upSteps(settings));

  assert.equal(account.buckets.get('demo-bucket')?.region, 'us-east-1');
  assert.deepEqual(account.inputsOf('CreateBucket')[0]?.CreateBucketConfiguration, { Tags: stackTagsIn('us-east-1') });
});

function stackTagsIn(region: string) {
  return [...STACK_TAGS.slice(0, 2), { Key: 'stack-region', Value: region }];
}

test('when up runs twice, then the second run reuses everything and launches nothing', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  assert.ok(account.runtime.lines.includes('Stack s3-photo-share has no role or profile yet'));
  assert.ok(!account.runtime.lines.includes('Stack s3-photo-share is recorded in eu-west-1'));
  const before = account.snapshot();
  account.runtime.lines.length = 0;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.deepEqual(account.snapshot(), before);
  assert.equal(account.inputsOf('RunInstances').length, 1);
  // The log says what was checked and found as wanted.
  const [instance] = liveInstances(account);
  for (const line of [
    `${instance!.InstanceId} already uses arn:aws:iam::${ACCOUNT_ID}:instance-profile/${PROFILE}`,
    `${instance!.InstanceId} already requires IMDSv2 with hop limit 1`,
    'Stack s3-photo-share is recorded in eu-west-1',
  ])
    assert.ok(account.runtime.lines.includes(line), `the rerun did not log "${line}":\n${account.runtime.lines.join('\n')}`);
});

test('when up fails half-way and runs again, then the rerun converges on one instance and the full role policy', async () => {
  const account = new FakeAccount();
  account.fail('iam', 'PutRolePolicy', await awsError('iam', 'ServiceFailure', 'Request processing has failed due to an unknown error'), 1);

  await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), /unknown error/);
  assert.equal(account.regions.get('eu-west-1')?.instances.size ?? 0, 0);
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.equal(liveInstances(account).length, 1);
  assert.deepEqual(account.roles.get(ROLE)?.inlinePolicies.get('s3-photo-share-s3-access'), appPolicy(upSettings(), ACCOUNT_ID));
});

test('when a bucket with that name exists without the stack tags, then up refuses it and changes nothing on it', async () => {
  const account = new FakeAccount();
  account.addBucket('demo-bucket', {
    encryption: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/ledger' } }] },
    objects: new Map([['ledger/2024.csv', 'date,amount']]),
  });
  const before = account.snapshot();

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /already exists and was not created by this stack.*--adopt-bucket/,
  );

  assert.deepEqual(account.snapshot(), before);
});

for (const [description, tags] of [
  ['only the app tag', [{ Key: 'app', Value: 's3-photo-share' }]],
  ['another stack', [...STACK_TAGS.slice(0, 1), { Key: 'stack', Value: 'other-demo' }, STACK_TAGS[2]!]],
  ['the stack tags but no region', STACK_TAGS.slice(0, 2)],
] as const) {
  test(`when the bucket carries ${description}, then up refuses it`, async () => {
    const account = new FakeAccount();
    account.addBucket('demo-bucket', { tags: [...tags] });
    const before = account.snapshot();

    await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), /was not created by this stack/);

    assert.deepEqual(account.snapshot(), before);
  });
}

test('when the bucket belongs to another account, then up stops with a message to choose another name', async () => {
  const account = new FakeAccount();
  account.addBucket('demo-bucket', { ownerAccount: '210987654321' });

  await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), /belongs to another AWS account.*Choose another --bucket/);
});

test('when --adopt-bucket names an existing bucket, then up changes nothing on it but adds the release, and grants the prefix', async () => {
  const account = new FakeAccount();
  account.addBucket('demo-bucket', {
    encryption: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] },
    objects: new Map([['ledger/2024.csv', 'date,amount']]),
  });
  const before = structuredClone(account.buckets.get('demo-bucket'));

  await runAgainst(account, 'eu-west-1', upSteps(upSettings({ adoptBucket: true })));

  const after = account.buckets.get('demo-bucket');
  assert.deepEqual({ ...after, objects: undefined }, { ...before, objects: undefined });
  assert.deepEqual(
    [...(after?.objects.keys() ?? [])],
    ['ledger/2024.csv', `releases/s3-photo-share/${RELEASE_ID}/app.tgz`, `releases/s3-photo-share/${RELEASE_ID}/package-lock.json`],
  );
  assert.deepEqual(account.roles.get(ROLE)?.inlinePolicies.get('s3-photo-share-s3-access'), appPolicy(upSettings(), ACCOUNT_ID));
  assert.equal(liveInstances(account).length, 1);
});

test('when --adopt-bucket names a bucket in another region or no bucket, then up refuses', async () => {
  const account = new FakeAccount();
  account.addBucket('elsewhere-bucket', { region: 'us-east-1' });
  account.addBucket('ireland-bucket', { region: 'eu-west-1' });

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings({ adoptBucket: true, bucket: 'missing-bucket' }))),
    /does not exist. Leave out --adopt-bucket/,
  );
  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings({ adoptBucket: true, bucket: 'elsewhere-bucket' }))),
    /exists in another region than eu-west-1/,
  );
  await assert.rejects(
    runAgainst(account, 'eu-central-1', upSteps(upSettings({ adoptBucket: true, bucket: 'ireland-bucket', region: 'eu-central-1' }))),
    /exists in another region/,
  );
});

test('when the stack role has been made to trust another account, then up stops, says an administrator must restore it, and writes no trust', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const role = account.roles.get(ROLE)!;
  role.trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::210987654321:root' }, Action: 'sts:AssumeRole' }],
  };
  const tampered = structuredClone(role);
  account.calls.length = 0;

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /Role s3-photo-share-role has a trust policy this tool did not write.*an administrator should check who changed it, then restore it: aws iam update-assume-role-policy --role-name s3-photo-share-role/,
  );

  assert.deepEqual(account.roles.get(ROLE), tampered);
  assert.deepEqual(account.inputsOf('UpdateAssumeRolePolicy'), []);
});

test('when the stack role exists without a permissions boundary (made before there was one), then up sets it and writes no trust', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.roles.get(ROLE)!.permissionsBoundary = undefined;
  account.calls.length = 0;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.equal(account.roles.get(ROLE)?.permissionsBoundary, BOUNDARY_ARN);
  assert.deepEqual(account.inputsOf('PutRolePermissionsBoundary'), [{ RoleName: ROLE, PermissionsBoundary: BOUNDARY_ARN }]);
  assert.deepEqual(account.inputsOf('UpdateAssumeRolePolicy'), []);
});

test('when the boundary holds the five versions IAM allows and another document, then up drops the old versions and makes the rendered one the default', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const boundary = account.managedPolicies.get(BOUNDARY_ARN)!;
  const stale = { Version: '2012-10-17', Statement: [] };
  boundary.versions = [1, 2, 3, 4, 5].map((number) => ({ id: `v${number}`, document: stale, isDefault: number === 5 }));
  boundary.lastVersion = 5;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.deepEqual(boundary.versions, [
    { id: 'v5', document: stale, isDefault: false },
    { id: 'v6', document: permissionsBoundary(upSettings(), ACCOUNT_ID), isDefault: true },
  ]);
});

test('when an operator without administrator rights runs up before any boundary exists, then up says an administrator must create it, and creates no role', async () => {
  const account = new FakeAccount();
  account.fail(
    'iam',
    'CreatePolicy',
    await awsError(
      'iam',
      'AccessDenied',
      `User: arn:aws:sts::${ACCOUNT_ID}:assumed-role/s3-photo-share-github-deploy/GitHubActions is not authorized to perform: iam:CreatePolicy on resource: policy s3-photo-share-boundary because no identity-based policy allows the iam:CreatePolicy action`,
    ),
  );

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /^Error: Only an administrator may write the permissions boundary s3-photo-share-boundary: the operator policy denies it, so CI can never widen it\. Run `npm run infra:ci-role` for this stack, or this `up` once, with administrator credentials/,
  );

  assert.equal(account.roles.size, 0);
  assert.equal(account.managedPolicies.size, 0);
});

test('when a policy with the boundary name exists without the stack tags, then up refuses before creating the role', async () => {
  const account = new FakeAccount();
  account.managedPolicies.set(BOUNDARY_ARN, {
    name: 's3-photo-share-boundary',
    tags: [],
    versions: [{ id: 'v1', document: { Version: '2012-10-17', Statement: [] }, isDefault: true }],
    lastVersion: 1,
  });

  await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), /Policy s3-photo-share-boundary exists but is not tagged/);

  assert.equal(account.roles.size, 0);
});

test('when a role with the stack name exists without the stack tags, then up refuses and leaves it as it is', async () => {
  const account = new FakeAccount();
  account.addRole(ROLE, [{ Key: 'app', Value: 's3-photo-share' }], { admin: { Statement: [] } });
  const before = structuredClone(account.roles.get(ROLE));

  await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), /Role s3-photo-share-role exists but is not tagged/);

  assert.deepEqual(account.roles.get(ROLE), before);
  assert.equal(liveInstances(account).length, 0);
});

test('when a profile with the stack name exists without the stack tags, then up refuses and leaves it as it is', async () => {
  const account = new FakeAccount();
  account.addProfile(
    PROFILE,
    [
      { Key: 'app', Value: 's3-photo-share' },
      { Key: 'stack', Value: 's3-photo-share' },
    ],
    ['someone-elses-role'],
  );
  const before = structuredClone(account.profiles.get(PROFILE));

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /Instance profile s3-photo-share-instance-profile exists but is not tagged/,
  );

  assert.deepEqual(account.profiles.get(PROFILE), before);
  assert.equal(liveInstances(account).length, 0);
});

test('when a security group with the stack name exists without the stack tags, then up refuses it', async () => {
  const account = new FakeAccount();
  const group = account.addSecurityGroup('eu-west-1', {
    GroupName: 's3-photo-share-web',
    IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }],
  });
  const before = structuredClone(group);

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /Security group s3-photo-share-web exists but is not tagged/,
  );

  assert.deepEqual(account.region('eu-west-1').groups.get(group.GroupId), before);
  assert.equal(liveInstances(account).length, 0);
});

test('when the same stack is brought up in a second region, then up refuses, names the first region, and the role policy stays', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const policyBefore = account.roles.get(ROLE)?.inlinePolicies.get('s3-photo-share-s3-access');

  await assert.rejects(
    runAgainst(account, 'us-west-2', upSteps(upSettings({ region: 'us-west-2', bucket: 'second-bucket' }))),
    /lives in eu-west-1.*--region eu-west-1/,
  );

  assert.deepEqual(account.roles.get(ROLE)?.inlinePolicies.get('s3-photo-share-s3-access'), policyBefore);
  assert.equal(account.buckets.has('second-bucket'), false);
  assert.equal(account.regions.get('us-west-2')?.instances.size ?? 0, 0);
});

test('when --allow-cidr changed and someone added SSH, then up revokes both and allows only the new range', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  stackGroup(account)?.IpPermissions.push({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] });

  await runAgainst(account, 'eu-west-1', upSteps(upSettings({ allowCidr: '192.0.2.10/32' })));

  assert.deepEqual(stackGroup(account)?.IpPermissions, [
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '192.0.2.10/32', Description: 'S3 Photo Share HTTP' }] },
  ]);
});

test('when EC2 does not see the new instance profile yet, then up retries the launch with backoff and says why', async () => {
  // Consistent otherwise, so the clock counts the launch's own waits only.
  const account = new FakeAccount({});
  account.profilePropagationMs = 5_000;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.equal(account.inputsOf('RunInstances').length, 3);
  assert.deepEqual(account.runtime.sleeps.slice(0, 2), [2_000, 4_000]);
  assert.ok(account.runtime.lines.some((line) => /IAM is eventually consistent\); retrying in 2 s/.test(line)));
});

test('when the instance profile never reaches EC2, then up gives up after about two minutes with the AWS error', async () => {
  // Consistent otherwise, so the clock counts the launch's own waits only.
  const account = new FakeAccount({});
  account.profilePropagationMs = 10 * 60_000;

  await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), /Invalid IAM Instance Profile name/);

  const waitedMs = account.runtime.sleeps.reduce((sum, ms) => sum + ms, 0);
  assert.ok(waitedMs >= 90_000 && waitedMs <= 120_000, `waited ${waitedMs} ms`);
});

test('when run-instances fails with another invalid parameter or for capacity, then up does not retry it', async () => {
  for (const error of [
    await awsError('ec2', 'InvalidParameterValue', 'Value (t3.nano2) for parameter instanceType is invalid.'),
    await awsError('ec2', 'InsufficientInstanceCapacity', 'no capacity'),
  ]) {
    const account = new FakeAccount();
    account.fail('ec2', 'RunInstances', error);

    await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), (thrown) => thrown === error);
    assert.equal(account.inputsOf('RunInstances').length, 1);
  }
});

test('when /readyz never answers 200 and the console shows no failure, then up stops after its timeout and tells where to look', async () => {
  const account = new FakeAccount();

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings()), { probeReadiness: async () => 'not-ready' }),
    /^Error: http:\/\/[\d.]+\/readyz did not answer 200 within 900 s\. Read the boot log with `npm run infra:logs -- --region eu-west-1` or `aws ec2 get-console-output --region eu-west-1 --instance-id i-\w+ --latest --output text`, then run `npm run infra:up` again\.$/,
  );

  assert.ok(account.runtime.clockMs >= READINESS_TIMEOUT_MS);
});

// EC2 API Reference, GetConsoleOutput: the latest output "is supported on instance types that use the Nitro hypervisor".
test('when the latest console output of a t2 instance is asked for, then EC2 refuses it; a t3 (Nitro) gets it', async () => {
  const account = new FakeAccount();
  const { ec2 } = account.deps('eu-west-1').aws;
  const launch = async (InstanceType: 't2.micro' | 't3.micro') =>
    (await ec2.send(new RunInstancesCommand({ ImageId: AMI_ID, InstanceType, MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
  const xen = await launch('t2.micro');
  const nitro = await launch('t3.micro');
  account.runtime.clockMs += 60_000;

  await assert.rejects(ec2.send(new GetConsoleOutputCommand({ InstanceId: xen, Latest: true })), { name: 'UnsupportedOperation' });
  assert.equal((await ec2.send(new GetConsoleOutputCommand({ InstanceId: xen }))).InstanceId, xen);
  assert.equal((await ec2.send(new GetConsoleOutputCommand({ InstanceId: nitro, Latest: true }))).InstanceId, nitro);
});

test('when --instance-type t2.micro (not on Nitro) fails its setup, then up reads the buffered console output and reports the line', async () => {
  const account = new FakeAccount();
  const { probeReadiness } = account.deps('eu-west-1');
  const failingSetup = async (url: string) => {
    for (const instance of account.region('eu-west-1').instances.values()) instance.setup = 'failed';
    return probeReadiness(url);
  };

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings({ instanceType: 't2.micro' })), { probeReadiness: failingSetup }),
    /setup of i-\w+ failed: s3-photo-share-setup: FAILED \(exit 1\) at line 42.*tagged setup-status=failed/s,
  );
  assert.deepEqual(
    account.inputsOf('GetConsoleOutput').map((input) => input.Latest),
    [true, undefined],
  );
  assert.ok(account.runtime.lines.some((line) => /^i-\w+ is not on the Nitro hypervisor, so EC2 has no latest console output/.test(line)));
  assert.deepEqual(liveInstances(account)[0]?.Tags.at(-1), { Key: 'setup-status', Value: 'failed' });
});

test('when a t2.micro keeps booting, then up asks for the latest console output once and the buffered one after', async () => {
  const account = new FakeAccount();
  const { probeReadiness } = account.deps('eu-west-1');
  let polls = 0;
  const readyOnFourthPoll = async (url: string) => ((polls += 1) >= 4 ? probeReadiness(url) : ('not-ready' as const));

  await runAgainst(account, 'eu-west-1', upSteps(upSettings({ instanceType: 't2.micro' })), { probeReadiness: readyOnFourthPoll });

  assert.deepEqual(
    account.inputsOf('GetConsoleOutput').map((input) => input.Latest),
    [true, undefined, undefined, undefined],
  );
});

test('when the URL does not answer from here and the instance’s setup log has no DONE line, then up does not take it for ready: the console failure decides', async () => {
  const account = new FakeAccount();
  account.reachableFromHere = false;
  account.launchSetups.push('failed');

  await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), /setup of i-\w+ failed: s3-photo-share-setup: FAILED/);

  assert.ok(account.inputsOf('FilterLogEvents').length > 0);
});

test('when the setup fails on the instance, then up reports the console line, tags the instance failed, and the rerun replaces it', async () => {
  const account = new FakeAccount();
  const runInstances = account.inputsOf.bind(account, 'RunInstances');
  const originalDeps = account.deps.bind(account);
  let firstLaunch = true;
  account.deps = (region, overrides) => {
    const deps = originalDeps(region, overrides);
    if (firstLaunch) {
      const probeReadiness = deps.probeReadiness;
      deps.probeReadiness = async (url) => {
        for (const instance of account.region(region).instances.values()) instance.setup = 'failed';
        return probeReadiness(url);
      };
    }
    return deps;
  };

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /setup of i-\w+ failed: s3-photo-share-setup: FAILED \(exit 1\) at line 42.*tagged setup-status=failed/s,
  );
  const [failed] = liveInstances(account);
  assert.deepEqual(failed?.Tags.at(-1), { Key: 'setup-status', Value: 'failed' });
  assert.ok(account.runtime.clockMs < 60_000, 'up stopped waiting as soon as the console showed the failure');

  firstLaunch = false;
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.equal(runInstances().length, 2);
  assert.ok(
    ['shutting-down', 'terminated'].includes(account.region('eu-west-1').instances.get(failed?.InstanceId ?? '')?.State.Name ?? ''),
  );
  assert.equal(liveInstances(account).length, 1);
});

test('when the stack instance is stopped, then up starts it again and waits for it', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const [instance] = liveInstances(account);
  instance!.State = { Name: 'stopping' };
  instance!.stateChangeAt = account.now() + 10_000;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.equal(account.region('eu-west-1').instances.get(instance!.InstanceId)?.State.Name, 'running');
  assert.deepEqual(account.inputsOf('StartInstances'), [{ InstanceIds: [instance!.InstanceId] }]);
  assert.equal(account.inputsOf('RunInstances').length, 1);
});

for (const [change, settings, release] of [
  ['the key prefix', upSettings({ keyPrefix: 'pictures/' }), RELEASE_ID],
  ['the bucket', upSettings({ bucket: 'new-bucket' }), RELEASE_ID],
  ['the release', upSettings(), '0.2.0-0123456789ab'],
] as const) {
  test(`when ${change} changes on a rerun, then up replaces the instance with one configured for it`, async () => {
    const account = new FakeAccount();
    await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
    const [old] = liveInstances(account);
    account.releaseId = release;

    await runAgainst(account, 'eu-west-1', upSteps(settings));

    const [current, ...others] = liveInstances(account);
    assert.equal(others.length, 0);
    assert.notEqual(current?.InstanceId, old?.InstanceId);
    assert.ok(['shutting-down', 'terminated'].includes(account.region('eu-west-1').instances.get(old!.InstanceId)?.State.Name ?? ''));
    assert.match(
      current?.UserData ?? '',
      new RegExp(`readonly S3_BUCKET='${settings.bucket}'\\nreadonly S3_PREFIX='${settings.keyPrefix}'`),
    );
    assert.match(current?.UserData ?? '', new RegExp(`releases/s3-photo-share/${release}/`));
    assert.deepEqual(account.roles.get(ROLE)?.inlinePolicies.get('s3-photo-share-s3-access'), appPolicy(settings, ACCOUNT_ID));
  });
}

test('when the stack instance from an earlier run lost IMDSv2 or its profile, then up converges it to the stack settings', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const [instance] = liveInstances(account);
  instance!.MetadataOptions = { HttpTokens: 'optional', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 };
  account.region('eu-west-1').associations.clear();

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.deepEqual(instance?.MetadataOptions, { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 });
  assert.deepEqual(
    [...account.region('eu-west-1').associations.values()].map((association) => association.InstanceId),
    [instance!.InstanceId],
  );
});

test('when up uploads the release, then the tarball and lockfile go under the stack release prefix with their content types', async () => {
  const account = new FakeAccount();

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.deepEqual(
    account.inputsOf('PutObject').map(({ Bucket, Key, ContentType }) => ({ Bucket, Key, ContentType })),
    [
      { Bucket: 'demo-bucket', Key: `releases/s3-photo-share/${RELEASE_ID}/app.tgz`, ContentType: 'application/gzip' },
      { Bucket: 'demo-bucket', Key: `releases/s3-photo-share/${RELEASE_ID}/package-lock.json`, ContentType: 'application/json' },
    ],
  );
  assert.equal(account.buckets.get('demo-bucket')?.objects.get(`releases/s3-photo-share/${RELEASE_ID}/package-lock.json`), '{}');
});

test('when another account creates the bucket name between the check and the create, then up says bucket names are global', async () => {
  const account = new FakeAccount();
  account.addBucket('demo-bucket', { ownerAccount: '210987654321' });
  account.fail('s3', 'GetBucketTagging', await awsError('s3', 'NoSuchBucket', 'The specified bucket does not exist'), 1);

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /^Error: Bucket name demo-bucket belongs to another AWS account \(bucket names are global\)\. Choose another --bucket\.$/,
  );
});

test('when reading the bucket tags fails for another reason, then up stops with that error', async () => {
  const account = new FakeAccount();
  const throttled = await awsError('s3', 'SlowDown', 'Please reduce your request rate.');
  account.fail('s3', 'GetBucketTagging', throttled, 1);

  await assert.rejects(runAgainst(account, 'eu-west-1', upSteps(upSettings())), (error) => error === throttled);
  assert.equal(account.buckets.size, 0);
});

test('when --adopt-bucket names a bucket this stack created, then up uses it unchanged and does not count it as adopted', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  const state = await runAgainst(account, 'eu-west-1', upSteps(upSettings({ adoptBucket: true })));

  assert.equal(state.bucketAdopted, false);
  const adopted = new FakeAccount();
  adopted.addBucket('demo-bucket');
  assert.equal((await runAgainst(adopted, 'eu-west-1', upSteps(upSettings({ adoptBucket: true })))).bucketAdopted, true);
});

test('when a log group with the stack name exists without the stack tags, then up refuses it and down leaves it', async () => {
  const account = new FakeAccount();
  account.region('eu-west-1').logGroups.set(LOG_GROUP, { tags: { team: 'payroll' }, events: [], retentionInDays: 365 });

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /Log group \/s3-photo-share\/s3-photo-share exists but is not tagged/,
  );
  await assert.rejects(
    runAgainst(
      account,
      'eu-west-1',
      (await import('../down.js')).downSteps({
        stack: 's3-photo-share',
        region: 'eu-west-1',
        bucket: 'demo-bucket',
        deleteBucket: false,
      }),
    ),
    /Log group .* exists but is not tagged/,
  );

  assert.deepEqual(account.region('eu-west-1').logGroups.get(LOG_GROUP), { tags: { team: 'payroll' }, events: [], retentionInDays: 365 });
});

for (const [description, metadata] of [
  ['requires IMDSv2 but allows two hops', { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 }],
  ['has its metadata endpoint disabled', { HttpTokens: 'required', HttpEndpoint: 'disabled', HttpPutResponseHopLimit: 1 }],
] as const) {
  test(`when the stack instance ${description}, then up converges it to IMDSv2 with hop limit 1`, async () => {
    const account = new FakeAccount();
    await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
    const [instance] = liveInstances(account);
    instance!.MetadataOptions = { ...metadata };

    await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

    assert.deepEqual(instance?.MetadataOptions, { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 });
  });
}

test('when the stack instance is stopped, then up starts it at once', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const [instance] = liveInstances(account);
  instance!.State = { Name: 'stopped' };
  const sleepsBefore = account.runtime.sleeps.length;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));

  assert.equal(instance?.State.Name, 'running');
  assert.deepEqual(account.inputsOf('StartInstances'), [{ InstanceIds: [instance!.InstanceId] }]);
  assert.deepEqual(account.runtime.sleeps.slice(sleepsBefore), [5_000, 5_000, 5_000]);
});

test('when the stack instance never finishes stopping, then up stops with a message', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const [instance] = liveInstances(account);
  instance!.State = { Name: 'stopping' };

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    new RegExp(`${instance!.InstanceId} did not finish stopping within 300 s`),
  );
  assert.equal(account.inputsOf('StartInstances').length, 0);
});

test('when the new instance never gets to running, then up stops with a message naming it', async () => {
  const account = new FakeAccount();
  const deps = account.deps.bind(account);
  account.deps = (region, overrides) => {
    const built = deps(region, overrides);
    const sleep = built.sleep;
    built.sleep = async (ms) => {
      for (const instance of account.region(region).instances.values()) instance.stateChangeAt = undefined;
      return sleep(ms);
    };
    return built;
  };

  await assert.rejects(
    runAgainst(account, 'eu-west-1', upSteps(upSettings())),
    /^Error: i-\w+ was not running with a public IPv4 address after 300 s\. Check it with `aws ec2 describe-instances --region eu-west-1 --instance-ids i-\w+`\.$/,
  );
});
