// Tests `infra:ci-role`: the GitHub OIDC provider and deploy role it leaves in the account, and its command line (the trust policy under the IAM simulator is in ci-role-trust.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine, runCli, type CliDeps } from '../cli.js';
import { githubTrustPolicy } from '../resources/deploy-role.js';
import { permissionsBoundary } from '../resources/permissions-boundary.js';
import { lookUpGitHubRepository } from '../resources/github-repository.js';
import type { GitHubRepository } from '../state.js';
import { CREATE, operatorPolicyFor, PROVIDER_ARN, REPO, REPOSITORY, ROLE_ARN, ROLE_NAME } from './ci-role-fixtures.js';
import { ACCOUNT_ID, FakeAccount, STACK_TAGS } from './fake-aws.js';

const FORK: GitHubRepository = { fullName: 'octo-org/fork', ownerId: '9919', repoId: '7001' };
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT_ID}:policy/s3-photo-share-boundary`;
const DELETE = ['ci-role', '--repo', REPO, '--region', 'eu-west-1', '--delete'];

/** An account whose operator's GitHub shows REPO and FORK, as public repositories. */
function accountWithRepositories(): FakeAccount {
  const account = new FakeAccount();
  for (const repository of [REPOSITORY, FORK]) account.githubRepositories.set(repository.fullName, repository);
  return account;
}

function cliAgainst(account: FakeAccount): CliDeps & { printed: string[]; errors: string[] } {
  const printed: string[] = [];
  const errors: string[] = [];
  return {
    printed,
    errors,
    createDeps: (region) => account.deps(region),
    print: (text) => void printed.push(text),
    printError: (text) => void errors.push(text),
  };
}

function offlineCli(): CliDeps & { printed: string[]; errors: string[] } {
  return { ...cliAgainst(new FakeAccount()), createDeps: () => assert.fail('this command must not build AWS clients') };
}

test('when ci-role runs in an empty account, then it creates the GitHub OIDC provider and a stack-tagged role trusting that repo with the operator policy', async () => {
  const account = accountWithRepositories();
  const cli = cliAgainst(account);

  assert.equal(await runCli(CREATE, cli), 0);

  assert.deepEqual(cli.errors, []);
  assert.deepEqual(
    [...account.oidcProviders],
    [[PROVIDER_ARN, { url: 'token.actions.githubusercontent.com', clientIds: ['sts.amazonaws.com'], thumbprints: [], tags: [] }]],
  );
  assert.deepEqual([...account.roles.keys()], [ROLE_NAME]);
  const role = account.roles.get(ROLE_NAME);
  assert.deepEqual(role?.tags, STACK_TAGS);
  assert.deepEqual(role?.trust, githubTrustPolicy(REPOSITORY, ACCOUNT_ID));
  // Written out, not computed: the two subject forms GitHub sends for the main branch of this repository.
  assert.deepEqual(JSON.parse(JSON.stringify(role?.trust)).Statement[0].Condition.StringEquals, {
    'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
    'token.actions.githubusercontent.com:sub': [
      'repo:octo-org/s3-photo-share:ref:refs/heads/main',
      'repo:octo-org@9919/s3-photo-share@1296269:ref:refs/heads/main',
    ],
  });
  assert.deepEqual([...(role?.inlinePolicies ?? [])], [['s3-photo-share-operator', operatorPolicyFor('demo-bucket')]]);
  assert.deepEqual(role?.attachedPolicies, []);
});

test('when ci-role runs in an empty account, then it creates the stack-tagged permissions boundary the operator policy names, since CI may not', async () => {
  const account = accountWithRepositories();

  assert.equal(await runCli(CREATE, cliAgainst(account)), 0);

  assert.deepEqual(
    [...account.managedPolicies],
    [
      [
        BOUNDARY_ARN,
        {
          name: 's3-photo-share-boundary',
          tags: STACK_TAGS,
          versions: [
            {
              id: 'v1',
              document: permissionsBoundary({ stack: 's3-photo-share', region: 'eu-west-1', bucket: 'demo-bucket' }, ACCOUNT_ID),
              isDefault: true,
            },
          ],
          lastVersion: 1,
        },
      ],
    ],
  );
  assert.equal(
    JSON.stringify(operatorPolicyFor('demo-bucket')).split(BOUNDARY_ARN).length - 1,
    3,
    'the operator policy names the boundary in its condition, its reads and its deny',
  );
});

test('when ci-role --delete runs and the stack role is gone, then the deploy role and the boundary are gone: the account is as before but for the provider', async () => {
  const account = accountWithRepositories();
  const before = account.snapshot();
  await runCli(CREATE, cliAgainst(account));

  const linesOfCreate = account.runtime.lines.length;
  assert.equal(await runCli(DELETE, cliAgainst(account)), 0);

  assert.deepEqual(
    account.runtime.lines.slice(linesOfCreate).filter((line) => /Deploy role ARN|AWS_DEPLOY_ROLE_ARN/.test(line)),
    [],
    'the delete run names no role to store',
  );
  assert.deepEqual(account.snapshot(), {
    ...(before as object),
    oidcProviders: (account.snapshot() as { oidcProviders: unknown }).oidcProviders,
  });
});

test('when ci-role has created the role, then it prints the ARN and says to store it as AWS_DEPLOY_ROLE_ARN', async () => {
  const account = accountWithRepositories();

  await runCli(CREATE, cliAgainst(account));

  assert.deepEqual(account.runtime.lines.slice(-5), [
    '',
    `Deploy role ARN: ${ROLE_ARN}`,
    'Store it as the repository variable AWS_DEPLOY_ROLE_ARN of octo-org/s3-photo-share (Settings → Secrets and variables → Actions → Variables; it is a name, not a secret),',
    `  or: gh variable set AWS_DEPLOY_ROLE_ARN --repo ${REPO} --body ${ROLE_ARN}`,
    'Run the Deploy workflow from main with bucket demo-bucket and region eu-west-1: the role may act on those only.',
  ]);
});

test('when the account already has the GitHub provider, then ci-role uses it and changes nothing on it', async () => {
  const account = accountWithRepositories();
  const theirs = account.addOidcProvider('https://token.actions.githubusercontent.com', {
    clientIds: ['sts.amazonaws.com', 'https://github.com/octo-org'],
    thumbprints: ['6938fd4d98bab03faadb97b34396831e3780aea1'],
    tags: [{ Key: 'owner', Value: 'platform-team' }],
  });
  const before = structuredClone(theirs);

  assert.equal(await runCli(CREATE, cliAgainst(account)), 0);

  assert.deepEqual([...account.oidcProviders], [[PROVIDER_ARN, before]]);
  assert.deepEqual(account.inputsOf('CreateOpenIDConnectProvider'), []);
  assert.ok(account.roles.has(ROLE_NAME));
});

test('when the existing GitHub provider lacks the sts.amazonaws.com audience, then ci-role stops, names the fix and changes nothing', async () => {
  const account = accountWithRepositories();
  account.addOidcProvider('https://token.actions.githubusercontent.com', { clientIds: ['https://github.com/octo-org'] });
  const before = account.snapshot();
  const cli = cliAgainst(account);

  assert.equal(await runCli(CREATE, cli), 1);

  assert.deepEqual(account.snapshot(), before);
  assert.match(cli.errors.join('\n'), /add-client-id-to-open-id-connect-provider .* --client-id sts\.amazonaws\.com/);
});

test('when the existing GitHub provider has no audience at all, then ci-role stops the same way', async () => {
  const account = accountWithRepositories();
  account.addOidcProvider('https://token.actions.githubusercontent.com', { clientIds: [] });
  const cli = cliAgainst(account);

  assert.equal(await runCli(CREATE, cli), 1);

  assert.match(cli.errors.join('\n'), /add-client-id-to-open-id-connect-provider .* --client-id sts\.amazonaws\.com/);
  assert.equal(account.roles.size, 0);
});

test('when ci-role runs again with another repo and bucket, then it converges: one provider, one role, trust and policy updated', async () => {
  const account = accountWithRepositories();
  await runCli(CREATE, cliAgainst(account));

  const rerun = ['ci-role', '--repo', 'octo-org/fork', '--bucket', 'other-bucket', '--region', 'eu-west-1'];
  assert.equal(await runCli(rerun, cliAgainst(account)), 0);
  assert.equal(await runCli(rerun, cliAgainst(account)), 0);

  assert.equal(account.oidcProviders.size, 1);
  assert.equal(account.inputsOf('CreateOpenIDConnectProvider').length, 1);
  assert.deepEqual([...account.roles.keys()], [ROLE_NAME]);
  const role = account.roles.get(ROLE_NAME);
  assert.deepEqual(role?.trust, githubTrustPolicy(FORK, ACCOUNT_ID));
  assert.deepEqual([...(role?.inlinePolicies ?? [])], [['s3-photo-share-operator', operatorPolicyFor('other-bucket')]]);
  assert.deepEqual(role?.tags, STACK_TAGS);
});

test('when ci-role --delete runs while the stack role exists, then the deploy role is gone, the provider, other roles and the boundary the stack role uses stay, and a second run only reads', async () => {
  const account = accountWithRepositories();
  account.addRole('s3-photo-share-role', STACK_TAGS, { 's3-photo-share-s3-access': { Version: '2012-10-17', Statement: [] } });
  await runCli(CREATE, cliAgainst(account));
  const provider = structuredClone(account.oidcProviders.get(PROVIDER_ARN));
  const appRole = structuredClone(account.roles.get('s3-photo-share-role'));

  account.runtime.lines.length = 0;
  assert.equal(await runCli(DELETE, cliAgainst(account)), 0);
  assert.equal(account.runtime.lines.at(-1), 'Identity provider token.actions.githubusercontent.com left as it is');
  const writesBefore = account.calls.length;
  assert.equal(await runCli(DELETE, cliAgainst(account)), 0);

  assert.deepEqual([...account.roles.keys()], ['s3-photo-share-role']);
  assert.deepEqual(account.roles.get('s3-photo-share-role'), appRole);
  assert.deepEqual([...account.oidcProviders], [[PROVIDER_ARN, provider]]);
  assert.deepEqual([...account.managedPolicies.keys()], [BOUNDARY_ARN]);
  assert.deepEqual(
    account.calls.slice(writesBefore).map((call) => `${call.service}:${call.command}`),
    ['sts:GetCallerIdentity', 'iam:GetRole', 'iam:GetPolicy', 'iam:GetRole'],
  );
});

test('when a role of the same name exists without the stack tags, then ci-role and ci-role --delete refuse and leave it untouched', async () => {
  const account = accountWithRepositories();
  const theirs = account.addRole(ROLE_NAME, [{ Key: 'team', Value: 'payroll' }], { deploy: { Version: '2012-10-17', Statement: [] } });
  theirs.trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'codebuild.amazonaws.com' } }] };
  const before = account.snapshot();
  const create = cliAgainst(account);
  const remove = cliAgainst(account);

  assert.equal(await runCli(CREATE, create), 1);
  assert.equal(await runCli(DELETE, remove), 1);

  assert.deepEqual(account.snapshot(), {
    ...(before as object),
    oidcProviders: (account.snapshot() as { oidcProviders: unknown }).oidcProviders,
  });
  assert.deepEqual(account.roles.get(ROLE_NAME), theirs);
  assert.deepEqual(
    account.calls.filter((call) => /^(UpdateAssumeRolePolicy|PutRolePolicy|DeleteRolePolicy|DeleteRole|TagRole)$/.test(call.command)),
    [],
  );
  for (const errors of [create.errors, remove.errors])
    assert.match(errors.join('\n'), /Role s3-photo-share-github-deploy exists but is not tagged app=s3-photo-share/);
});

test('when plan is asked for ci-role, then it prints the provider, role and policy steps with CLI equivalents and touches no AWS client', async () => {
  const cli = offlineCli();

  assert.equal(await runCli(['plan', '--for', ...CREATE], cli), 0);

  const plan = cli.printed.join('\n');
  for (const expected of [
    'aws sts get-caller-identity',
    'aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com',
    'aws iam create-role --role-name s3-photo-share-github-deploy --assume-role-policy-document file://github-trust-policy.json --tags Key=app,Value=s3-photo-share Key=stack,Value=s3-photo-share Key=stack-region,Value=eu-west-1',
    `gh api repos/${REPO} --jq '"\\(.owner.id)/\\(.id)"'`,
    '"repo:octo-org/s3-photo-share:ref:refs/heads/main"',
    '"repo:octo-org@OWNER_ID/s3-photo-share@REPO_ID:ref:refs/heads/main"',
    '"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"',
    'whose subject is exactly one of repo:octo-org/s3-photo-share:ref:refs/heads/main or repo:octo-org@OWNER_ID/s3-photo-share@REPO_ID:ref:refs/heads/main (StringEquals',
    "aws iam update-assume-role-policy --role-name s3-photo-share-github-deploy --policy-document file://github-trust-policy.json   # when this stack's role already exists",
    'aws iam get-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::$ACCOUNT_ID:oidc-provider/token.actions.githubusercontent.com',
    'aws iam put-role-policy --role-name s3-photo-share-github-deploy --policy-name s3-photo-share-operator --policy-document file://operator-policy.json',
    '"Resource": "arn:aws:s3:::demo-bucket"',
    'AWS_DEPLOY_ROLE_ARN',
    `Removal: npm run infra:ci-role -- --repo ${REPO} --region eu-west-1 --delete`,
  ]) {
    assert.ok(plan.includes(expected), `plan lacks: ${expected}`);
  }
});

test('when plan is asked for ci-role --delete, then it deletes the role and runs no command that deletes the provider', async () => {
  const cli = offlineCli();

  assert.equal(await runCli(['plan', '--for', ...DELETE], cli), 0);

  const commands = cli.printed
    .join('\n')
    .split('\n')
    .filter((line) => line.startsWith('   $ '));
  assert.deepEqual(commands, [
    '   $ ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)',
    '   $ aws iam delete-role-policy --role-name s3-photo-share-github-deploy --policy-name s3-photo-share-operator',
    '   $ aws iam delete-role --role-name s3-photo-share-github-deploy',
    '   $ aws iam get-role --role-name s3-photo-share-role   # must fail with NoSuchEntity, or the boundary stays',
    '   $ aws iam list-policy-versions --policy-arn arn:aws:iam::$ACCOUNT_ID:policy/s3-photo-share-boundary   # delete each non-default one with: aws iam delete-policy-version --policy-arn … --version-id <id>',
    '   $ aws iam delete-policy --policy-arn arn:aws:iam::$ACCOUNT_ID:policy/s3-photo-share-boundary',
  ]);
  assert.ok(
    cli.printed
      .join('\n')
      .includes(
        '# not deleted; when nothing else uses it: aws iam delete-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::$ACCOUNT_ID:oidc-provider/token.actions.githubusercontent.com',
      ),
  );
});

test('when ci-role options are valid, then the stack defaults; --bucket is required to create and not to delete', () => {
  assert.deepEqual(parseCommandLine(CREATE), {
    name: 'ci-role',
    settings: { stack: 's3-photo-share', region: 'eu-west-1', repo: REPO, bucket: 'demo-bucket', delete: false },
  });
  assert.deepEqual(parseCommandLine(DELETE), {
    name: 'ci-role',
    settings: { stack: 's3-photo-share', region: 'eu-west-1', repo: REPO, bucket: '', delete: true },
  });
  assert.throws(() => parseCommandLine(['ci-role', '--repo', REPO, '--region', 'eu-west-1']), /--bucket is required for ci-role/);
  assert.throws(() => parseCommandLine(['ci-role', '--bucket', 'demo-bucket', '--region', 'eu-west-1']), /--repo is required for ci-role/);
  assert.throws(
    () => parseCommandLine(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--delete']),
    /--delete is not an option of down/,
  );
});

for (const repo of [
  'octo-org/s3-photo-share',
  'a/b',
  'Octo-Org/My.Repo_1',
  `${'a'.repeat(39)}/${'b'.repeat(100)}`,
  `${'a-'.repeat(19)}a/app`,
]) {
  test(`when --repo is ${repo.length > 40 ? `${repo.slice(0, 12)}…(${repo.length})` : repo}, then it is accepted`, () => {
    assert.equal(
      (parseCommandLine(['ci-role', '--repo', repo, '--bucket', 'demo-bucket', '--region', 'eu-west-1']) as { settings: { repo: string } })
        .settings.repo,
      repo,
    );
  });
}

for (const repo of [
  'octo-org',
  'octo-org/',
  '/s3-photo-share',
  'octo-org/s3-photo-share/extra',
  '-octo/app',
  'octo-/app',
  'oc--to/app',
  'octo_org/app',
  'octo/my app',
  'octo/app*',
  'octo/.',
  'octo/..',
  'octo/app.git',
  'repo:octo/app',
  'octo/app:ref:refs/heads/main',
  `${'a'.repeat(40)}/app`,
  // 41 characters in single inner hyphens: within the pattern, over GitHub's 39.
  `${'a-'.repeat(20)}a/app`,
  `octo/${'b'.repeat(101)}`,
]) {
  test(`when --repo is ${JSON.stringify(repo.length > 40 ? `${repo.slice(0, 12)}…(${repo.length})` : repo)}, then the CLI exits 2 before any AWS call`, async () => {
    const cli = offlineCli();

    assert.equal(await runCli(['ci-role', `--repo=${repo}`, '--bucket', 'demo-bucket', '--region', 'eu-west-1'], cli), 2);

    assert.match(cli.errors.join('\n'), /^--repo ".*": expected OWNER\/NAME as GitHub spells it/);
  });
}

test('when --repo differs from GitHub only in letter case, then the role trusts the names as GitHub spells them (subjects are case-sensitive)', async () => {
  const account = accountWithRepositories();
  const shouting = ['ci-role', '--repo', 'OCTO-ORG/S3-Photo-Share', '--bucket', 'demo-bucket', '--region', 'eu-west-1'];

  assert.equal(await runCli(shouting, cliAgainst(account)), 0);

  assert.deepEqual(account.roles.get(ROLE_NAME)?.trust, githubTrustPolicy(REPOSITORY, ACCOUNT_ID));
});

test("when GitHub's public API does not show the repository, then ci-role stops before IAM, naming --repo-ids and the command that prints them", async () => {
  const account = new FakeAccount();
  const cli = cliAgainst(account);

  assert.equal(await runCli(CREATE, cli), 1);

  assert.match(cli.errors.join('\n'), /does not show octo-org\/s3-photo-share: it is private, or does not exist/);
  assert.match(cli.errors.join('\n'), /--repo-ids OWNER_ID\/REPO_ID, printed by `gh api repos\/octo-org\/s3-photo-share --jq/);
  assert.deepEqual(
    account.calls.map((call) => `${call.service}:${call.command}`),
    ['sts:GetCallerIdentity'],
  );
});

