// Checks the operator policy with an offline IAM simulator: what it scopes to the stack, what it denies, and that every call the commands make is allowed.
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downSteps } from '../down.js';
import { identityStep } from '../identity.js';
import { operatorPolicy } from '../operator-policy.js';
import { permissionsBoundaryUpStep } from '../resources/permissions-boundary.js';
import { upSteps } from '../up.js';
import { ACCOUNT_ID, FakeAccount, runAgainst, STACK_TAGS, upSettings } from './fake-aws.js';
import { BUCKET_ARN, decide, LOG_GROUP_ARN, OPERATOR, PARAMETER_ARN, ROLE_ARN, STACK_ROLE } from './policy-simulator.js';

const OPERATOR_POLICY = operatorPolicy({ stack: 's3-photo-share', region: 'eu-west-1', bucket: 'demo-bucket' }, ACCOUNT_ID);
const STACK_RESOURCE_TAGS = { 'ec2:ResourceTag/app': 's3-photo-share', 'ec2:ResourceTag/stack': 's3-photo-share' };
const OTHER_RESOURCE_TAGS = { 'ec2:ResourceTag/app': 'payroll', 'ec2:ResourceTag/stack': 'payroll' };
const INSTANCE_ARN = `arn:aws:ec2:eu-west-1:${ACCOUNT_ID}:instance/i-0123456789abcdef0`;
const GROUP_ARN = `arn:aws:ec2:eu-west-1:${ACCOUNT_ID}:security-group/sg-0123456789abcdef0`;

function operatorDecision(action: string, resource: string, context: Record<string, string | string[]> = {}) {
  return decide({ principal: OPERATOR, action, resource, identityPolicy: OPERATOR_POLICY, context });
}

for (const [action, resource] of [
  ['ec2:TerminateInstances', INSTANCE_ARN],
  ['ec2:ModifyInstanceMetadataOptions', INSTANCE_ARN],
  ['ec2:StartInstances', INSTANCE_ARN],
  ['ec2:DeleteSecurityGroup', GROUP_ARN],
  ['ec2:AuthorizeSecurityGroupIngress', GROUP_ARN],
] as const) {
  test(`when the operator calls ${action} on the stack's resource, then it is allowed; on another, it is denied`, async () => {
    assert.equal(await operatorDecision(action, resource, STACK_RESOURCE_TAGS), 'Allowed');
    assert.notEqual(await operatorDecision(action, resource, OTHER_RESOURCE_TAGS), 'Allowed');
    assert.notEqual(await operatorDecision(action, resource), 'Allowed');
  });
}

test('when the operator launches or creates a group, then only with the stack tags on the request', async () => {
  const requestTags = { 'aws:RequestTag/app': 's3-photo-share', 'aws:RequestTag/stack': 's3-photo-share', 'aws:TagKeys': ['app', 'stack'] };
  assert.equal(await operatorDecision('ec2:RunInstances', INSTANCE_ARN, requestTags), 'Allowed');
  assert.notEqual(await operatorDecision('ec2:RunInstances', INSTANCE_ARN), 'Allowed');
  assert.equal(await operatorDecision('ec2:CreateSecurityGroup', GROUP_ARN, requestTags), 'Allowed');
  assert.notEqual(
    await operatorDecision('ec2:CreateSecurityGroup', GROUP_ARN, {
      'aws:RequestTag/app': 'payroll',
      'aws:RequestTag/stack': 'payroll',
      'aws:TagKeys': ['app', 'stack'],
    }),
    'Allowed',
  );
});

