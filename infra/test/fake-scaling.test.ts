// Checks that the account model answers the load-balanced services as AWS does where infra relies on it: the errors that guard dependency order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DeleteSecurityGroupCommand } from '@aws-sdk/client-ec2';
import { CreateLoadBalancerCommand, DeleteTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { upSteps } from '../up.js';
import { FakeAccount, runAgainst, upSettings } from './fake-aws.js';

async function deployed() {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings({ loadBalanced: { instances: 2 } })));
  const scaling = account.scaling.region('eu-west-1');
  const lb = [...scaling.loadBalancers.values()][0]!;
  const targetGroup = [...scaling.targetGroups.values()][0]!;
  return { account, aws: account.deps('eu-west-1').aws, lb, targetGroup };
}

test('when a load balancer of a taken name is created, then the model answers DuplicateLoadBalancerName', async () => {
  const { aws, lb } = await deployed();

  await assert.rejects(
    aws.elbv2.send(new CreateLoadBalancerCommand({ Name: lb.LoadBalancerName, Subnets: ['subnet-eu-west-1a', 'subnet-eu-west-1b'] })),
    { name: 'DuplicateLoadBalancerNameException', Code: 'DuplicateLoadBalancerName' },
  );
});

test('when a target group a listener forwards to is deleted, then the model answers ResourceInUse', async () => {
  const { aws, targetGroup } = await deployed();

  await assert.rejects(aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: targetGroup.TargetGroupArn })), {
    name: 'ResourceInUseException',
    Code: 'ResourceInUse',
  });
});

test('when a group with instances is deleted without ForceDelete, then the model answers ResourceInUse and keeps it', async () => {
  const { account, aws } = await deployed();

  await assert.rejects(aws.autoscaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 's3-photo-share-asg' })), {
    name: 'ResourceInUseFault',
    Code: 'ResourceInUse',
  });
  assert.equal(account.scaling.region('eu-west-1').groups.has('s3-photo-share-asg'), true);
});

test('when a security group the load balancer uses is deleted, then the model answers DependencyViolation', async () => {
  const { aws, lb } = await deployed();

  await assert.rejects(aws.ec2.send(new DeleteSecurityGroupCommand({ GroupId: lb.SecurityGroups[0] })), { name: 'DependencyViolation' });
});

test('when an existing parameter is put again without Overwrite, then the model answers ParameterAlreadyExists and keeps the value', async () => {
  const { account, aws } = await deployed();
  const value = account.scaling.region('eu-west-1').parameters.get('/s3-photo-share/csrf-secret')?.Value;

  await assert.rejects(
    aws.ssm.send(new PutParameterCommand({ Name: '/s3-photo-share/csrf-secret', Type: 'SecureString', Value: 'x'.repeat(64) })),
    { name: 'ParameterAlreadyExists' },
  );
  assert.equal(account.scaling.region('eu-west-1').parameters.get('/s3-photo-share/csrf-secret')?.Value, value);
});
