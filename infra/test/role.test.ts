// Tests of the role and instance profile steps where up, down and attach meet them: what down must keep, what it may remove,
// and the waits that end only when IAM shows exactly what the stack made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DisassociateIamInstanceProfileCommand } from '@aws-sdk/client-ec2';
import { attachSteps } from '../attach.js';
import { downSteps, type DownSettings } from '../down.js';
import { roleUpSteps, stackRegionCheckStep } from '../resources/role.js';
import { upSteps } from '../up.js';
import { awsError } from './aws-errors.js';
import { ACCOUNT_ID, CONSISTENCY_MS, FakeAccount, runAgainst, STACK_TAGS, upSettings } from './fake-aws.js';

const REGION = 'eu-west-1';
const ROLE = 's3-photo-share-role';
const PROFILE = 's3-photo-share-instance-profile';

function downSettings(overrides: Partial<DownSettings> = {}): DownSettings {
  return { stack: 's3-photo-share', region: REGION, bucket: 'demo-bucket', deleteBucket: false, ...overrides };
}

async function accountWithStack(account = new FakeAccount()) {
  await runAgainst(account, REGION, upSteps(upSettings()));
  return { account, profileArn: account.profiles.get(PROFILE)!.arn };
}

/** The step of up that waits for IAM to show the role inside the profile. */
function profileWaitStep() {
  const step = roleUpSteps(upSettings()).find((candidate) => candidate.title.startsWith('Wait until IAM shows the role'));
  assert.ok(step, 'up has a step that waits for the profile');
  return step;
}

test('when someone attached a managed policy to the stack role, then down detaches it, deletes the role, and keeps the policy', async () => {
  const { account } = await accountWithStack();
  const readOnly = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
  const teamPolicy = `arn:aws:iam::${ACCOUNT_ID}:policy/team-audit`;
  account.roles.get(ROLE)!.attachedPolicies.push(readOnly, teamPolicy);

  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.equal(account.roles.has(ROLE), false);
  assert.deepEqual(
    account.inputsOf('DetachRolePolicy').map((input) => input.PolicyArn),
    [readOnly, teamPolicy],
  );
  const deleted = account.inputsOf('DeletePolicy').map((input) => input.PolicyArn);
  assert.ok(!deleted.includes(readOnly) && !deleted.includes(teamPolicy), `down deleted ${deleted.join(', ')}`);
});

test('when up runs again on an unchanged role, then it says the trust is unchanged and writes no trust or boundary', async () => {
  const { account } = await accountWithStack();
  account.runtime.lines.length = 0;

  await runAgainst(account, REGION, upSteps(upSettings()));

  assert.ok(account.runtime.lines.some((line) => line === `Reusing role ${account.roles.get(ROLE)!.arn}; trust policy unchanged`));
  assert.deepEqual(account.inputsOf('UpdateAssumeRolePolicy'), []);
  assert.deepEqual(account.inputsOf('PutRolePermissionsBoundary'), []);
});

test('when only the instance profile is left of the stack, then the region check says the stack is recorded here', async () => {
  const { account } = await accountWithStack();
  account.roles.delete(ROLE);
  account.runtime.lines.length = 0;

  await runAgainst(account, REGION, [stackRegionCheckStep(upSettings())]);

  assert.equal(account.runtime.lines.at(-1), 'Stack s3-photo-share is recorded in eu-west-1');
});

test('when neither role nor profile exists, then the region check says the stack has none yet', async () => {
  const account = new FakeAccount();

  await runAgainst(account, REGION, [stackRegionCheckStep(upSettings())]);

  assert.equal(account.runtime.lines.at(-1), 'Stack s3-photo-share has no role or profile yet');
});

for (const [what, roles] of [
  ['no role yet', []],
  ['another role', ['payroll-role']],
] as const) {
  test(`when the profile shows ${what} for the whole wait, then up stops after 60 s instead of launching with it`, async () => {
    const account = new FakeAccount();
    account.addProfile(PROFILE, STACK_TAGS, [...roles]);

    await assert.rejects(
      runAgainst(account, REGION, [profileWaitStep()]),
      /^Error: Instance profile s3-photo-share-instance-profile did not show role s3-photo-share-role within 60 s\. Run `npm run infra:up` again\.$/,
    );
    assert.ok(account.runtime.clockMs >= 60_000);
  });
}