test('when the operator touches another role, bucket or log group, then it is denied', async () => {
  assert.equal(await operatorDecision('iam:DeleteRole', ROLE_ARN), 'Allowed');
  assert.notEqual(await operatorDecision('iam:DeleteRole', `arn:aws:iam::${ACCOUNT_ID}:role/payroll-role`), 'Allowed');
  assert.notEqual(
    await operatorDecision('iam:PassRole', `arn:aws:iam::${ACCOUNT_ID}:role/admin`, { 'iam:PassedToService': 'ec2.amazonaws.com' }),
    'Allowed',
  );
  assert.equal(await operatorDecision('s3:DeleteBucket', BUCKET_ARN), 'Allowed');
  assert.notEqual(await operatorDecision('s3:DeleteBucket', 'arn:aws:s3:::ledger-bucket'), 'Allowed');
  assert.equal(await operatorDecision('logs:DeleteLogGroup', LOG_GROUP_ARN), 'Allowed');
  assert.notEqual(await operatorDecision('logs:DeleteLogGroup', `arn:aws:logs:eu-west-1:${ACCOUNT_ID}:log-group:/payroll`), 'Allowed');
});

const ELB = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT_ID}`;
const STACK_ELB_TAGS = { 'aws:ResourceTag/app': 's3-photo-share', 'aws:ResourceTag/stack': 's3-photo-share' };
const OTHER_ELB_TAGS = { 'aws:ResourceTag/app': 's3-photo-share', 'aws:ResourceTag/stack': 'other-demo' };
const STACK_LB = `${ELB}:loadbalancer/app/s3-photo-share-lb/50dc6c495c0c9188`;
const STACK_TG = `${ELB}:targetgroup/s3-photo-share-tg/73e2d6bc24d8a067`;
const STACK_LISTENER = `${ELB}:listener/app/s3-photo-share-lb/50dc6c495c0c9188/f2f7dc8efc522ab2`;
const OTHER_LB = `${ELB}:loadbalancer/app/other-demo-lb/50dc6c495c0c9188`;
const OTHER_TG = `${ELB}:targetgroup/other-demo-tg/73e2d6bc24d8a067`;

for (const [action, stackResource, otherResource] of [
  ['elasticloadbalancing:DeleteLoadBalancer', STACK_LB, OTHER_LB],
  ['elasticloadbalancing:SetSecurityGroups', STACK_LB, OTHER_LB],
  ['elasticloadbalancing:SetSubnets', STACK_LB, OTHER_LB],
  ['elasticloadbalancing:CreateListener', STACK_LB, OTHER_LB],
  ['elasticloadbalancing:ModifyListener', STACK_LISTENER, `${ELB}:listener/app/other-demo-lb/50dc6c495c0c9188/f2f7dc8efc522ab2`],
  ['elasticloadbalancing:DeleteListener', STACK_LISTENER, `${ELB}:listener/app/other-demo-lb/50dc6c495c0c9188/f2f7dc8efc522ab2`],
  ['elasticloadbalancing:DeleteTargetGroup', STACK_TG, OTHER_TG],
  ['elasticloadbalancing:ModifyTargetGroup', STACK_TG, OTHER_TG],
  ['elasticloadbalancing:ModifyTargetGroupAttributes', STACK_TG, OTHER_TG],
  ['elasticloadbalancing:AddTags', STACK_LB, OTHER_LB],
] as const) {
  test(`when the operator calls ${action} on the stack’s tagged resource, then it is allowed; untagged, another stack’s, or another name, denied`, async () => {
    assert.equal(await operatorDecision(action, stackResource, STACK_ELB_TAGS), 'Allowed');
    assert.notEqual(await operatorDecision(action, stackResource, OTHER_ELB_TAGS), 'Allowed');
    assert.notEqual(await operatorDecision(action, stackResource), 'Allowed');
    assert.notEqual(await operatorDecision(action, otherResource, STACK_ELB_TAGS), 'Allowed');
  });
}

test('when the operator creates the load balancer or target group, then only under the stack’s names and with the stack tags on the request', async () => {
  const requestTags = { 'aws:RequestTag/app': 's3-photo-share', 'aws:RequestTag/stack': 's3-photo-share', 'aws:TagKeys': ['app', 'stack'] };
  const otherTags = { 'aws:RequestTag/app': 's3-photo-share', 'aws:RequestTag/stack': 'other-demo', 'aws:TagKeys': ['app', 'stack'] };
  for (const [action, stackResource, otherResource] of [
    ['elasticloadbalancing:CreateLoadBalancer', STACK_LB, OTHER_LB],
    ['elasticloadbalancing:CreateTargetGroup', STACK_TG, OTHER_TG],
  ] as const) {
    assert.equal(await operatorDecision(action, stackResource, requestTags), 'Allowed');
    assert.notEqual(await operatorDecision(action, stackResource), 'Allowed');
    assert.notEqual(await operatorDecision(action, stackResource, otherTags), 'Allowed');
    assert.notEqual(await operatorDecision(action, otherResource, requestTags), 'Allowed');
  }
  // The simulator's service data knows AddTags on the load balancer only (not on listeners), so the listener case is not checked here.
  assert.equal(
    await operatorDecision('elasticloadbalancing:AddTags', STACK_LB, { 'elasticloadbalancing:CreateAction': 'CreateLoadBalancer' }),
    'Allowed',
  );
  assert.notEqual(
    await operatorDecision('elasticloadbalancing:AddTags', OTHER_LB, { 'elasticloadbalancing:CreateAction': 'CreateLoadBalancer' }),
    'Allowed',
  );
});

const GROUP_ARN_ASG = `arn:aws:autoscaling:eu-west-1:${ACCOUNT_ID}:autoScalingGroup:0f6f9d2c-1111-2222-3333-444455556666:autoScalingGroupName/s3-photo-share-asg`;
const OTHER_ASG = `arn:aws:autoscaling:eu-west-1:${ACCOUNT_ID}:autoScalingGroup:0f6f9d2c-1111-2222-3333-444455556666:autoScalingGroupName/other-demo-asg`;
const STACK_ASG_TAGS = { 'autoscaling:ResourceTag/app': 's3-photo-share', 'autoscaling:ResourceTag/stack': 's3-photo-share' };

for (const action of [
  'autoscaling:UpdateAutoScalingGroup',
  'autoscaling:StartInstanceRefresh',
  'autoscaling:DeleteAutoScalingGroup',
  'autoscaling:AttachLoadBalancerTargetGroups',
]) {
  test(`when the operator calls ${action} on the stack’s group, then it is allowed; on another stack’s or an untagged one, denied`, async () => {
    assert.equal(await operatorDecision(action, GROUP_ARN_ASG, STACK_ASG_TAGS), 'Allowed');
    assert.notEqual(await operatorDecision(action, GROUP_ARN_ASG), 'Allowed');
    assert.notEqual(
      await operatorDecision(action, GROUP_ARN_ASG, {
        'autoscaling:ResourceTag/app': 's3-photo-share',
        'autoscaling:ResourceTag/stack': 'other-demo',
      }),
      'Allowed',
    );
    assert.notEqual(await operatorDecision(action, OTHER_ASG, STACK_ASG_TAGS), 'Allowed');
  });
}

test('when the operator creates the Auto Scaling group, then only the stack’s name with the stack tags on the request', async () => {
  const requestTags = { 'aws:RequestTag/app': 's3-photo-share', 'aws:RequestTag/stack': 's3-photo-share', 'aws:TagKeys': ['app', 'stack'] };
  assert.equal(await operatorDecision('autoscaling:CreateAutoScalingGroup', GROUP_ARN_ASG, requestTags), 'Allowed');
  assert.equal(await operatorDecision('autoscaling:CreateOrUpdateTags', GROUP_ARN_ASG, requestTags), 'Allowed');
  assert.notEqual(await operatorDecision('autoscaling:CreateAutoScalingGroup', GROUP_ARN_ASG), 'Allowed');
  assert.notEqual(await operatorDecision('autoscaling:CreateAutoScalingGroup', OTHER_ASG, requestTags), 'Allowed');
});

test('when the operator manages the launch template, then only the stack’s tagged one', async () => {
  const template = `arn:aws:ec2:eu-west-1:${ACCOUNT_ID}:launch-template/lt-0123456789abcdef0`;
  const requestTags = { 'aws:RequestTag/app': 's3-photo-share', 'aws:RequestTag/stack': 's3-photo-share', 'aws:TagKeys': ['app', 'stack'] };
  assert.equal(await operatorDecision('ec2:CreateLaunchTemplate', template, requestTags), 'Allowed');
  assert.notEqual(await operatorDecision('ec2:CreateLaunchTemplate', template), 'Allowed');
  for (const action of ['ec2:CreateLaunchTemplateVersion', 'ec2:DeleteLaunchTemplate']) {
    assert.equal(await operatorDecision(action, template, STACK_RESOURCE_TAGS), 'Allowed');
    assert.notEqual(await operatorDecision(action, template, OTHER_RESOURCE_TAGS), 'Allowed');
  }
  assert.equal(await operatorDecision('ec2:RunInstances', template, STACK_RESOURCE_TAGS), 'Allowed');
  assert.notEqual(await operatorDecision('ec2:RunInstances', template, OTHER_RESOURCE_TAGS), 'Allowed');
});

test('when the operator manages the CSRF secret parameter, then it may create, tag and delete it but never read its value, and no other parameter', async () => {
  for (const action of ['ssm:PutParameter', 'ssm:AddTagsToResource', 'ssm:ListTagsForResource', 'ssm:DeleteParameter']) {
    assert.equal(await operatorDecision(action, PARAMETER_ARN), 'Allowed');
    assert.notEqual(await operatorDecision(action, `arn:aws:ssm:eu-west-1:${ACCOUNT_ID}:parameter/other-demo/csrf-secret`), 'Allowed');
  }
  assert.notEqual(await operatorDecision('ssm:GetParameter', PARAMETER_ARN), 'Allowed');
});

test('when the operator reads a certificate or changes a DNS record, then only certificates of its account and region, and only A records', async () => {
  const certificate = `arn:aws:acm:eu-west-1:${ACCOUNT_ID}:certificate/12345678-1234-1234-1234-123456789012`;
  assert.equal(await operatorDecision('acm:DescribeCertificate', certificate), 'Allowed');
  assert.notEqual(await operatorDecision('acm:DescribeCertificate', certificate.replace('eu-west-1', 'us-east-1')), 'Allowed');
  assert.notEqual(await operatorDecision('acm:DeleteCertificate', certificate), 'Allowed');
  const zone = 'arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ';
  assert.equal(
    await operatorDecision('route53:ChangeResourceRecordSets', zone, { 'route53:ChangeResourceRecordSetsRecordTypes': ['A'] }),
    'Allowed',
  );
  assert.notEqual(
    await operatorDecision('route53:ChangeResourceRecordSets', zone, { 'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'NS'] }),
    'Allowed',
  );
  assert.notEqual(await operatorDecision('route53:DeleteHostedZone', zone), 'Allowed');
});

test('when the operator creates a service-linked role, then only Auto Scaling’s and Elastic Load Balancing’s', async () => {
  for (const [service, role] of [
    ['autoscaling.amazonaws.com', 'AWSServiceRoleForAutoScaling'],
    ['elasticloadbalancing.amazonaws.com', 'AWSServiceRoleForElasticLoadBalancing'],
  ] as const) {
    assert.equal(
      await operatorDecision('iam:CreateServiceLinkedRole', `arn:aws:iam::${ACCOUNT_ID}:role/aws-service-role/${service}/${role}`, {
        'iam:AWSServiceName': service,
      }),
      'Allowed',
    );
  }
  assert.notEqual(
    await operatorDecision(
      'iam:CreateServiceLinkedRole',
      `arn:aws:iam::${ACCOUNT_ID}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS`,
      {
        'iam:AWSServiceName': 'rds.amazonaws.com',
      },
    ),
    'Allowed',
  );
});

/** The IAM action of an AWS CLI command where its name does not say it (`aws s3api get-bucket-tagging` says s3:GetBucketTagging). */
const ACTION_OF_CLI: Record<string, string[]> = {
  's3 cp': ['s3:PutObject'],
  's3 rm': ['s3:ListBucket', 's3:DeleteObject'],
  's3api list-object-versions': ['s3:ListBucketVersions'],
  's3api list-objects-v2': ['s3:ListBucket'],
  's3api head-bucket': ['s3:ListBucket'],
  's3api delete-objects': ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  's3api put-public-access-block': ['s3:PutBucketPublicAccessBlock'],
  's3api put-bucket-encryption': ['s3:PutEncryptionConfiguration'],
  's3api put-bucket-lifecycle-configuration': ['s3:PutLifecycleConfiguration'],
  'logs tail': ['logs:FilterLogEvents'],
};
const SERVICE_PREFIX: Record<string, string> = { s3api: 's3', elbv2: 'elasticloadbalancing' };
/** Answered for any identity: IAM has no permission for it. */
const NEEDS_NO_PERMISSION = new Set(['sts:GetCallerIdentity']);
/** The plans print these for the boundary, which only an administrator writes (ci-role, or up and down run as one); the operator is denied them (tested above). */
const ADMIN_ONLY = new Set(['iam:CreatePolicy', 'iam:CreatePolicyVersion', 'iam:ListPolicyVersions', 'iam:DeletePolicy']);

/** Every `aws SERVICE COMMAND` a plan prints as a command to run (not in a `#` comment), as IAM actions. */
function actionsOfPlans(plans: string): Map<string, string> {
  const actions = new Map<string, string>();
  for (const line of plans.split('\n').filter((text) => text.trimStart().startsWith('$ aws') || text.includes('$(aws'))) {
    const command = line.split('#')[0]!;
    for (const [, service, name] of command.matchAll(/\baws ([a-z0-9]+) ([a-z0-9-]+)/g)) {
      if (name === 'wait') continue; // a waiter polls the describe call it is named after, listed on its own
      const cli = `${service} ${name}`;
      const mapped = ACTION_OF_CLI[cli] ?? [
        `${SERVICE_PREFIX[service!] ?? service}:${name!.replace(/(^|-)([a-z0-9])/g, (_match, _dash, letter: string) => letter.toUpperCase())}`,
      ];
      for (const action of mapped) actions.set(action, cli);
    }
  }
  return actions;
}

