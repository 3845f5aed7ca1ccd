// Tests of `up` against mocked AWS clients: the command sequence, reruns, a half-way failure, IAM propagation and readiness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeIamInstanceProfileAssociationsCommand, DescribeInstancesCommand, DescribeSecurityGroupsCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateInstanceProfileCommand, CreateRoleCommand, EntityAlreadyExistsException, GetInstanceProfileCommand, GetRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { BucketAlreadyOwnedByYou, CreateBucketCommand } from '@aws-sdk/client-s3';
import { runSteps } from '../../infra/step.js';
import { newUpState, upSteps } from '../../infra/up.js';
import {
  AMI_ID,
  answerAsFreshAccount,
  awsError,
  fakeAws,
  INSTANCE_ID,
  instanceProfile,
  PROFILE_ARN,
  ROLE_ARN,
  runningInstance,
  SECURITY_GROUP_ID,
  STACK_TAGS,
  upDeps,
  upSettings,
  type FakeAws,
} from './fake-aws.js';

const FRESH_ACCOUNT_SEQUENCE = [
  'sts:GetCallerIdentity',
  's3:CreateBucket',
  's3:PutPublicAccessBlock',
  's3:PutBucketOwnershipControls',
  's3:PutBucketEncryption',
  's3:PutBucketPolicy',
  's3:PutBucketLifecycleConfiguration',
  's3:GetBucketTagging',
  's3:PutBucketTagging',
  's3:PutObject',
  's3:PutObject',
  'iam:CreateRole',
  'iam:PutRolePolicy',
  'iam:CreateInstanceProfile',
  'iam:AddRoleToInstanceProfile',
  'iam:GetInstanceProfile',
  'ec2:DescribeVpcs',
  'ec2:CreateSecurityGroup',
  'ec2:AuthorizeSecurityGroupIngress',
  'ssm:GetParameter',
  'ec2:DescribeInstances',
  'ec2:RunInstances',
  'ec2:DescribeInstances',
];

/** What the account answers once an earlier `up` has created everything. */
function answerAsAlreadyCreated({ stubs }: FakeAws): void {
  stubs.s3.on(CreateBucketCommand).rejects(new BucketAlreadyOwnedByYou({ message: 'Your previous request to create the named bucket succeeded', $metadata: {} }));
  stubs.iam.on(CreateRoleCommand).rejects(new EntityAlreadyExistsException({ message: 'Role with name s3-photo-share-role already exists.', $metadata: {} }));
  stubs.iam.on(GetRoleCommand).resolves({ Role: { Arn: ROLE_ARN, RoleName: 's3-photo-share-role', Path: '/', RoleId: 'AROAEXAMPLE', CreateDate: new Date(), Tags: STACK_TAGS } });
  stubs.iam.on(CreateInstanceProfileCommand).rejects(new EntityAlreadyExistsException({ message: 'Instance Profile already exists.', $metadata: {} }));
  stubs.iam.on(GetInstanceProfileCommand).resolves({ InstanceProfile: instanceProfile(['s3-photo-share-role']) });
  stubs.ec2.on(CreateSecurityGroupCommand).rejects(awsError('InvalidGroup.Duplicate', "The security group 's3-photo-share-web' already exists for VPC"));
  stubs.ec2.on(DescribeSecurityGroupsCommand).resolves({
    SecurityGroups: [
      {
        GroupId: SECURITY_GROUP_ID,
        Tags: STACK_TAGS,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '203.0.113.0/24' }] }],
      },
    ],
  });
  stubs.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [runningInstance()] }] });
  stubs.ec2.on(DescribeIamInstanceProfileAssociationsCommand).resolves({
    IamInstanceProfileAssociations: [{ AssociationId: 'iip-assoc-1', InstanceId: INSTANCE_ID, State: 'associated', IamInstanceProfile: { Arn: PROFILE_ARN } }],
  });
}

test('when up runs on a fresh account, then it sends exactly the expected commands in order', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  const { deps } = upDeps(fake);

  await runSteps(upSteps(upSettings()), deps, newUpState());

  assert.deepEqual(fake.commandSequence(), FRESH_ACCOUNT_SEQUENCE);
});

