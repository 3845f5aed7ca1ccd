// Tests of `attach` against mocked AWS clients: associate when the instance has no profile, replace when it has another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssociateIamInstanceProfileCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  ModifyInstanceMetadataOptionsCommand,
  ReplaceIamInstanceProfileAssociationCommand,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, NoSuchEntityException } from '@aws-sdk/client-iam';
import { attachSteps, newAttachState } from '../../infra/attach.js';
import { runSteps } from '../../infra/step.js';
import { fakeAws, fakeRuntime, INSTANCE_ID, instanceProfile, PROFILE_ARN, runningInstance } from './fake-aws.js';

const SETTINGS = { stack: 's3-photo-share', region: 'eu-west-1', instanceId: INSTANCE_ID };

function accountWithInstance(associations: object[], instance = runningInstance()) {
  const fake = fakeAws();
  fake.stubs.iam.on(GetInstanceProfileCommand).resolves({ InstanceProfile: instanceProfile(['s3-photo-share-role']) });
  fake.stubs.ec2.onAnyCommand().resolves({});
  fake.stubs.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance] }] });
  fake.stubs.ec2.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: associations });
  return { fake, deps: { ...fakeRuntime(), aws: fake.aws } };
}

test('when the instance has no instance profile, then attach associates the stack profile', async () => {
  const { fake, deps } = accountWithInstance([]);

  await runSteps(attachSteps(SETTINGS), deps, newAttachState());

  assert.deepEqual(fake.commandSequence(), [
    'sts:GetCallerIdentity',
    'iam:GetInstanceProfile',
    'ec2:DescribeInstances',
    'ec2:DescribeIamInstanceProfileAssociations',
    'ec2:AssociateIamInstanceProfile',
  ]);
  assert.deepEqual(fake.stubs.ec2.commandCalls(AssociateIamInstanceProfileCommand)[0]?.args[0].input, {
    InstanceId: INSTANCE_ID,
    IamInstanceProfile: { Arn: PROFILE_ARN },
  });
});

test('when the instance already has another instance profile, then attach replaces that association', async () => {
  const otherProfile = 'arn:aws:iam::123456789012:instance-profile/something-else';
  const { fake, deps } = accountWithInstance([{ AssociationId: 'iip-assoc-0abc', InstanceId: INSTANCE_ID, State: 'associated', IamInstanceProfile: { Arn: otherProfile } }]);

  await runSteps(attachSteps(SETTINGS), deps, newAttachState());

  assert.equal(fake.stubs.ec2.commandCalls(AssociateIamInstanceProfileCommand).length, 0);
  assert.deepEqual(fake.stubs.ec2.commandCalls(ReplaceIamInstanceProfileAssociationCommand)[0]?.args[0].input, {
    AssociationId: 'iip-assoc-0abc',
    IamInstanceProfile: { Arn: PROFILE_ARN },
  });
});

test('when the instance already uses the stack profile, then attach changes nothing', async () => {
  const { fake, deps } = accountWithInstance([{ AssociationId: 'iip-assoc-0abc', State: 'associated', IamInstanceProfile: { Arn: PROFILE_ARN } }]);

  await runSteps(attachSteps(SETTINGS), deps, newAttachState());

  assert.equal(fake.commandSequence().at(-1), 'ec2:DescribeIamInstanceProfileAssociations');
});

test('when the instance still allows IMDSv1, then attach requires IMDSv2 with hop limit 2', async () => {
  const imdsV1Instance = runningInstance({ MetadataOptions: { HttpTokens: 'optional', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 } });
  const { fake, deps } = accountWithInstance([], imdsV1Instance);

  await runSteps(attachSteps(SETTINGS), deps, newAttachState());

  assert.deepEqual(fake.stubs.ec2.commandCalls(ModifyInstanceMetadataOptionsCommand)[0]?.args[0].input, {
    InstanceId: INSTANCE_ID,
    HttpTokens: 'required',
    HttpEndpoint: 'enabled',
    HttpPutResponseHopLimit: 2,
  });
});

test('when the stack has no instance profile yet, then attach says to run up first', async () => {
  const { fake, deps } = accountWithInstance([]);
  fake.stubs.iam.on(GetInstanceProfileCommand).rejects(new NoSuchEntityException({ message: 'not found', $metadata: {} }));

  await assert.rejects(runSteps(attachSteps(SETTINGS), deps, newAttachState()), /Create it first with `npm run infra:up`/);
  assert.equal(fake.stubs.ec2.calls().length, 0);
});