test('when an operator holds exactly the operator policy, then every command the plans of up, down, attach and logs print is allowed to them', () => {
  const plans = readFileSync(new URL('./fixtures/plans.txt', import.meta.url), 'utf8');
  const allowed = operatorPolicy(upSettings(), ACCOUNT_ID)
    .Statement.filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => [statement.Action as string | string[]].flat());
  const matches = (action: string) =>
    allowed.some((pattern) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action));
  const actions = actionsOfPlans(plans);
  assert.ok(actions.size > 40, `${actions.size} actions read from the plans`);
  const missing = [...actions]
    .filter(([action]) => !NEEDS_NO_PERMISSION.has(action) && !ADMIN_ONLY.has(action) && !matches(action))
    .map(([action, cli]) => `${action} (aws ${cli})`);
  assert.deepEqual(missing, []);
  assert.deepEqual(
    [...ADMIN_ONLY].filter((action) => !actions.has(action)),
    [],
    'each admin-only action is one the plans print',
  );
});

const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/s3-photo-share-github-deploy`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT_ID}:policy/s3-photo-share-boundary`;
const OTHER_BOUNDARY = `arn:aws:iam::${ACCOUNT_ID}:policy/AdministratorAccess`;
const WITH_BOUNDARY = { 'iam:PermissionsBoundary': BOUNDARY };