test('when the stack profile holds another role, then up names that role and leaves the profile as it was', async () => {
  const account = new FakeAccount();
  account.addProfile(PROFILE, STACK_TAGS, ['payroll-role']);

  await assert.rejects(
    runAgainst(account, REGION, upSteps(upSettings())),
    /Instance profile s3-photo-share-instance-profile holds role payroll-role, and a profile holds one role\. Run `npm run infra:down` for this stack first\./,
  );
  assert.deepEqual(account.profiles.get(PROFILE)?.roles, ['payroll-role']);
  assert.deepEqual(account.inputsOf('AddRoleToInstanceProfile'), []);
});

test('when attach gave the profile to an instance seconds before down reaches the profile, then down counts the association still associating', async () => {
  const { account, profileArn } = await accountWithStack();
  // A first down stops at the profile, used outside the stack; the stack's instance is gone after it.
  const earlier = account.addInstance(REGION, { profileArn });
  await assert.rejects(runAgainst(account, REGION, downSteps(downSettings())), /still associated/);
  const [earlierAssociation] = [...account.region(REGION).associations.values()].filter((a) => a.InstanceId === earlier.InstanceId);
  await account.deps(REGION).aws.ec2.send(new DisassociateIamInstanceProfileCommand({ AssociationId: earlierAssociation!.AssociationId }));
  const outsider = account.addInstance(REGION, { Tags: [{ Key: 'Name', Value: 'legacy' }] });
  await runAgainst(
    account,
    REGION,
    attachSteps({ stack: 's3-photo-share', region: REGION, instanceId: outsider.InstanceId, requireImdsv2: false }),
  );
  assert.equal([...account.region(REGION).associations.values()].find((a) => a.InstanceId === outsider.InstanceId)?.State, 'associating');

  await assert.rejects(
    runAgainst(account, REGION, downSteps(downSettings())),
    new RegExp(`is still associated with ${outsider.InstanceId}, which this stack did not launch`),
  );
  assert.equal(account.profiles.get(PROFILE)?.arn, profileArn);
  assert.equal(account.roles.has(ROLE), true);
});

test('when two outside instances use the profile, then down names both', async () => {
  const { account, profileArn } = await accountWithStack();
  const first = account.addInstance(REGION, { profileArn });
  const second = account.addInstance(REGION, { profileArn });

  await assert.rejects(
    runAgainst(account, REGION, downSteps(downSettings())),
    new RegExp(`is still associated with ${first.InstanceId}, ${second.InstanceId}, which this stack did not launch`),
  );
});

test('when the user detaches the outside instance as down says and runs down at once, then down goes on while EC2 is still disassociating', async () => {
  const { account, profileArn } = await accountWithStack();
  const outsider = account.addInstance(REGION, { profileArn });
  await assert.rejects(runAgainst(account, REGION, downSteps(downSettings())), /still associated/);
  const [association] = [...account.region(REGION).associations.values()].filter((a) => a.InstanceId === outsider.InstanceId);
  const { IamInstanceProfileAssociation } = await account
    .deps(REGION)
    .aws.ec2.send(new DisassociateIamInstanceProfileCommand({ AssociationId: association!.AssociationId }));
  assert.equal(IamInstanceProfileAssociation?.State, 'disassociating');

  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.equal(account.profiles.has(PROFILE), false);
  assert.equal(account.roles.has(ROLE), false);
  assert.equal(outsider.State.Name, 'running');
});

// IAM User Guide, "Changes that I make are not always immediately visible": a run that failed just after creating the role
// or the profile leaves them unreadable for a moment, and the rerun meets EntityAlreadyExists, then NoSuchEntity on the read.
for (const [what, failingCommand] of [
  ['role', 'PutRolePolicy'],
  ['instance profile', 'AddRoleToInstanceProfile'],
] as const) {
  test(`when up is rerun at once after failing just after creating the ${what}, then it waits until IAM shows it and converges`, async () => {
    const account = new FakeAccount({ eventuallyConsistent: true });
    account.fail(
      'iam',
      failingCommand,
      await awsError('iam', 'AccessDenied', `User is not authorized to perform: iam:${failingCommand}`, { status: 403 }),
      1,
    );
    await assert.rejects(runAgainst(account, REGION, upSteps(upSettings())), /not authorized/);
    const clockAtFailure = account.runtime.clockMs;

    await runAgainst(account, REGION, upSteps(upSettings()));

    assert.deepEqual(account.profiles.get(PROFILE)?.roles, [ROLE]);
    assert.ok(account.roles.get(ROLE)?.inlinePolicies.size === 1);
    assert.ok(account.runtime.lines.some((line) => line.startsWith(`AWS does not show ${what}`)));
    assert.ok(account.runtime.clockMs - clockAtFailure >= CONSISTENCY_MS - 1_000);
  });
}
