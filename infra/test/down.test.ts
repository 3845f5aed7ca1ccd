// Tests of `down` against the in-memory account: up then down leaves what existed before untouched, and down refuses what is not the stack's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downSteps, type DownSettings } from '../down.js';
import { upSteps } from '../up.js';
import { ACCOUNT_ID, FakeAccount, RELEASE_ID, runAgainst, STACK_TAGS, upSettings } from './fake-aws.js';
import { awsError } from './aws-errors.js';

function downSettings(overrides: Partial<DownSettings> = {}): DownSettings {
  return { stack: 's3-photo-share', region: 'eu-west-1', bucket: 'demo-bucket', deleteBucket: false, ...overrides };
}

const ROLE = 's3-photo-share-role';
const PROFILE = 's3-photo-share-instance-profile';

/** An account where other people's things live beside the stack: none of them may change. */
function busyAccount(): FakeAccount {
  const account = new FakeAccount();
  account.addBucket('ledger-bucket', { objects: new Map([['ledger/2024.csv', 'date,amount']]) });
  account.addRole('payroll-role', []);
  const payrollProfile = account.addProfile('payroll-instance-profile', [], ['payroll-role']);
  const payrollGroup = account.addSecurityGroup('eu-west-1', { GroupName: 'payroll', Tags: [{ Key: 'app', Value: 'payroll' }] });
  account.addInstance('eu-west-1', {
    Tags: [{ Key: 'Name', Value: 'payroll' }],
    SecurityGroupIds: [payrollGroup.GroupId],
    profileArn: payrollProfile.arn,
  });
  // Another demo stack of the same tool: same app tag, another stack name.
  account.addInstance('eu-west-1', { Tags: [STACK_TAGS[0]!, { Key: 'stack', Value: 'other-demo' }, STACK_TAGS[2]!] });
  account.addSecurityGroup('eu-west-1', {
    GroupName: 'other-demo-web',
    Tags: [STACK_TAGS[0]!, { Key: 'stack', Value: 'other-demo' }, STACK_TAGS[2]!],
  });
  // The same stack name in another region's tags: not this stack here.
  account.addInstance('eu-west-1', { Tags: [STACK_TAGS[0]!, STACK_TAGS[1]!] });
  return account;
}

test('when up then down --delete-bucket run, then the account is exactly as before, other people’s resources untouched', async () => {
  const account = busyAccount();
  const before = account.snapshot();

  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  await runAgainst(account, 'eu-west-1', downSteps(downSettings({ deleteBucket: true })));
  account.runtime.clockMs += 60_000;

  const after = account.snapshot() as { regions: [string, { instances: [string, { State: { Name: string } }][] }][] };
  // The stack's own instance stays listed as terminated for a while, as in EC2; everything else is as before.
  const region = after.regions[0]![1];
  region.instances = region.instances.filter(([, instance]) => instance.State.Name !== 'terminated');
  assert.deepEqual(after, before);
});

test('when up then down run without --delete-bucket, then only the bucket and its photos remain of the stack', async () => {
  const account = busyAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.buckets.get('demo-bucket')?.objects.set('photos/cat.jpg', 'jpeg');

  await runAgainst(account, 'eu-west-1', downSteps(downSettings()));

  assert.deepEqual([...(account.buckets.get('demo-bucket')?.objects.keys() ?? [])], ['photos/cat.jpg']);
  assert.equal(account.roles.has(ROLE), false);
  assert.equal(account.profiles.has(PROFILE), false);
  assert.equal(account.region('eu-west-1').logGroups.size, 0);
  assert.equal(
    [...account.region('eu-west-1').groups.values()].some((group) => group.GroupName === 's3-photo-share-web'),
    false,
  );
  const stackInstances = [...account.region('eu-west-1').instances.values()].filter((instance) =>
    instance.Tags.some((tag) => tag.Key === 'deployment'),
  );
  assert.deepEqual(
    stackInstances.map((instance) => instance.State.Name),
    ['terminated'],
  );
});

test('when down runs in another region than the stack, then it refuses, names the right region, and changes nothing', async () => {
  const account = busyAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const before = account.snapshot();

  await assert.rejects(
    runAgainst(account, 'us-east-1', downSteps(downSettings({ region: 'us-east-1' }))),
    /lives in eu-west-1.*--region eu-west-1/,
  );

  assert.deepEqual(account.snapshot(), before);
});

test('when an adopted bucket is named with --delete-bucket, then down refuses before removing anything', async () => {
  const account = new FakeAccount();
  account.addBucket('demo-bucket', { objects: new Map([['ledger/2024.csv', 'date,amount']]) });
  await runAgainst(account, 'eu-west-1', upSteps(upSettings({ adoptBucket: true })));
  const before = account.snapshot();

  await assert.rejects(
    runAgainst(account, 'eu-west-1', downSteps(downSettings({ deleteBucket: true }))),
    /not created by this stack.*never empties or deletes it/,
  );

  assert.deepEqual(account.snapshot(), before);
});

