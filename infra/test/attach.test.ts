// Tests of `attach` against the in-memory account: associate or replace on the named instance only; IMDSv2 only with --require-imdsv2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attachSteps, type AttachSettings } from '../attach.js';
import { upSteps } from '../up.js';
import { FakeAccount, runAgainst, upSettings, type InstanceModel } from './fake-aws.js';

const PROFILE = 's3-photo-share-instance-profile';

function attachSettings(instanceId: string, overrides: Partial<AttachSettings> = {}): AttachSettings {
  return { stack: 's3-photo-share', region: 'eu-west-1', instanceId, requireImdsv2: false, ...overrides };
}

async function accountWithStack() {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  return { account, profileArn: account.profiles.get(PROFILE)!.arn };
}

function profilesByInstance(account: FakeAccount) {
  return Object.fromEntries(
    [...account.region('eu-west-1').associations.values()].map((association) => [
      association.InstanceId,
      association.IamInstanceProfile.Arn,
    ]),
  );
}

const IMDS_V1 = { HttpTokens: 'optional', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 } satisfies InstanceModel['MetadataOptions'];

test('when the instance has no profile, then attach associates the stack profile and leaves IMDS alone with a warning', async () => {
  const { account, profileArn } = await accountWithStack();
  const target = account.addInstance('eu-west-1', { MetadataOptions: { ...IMDS_V1 } });

  await runAgainst(account, 'eu-west-1', attachSteps(attachSettings(target.InstanceId)));

  assert.equal(profilesByInstance(account)[target.InstanceId], profileArn);
  assert.deepEqual(target.MetadataOptions, IMDS_V1);
  assert.ok(account.runtime.lines.some((line) => /still accepts IMDSv1.*--require-imdsv2.*stop getting credentials/.test(line)));
});

test('when --require-imdsv2 is given, then attach requires session tokens and keeps the hop limit the instance had', async () => {
  const { account } = await accountWithStack();
  const target = account.addInstance('eu-west-1', { MetadataOptions: { ...IMDS_V1 } });

  await runAgainst(account, 'eu-west-1', attachSteps(attachSettings(target.InstanceId, { requireImdsv2: true })));

  assert.deepEqual(target.MetadataOptions, { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 });
});

test('when the instance has another profile, then attach replaces that association and no other instance’s', async () => {
  const { account, profileArn } = await accountWithStack();
  const otherProfile = account.addProfile('payroll-instance-profile', []).arn;
  const bystander = account.addInstance('eu-west-1', { profileArn: otherProfile });
  const target = account.addInstance('eu-west-1', { profileArn: otherProfile });
  const before = profilesByInstance(account);

  await runAgainst(account, 'eu-west-1', attachSteps(attachSettings(target.InstanceId)));

  assert.deepEqual(profilesByInstance(account), { ...before, [target.InstanceId]: profileArn, [bystander.InstanceId]: otherProfile });
});

test('when the instance already uses the stack profile and IMDSv2, then attach changes nothing', async () => {
  const { account, profileArn } = await accountWithStack();
  const target = account.addInstance('eu-west-1', {
    profileArn,
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
  });
  const before = account.snapshot();

  await runAgainst(account, 'eu-west-1', attachSteps(attachSettings(target.InstanceId, { requireImdsv2: true })));

  assert.deepEqual(account.snapshot(), before);
});

test('when the stack has no instance profile yet, then attach says to run up first and changes nothing', async () => {
  const account = new FakeAccount();
  const target = account.addInstance('eu-west-1');
  const before = account.snapshot();

  await assert.rejects(
    runAgainst(account, 'eu-west-1', attachSteps(attachSettings(target.InstanceId))),
    /Create it first with `npm run infra:up`/,
  );

  assert.deepEqual(account.snapshot(), before);
});

test('when attach runs in another region than the stack, then it refuses and names the stack region', async () => {
  const { account } = await accountWithStack();
  const target = account.addInstance('us-east-1');

  await assert.rejects(
    runAgainst(account, 'us-east-1', attachSteps(attachSettings(target.InstanceId, { region: 'us-east-1' }))),
    /lives in eu-west-1/,
  );

  assert.deepEqual(profilesByInstance(account)[target.InstanceId], undefined);
});

test('when the instance does not exist in the region, then attach says so', async () => {
  const { account } = await accountWithStack();

  await assert.rejects(
    runAgainst(account, 'eu-west-1', attachSteps(attachSettings('i-0123456789abcdef0'))),
    /i-0123456789abcdef0 was not found in eu-west-1/,
  );
});

test('when the instance already requires IMDSv2, then attach gives no warning and changes no metadata option', async () => {
  const { account } = await accountWithStack();
  const target = account.addInstance('eu-west-1', {
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
  });
  account.runtime.lines.length = 0;

  await runAgainst(account, 'eu-west-1', attachSteps(attachSettings(target.InstanceId)));

  assert.ok(!account.runtime.lines.some((line) => /IMDSv1/.test(line)));
  assert.equal(account.inputsOf('ModifyInstanceMetadataOptions').length, 0);
});

test('when --require-imdsv2 meets an instance with its metadata endpoint disabled, then attach enables it with tokens required', async () => {
  const { account } = await accountWithStack();
  const target = account.addInstance('eu-west-1', {
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'disabled', HttpPutResponseHopLimit: 1 },
  });

  await runAgainst(account, 'eu-west-1', attachSteps(attachSettings(target.InstanceId, { requireImdsv2: true })));

  assert.deepEqual(account.inputsOf('ModifyInstanceMetadataOptions'), [
    { InstanceId: target.InstanceId, HttpTokens: 'required', HttpEndpoint: 'enabled' },
  ]);
});

test('when the stack profile exists but was not created by this stack, then attach refuses to hand it out', async () => {
  const account = new FakeAccount();
  account.addProfile(PROFILE, []);
  const target = account.addInstance('eu-west-1');

  await assert.rejects(
    runAgainst(account, 'eu-west-1', attachSteps(attachSettings(target.InstanceId))),
    /Instance profile s3-photo-share-instance-profile exists but is not tagged/,
  );
  assert.equal(account.region('eu-west-1').associations.size, 0);
});
