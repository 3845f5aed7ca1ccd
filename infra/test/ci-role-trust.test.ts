// Tests the deploy role's trust policy under the IAM simulator: which GitHub tokens may assume it, and that the operator policy keeps it from changing itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { githubTrustPolicy } from '../resources/deploy-role.js';
import { operatorPolicyFor, PROVIDER_ARN, REPO, REPOSITORY, ROLE_ARN, ROLE_NAME } from './ci-role-fixtures.js';
import { ACCOUNT_ID } from './fake-aws.js';

/**
 * STS's decision on AssumeRoleWithWebIdentity with a GitHub token carrying this audience and subject. The unsafe entry point
 * because the service reference the checked one validates keys against lists `token.actions.githubusercontent.com:repository`,
 * `:ref` and others but not `:sub` and `:aud`, which STS does evaluate (and AWS's GitHub guide uses): the checked one would
 * drop them and deny everything. The policy is passed as a validated policy so the simulator can name it in its analysis.
 */
function webIdentityDecision(aud: string, sub: string, provider = PROVIDER_ARN): string {
  return runUnsafeSimulation(
    {
      request: {
        principal: provider,
        action: 'sts:AssumeRoleWithWebIdentity',
        resource: { resource: ROLE_ARN, accountId: ACCOUNT_ID },
        contextVariables: { 'token.actions.githubusercontent.com:aud': aud, 'token.actions.githubusercontent.com:sub': sub },
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: {
        __validated: true,
        policyDocument: githubTrustPolicy(REPOSITORY, ACCOUNT_ID),
        metadata: { name: 'trust' },
        errors: [],
      },
    },
    {},
  );
}

test("when a GitHub token for the repo's main branch with audience sts.amazonaws.com is presented, then the trust policy allows it", async () => {
  assert.equal(webIdentityDecision('sts.amazonaws.com', `repo:${REPO}:ref:refs/heads/main`), 'Allowed');
});

for (const [what, aud, sub] of [
  ['another repository', 'sts.amazonaws.com', 'repo:octo-org/other:ref:refs/heads/main'],
  ['a fork under another owner', 'sts.amazonaws.com', 'repo:mallory/s3-photo-share:ref:refs/heads/main'],
  ['another branch', 'sts.amazonaws.com', `repo:${REPO}:ref:refs/heads/feature`],
  ['a branch whose name starts with main', 'sts.amazonaws.com', `repo:${REPO}:ref:refs/heads/main-old`],
  ['a pull request', 'sts.amazonaws.com', `repo:${REPO}:pull_request`],
  ['a tag', 'sts.amazonaws.com', `repo:${REPO}:ref:refs/tags/v1.0.0`],
  ['an environment', 'sts.amazonaws.com', `repo:${REPO}:environment:production`],
  ['a wrong audience', 'https://github.com/octo-org', `repo:${REPO}:ref:refs/heads/main`],
] as const) {
  test(`when a GitHub token for ${what} is presented, then the trust policy denies it`, async () => {
    assert.notEqual(webIdentityDecision(aud, sub), 'Allowed');
  });
}

const IMMUTABLE = 'repo:octo-org@9919/s3-photo-share@1296269';

test("when a GitHub token with immutable ids for the repo's main branch is presented, then the trust policy allows it", () => {
  assert.equal(webIdentityDecision('sts.amazonaws.com', `${IMMUTABLE}:ref:refs/heads/main`), 'Allowed');
});

for (const [what, sub] of [
  ['the same names under another owner id (a deleted owner name claimed again)', 'repo:octo-org@4242/s3-photo-share@1296269'],
  ['the same names with another repository id (the repository deleted and created again)', 'repo:octo-org@9919/s3-photo-share@4242'],
  ['the ids of the repository with another name in front', 'repo:mallory@9919/s3-photo-share@1296269'],
] as const) {
  test(`when a token for ${what} is presented, then the trust policy denies it`, () => {
    assert.notEqual(webIdentityDecision('sts.amazonaws.com', `${sub}:ref:refs/heads/main`), 'Allowed');
  });
}

for (const [what, suffix] of [
  ['another branch', ':ref:refs/heads/feature'],
  ['a pull request', ':pull_request'],
  ['an environment', ':environment:production'],
] as const) {
  test(`when a token with immutable ids for ${what} is presented, then the trust policy denies it`, () => {
    assert.notEqual(webIdentityDecision('sts.amazonaws.com', `${IMMUTABLE}${suffix}`), 'Allowed');
  });
}

test('when a token with the same claims comes through another identity provider, then the trust policy denies it', () => {
  const otherProvider = `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/gitlab.com`;
  assert.notEqual(webIdentityDecision('sts.amazonaws.com', `repo:${REPO}:ref:refs/heads/main`, otherProvider), 'Allowed');
});

test('when the deploy role tries to change its own role or policy, then the operator policy denies it', async () => {
  for (const action of ['iam:PutRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:AttachRolePolicy', 'iam:DeleteRole']) {
    const result = await runSimulation(
      {
        request: {
          principal: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${ROLE_NAME}/GitHubActions`,
          action,
          resource: { resource: ROLE_ARN, accountId: ACCOUNT_ID },
          contextVariables: {},
        },
        identityPolicies: [{ name: 's3-photo-share-operator', policy: operatorPolicyFor('demo-bucket') }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    assert.ok(result.resultType !== 'error' && result.overallResult !== 'Allowed', `${action}: ${JSON.stringify(result)}`);
  }
});