test('when down runs for an adopted bucket, then it removes the stack and its releases, and every other object stays', async () => {
  const account = new FakeAccount();
  account.addBucket('demo-bucket', { objects: new Map([['ledger/2024.csv', 'date,amount']]) });
  await runAgainst(account, 'eu-west-1', upSteps(upSettings({ adoptBucket: true })));

  await runAgainst(account, 'eu-west-1', downSteps(downSettings()));

  assert.deepEqual([...(account.buckets.get('demo-bucket')?.objects ?? [])], [['ledger/2024.csv', 'date,amount']]);
  assert.equal(account.roles.has(ROLE), false);
});

test('when attach gave the stack profile to an instance outside the stack, then down keeps the profile and role and names the instance', async () => {
  const account = busyAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const profileArn = account.profiles.get(PROFILE)!.arn;
  const legacy = account.addInstance('eu-west-1', { Tags: [{ Key: 'Name', Value: 'legacy' }], profileArn });

  await assert.rejects(
    runAgainst(account, 'eu-west-1', downSteps(downSettings())),
    new RegExp(
      `^Error: Instance profile s3-photo-share-instance-profile is still associated with ${legacy.InstanceId}, which this stack did not launch \\(given it by attach\\?\\)\\. ` +
        'Down keeps the profile and the role so that instance keeps its credentials\\. Detach it first \\(aws ec2 disassociate-iam-instance-profile --region eu-west-1 --association-id <id>\\), then run down again\\.$',
    ),
  );

  assert.deepEqual(account.profiles.get(PROFILE)?.roles, [ROLE]);
  assert.equal(account.roles.has(ROLE), true);
  assert.equal(legacy.State.Name, 'running');
  assert.ok(
    [...account.region('eu-west-1').associations.values()].some(
      (association) => association.InstanceId === legacy.InstanceId && association.IamInstanceProfile.Arn === profileArn,
    ),
  );
});

test('when a role and profile with the stack names exist without the stack tags, then down leaves them as they are', async () => {
  const account = new FakeAccount();
  account.addRole(ROLE, [{ Key: 'app', Value: 's3-photo-share' }], { admin: { Statement: [] } });
  account.addProfile(PROFILE, [], [ROLE]);
  const before = account.snapshot();

  await assert.rejects(runAgainst(account, 'eu-west-1', downSteps(downSettings())), /exists but is not tagged/);

  assert.deepEqual(account.snapshot(), before);
});

test('when reading the role is denied, then down stops instead of taking the role for gone', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.fail('iam', 'GetRole', await awsError('iam', 'AccessDenied', 'User is not authorized to perform: iam:GetRole'));

  await assert.rejects(runAgainst(account, 'eu-west-1', downSteps(downSettings())), /not authorized to perform: iam:GetRole/);

  assert.equal(account.roles.has(ROLE), true);
});

test('when reading the instance profile is denied, then down stops instead of taking it for gone', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.fail(
    'iam',
    'GetInstanceProfile',
    await awsError('iam', 'AccessDenied', 'User is not authorized to perform: iam:GetInstanceProfile'),
  );

  await assert.rejects(runAgainst(account, 'eu-west-1', downSteps(downSettings())), /not authorized/);

  assert.equal(account.profiles.has(PROFILE), true);
});

test('when S3 refuses to delete some objects, then down --delete-bucket stops and keeps the bucket', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const bucket = account.buckets.get('demo-bucket')!;
  bucket.objects.set('photos/locked.jpg', 'jpeg');
  bucket.undeletable.add('photos/locked.jpg');

  await assert.rejects(
    runAgainst(account, 'eu-west-1', downSteps(downSettings({ deleteBucket: true }))),
    /Could not delete 1 object\(s\) from demo-bucket, first: photos\/locked\.jpg \(AccessDenied\)/,
  );

  assert.equal(account.buckets.has('demo-bucket'), true);
  assert.equal(account.inputsOf('DeleteBucket').length, 0);
});

test('when termination takes four minutes, then down waits for it before deleting the group and the profile', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.terminationMs = 4 * 60_000;

  await runAgainst(account, 'eu-west-1', downSteps(downSettings()));

  assert.equal(account.region('eu-west-1').groups.size, 0);
  assert.equal(account.profiles.size, 0);
  assert.ok(account.runtime.clockMs >= 4 * 60_000);
});

test('when termination never finishes, then down stops after its timeout and keeps the group', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.terminationMs = 60 * 60_000;

  await assert.rejects(runAgainst(account, 'eu-west-1', downSteps(downSettings())), /were not terminated after 300 s/);

  assert.equal(account.region('eu-west-1').groups.size, 1);
});

