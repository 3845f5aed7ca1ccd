// Tests the infra command line: option checks, and a plan that needs no AWS access at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine, runCli, UsageError, type CliDeps } from '../../infra/cli.js';
import { FakeAccount } from './fake-aws.js';

const UP_OPTIONS = ['--bucket', 'demo-bucket', '--region', 'eu-west-1', '--allow-cidr', '203.0.113.0/24'];

function capturingCli(): CliDeps & { printed: string[]; errors: string[] } {
  const printed: string[] = [];
  const errors: string[] = [];
  return {
    printed,
    errors,
    createDeps: () => assert.fail('plan must not build AWS clients'),
    print: (text) => void printed.push(text),
    printError: (text) => void errors.push(text),
  };
}

test('when plan runs with the up options, then it prints every step with its CLI equivalent and touches no AWS client', async () => {
  const cli = capturingCli();

  const exitCode = await runCli(['plan', ...UP_OPTIONS], cli);

  assert.equal(exitCode, 0);
  const plan = cli.printed.join('\n');
  for (const command of [
    'aws sts get-caller-identity',
    "aws s3api create-bucket --bucket demo-bucket --region eu-west-1 --create-bucket-configuration 'LocationConstraint=eu-west-1,Tags=[{Key=app,Value=s3-photo-share},{Key=stack,Value=s3-photo-share},{Key=stack-region,Value=eu-west-1}]' --object-ownership BucketOwnerEnforced",
    'aws iam list-role-tags --role-name s3-photo-share-role',
    'aws logs create-log-group --region eu-west-1 --log-group-name /s3-photo-share/s3-photo-share',
    'aws s3api put-public-access-block',
    'aws s3api put-bucket-policy',
    'aws s3api put-bucket-lifecycle-configuration',
    'aws iam create-role --role-name s3-photo-share-role',
    'aws iam put-role-policy',
    'aws iam create-instance-profile --instance-profile-name s3-photo-share-instance-profile',
    'aws iam add-role-to-instance-profile',
    'aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id "$SG_ID" --protocol tcp --port 80 --cidr 203.0.113.0/24',
    'aws ssm get-parameter --region eu-west-1 --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    'HttpTokens=required,HttpPutResponseHopLimit=1',
    "aws ec2 get-console-output --region eu-west-1 --instance-id \"$INSTANCE_ID\" --latest --output text | grep 's3-photo-share-setup: FAILED'",
  ]) {
    assert.ok(plan.includes(command), `plan lacks: ${command}`);
  }
});

test('when plan is printed, then it contains no credential', async () => {
  const cli = capturingCli();

  await runCli(['plan', ...UP_OPTIONS], cli);

  assert.doesNotMatch(cli.printed.join('\n'), /AKIA|ASIA[A-Z0-9]{16}|aws_secret|AWS_SECRET_ACCESS_KEY|--profile/i);
});

test('when plan is asked for down and attach, then it prints their steps too', async () => {
  const down = capturingCli();
  const attach = capturingCli();

  await runCli(['plan', '--for', 'down', '--bucket', 'demo-bucket', '--region', 'eu-west-1'], down);
  await runCli(['plan', '--for', 'attach', '--instance-id', 'i-0123456789abcdef0', '--region', 'eu-west-1'], attach);

  assert.match(down.printed.join('\n'), /describe-iam-instance-profile-associations[\s\S]*aws iam remove-role-from-instance-profile[\s\S]*aws iam delete-instance-profile[\s\S]*aws iam delete-role [\s\S]*aws logs delete-log-group/);
  assert.match(attach.printed.join('\n'), /associate-iam-instance-profile[\s\S]*replace-iam-instance-profile-association/);
});

test('when options are missing or malformed, then one error lists every problem', () => {
  assert.throws(
    () => parseCommandLine(['up', '--bucket', 'Bad_Bucket', '--allow-cidr', '10.0.0.0/33']),
    (error: unknown) =>
      error instanceof UsageError &&
      /--region is required for up/.test(error.message) &&
      /--bucket "Bad_Bucket"/.test(error.message) &&
      /--allow-cidr "10.0.0.0\/33"/.test(error.message),
  );
});