test('when up finishes, then it reports the app URL, instance id, role ARN and instance-profile ARN', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  const { deps } = upDeps(fake);
  const state = newUpState();

  await runSteps(upSteps(upSettings()), deps, state);

  assert.deepEqual(
    { appUrl: state.appUrl, instanceId: state.instanceId, roleArn: state.roleArn, instanceProfileArn: state.instanceProfileArn },
    { appUrl: 'http://198.51.100.7/', instanceId: INSTANCE_ID, roleArn: ROLE_ARN, instanceProfileArn: PROFILE_ARN },
  );
});

test('when up launches the instance, then it attaches the profile, requires IMDSv2 with hop limit 2, and tags everything', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  const { deps } = upDeps(fake);

  await runSteps(upSteps(upSettings()), deps, newUpState());

  const input = fake.stubs.ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input;
  assert.equal(input?.ImageId, AMI_ID);
  assert.deepEqual(input?.IamInstanceProfile, { Arn: PROFILE_ARN });
  assert.deepEqual(input?.MetadataOptions, { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' });
  assert.equal(input?.KeyName, undefined);
  assert.deepEqual(input?.TagSpecifications?.map((spec) => spec.ResourceType), ['instance', 'volume', 'network-interface']);
  for (const spec of input?.TagSpecifications ?? []) assert.deepEqual(spec.Tags?.slice(1), STACK_TAGS);
  const userData = Buffer.from(input?.UserData ?? '', 'base64').toString('utf8');
  assert.match(userData, /readonly RELEASE_PREFIX='releases\/s3-photo-share\/0\.1\.0-abcdef012345\/'/);
});

test('when up runs a second time against existing resources, then it reuses them and creates nothing twice', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  answerAsAlreadyCreated(fake);
  const { deps } = upDeps(fake);

  await runSteps(upSteps(upSettings()), deps, newUpState());

  assert.deepEqual(fake.commandSequence(), [
    'sts:GetCallerIdentity',
    's3:CreateBucket',
    's3:PutPublicAccessBlock',
    's3:PutBucketOwnershipControls',
    's3:PutBucketEncryption',
    's3:PutBucketPolicy',
    's3:PutBucketLifecycleConfiguration',
    's3:GetBucketTagging',
    's3:PutBucketTagging',
    's3:PutObject',
    's3:PutObject',
    'iam:CreateRole',
    'iam:GetRole',
    'iam:UpdateAssumeRolePolicy',
    'iam:PutRolePolicy',
    'iam:CreateInstanceProfile',
    'iam:GetInstanceProfile',
    'iam:GetInstanceProfile',
    'ec2:DescribeVpcs',
    'ec2:CreateSecurityGroup',
    'ec2:DescribeSecurityGroups',
    'ssm:GetParameter',
    'ec2:DescribeInstances',
    'ec2:DescribeIamInstanceProfileAssociations',
    'ec2:DescribeInstances',
  ]);
});

test('when a role with the stack name exists without the stack tags, then up refuses to change it', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  answerAsAlreadyCreated(fake);
  fake.stubs.iam.on(GetRoleCommand).resolves({ Role: { Arn: ROLE_ARN, RoleName: 's3-photo-share-role', Path: '/', RoleId: 'AROAEXAMPLE', CreateDate: new Date(), Tags: [] } });
  const { deps } = upDeps(fake);

  await assert.rejects(runSteps(upSteps(upSettings()), deps, newUpState()), /Role s3-photo-share-role exists but is not tagged/);
  assert.equal(fake.stubs.iam.commandCalls(PutRolePolicyCommand).length, 0);
});

test('when up fails half-way and runs again, then the rerun converges and launches one instance', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  fake.stubs.iam.on(PutRolePolicyCommand).rejects(awsError('ServiceFailure', 'Request processing has failed due to an unknown error'));
  const first = upDeps(fake);

  await assert.rejects(runSteps(upSteps(upSettings()), first.deps, newUpState()), /unknown error/);
  assert.equal(fake.commandSequence().at(-1), 'iam:PutRolePolicy');

  fake.stubs.iam.on(PutRolePolicyCommand).resolves({});
  fake.stubs.s3.on(CreateBucketCommand).rejects(new BucketAlreadyOwnedByYou({ message: 'owned', $metadata: {} }));
  fake.stubs.iam.on(CreateRoleCommand).rejects(new EntityAlreadyExistsException({ message: 'exists', $metadata: {} }));
  fake.stubs.iam.on(GetRoleCommand).resolves({ Role: { Arn: ROLE_ARN, RoleName: 's3-photo-share-role', Path: '/', RoleId: 'AROAEXAMPLE', CreateDate: new Date(), Tags: STACK_TAGS } });
  const second = upDeps(fake);
  const state = newUpState();
  await runSteps(upSteps(upSettings()), second.deps, state);

  assert.equal(fake.stubs.ec2.commandCalls(RunInstancesCommand).length, 1);
  assert.equal(fake.stubs.iam.commandCalls(CreateInstanceProfileCommand).length, 1);
  assert.equal(state.instanceId, INSTANCE_ID);
});