test('when --repo-ids gives the ids, then ci-role trusts exactly those without asking GitHub', async () => {
  const account = new FakeAccount(); // GitHub shows nothing: a private repository
  const cli = cliAgainst(account);

  assert.equal(await runCli([...CREATE, '--repo-ids', '9919/1296269'], cli), 0);

  assert.deepEqual(account.roles.get(ROLE_NAME)?.trust, githubTrustPolicy(REPOSITORY, ACCOUNT_ID));
});

test('when the repository was renamed on GitHub, then ci-role names the new name and creates nothing', async () => {
  const account = new FakeAccount();
  account.githubRepositories.set('octo-org/old-name', REPOSITORY);
  const cli = cliAgainst(account);

  assert.equal(await runCli(['ci-role', '--repo', 'octo-org/old-name', '--bucket', 'demo-bucket', '--region', 'eu-west-1'], cli), 1);

  assert.match(cli.errors.join('\n'), /octo-org\/old-name is now octo-org\/s3-photo-share on GitHub .*--repo octo-org\/s3-photo-share/);
  assert.equal(account.roles.size, 0);
});

test('when GitHub cannot be reached or answers without ids, then the lookup says so and how to pass the ids', async () => {
  await assert.rejects(
    lookUpGitHubRepository(REPO, async () => {
      throw new Error('getaddrinfo ENOTFOUND api.github.com');
    }),
    /Could not reach api.github.com to read the ids of octo-org\/s3-photo-share \(getaddrinfo ENOTFOUND api.github.com\)\. Pass the ids yourself: --repo-ids/,
  );
  // Each answer breaks one thing only: the status, the name, or one of the two ids.
  const ids = { full_name: REPO, id: 1296269, owner: { id: 9919 } };
  for (const [status, body] of [
    [403, undefined],
    [203, ids],
    [200, { ...ids, full_name: undefined }],
    [200, { ...ids, id: '1296269' }],
    [200, { ...ids, owner: {} }],
    [200, null],
  ] as const) {
    await assert.rejects(
      lookUpGitHubRepository(REPO, async () => ({ status, body })),
      new RegExp(`api.github.com answered HTTP ${status} for octo-org/s3-photo-share, not the repository's ids`),
    );
  }
  assert.deepEqual(
    await lookUpGitHubRepository(REPO, async (url) => {
      assert.equal(url, `https://api.github.com/repos/${REPO}`);
      return { status: 200, body: { full_name: REPO, id: 1296269, owner: { id: 9919 } } };
    }),
    REPOSITORY,
  );
});