for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:PutRolePermissionsBoundary']) {
  test(`when the operator calls ${action} on the stack role, then only with the stack's boundary on it`, async () => {
    assert.equal(await operatorDecision(action, STACK_ROLE, WITH_BOUNDARY), 'Allowed');
    assert.notEqual(await operatorDecision(action, STACK_ROLE), 'Allowed');
    assert.notEqual(await operatorDecision(action, STACK_ROLE, { 'iam:PermissionsBoundary': OTHER_BOUNDARY }), 'Allowed');
  });
}

for (const role of [`arn:aws:iam::${ACCOUNT_ID}:role/intruder`, `arn:aws:iam::${ACCOUNT_ID}:role/s3-photo-share-role-2`, DEPLOY_ROLE]) {
  test(`when the operator creates or writes a policy on ${role.split('/').at(-1)}, then it is denied even with the boundary`, async () => {
    for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:PutRolePermissionsBoundary']) {
      assert.notEqual(await operatorDecision(action, role, WITH_BOUNDARY), 'Allowed', action);
    }
  });
}

test('when the operator attaches a managed policy to the stack role, then it is denied, with or without the boundary', async () => {
  const policyArn = 'arn:aws:iam::aws:policy/AdministratorAccess';
  assert.notEqual(await operatorDecision('iam:AttachRolePolicy', STACK_ROLE, { 'iam:PolicyARN': policyArn }), 'Allowed');
  assert.notEqual(await operatorDecision('iam:AttachRolePolicy', STACK_ROLE, { ...WITH_BOUNDARY, 'iam:PolicyARN': policyArn }), 'Allowed');
});