test('when EC2 does not see the new instance profile yet, then up retries run-instances with backoff and says why', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  const propagationError = awsError('InvalidParameterValue', 'Value (s3-photo-share-instance-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name');
  fake.stubs.ec2.on(RunInstancesCommand).rejectsOnce(propagationError).rejectsOnce(propagationError).resolves({ Instances: [{ InstanceId: INSTANCE_ID }] });
  const { deps, runtime } = upDeps(fake);

  await runSteps(upSteps(upSettings()), deps, newUpState());

  assert.equal(fake.stubs.ec2.commandCalls(RunInstancesCommand).length, 3);
  assert.deepEqual(runtime.sleeps, [2_000, 4_000]);
  assert.ok(runtime.lines.some((line) => /IAM is eventually consistent\); retrying in 2 s/.test(line)));
});

test('when the instance profile never reaches EC2, then up gives up after about two minutes with the AWS error', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  fake.stubs.ec2.on(RunInstancesCommand).rejects(awsError('InvalidParameterValue', 'Invalid IAM Instance Profile name'));
  const { deps, runtime } = upDeps(fake);

  await assert.rejects(runSteps(upSteps(upSettings()), deps, newUpState()), /Invalid IAM Instance Profile name/);

  const waitedMs = runtime.sleeps.reduce((sum, ms) => sum + ms, 0);
  assert.ok(waitedMs >= 90_000 && waitedMs <= 120_000, `waited ${waitedMs} ms`);
});

test('when run-instances fails for another reason, then up does not retry it', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  fake.stubs.ec2.on(RunInstancesCommand).rejects(awsError('InsufficientInstanceCapacity', 'no capacity'));
  const { deps } = upDeps(fake);

  await assert.rejects(runSteps(upSteps(upSettings()), deps, newUpState()), /no capacity/);
  assert.equal(fake.stubs.ec2.commandCalls(RunInstancesCommand).length, 1);
});

test('when /readyz answers 200 after a while, then up waits for it', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  const answers = [false, false, true];
  const { deps, runtime } = upDeps(fake, { isReady: async () => answers.shift() ?? true });

  await runSteps(upSteps(upSettings()), deps, newUpState());

  assert.deepEqual(runtime.sleeps, [10_000, 10_000]);
});

test('when /readyz never answers 200, then up stops with a timeout and tells where to look', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  const { deps } = upDeps(fake, { isReady: async () => false });

  await assert.rejects(runSteps(upSteps(upSettings()), deps, newUpState()), /readyz did not answer 200 within 600 s.*get-console-output/s);
});

test('when --allow-cidr changed since the last run, then up revokes the old rule and allows the new range', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  answerAsAlreadyCreated(fake);
  const { deps } = upDeps(fake);

  await runSteps(upSteps(upSettings({ allowCidr: '192.0.2.10/32' })), deps, newUpState());

  const authorized = fake.stubs.ec2.commandCalls(AuthorizeSecurityGroupIngressCommand).map((call) => call.args[0].input.IpPermissions?.[0]?.IpRanges?.[0]?.CidrIp);
  assert.deepEqual(authorized, ['192.0.2.10/32']);
  assert.ok(fake.commandSequence().includes('ec2:RevokeSecurityGroupIngress'));
});

test('when the bucket name belongs to another account, then up stops with a message to choose another name', async () => {
  const fake = fakeAws();
  answerAsFreshAccount(fake);
  fake.stubs.s3.on(CreateBucketCommand).rejects(awsError('BucketAlreadyExists', 'The requested bucket name is not available'));
  const { deps } = upDeps(fake);

  await assert.rejects(runSteps(upSteps(upSettings()), deps, newUpState()), /belongs to another AWS account.*Choose another --bucket/);
});