test("when the lookup asks GitHub itself, then it sends the REST API's media type and version, and reads no body from an error answer", async (t) => {
  const asked: { url: string; headers: Record<string, string>; signal: unknown }[] = [];
  const answers = [
    new Response(JSON.stringify({ full_name: REPO, id: 1296269, owner: { id: 9919 } }), { status: 200 }),
    new Response(JSON.stringify({ full_name: REPO, id: 1296269, owner: { id: 9919 } }), { status: 404 }),
  ];
  t.mock.method(globalThis, 'fetch', async (url: string, init: { headers: Record<string, string>; signal: unknown }) => {
    asked.push({ url, headers: init.headers, signal: init.signal });
    return answers.shift();
  });

  assert.deepEqual(await lookUpGitHubRepository(REPO), REPOSITORY);
  await assert.rejects(lookUpGitHubRepository(REPO), /does not show octo-org\/s3-photo-share/);

  assert.deepEqual(
    asked.map(({ url, headers }) => ({ url, headers })),
    Array(2).fill({
      url: `https://api.github.com/repos/${REPO}`,
      headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
    }),
  );
  assert.ok(
    asked.every(({ signal }) => signal instanceof AbortSignal),
    'every request has a deadline',
  );
});

test('when plan is asked for ci-role with --repo-ids, then it says the ids were given instead of printing the lookup', async () => {
  const account = new FakeAccount();
  const cli = cliAgainst(account);

  assert.equal(await runCli(['plan', '--for', ...CREATE, '--repo-ids', '9919/1296269'], cli), 0);

  const plan = cli.printed.join('\n');
  assert.ok(plan.includes('# given: --repo-ids 9919/1296269'), plan);
  assert.ok(plan.includes('"repo:octo-org@9919/s3-photo-share@1296269:ref:refs/heads/main"'), plan);
  assert.ok(!plan.includes('gh api repos/'), plan);
  assert.equal(account.calls.length, 0);
});

for (const ids of [
  '9919',
  '9919/',
  '/1296269',
  '9919/1296269/1',
  'a/b',
  '0/1296269',
  '9919/-1',
  '9919 /1296269',
  '12345678901234567890/1',
]) {
  test(`when --repo-ids is ${JSON.stringify(ids)}, then the CLI exits 2 naming the form OWNER_ID/REPO_ID`, async () => {
    const cli = offlineCli();
    assert.equal(await runCli([...CREATE, '--repo-ids', ids], cli), 2);
    assert.match(cli.errors.join('\n'), /^--repo-ids ".*": expected OWNER_ID\/REPO_ID, two numbers/);
  });
}
