// The eventually consistent account: its reads straight after a create fail as AWS documents, and infra/ waits them out within a budget.
// (eventual-consistency.test.ts runs the whole up, down, attach, scale and ci-role suites again against such accounts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateAutoScalingGroupCommand, StartInstanceRefreshCommand } from '@aws-sdk/client-auto-scaling';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateLaunchTemplateCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateInstanceProfileCommand, CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { upSteps } from '../up.js';
import { NEW_RESOURCE_VISIBILITY_BUDGET_MS } from '../aws-clients.js';
import { PROFILE_PROPAGATION_BUDGET_MS } from '../resources/instance.js';
import { awsError } from './aws-errors.js';
import { CONSISTENCY_MS, FakeAccount, runAgainst, upSettings } from './fake-aws.js';

const REGION = 'eu-west-1';
const PROFILE = 's3-photo-share-instance-profile';
const PROFILE_NOT_YET =
  /^You must use a valid fully-formed launch template\. Value \(arn:aws:iam::\d+:instance-profile\/new-profile\) for parameter iamInstanceProfile\.arn is invalid\. Invalid IAM Instance Profile name$/;

function consistentLater() {
  const account = new FakeAccount({ eventuallyConsistent: true });
  return { account, aws: account.deps(REGION).aws, wait: () => void (account.runtime.clockMs += CONSISTENCY_MS) };
}

// EC2 API Reference, "Eventual consistency in the Amazon EC2 API": a new instance's id may answer InvalidInstanceID.NotFound.
test('when DescribeInstances names an instance RunInstances made a moment ago, then EC2 answers InvalidInstanceID.NotFound until it propagates', async () => {
  const { aws, wait } = consistentLater();
  const { Instances = [] } = await aws.ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1 }));
  const InstanceIds = [Instances[0]!.InstanceId!];

  await assert.rejects(aws.ec2.send(new DescribeInstancesCommand({ InstanceIds })), {
    name: 'InvalidInstanceID.NotFound',
    message: `The instance ID '${InstanceIds[0]}' does not exist`,
  });
  wait();
  const { Reservations = [] } = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds }));
  assert.equal(Reservations[0]?.Instances?.[0]?.InstanceId, InstanceIds[0]);
});

// Same page: a new security group answers InvalidGroup.NotFound, also when another group's rule names it.
test('when an ingress rule names a group CreateSecurityGroup made a moment before, then EC2 answers InvalidGroup.NotFound until it propagates', async () => {
  const { account, aws, wait } = consistentLater();
  const create = async (GroupName: string) =>
    (await aws.ec2.send(new CreateSecurityGroupCommand({ GroupName, Description: GroupName, VpcId: `vpc-${REGION}` }))).GroupId!;
  const target = await create('target');
  wait();
  const source = await create('source');
  const authorize = () =>
    aws.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: target,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: source }] }],
      }),
    );

  await assert.rejects(authorize(), { name: 'InvalidGroup.NotFound', message: `The security group '${source}' does not exist` });
  assert.deepEqual(account.region(REGION).groups.get(target)?.IpPermissions, []);
  wait();
  await authorize();
  assert.equal(account.region(REGION).groups.get(target)?.IpPermissions.length, 1);
});

// IAM User Guide, "Changes that I make are not always immediately visible".
test('when GetRole names a role CreateRole made a moment ago, then IAM answers NoSuchEntity until it propagates', async () => {
  const { aws, wait } = consistentLater();
  await aws.iam.send(new CreateRoleCommand({ RoleName: 'new-role', AssumeRolePolicyDocument: '{}' }));

  await assert.rejects(aws.iam.send(new GetRoleCommand({ RoleName: 'new-role' })), { name: 'NoSuchEntityException', Code: 'NoSuchEntity' });
  wait();
  assert.equal((await aws.iam.send(new GetRoleCommand({ RoleName: 'new-role' }))).Role?.RoleName, 'new-role');
});

test('when an Auto Scaling group is created from a template naming a new profile, then Auto Scaling answers ValidationError for some seconds', async () => {
  const { account, aws } = consistentLater();
  const { InstanceProfile } = await aws.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'new-profile' }));
  const { LaunchTemplate } = await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: 'template',
      LaunchTemplateData: { ImageId: 'ami-0123456789abcdef0', IamInstanceProfile: { Arn: InstanceProfile!.Arn } },
    }),
  );
  const create = () =>
    aws.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'group',
        LaunchTemplate: { LaunchTemplateId: LaunchTemplate!.LaunchTemplateId, Version: '1' },
        MinSize: 0,
        MaxSize: 0,
        VPCZoneIdentifier: `subnet-${REGION}a`,
      }),
    );

  await assert.rejects(create(), { name: 'ValidationError', message: PROFILE_NOT_YET });
  account.runtime.clockMs += account.profilePropagationMs;
  await create();
  assert.ok(account.scaling.region(REGION).groups.has('group'));
  account.profiles.get('new-profile')!.visibleToEc2At = account.now() + 1;
  await assert.rejects(aws.autoscaling.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'group' })), {
    name: 'ValidationError',
    message: PROFILE_NOT_YET,
  });
});

