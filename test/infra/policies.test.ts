// Checks the policy documents with an offline IAM simulator: what the app role may do, who may assume it, what the bucket policy denies, and what the operator policy scopes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { operatorPolicy } from '../../infra/operator-policy.js';
import { bucketPolicy } from '../../infra/resources/bucket.js';
import { appPolicy, trustPolicy } from '../../infra/resources/role.js';
import { ACCOUNT_ID, upSettings } from './fake-aws.js';

const ROLE_SESSION = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/s3-photo-share-role/i-0123456789abcdef0`;
const OPERATOR = `arn:aws:iam::${ACCOUNT_ID}:user/operator`;
const BUCKET_ARN = 'arn:aws:s3:::demo-bucket';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/s3-photo-share-role`;
const LOG_GROUP_ARN = `arn:aws:logs:eu-west-1:${ACCOUNT_ID}:log-group:/s3-photo-share/s3-photo-share`;

interface Request {
  principal: string;
  action: string;
  resource: string;
  identityPolicy?: object;
  resourcePolicy?: object;
  context?: Record<string, string | string[]>;
}

async function decide({ principal, action, resource, identityPolicy, resourcePolicy, context = {} }: Request): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal,
      action,
      resource: { resource, accountId: ACCOUNT_ID },
      contextVariables: { 'aws:SecureTransport': 'true', ...context },
    },
    identityPolicies: identityPolicy ? [{ name: 'policy', policy: identityPolicy }] : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`Simulation rejected: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

/** The app role's decision, with the bucket policy in play for S3 actions as it is in AWS. */
function appDecision(action: string, resource: string, context: Record<string, string> = {}): Promise<string> {
  return decide({
    principal: ROLE_SESSION,
    action,
    resource,
    context,
    identityPolicy: appPolicy(upSettings(), ACCOUNT_ID),
    resourcePolicy: action.startsWith('s3:') ? bucketPolicy('demo-bucket') : undefined,
  });
}

for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
  test(`when the app role calls ${action} on photos/x.jpg, then it is allowed`, async () => {
    assert.equal(await appDecision(action, `${BUCKET_ARN}/photos/x.jpg`), 'Allowed');
  });

  for (const key of ['other/x.jpg', 'photos-archive/x.jpg', 'x.jpg']) {
    test(`when the app role calls ${action} on ${key}, outside its prefix, then it is denied`, async () => {
      assert.notEqual(await appDecision(action, `${BUCKET_ARN}/${key}`), 'Allowed');
    });
  }
}

for (const action of [
  's3:AbortMultipartUpload',
  's3:PutObjectAcl',
  's3:GetObjectVersion',
  's3:DeleteObjectVersion',
  's3:PutObjectTagging',
  's3:RestoreObject',
]) {
  test(`when the app role calls ${action} on photos/x.jpg, which the app never does, then it is denied`, async () => {
    assert.notEqual(await appDecision(action, `${BUCKET_ARN}/photos/x.jpg`), 'Allowed');
  });
}

test('when the app role lists the bucket with an s3:prefix under photos/, then it is allowed', async () => {
  assert.equal(await appDecision('s3:ListBucket', BUCKET_ARN, { 's3:prefix': 'photos/' }), 'Allowed');
  assert.equal(await appDecision('s3:ListBucket', BUCKET_ARN, { 's3:prefix': 'photos/2024/' }), 'Allowed');
});

test('when the app role lists the bucket without an s3:prefix or outside photos/, then it is denied', async () => {
  assert.notEqual(await appDecision('s3:ListBucket', BUCKET_ARN), 'Allowed');
  assert.notEqual(await appDecision('s3:ListBucket', BUCKET_ARN, { 's3:prefix': 'releases/' }), 'Allowed');
});

for (const action of ['s3:DeleteBucket', 's3:PutBucketPolicy', 's3:PutBucketPublicAccessBlock', 's3:ListBucketVersions']) {
  test(`when the app role calls ${action}, then it is denied`, async () => {
    assert.notEqual(await appDecision(action, BUCKET_ARN), 'Allowed');
  });
}

for (const [action, resource] of [
  ['iam:PassRole', ROLE_ARN],
  ['iam:PutRolePolicy', ROLE_ARN],
  ['iam:AttachRolePolicy', ROLE_ARN],
  ['iam:CreateUser', `arn:aws:iam::${ACCOUNT_ID}:user/intruder`],
  ['iam:CreateAccessKey', `arn:aws:iam::${ACCOUNT_ID}:user/intruder`],
  ['logs:DeleteLogGroup', LOG_GROUP_ARN],
  ['logs:PutLogEvents', `arn:aws:logs:eu-west-1:${ACCOUNT_ID}:log-group:/other/group:log-stream:x`],
  ['logs:CreateLogGroup', `arn:aws:logs:eu-west-1:${ACCOUNT_ID}:log-group:/other/group`],
] as const) {
  test(`when the app role calls ${action} on ${resource.split(':').slice(-2).join(':')}, then it is denied`, async () => {
    assert.notEqual(await appDecision(action, resource), 'Allowed');
  });
}

test('when the CloudWatch agent on the instance writes to the stack log group, then it is allowed', async () => {
  // Both are authorised on the log stream (the service authorization reference lists log-stream for each).
  for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
    assert.equal(await appDecision(action, `${LOG_GROUP_ARN}:log-stream:i-0123456789abcdef0/app`), 'Allowed');
    assert.notEqual(
      await appDecision(
        action,
        `arn:aws:logs:eu-west-1:${ACCOUNT_ID}:log-group:/s3-photo-share/other-stack:log-stream:i-0123456789abcdef0/app`,
      ),
      'Allowed',
    );
    assert.notEqual(
      await appDecision(
        action,
        `arn:aws:logs:us-east-1:${ACCOUNT_ID}:log-group:/s3-photo-share/s3-photo-share:log-stream:i-0123456789abcdef0/app`,
      ),
      'Allowed',
    );
  }
});

test('when the instance reads its own release artifact, then it is allowed', async () => {
  assert.equal(await appDecision('s3:GetObject', `${BUCKET_ARN}/releases/s3-photo-share/0.1.0-abc/app.tgz`), 'Allowed');
});

test('when the instance tries to overwrite its release or read another stack release, then it is denied', async () => {
  assert.notEqual(await appDecision('s3:PutObject', `${BUCKET_ARN}/releases/s3-photo-share/0.1.0-abc/app.tgz`), 'Allowed');
  assert.notEqual(await appDecision('s3:GetObject', `${BUCKET_ARN}/releases/other-stack/0.1.0-abc/app.tgz`), 'Allowed');
});

test('when a request for an allowed photo does not use TLS, then the bucket policy denies it explicitly', async () => {
  assert.equal(await appDecision('s3:GetObject', `${BUCKET_ARN}/photos/x.jpg`, { 'aws:SecureTransport': 'false' }), 'ExplicitlyDenied');
});

test('when a same-account user allowed s3:* reads a photo, then TLS is allowed and plain HTTP is explicitly denied by the bucket policy', async () => {
  const request = {
    principal: OPERATOR,
    action: 's3:GetObject',
    resource: `${BUCKET_ARN}/photos/x.jpg`,
    identityPolicy: allowAll('s3:*'),
    resourcePolicy: bucketPolicy('demo-bucket'),
  };
  assert.equal(await decide(request), 'Allowed');
  assert.equal(await decide({ ...request, context: { 'aws:SecureTransport': 'false' } }), 'ExplicitlyDenied');
});

function allowAll(action: string) {
  return { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] };
}

async function assumeRoleDecision(principal: string, identityPolicy?: object): Promise<string> {
  return decide({ principal, action: 'sts:AssumeRole', resource: ROLE_ARN, resourcePolicy: trustPolicy(), identityPolicy });
}

test('when ec2.amazonaws.com assumes the role, then the trust policy allows it', async () => {
  assert.equal(await assumeRoleDecision('ec2.amazonaws.com'), 'Allowed');
});

test('when lambda.amazonaws.com assumes the role, then the trust policy denies it', async () => {
  assert.notEqual(await assumeRoleDecision('lambda.amazonaws.com'), 'Allowed');
});

test('when a same-account user whose own policy allows sts:AssumeRole on everything assumes the role, then the trust policy denies it', async () => {
  assert.notEqual(await assumeRoleDecision(OPERATOR, allowAll('sts:AssumeRole')), 'Allowed');
  assert.notEqual(await assumeRoleDecision(`arn:aws:iam::${ACCOUNT_ID}:role/admin`, allowAll('*')), 'Allowed');
});

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