test('when the operator rewrites who may assume the stack role or its own, then it is denied', async () => {
  assert.notEqual(await operatorDecision('iam:UpdateAssumeRolePolicy', STACK_ROLE), 'Allowed');
  assert.notEqual(await operatorDecision('iam:UpdateAssumeRolePolicy', STACK_ROLE, WITH_BOUNDARY), 'Allowed');
  assert.notEqual(await operatorDecision('iam:UpdateAssumeRolePolicy', DEPLOY_ROLE), 'Allowed');
});

test('when the operator removes the stack role boundary or changes or deletes the boundary policy, then it is explicitly denied', async () => {
  assert.equal(await operatorDecision('iam:DeleteRolePermissionsBoundary', STACK_ROLE, WITH_BOUNDARY), 'ExplicitlyDenied');
  for (const action of ['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicyVersion', 'iam:DeletePolicy']) {
    assert.equal(await operatorDecision(action, BOUNDARY), 'ExplicitlyDenied', action);
  }
  for (const action of ['iam:CreatePolicy', 'iam:ListPolicyVersions']) {
    assert.notEqual(await operatorDecision(action, BOUNDARY), 'Allowed', action);
  }
  assert.equal(await operatorDecision('iam:GetPolicy', BOUNDARY), 'Allowed');
  assert.equal(await operatorDecision('iam:GetPolicyVersion', BOUNDARY), 'Allowed');
  // down reads whether CI's role still needs the boundary; reading is all the operator may do to that role.
  assert.equal(await operatorDecision('iam:GetRole', DEPLOY_ROLE), 'Allowed');
  for (const action of ['iam:DeleteRole', 'iam:TagRole', 'iam:DeleteRolePolicy', 'iam:DetachRolePolicy']) {
    assert.notEqual(await operatorDecision(action, DEPLOY_ROLE), 'Allowed', action);
  }
});

