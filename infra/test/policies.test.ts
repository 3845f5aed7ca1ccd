// Checks the app's policy documents with an offline IAM simulator: what the app role may do, who may assume it, what the bucket policy denies, and what the permissions boundary leaves the stack role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bucketPolicy } from '../resources/bucket.js';
import { permissionsBoundary } from '../resources/permissions-boundary.js';
import { appPolicy, trustPolicy } from '../resources/role.js';
import { ACCOUNT_ID, upSettings } from './fake-aws.js';
import {
  allowAll,
  BUCKET_ARN,
  decide,
  LOG_GROUP_ARN,
  OPERATOR,
  PARAMETER_ARN,
  ROLE_ARN,
  ROLE_SESSION,
  STACK_ROLE,
} from './policy-simulator.js';

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

test('when the app role reads the stack’s CSRF secret parameter, then it is allowed', async () => {
  assert.equal(await appDecision('ssm:GetParameter', PARAMETER_ARN), 'Allowed');
});

for (const [description, resource] of [
  ['another parameter of the stack', `arn:aws:ssm:eu-west-1:${ACCOUNT_ID}:parameter/s3-photo-share/database-password`],
  ['a name that only starts like it', `arn:aws:ssm:eu-west-1:${ACCOUNT_ID}:parameter/s3-photo-share/csrf-secret-old`],
  ['another stack’s secret', `arn:aws:ssm:eu-west-1:${ACCOUNT_ID}:parameter/other-demo/csrf-secret`],
  ['the same name in another region', `arn:aws:ssm:us-east-1:${ACCOUNT_ID}:parameter/s3-photo-share/csrf-secret`],
] as const) {
  test(`when the app role reads ${description}, then it is denied`, async () => {
    assert.notEqual(await appDecision('ssm:GetParameter', resource), 'Allowed');
  });
}

for (const action of ['ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:PutParameter', 'ssm:DeleteParameter']) {
  test(`when the app role calls ${action}, which the app never does, then it is denied`, async () => {
    assert.notEqual(await appDecision(action, PARAMETER_ARN), 'Allowed');
  });
}

test('when the app role calls kms:Decrypt itself, then its own policy does not allow it: the aws/ssm key policy admits it through SSM only', async () => {
  assert.notEqual(
    await appDecision('kms:Decrypt', `arn:aws:kms:eu-west-1:${ACCOUNT_ID}:key/0f6f9d2c-1111-2222-3333-444455556666`),
    'Allowed',
  );
});

test('when the app policy grants the parameter, then it names exactly one ARN, with no wildcard', () => {
  const statement = appPolicy(upSettings(), ACCOUNT_ID).Statement.find((candidate) => candidate.Action === 'ssm:GetParameter');
  assert.deepEqual(statement?.Resource, `arn:aws:ssm:eu-west-1:${ACCOUNT_ID}:parameter/s3-photo-share/csrf-secret`);
});

/** What the stack role may do when someone gave it `*` on `*`: the boundary decides. */
function boundedStackRoleDecision(action: string, resource: string): Promise<string> {
  return decide({
    principal: ROLE_SESSION,
    action,
    resource,
    identityPolicy: allowAll('*'),
    permissionsBoundary: permissionsBoundary(upSettings(), ACCOUNT_ID),
  });
}

test('when the stack role holds a policy allowing everything, then the boundary still allows only what the app needs', async () => {
  assert.equal(await boundedStackRoleDecision('s3:GetObject', `${BUCKET_ARN}/photos/x.jpg`), 'Allowed');
  assert.equal(await boundedStackRoleDecision('logs:PutLogEvents', `${LOG_GROUP_ARN}:log-stream:i-0123456789abcdef0/app`), 'Allowed');
  for (const [action, resource] of [
    ['s3:GetObject', 'arn:aws:s3:::ledger-bucket/x'],
    ['s3:DeleteBucket', BUCKET_ARN],
    ['iam:CreateUser', `arn:aws:iam::${ACCOUNT_ID}:user/intruder`],
    ['iam:PutRolePolicy', STACK_ROLE],
    ['ec2:RunInstances', `arn:aws:ec2:eu-west-1:${ACCOUNT_ID}:instance/*`],
    ['sts:AssumeRole', `arn:aws:iam::${ACCOUNT_ID}:role/admin`],
    ['ssm:GetParameter', `arn:aws:ssm:eu-west-1:${ACCOUNT_ID}:parameter/other-demo/csrf-secret`],
  ] as const) {
    assert.notEqual(await boundedStackRoleDecision(action, resource), 'Allowed', action);
  }
});

