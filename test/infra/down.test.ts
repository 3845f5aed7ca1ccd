// Tests of `down` against mocked AWS clients: dependency order, tag checks, and keeping or deleting the bucket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteSecurityGroupCommand, DescribeInstancesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, GetRoleCommand, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, NoSuchEntityException } from '@aws-sdk/client-iam';
import { GetBucketTaggingCommand, ListObjectsV2Command, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { downSteps, newDownState, type DownSettings } from '../../infra/down.js';
import { runSteps } from '../../infra/step.js';
import { awsError, fakeAws, fakeRuntime, instanceProfile, ROLE_ARN, runningInstance, SECURITY_GROUP_ID, STACK_TAGS } from './fake-aws.js';

function downSettings(overrides: Partial<DownSettings> = {}): DownSettings {
  return { stack: 's3-photo-share', region: 'eu-west-1', bucket: 'demo-bucket', deleteBucket: false, ...overrides };
}

function accountWithStack() {
  const fake = fakeAws();
  fake.stubs.ec2.onAnyCommand().resolves({});
  fake.stubs.ec2.on(DescribeInstancesCommand).resolvesOnce({ Reservations: [{ Instances: [runningInstance()] }] }).resolves({ Reservations: [] });
  fake.stubs.ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: SECURITY_GROUP_ID, Tags: STACK_TAGS }] });
  fake.stubs.iam.onAnyCommand().resolves({});
  fake.stubs.iam.on(GetInstanceProfileCommand).resolves({ InstanceProfile: instanceProfile(['s3-photo-share-role']) });
  fake.stubs.iam.on(GetRoleCommand).resolves({ Role: { Arn: ROLE_ARN, RoleName: 's3-photo-share-role', Path: '/', RoleId: 'AROAEXAMPLE', CreateDate: new Date(), Tags: STACK_TAGS } });
  fake.stubs.iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['s3-photo-share-s3-access'] });
  fake.stubs.iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore' }] });
  fake.stubs.s3.onAnyCommand().resolves({});
  fake.stubs.s3.on(ListObjectsV2Command).resolvesOnce({ Contents: [{ Key: 'releases/s3-photo-share/0.1.0-abc/app.tgz' }] }).resolves({});
  fake.stubs.s3.on(GetBucketTaggingCommand).resolves({ TagSet: STACK_TAGS });
  fake.stubs.s3.on(ListObjectVersionsCommand).resolvesOnce({ Versions: [{ Key: 'photos/a.jpg', VersionId: 'null' }] }).resolves({});
  return { fake, deps: { ...fakeRuntime(), aws: fake.aws } };
}

test('when down runs, then it removes the stack in dependency order and keeps the bucket', async () => {
  const { fake, deps } = accountWithStack();

  await runSteps(downSteps(downSettings()), deps, newDownState());

  assert.deepEqual(fake.commandSequence(), [
    'sts:GetCallerIdentity',
    'ec2:DescribeInstances',
    'ec2:TerminateInstances',
    'ec2:DescribeInstances',
    'ec2:DescribeSecurityGroups',
    'ec2:DeleteSecurityGroup',
    'iam:GetInstanceProfile',
    'iam:RemoveRoleFromInstanceProfile',
    'iam:DeleteInstanceProfile',
    'iam:GetRole',
    'iam:ListRolePolicies',
    'iam:DeleteRolePolicy',
    'iam:ListAttachedRolePolicies',
    'iam:DetachRolePolicy',
    'iam:DeleteRole',
    's3:ListObjectsV2',
    's3:DeleteObjects',
    's3:ListObjectsV2',
  ]);
});

test('when down is given --delete-bucket, then it empties and deletes the tagged bucket last', async () => {
  const { fake, deps } = accountWithStack();

  await runSteps(downSteps(downSettings({ deleteBucket: true })), deps, newDownState());

  assert.deepEqual(fake.commandSequence().slice(-5), ['s3:GetBucketTagging', 's3:ListObjectVersions', 's3:DeleteObjects', 's3:ListObjectVersions', 's3:DeleteBucket']);
});

test('when the bucket does not carry the stack tags, then --delete-bucket leaves it alone', async () => {
  const { fake, deps } = accountWithStack();
  fake.stubs.s3.on(GetBucketTaggingCommand).rejects(awsError('NoSuchTagSet', 'The TagSet does not exist'));

  await assert.rejects(runSteps(downSteps(downSettings({ deleteBucket: true })), deps, newDownState()), /Bucket demo-bucket exists but is not tagged/);
  assert.ok(!fake.commandSequence().includes('s3:DeleteBucket'));
});

test('when the security group is still in use right after termination, then down retries deleting it', async () => {
  const { fake, deps } = accountWithStack();
  fake.stubs.ec2.on(DeleteSecurityGroupCommand).rejectsOnce(awsError('DependencyViolation', 'resource sg-… has a dependent object')).resolves({});

  await runSteps(downSteps(downSettings()), deps, newDownState());

  assert.equal(fake.stubs.ec2.commandCalls(DeleteSecurityGroupCommand).length, 2);
});

test('when down runs again after everything is gone, then it only looks and succeeds', async () => {
  const fake = fakeAws();
  fake.stubs.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  fake.stubs.ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
  fake.stubs.iam.on(GetInstanceProfileCommand).rejects(new NoSuchEntityException({ message: 'not found', $metadata: {} }));
  fake.stubs.iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: 'not found', $metadata: {} }));
  fake.stubs.s3.on(ListObjectsV2Command).resolves({});
  const deps = { ...fakeRuntime(), aws: fake.aws };

  await runSteps(downSteps(downSettings()), deps, newDownState());

  assert.deepEqual(fake.commandSequence(), [
    'sts:GetCallerIdentity',
    'ec2:DescribeInstances',
    'ec2:DescribeSecurityGroups',
    'iam:GetInstanceProfile',
    'iam:GetRole',
    's3:ListObjectsV2',
  ]);
});