test('when the operator passes a role, then only the stack role and only to EC2', async () => {
  assert.equal(await operatorDecision('iam:PassRole', STACK_ROLE, { 'iam:PassedToService': 'ec2.amazonaws.com' }), 'Allowed');
  for (const service of ['lambda.amazonaws.com', 'ecs-tasks.amazonaws.com', 'cloudformation.amazonaws.com']) {
    assert.notEqual(await operatorDecision('iam:PassRole', STACK_ROLE, { 'iam:PassedToService': service }), 'Allowed', service);
  }
  assert.notEqual(await operatorDecision('iam:PassRole', STACK_ROLE), 'Allowed');
  for (const role of [DEPLOY_ROLE, `arn:aws:iam::${ACCOUNT_ID}:role/OrganizationAccountAccessRole`]) {
    assert.notEqual(await operatorDecision('iam:PassRole', role, { 'iam:PassedToService': 'ec2.amazonaws.com' }), 'Allowed', role);
  }
});

test('when the operator policy is rendered for the longest stack name and bucket name allowed, then it stays under 9,000 characters, well inside IAM’s 10,240', () => {
  // IAM counts an inline policy without white space; the longest stack is 32 characters, the longest bucket 63.
  const longest = operatorPolicy({ stack: `s${'-'.repeat(30)}x`, region: 'ap-southeast-2', bucket: `b${'x'.repeat(61)}b` }, ACCOUNT_ID);
  const size = JSON.stringify(longest).length;
  assert.ok(size <= 9_000, `${size} characters`);
  for (const variant of [OPERATOR_POLICY, operatorPolicy({ stack: 'demo2', region: 'us-east-1', bucket: 'demo-bucket' }, ACCOUNT_ID)]) {
    assert.ok(JSON.stringify(variant).length <= 9_000);
  }
});