test('when the app policy is bounded, then everything it allows stays allowed: the boundary covers the app', async () => {
  for (const [action, resource] of [
    ['s3:GetObject', `${BUCKET_ARN}/photos/x.jpg`],
    ['s3:PutObject', `${BUCKET_ARN}/photos/x.jpg`],
    ['s3:DeleteObject', `${BUCKET_ARN}/photos/x.jpg`],
    ['s3:GetObject', `${BUCKET_ARN}/releases/s3-photo-share/0.1.0-abc/app.tgz`],
    ['logs:CreateLogStream', `${LOG_GROUP_ARN}:log-stream:i-0123456789abcdef0/app`],
    ['ssm:GetParameter', PARAMETER_ARN],
  ] as const) {
    const bounded = await decide({
      principal: ROLE_SESSION,
      action,
      resource,
      identityPolicy: appPolicy(upSettings(), ACCOUNT_ID),
      permissionsBoundary: permissionsBoundary(upSettings(), ACCOUNT_ID),
    });
    assert.equal(bounded, 'Allowed', action);
  }
  const listing = await decide({
    principal: ROLE_SESSION,
    action: 's3:ListBucket',
    resource: BUCKET_ARN,
    context: { 's3:prefix': 'photos/' },
    identityPolicy: appPolicy(upSettings(), ACCOUNT_ID),
    permissionsBoundary: permissionsBoundary(upSettings(), ACCOUNT_ID),
  });
  assert.equal(listing, 'Allowed');
});

/**
 * The IAM actions each S3 operation needs, from AWS's Service Authorization Reference ("Actions, resources,
 * and condition keys for Amazon S3", docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html)
 * and, for CopyObject, the S3 API Reference's CopyObject page: read access to the source, write access to the
 * destination. HeadObject is authorised as s3:GetObject; DeleteObjects as s3:DeleteObject for each key.
 */
const S3_OPERATION_ACTIONS: Record<string, { action: string; on: 'object' | 'bucket' }[]> = {
  GetObject: [{ action: 's3:GetObject', on: 'object' }],
  HeadObject: [{ action: 's3:GetObject', on: 'object' }],
  PutObject: [{ action: 's3:PutObject', on: 'object' }],
  CopyObject: [
    { action: 's3:GetObject', on: 'object' },
    { action: 's3:PutObject', on: 'object' },
  ],
  DeleteObjects: [{ action: 's3:DeleteObject', on: 'object' }],
  ListObjectsV2: [{ action: 's3:ListBucket', on: 'bucket' }],
};

test('when the app sends any S3 operation its source names, then the app role is allowed every action that operation needs, under its prefix', async () => {
  const sourceDir = fileURLToPath(new URL('../../src/', import.meta.url));
  const sources = await Promise.all(
    (await readdir(sourceDir, { recursive: true }))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFile(path.join(sourceDir, file), 'utf8')),
  );
  // The commands imported from the S3 client (other clients' commands sit in the same files).
  const s3Commands = new Set(
    sources.flatMap((source) =>
      [...source.matchAll(/import \{([^}]*)\} from '@aws-sdk\/client-s3'/g)].flatMap((match) =>
        [...match[1]!.matchAll(/\b([A-Za-z0-9]+)Command\b/g)].map((command) => command[1]!),
      ),
    ),
  );
  assert.ok(s3Commands.has('PutObject') && s3Commands.has('ListObjectsV2'), `found ${[...s3Commands].join(', ')}`);

  for (const operation of s3Commands) {
    const needs = S3_OPERATION_ACTIONS[operation];
    assert.ok(needs, `${operation}: add the IAM actions it needs (Service Authorization Reference) to this test`);
    for (const { action, on } of needs)
      assert.equal(
        on === 'object'
          ? await appDecision(action, `${BUCKET_ARN}/photos/x.jpg`)
          : await appDecision(action, BUCKET_ARN, { 's3:prefix': 'photos/' }),
        'Allowed',
        `${operation} needs ${action}`,
      );
  }
});
