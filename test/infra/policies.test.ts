// Checks the rendered policy documents with an offline IAM policy simulator: what the app role may and may not do, and who may assume it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { stackPolicies } from '../../infra/up.js';
import { ACCOUNT_ID, upSettings } from './fake-aws.js';

const policies = stackPolicies(upSettings());
const ROLE_SESSION = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/s3-photo-share-role/i-0123456789abcdef0`;
const BUCKET_ARN = 'arn:aws:s3:::demo-bucket';

async function decisionFor(action: string, resource: string, contextVariables: Record<string, string> = {}): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal: ROLE_SESSION,
      action,
      resource: { resource, accountId: ACCOUNT_ID },
      contextVariables: { 'aws:SecureTransport': 'true', ...contextVariables },
    },
    identityPolicies: [{ name: 's3-photo-share-s3-access', policy: policies.app }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: action.startsWith('s3:') ? policies.bucket : undefined,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`Simulation rejected: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

async function assumeRoleDecisionFor(servicePrincipal: string): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: servicePrincipal,
        action: 'sts:AssumeRole',
        resource: { resource: `arn:aws:iam::${ACCOUNT_ID}:role/s3-photo-share-role`, accountId: ACCOUNT_ID },
        contextVariables: {},
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policies.trust,
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`Simulation rejected: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
  test(`when the app role calls ${action} on photos/x.jpg, then it is allowed`, async () => {
    assert.equal(await decisionFor(action, `${BUCKET_ARN}/photos/x.jpg`), 'Allowed');
  });

  for (const key of ['other/x.jpg', 'photos-archive/x.jpg', 'x.jpg']) {
    test(`when the app role calls ${action} on ${key}, outside its prefix, then it is denied`, async () => {
      assert.notEqual(await decisionFor(action, `${BUCKET_ARN}/${key}`), 'Allowed');
    });
  }
}

test('when the app role lists the bucket with an s3:prefix under photos/, then it is allowed', async () => {
  assert.equal(await decisionFor('s3:ListBucket', BUCKET_ARN, { 's3:prefix': 'photos/' }), 'Allowed');
  assert.equal(await decisionFor('s3:ListBucket', BUCKET_ARN, { 's3:prefix': 'photos/2024/' }), 'Allowed');
});

test('when the app role lists the bucket without an s3:prefix, then it is denied', async () => {
  assert.notEqual(await decisionFor('s3:ListBucket', BUCKET_ARN), 'Allowed');
});

test('when the app role lists the bucket with an s3:prefix outside photos/, then it is denied', async () => {
  assert.notEqual(await decisionFor('s3:ListBucket', BUCKET_ARN, { 's3:prefix': 'releases/' }), 'Allowed');
});

for (const action of ['s3:DeleteBucket', 's3:PutBucketPolicy', 's3:PutBucketPublicAccessBlock']) {
  test(`when the app role calls ${action}, then it is denied`, async () => {
    assert.notEqual(await decisionFor(action, BUCKET_ARN), 'Allowed');
  });
}

for (const [action, resource] of [
  ['iam:PassRole', `arn:aws:iam::${ACCOUNT_ID}:role/s3-photo-share-role`],
  ['iam:PutRolePolicy', `arn:aws:iam::${ACCOUNT_ID}:role/s3-photo-share-role`],
  ['iam:AttachRolePolicy', `arn:aws:iam::${ACCOUNT_ID}:role/s3-photo-share-role`],
  ['iam:CreateUser', `arn:aws:iam::${ACCOUNT_ID}:user/intruder`],
  ['iam:CreateAccessKey', `arn:aws:iam::${ACCOUNT_ID}:user/intruder`],
] as const) {
  test(`when the app role calls ${action}, then it is denied`, async () => {
    assert.notEqual(await decisionFor(action, resource), 'Allowed');
  });
}

test('when the instance reads its own release artifact, then it is allowed', async () => {
  assert.equal(await decisionFor('s3:GetObject', `${BUCKET_ARN}/releases/s3-photo-share/0.1.0-abc/app.tgz`), 'Allowed');
});

test('when the instance tries to overwrite its release or read another stack release, then it is denied', async () => {
  assert.notEqual(await decisionFor('s3:PutObject', `${BUCKET_ARN}/releases/s3-photo-share/0.1.0-abc/app.tgz`), 'Allowed');
  assert.notEqual(await decisionFor('s3:GetObject', `${BUCKET_ARN}/releases/other-stack/0.1.0-abc/app.tgz`), 'Allowed');
});

test('when a request for an allowed photo does not use TLS, then the bucket policy denies it explicitly', async () => {
  assert.equal(await decisionFor('s3:GetObject', `${BUCKET_ARN}/photos/x.jpg`, { 'aws:SecureTransport': 'false' }), 'ExplicitlyDenied');
});

test('when ec2.amazonaws.com assumes the role, then the trust policy allows it', async () => {
  assert.equal(await assumeRoleDecisionFor('ec2.amazonaws.com'), 'Allowed');
});

test('when lambda.amazonaws.com assumes the role, then the trust policy denies it', async () => {
  assert.notEqual(await assumeRoleDecisionFor('lambda.amazonaws.com'), 'Allowed');
});

test('when a user of the same account assumes the role, then the trust policy denies it', async () => {
  assert.notEqual(await assumeRoleDecisionFor(`arn:aws:iam::${ACCOUNT_ID}:user/operator`), 'Allowed');
});