/** The IAM resource and condition context of an IAM call as the model recorded it. */
function iamRequestOf(command: string, input: Record<string, unknown>): { resource: string; context: Record<string, string> } {
  const iam = `arn:aws:iam::${ACCOUNT_ID}`;
  if (input.PolicyArn) return { resource: String(input.PolicyArn), context: {} };
  if (input.InstanceProfileName) return { resource: `${iam}:instance-profile/${String(input.InstanceProfileName)}`, context: {} };
  // The role's boundary is in the request (CreateRole, PutRolePermissionsBoundary) or, for a policy write, the role's own.
  const boundary = String(input.PermissionsBoundary ?? BOUNDARY);
  return {
    resource: `${iam}:role/${String(input.RoleName)}`,
    context: command === 'GetRole' ? {} : { 'iam:PermissionsBoundary': boundary },
  };
}

test('when CI runs up in both modes and down after ci-role made the boundary, then every IAM call they make is allowed by the operator policy', async () => {
  const account = new FakeAccount();
  account.addRole('s3-photo-share-github-deploy', STACK_TAGS);
  await runAgainst(account, 'eu-west-1', [identityStep(), permissionsBoundaryUpStep(upSettings())]);
  account.calls.length = 0;

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  await runAgainst(account, 'eu-west-1', upSteps(upSettings({ loadBalanced: { instances: 2 } })));
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  await runAgainst(
    account,
    'eu-west-1',
    downSteps({ stack: 's3-photo-share', region: 'eu-west-1', bucket: 'demo-bucket', deleteBucket: false }),
  );

  const requests = new Map<string, { action: string; resource: string; context: Record<string, string> }>();
  for (const call of account.calls.filter((candidate) => candidate.service === 'iam')) {
    const request = { action: `iam:${call.command}`, ...iamRequestOf(call.command, call.input) };
    requests.set(JSON.stringify(request), request);
  }
  assert.ok(
    ['iam:CreateRole', 'iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:PutRolePolicy', 'iam:DeleteRole'].every((action) =>
      [...requests.values()].some((request) => request.action === action),
    ),
  );
  const denied: string[] = [];
  for (const { action, resource, context } of requests.values()) {
    if ((await operatorDecision(action, resource, context)) !== 'Allowed') denied.push(`${action} ${resource}`);
  }
  assert.deepEqual(denied, []);
  assert.ok(account.managedPolicies.has(BOUNDARY), 'down keeps the boundary while the deploy role exists');
});