test('when up runs on an eventually consistent account, then it waits for each new resource and says why', async () => {
  const account = new FakeAccount({ eventuallyConsistent: true });

  await runAgainst(account, REGION, upSteps(upSettings()));

  const waits = account.runtime.lines.filter((line) => line.startsWith('AWS does not show'));
  assert.deepEqual(
    waits.map((line) =>
      line
        .replace(/ retrying in .*/, '')
        .replace(/sg-\w+/, 'sg-…')
        .replace(/i-\w+/, 'i-…'),
    ),
    [
      'AWS does not show role s3-photo-share-role yet (it was just created; AWS is eventually consistent):',
      'AWS does not show instance profile s3-photo-share-instance-profile or role s3-photo-share-role yet (it was just created; AWS is eventually consistent):',
      'AWS does not show security group sg-… yet (it was just created; AWS is eventually consistent):',
      'AWS does not show instance i-… yet (it was just created; AWS is eventually consistent):',
    ].flatMap((line) => [line, line, line]),
  );
  assert.equal(account.inputsOf('RunInstances').length, 1);
});

test('when the new profile reaches Auto Scaling only after a while, then up retries creating the group with backoff and says why', async () => {
  const account = new FakeAccount({ eventuallyConsistent: true });
  account.profilePropagationMs = 60_000;

  await runAgainst(account, REGION, upSteps(upSettings({ loadBalanced: { instances: 2 } })));

  assert.ok(account.inputsOf('CreateAutoScalingGroup').length > 1);
  assert.ok(
    account.runtime.lines.some((line) =>
      /^Auto Scaling does not see the new instance profile yet \(IAM is eventually consistent\); retrying in \d+ s/.test(line),
    ),
  );
  assert.equal(account.scaling.region(REGION).groups.get('s3-photo-share-asg')?.instances.size, 2);
});

test('when the profile is new again on a rerun, then up retries UpdateAutoScalingGroup and StartInstanceRefresh until Auto Scaling accepts it', async () => {
  const account = new FakeAccount({ eventuallyConsistent: true });
  await runAgainst(account, REGION, upSteps(upSettings({ loadBalanced: { instances: 2 } })));
  account.releaseId = '0.2.0-fedcba987654';
  account.profiles.get(PROFILE)!.visibleToEc2At = account.now() + 30_000;
  const refused = await awsError(
    'autoscaling',
    'ValidationError',
    'You must use a valid fully-formed launch template. Value (x) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile name',
  );
  account.fail('autoscaling', 'StartInstanceRefresh', refused, 2);
  account.runtime.lines.length = 0;

  await runAgainst(account, REGION, upSteps(upSettings({ loadBalanced: { instances: 2 } })));

  const updates = account.inputsOf('UpdateAutoScalingGroup').length;
  assert.ok(updates > 1);
  assert.equal(account.inputsOf('StartInstanceRefresh').length, 3);
  // One wait before each retry of either request, each naming Auto Scaling as the service that does not see the profile.
  const waits = account.runtime.lines.filter((line) => line.includes(' does not see the new instance profile yet'));
  assert.equal(waits.length, updates - 1 + 2);
  for (const wait of waits) assert.match(wait, /^Auto Scaling does not see the new instance profile yet \(IAM is eventually consistent\)/);
  assert.deepEqual(
    account.scaling
      .region(REGION)
      .groups.get('s3-photo-share-asg')
      ?.refreshes.map((refresh) => refresh.Status),
    ['Successful'],
  );
});

test('when Auto Scaling never accepts the new profile, then up stops after its budget with the AWS error', async () => {
  const account = new FakeAccount({ eventuallyConsistent: true });
  account.profilePropagationMs = 60 * 60_000;

  await assert.rejects(
    runAgainst(account, REGION, upSteps(upSettings({ loadBalanced: { instances: 2 } }))),
    /Invalid IAM Instance Profile/,
  );

  const waitedMs = account.runtime.lines
    .filter((line) => line.startsWith('Auto Scaling does not see the new instance profile yet'))
    .reduce((sum, line) => sum + 1000 * Number(/retrying in (\d+) s/.exec(line)?.[1]), 0);
  assert.ok(waitedMs > PROFILE_PROPAGATION_BUDGET_MS / 2 && waitedMs <= PROFILE_PROPAGATION_BUDGET_MS, `waited ${waitedMs} ms`);
});

test('when a resource never shows, then up stops after the visibility budget with the AWS error', async () => {
  const account = new FakeAccount({ eventuallyConsistent: true });
  account.consistencyMs = 10 * NEW_RESOURCE_VISIBILITY_BUDGET_MS;

  await assert.rejects(runAgainst(account, REGION, upSteps(upSettings())), { name: 'NoSuchEntityException' });
  const waitedMs = account.runtime.sleeps.reduce((sum, ms) => sum + ms, 0);
  assert.ok(waitedMs <= NEW_RESOURCE_VISIBILITY_BUDGET_MS && waitedMs >= NEW_RESOURCE_VISIBILITY_BUDGET_MS / 2, `waited ${waitedMs} ms`);
});