test('when an option belongs to another command, then it is rejected by name', () => {
  assert.throws(() => parseCommandLine(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--allow-cidr', '203.0.113.0/24']), /--allow-cidr is not an option of down/);
});

test('when the key prefix would overlap the releases, then it is rejected', () => {
  assert.throws(() => parseCommandLine(['up', ...UP_OPTIONS, '--key-prefix', 'releases/x/']), /holds the app releases/);
});

test('when up options are valid, then defaults fill in stack, instance type and key prefix', () => {
  assert.deepEqual(parseCommandLine(['up', ...UP_OPTIONS]), {
    name: 'up',
    settings: { stack: 's3-photo-share', region: 'eu-west-1', bucket: 'demo-bucket', allowCidr: '203.0.113.0/24', instanceType: 't3.micro', keyPrefix: 'photos/', adoptBucket: false },
  });
  assert.equal((parseCommandLine(['up', ...UP_OPTIONS, '--adopt-bucket']) as { settings: { adoptBucket: boolean } }).settings.adoptBucket, true);
});

test('when down is given without --delete-bucket, then the bucket is kept; with it, it is deleted', () => {
  assert.deepEqual(parseCommandLine(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1']), {
    name: 'down',
    settings: { stack: 's3-photo-share', region: 'eu-west-1', bucket: 'demo-bucket', deleteBucket: false },
  });
  assert.deepEqual(parseCommandLine(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--delete-bucket']), {
    name: 'down',
    settings: { stack: 's3-photo-share', region: 'eu-west-1', bucket: 'demo-bucket', deleteBucket: true },
  });
});

test('when attach is given without --require-imdsv2, then IMDS is left alone; with it, it is required', () => {
  const base = ['attach', '--instance-id', 'i-0123456789abcdef0', '--region', 'eu-west-1'];
  assert.deepEqual(parseCommandLine(base), { name: 'attach', settings: { stack: 's3-photo-share', region: 'eu-west-1', instanceId: 'i-0123456789abcdef0', requireImdsv2: false } });
  assert.deepEqual(parseCommandLine([...base, '--require-imdsv2', '--stack', 'demo2']), {
    name: 'attach',
    settings: { stack: 'demo2', region: 'eu-west-1', instanceId: 'i-0123456789abcdef0', requireImdsv2: true },
  });
});

test('when logs is given a region, then it defaults to the last 200 lines of the past hour; bad counts are rejected', () => {
  assert.deepEqual(parseCommandLine(['logs', '--region', 'eu-west-1']), { name: 'logs', settings: { stack: 's3-photo-share', region: 'eu-west-1', minutes: 60, lines: 200 } });
  assert.deepEqual(parseCommandLine(['logs', '--region', 'eu-west-1', '--minutes', '5', '--lines', '20']), { name: 'logs', settings: { stack: 's3-photo-share', region: 'eu-west-1', minutes: 5, lines: 20 } });
  assert.throws(() => parseCommandLine(['logs', '--region', 'eu-west-1', '--lines', '0']), /--lines "0": expected a whole number/);
  assert.throws(() => parseCommandLine(['logs', '--region', 'eu-west-1', '--bucket', 'x-bucket']), /--bucket is not an option of logs/);
});

test('when plan is asked for logs, then it prints the CloudWatch Logs CLI equivalent', async () => {
  const cli = capturingCli();

  await runCli(['plan', '--for', 'logs', '--region', 'eu-west-1'], cli);

  assert.match(cli.printed.join('\n'), /\$ aws logs tail \/s3-photo-share\/s3-photo-share --region eu-west-1 --since 60m/);
});

test('when plan is printed with --adopt-bucket, then no step changes the bucket settings', async () => {
  const cli = capturingCli();

  await runCli(['plan', ...UP_OPTIONS, '--adopt-bucket'], cli);

  const plan = cli.printed.join('\n');
  assert.match(plan, /Adopt the existing bucket demo-bucket/);
  for (const command of ['create-bucket', 'put-public-access-block', 'put-bucket-encryption', 'put-bucket-policy', 'put-bucket-lifecycle-configuration', 'put-bucket-tagging']) {
    assert.ok(!plan.includes(command), `plan with --adopt-bucket still has ${command}`);
  }
});

test('when usage is wrong, then the exit code is 2 and the usage is printed', async () => {
  const cli = capturingCli();

  const exitCode = await runCli(['launch'], cli);

  assert.equal(exitCode, 2);
  assert.match(cli.errors.join('\n'), /Unknown command "launch"[\s\S]*Usage:/);
});

test('when up, logs and down run through the CLI, then each exits 0, up prints its summary, and down leaves nothing behind', async () => {
  const account = new FakeAccount();
  const regions: string[] = [];
  const cli = { ...capturingCli(), createDeps: (region: string) => (regions.push(region), account.deps(region)) };

  assert.equal(await runCli(['up', ...UP_OPTIONS, '--allow-cidr', '0.0.0.0/0'], cli), 0);
  assert.equal(await runCli(['logs', '--region', 'eu-west-1'], cli), 0);
  assert.equal(await runCli(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--delete-bucket'], cli), 0);

  assert.deepEqual(regions, ['eu-west-1', 'eu-west-1', 'eu-west-1']);
  assert.ok(account.runtime.lines.includes('Warning: --allow-cidr 0.0.0.0/0 opens the app to the whole internet.'));
  assert.ok(account.runtime.lines.some((line) => /^App URL: {14}http:\/\/198\.51\.100\.\d+\/$/.test(line)));
  assert.deepEqual(cli.errors, []);
  assert.equal(account.buckets.size + account.roles.size + account.profiles.size, 0);
});

test('when a command fails, then the CLI exits 1 and says the step is safe to repeat', async () => {
  const account = new FakeAccount();
  account.addBucket('demo-bucket');
  const cli = { ...capturingCli(), createDeps: () => account.deps('eu-west-1') };

  assert.equal(await runCli(['up', ...UP_OPTIONS], cli), 1);

  assert.match(cli.errors.join('\n'), /^\nup stopped: Bucket demo-bucket already exists and was not created by this stack[\s\S]*Every step is safe to repeat/);
  assert.ok(!account.runtime.lines.some((line) => line.startsWith('App URL')));
});