test('when down runs again after everything is gone, then it only looks and succeeds', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  await runAgainst(account, 'eu-west-1', downSteps(downSettings({ deleteBucket: true })));
  account.calls.length = 0;

  await runAgainst(account, 'eu-west-1', downSteps(downSettings({ deleteBucket: true })));

  assert.deepEqual(
    account.commandNames().filter((name) => !/:(Get|Describe|List)/.test(name)),
    [],
  );
});

test('when down --delete-bucket empties the bucket over several pages, then it says how many versions it removed', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const objects = account.buckets.get('demo-bucket')!.objects;
  for (const key of ['photos/a.jpg', 'photos/b.jpg', 'photos/c.jpg']) objects.set(key, 'pixels');
  account.runtime.lines.length = 0;

  await runAgainst(account, 'eu-west-1', downSteps(downSettings({ deleteBucket: true })));

  // Three photos and the release's tarball and lockfile, listed two to a page.
  assert.deepEqual(
    account.runtime.lines.filter((line) => /^Removed \d/.test(line)),
    ['Removed 5 object version(s)'],
  );
});

test('when down lists the stack, then it sends the stack tag filters, never an unfiltered query', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.calls.length = 0;

  await runAgainst(account, 'eu-west-1', downSteps(downSettings()));

  const tagFilters = [
    { Name: 'tag:app', Values: ['s3-photo-share'] },
    { Name: 'tag:stack', Values: ['s3-photo-share'] },
    { Name: 'tag:stack-region', Values: ['eu-west-1'] },
  ];
  // Instances are listed by the stack tags, or named by id: those whose association holds the profile.
  for (const input of account.inputsOf('DescribeInstances')) {
    const filters = input.Filters as { Name: string; Values: string[] }[];
    if (filters[0]?.Name === 'instance-id') assert.ok(filters[0].Values.length > 0);
    else assert.deepEqual(filters.slice(0, 3), tagFilters);
  }
  assert.deepEqual(account.inputsOf('DescribeSecurityGroups'), [{ Filters: tagFilters }]);
  assert.equal(ACCOUNT_ID.length, 12);
});

test('when down runs in another region, then it refuses before any EC2, S3 or CloudWatch Logs call', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.calls.length = 0;

  await assert.rejects(
    runAgainst(account, 'us-east-1', downSteps(downSettings({ region: 'us-east-1', deleteBucket: true }))),
    /lives in eu-west-1/,
  );

  assert.deepEqual(account.commandNames(), ['sts:GetCallerIdentity', 'iam:GetRole', 'iam:GetInstanceProfile']);
});

test('when only the profile is left of the stack, then down in another region still refuses by the profile’s region', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.profiles.get(PROFILE)!.roles = [];
  account.roles.delete(ROLE);

  await assert.rejects(
    runAgainst(account, 'us-east-1', downSteps(downSettings({ region: 'us-east-1' }))),
    /recorded on instance profile s3-photo-share-instance-profile/,
  );

  assert.equal(account.profiles.has(PROFILE), true);
});

test('when the bucket is versioned, then --delete-bucket removes the delete markers too', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.buckets.get('demo-bucket')!.deleteMarkers.add('photos/deleted.jpg');

  await runAgainst(account, 'eu-west-1', downSteps(downSettings({ deleteBucket: true })));

  assert.equal(account.buckets.has('demo-bucket'), false);
  assert.deepEqual(account.inputsOf('DeleteObjects')[0], {
    Bucket: 'demo-bucket',
    Delete: {
      Objects: [
        { Key: `releases/s3-photo-share/${RELEASE_ID}/app.tgz`, VersionId: 'null' },
        { Key: `releases/s3-photo-share/${RELEASE_ID}/package-lock.json`, VersionId: 'null' },
        { Key: 'photos/deleted.jpg', VersionId: 'marker-photos/deleted.jpg' },
      ],
      Quiet: true,
    },
  });
});

test('when the bucket is already gone, then down without --delete-bucket still removes the rest', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  account.buckets.delete('demo-bucket');

  await runAgainst(account, 'eu-west-1', downSteps(downSettings()));

  assert.equal(account.roles.size + account.profiles.size, 0);
});

test('when listing the release objects fails for another reason, then down stops with that error', async () => {
  const account = new FakeAccount();
  await runAgainst(account, 'eu-west-1', upSteps(upSettings()));
  const denied = await awsError('s3', 'AccessDenied', 'not allowed to list versions');
  account.fail('s3', 'ListObjectVersions', denied);

  await assert.rejects(runAgainst(account, 'eu-west-1', downSteps(downSettings())), (error) => error === denied);
});
