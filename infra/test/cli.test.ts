// Tests the infra command line: option checks, and a plan that needs no AWS access at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine, runCli, USAGE, UsageError, type CliDeps } from '../cli.js';
import { FakeAccount } from './fake-aws.js';

const UP_OPTIONS = ['--bucket', 'demo-bucket', '--region', 'eu-west-1', '--allow-cidr', '203.0.113.0/24'];
const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
const LOAD_BALANCED_OPTIONS = [
  ...UP_OPTIONS,
  '--instances',
  '2',
  '--certificate-arn',
  CERTIFICATE_ARN,
  '--hosted-zone-id',
  'Z0123456789ABCDEFGHIJ',
];

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

/** The usage error `parseCommandLine` throws for `args`, or '' when they are accepted. */
function usageMessageOf(args: string[]): string {
  try {
    parseCommandLine(args);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

test('when plan runs with the up options, then it prints every step with its CLI equivalent and touches no AWS client', async () => {
  const cli = capturingCli();

  const exitCode = await runCli(['plan', ...UP_OPTIONS], cli);

  assert.equal(exitCode, 0);
  const plan = cli.printed.join('\n');
  for (const command of [
    'aws sts get-caller-identity',
    "aws s3api create-bucket --bucket demo-bucket --region eu-west-1 --create-bucket-configuration 'LocationConstraint=eu-west-1,Tags=[{Key=app,Value=s3-photo-share},{Key=stack,Value=s3-photo-share},{Key=stack-region,Value=eu-west-1}]' --object-ownership BucketOwnerEnforced",
    'aws iam get-role --role-name s3-photo-share-role --query Role.Tags',
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
    'aws ec2 get-console-output --region eu-west-1 --instance-id "$INSTANCE_ID" --latest --output text | grep \'s3-photo-share-setup: FAILED\'',
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

  assert.match(
    down.printed.join('\n'),
    /describe-iam-instance-profile-associations[\s\S]*aws iam remove-role-from-instance-profile[\s\S]*aws iam delete-instance-profile[\s\S]*aws iam delete-role [\s\S]*aws logs delete-log-group/,
  );
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

for (const [range, canonical] of [
  ['10.0.0.1/8', '10.0.0.0/8'],
  ['203.0.113.77/24', '203.0.113.0/24'],
  ['192.168.1.1/0', '0.0.0.0/0'],
  ['172.16.5.4/12', '172.16.0.0/12'],
  ['198.51.100.129/25', '198.51.100.128/25'],
] as const) {
  test(`when --allow-cidr is ${range} (host bits set), then the CLI names the range as EC2 will store it, ${canonical}`, () => {
    assert.throws(
      () => parseCommandLine(['up', ...UP_OPTIONS.slice(0, 4), '--allow-cidr', range]),
      (error: unknown) => error instanceof UsageError && error.message.includes(`write it as ${canonical}`),
    );
  });
}

test('when --allow-cidr is a network address or one address, then it is accepted as given', () => {
  for (const range of ['203.0.113.0/24', '198.51.100.7/32', '0.0.0.0/0', '10.0.0.0/8', '198.51.100.128/25']) {
    const command = parseCommandLine(['up', ...UP_OPTIONS.slice(0, 4), '--allow-cidr', range]) as { settings: { allowCidr: string } };
    assert.equal(command.settings.allowCidr, range);
  }
});

test('when an option belongs to another command, then it is rejected by name', () => {
  assert.throws(
    () => parseCommandLine(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--allow-cidr', '203.0.113.0/24']),
    /--allow-cidr is not an option of down/,
  );
});

test('when the key prefix would overlap the releases, then it is rejected', () => {
  assert.throws(() => parseCommandLine(['up', ...UP_OPTIONS, '--key-prefix', 'releases/x/']), /holds the app releases/);
});

test('when up options are valid, then defaults fill in stack, instance type and key prefix', () => {
  assert.deepEqual(parseCommandLine(['up', ...UP_OPTIONS]), {
    name: 'up',
    settings: {
      stack: 's3-photo-share',
      region: 'eu-west-1',
      bucket: 'demo-bucket',
      allowCidr: '203.0.113.0/24',
      instanceType: 't3.micro',
      keyPrefix: 'photos/',
      adoptBucket: false,
    },
  });
  assert.equal(
    (parseCommandLine(['up', ...UP_OPTIONS, '--adopt-bucket']) as { settings: { adoptBucket: boolean } }).settings.adoptBucket,
    true,
  );
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
  assert.deepEqual(parseCommandLine(base), {
    name: 'attach',
    settings: { stack: 's3-photo-share', region: 'eu-west-1', instanceId: 'i-0123456789abcdef0', requireImdsv2: false },
  });
  assert.deepEqual(parseCommandLine([...base, '--require-imdsv2', '--stack', 'demo2']), {
    name: 'attach',
    settings: { stack: 'demo2', region: 'eu-west-1', instanceId: 'i-0123456789abcdef0', requireImdsv2: true },
  });
});

test('when logs is given a region, then it defaults to the last 200 lines of the past hour; bad counts are rejected', () => {
  assert.deepEqual(parseCommandLine(['logs', '--region', 'eu-west-1']), {
    name: 'logs',
    settings: { stack: 's3-photo-share', region: 'eu-west-1', minutes: 60, lines: 200 },
  });
  assert.deepEqual(parseCommandLine(['logs', '--region', 'eu-west-1', '--minutes', '5', '--lines', '20']), {
    name: 'logs',
    settings: { stack: 's3-photo-share', region: 'eu-west-1', minutes: 5, lines: 20 },
  });
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
  for (const command of [
    'create-bucket',
    'put-public-access-block',
    'put-bucket-encryption',
    'put-bucket-policy',
    'put-bucket-lifecycle-configuration',
    'put-bucket-tagging',
  ]) {
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

  assert.match(
    cli.errors.join('\n'),
    /^\nup stopped: Bucket demo-bucket already exists and was not created by this stack[\s\S]*Every step is safe to repeat/,
  );
  assert.ok(!account.runtime.lines.some((line) => line.startsWith('App URL')));
});

/** Each option with values it must accept and values it must refuse (each refused one named in the error). */
const OPTION_CASES: { command: string[]; option: string; valid: string[]; invalid: string[] }[] = [
  {
    command: ['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1'],
    option: '--stack',
    valid: ['a', 's3-photo-share', `a${'b'.repeat(31)}`],
    invalid: ['1abc', 'Stack', 'a_b', `a${'b'.repeat(32)}`, '-a', 'ab.c', ''],
  },
  {
    command: ['down', '--bucket', 'demo-bucket'],
    option: '--region',
    valid: ['eu-west-1', 'us-gov-west-1', 'ap-southeast-2'],
    invalid: ['eu-west', 'EU-west-1', 'euwest1', 'eu-west-1a', 'e-west-1', 'eu-west-1 ', 'x eu-west-1'],
  },
  {
    command: ['down', '--region', 'eu-west-1'],
    option: '--bucket',
    valid: ['abc', 'demo-bucket', '1bucket9', 'a'.repeat(63)],
    invalid: ['ab', 'a'.repeat(64), 'Demo', 'demo.bucket', '-demo', 'demo-', 'xn--demo', 'demo-s3alias', 'demo--ol-s3', 'de_mo'],
  },
  {
    command: ['up', '--bucket', 'demo-bucket', '--region', 'eu-west-1'],
    option: '--allow-cidr',
    valid: ['203.0.113.0/24', '0.0.0.0/0', '255.255.255.255/32', '1.0.0.0/8', '1.2.3.4/32'],
    invalid: [
      '203.0.113.0',
      '256.0.0.1/32',
      '1.256.0.1/32',
      '1.0.256.1/32',
      '1.0.0.256/32',
      '1.2.3.4/33',
      '1.2.3.4/',
      'a.b.c.d/8',
      '1.2.3.4/32 ',
      '::/0',
      '1234.1.1.1/8',
    ],
  },
  {
    command: ['up', ...UP_OPTIONS],
    option: '--instance-type',
    valid: ['t3.micro', 't4g.small', 'm7i-flex.large', 'u-6tb1.metal'],
    invalid: ['t3', 'T3.micro', '.micro', 't3.', 't3.micro.x', '3t.micro'],
  },
  {
    command: ['up', ...UP_OPTIONS],
    option: '--key-prefix',
    valid: ['photos/', 'a/b/', 'my_photos.2024!-x/', '.../', 'a/..b/'],
    invalid: ['photos', '/photos/', 'a//b/', 'pho tos/', 'releases/', 'releases/x/', 'a$/', '../', './', 'a/../b/', 'photos/./'],
  },
  {
    command: ['attach', '--region', 'eu-west-1'],
    option: '--instance-id',
    valid: ['i-0123abcd', 'i-0123456789abcdef0'],
    invalid: ['i-0123abc', 'i-0123456789abcdef01', 'i-0123ABCD', 'x-0123abcd', 'i0123abcd', ' i-0123abcd'],
  },
  {
    command: ['up', ...UP_OPTIONS],
    option: '--instances',
    valid: ['2', '3', '20'],
    invalid: ['1', '0', '21', '-2', '2.5', 'two', '', '1e1', '002x'],
  },
  {
    command: ['up', ...UP_OPTIONS, '--instances', '2'],
    option: '--certificate-arn',
    valid: [CERTIFICATE_ARN, 'arn:aws-cn:acm:eu-west-1:123456789012:certificate/abcdef01-2345-6789-abcd-ef0123456789'],
    invalid: [
      CERTIFICATE_ARN.replace('eu-west-1', 'us-east-1'),
      CERTIFICATE_ARN.replace(':acm:', ':iam:'),
      CERTIFICATE_ARN.replace('123456789012', '12345678901'),
      CERTIFICATE_ARN.replace('certificate/', 'cert/'),
      CERTIFICATE_ARN.toUpperCase(),
      `${CERTIFICATE_ARN}0`,
      `x${CERTIFICATE_ARN}`,
      'photos.example.com',
    ],
  },
  {
    command: ['up', ...UP_OPTIONS, '--instances', '2', '--certificate-arn', CERTIFICATE_ARN],
    option: '--hosted-zone-id',
    valid: ['Z0123456789ABCDEFGHIJ', 'Z1'],
    invalid: ['z0123', '/hostedzone/Z0123', 'Z', 'Z0123-45', `Z${'A'.repeat(32)}`, 'A0123456789'],
  },
  {
    command: ['logs', '--region', 'eu-west-1'],
    option: '--minutes',
    valid: ['1', '60', '99999'],
    invalid: ['0', '-1', '1.5', '100000', 'ten', '01'],
  },
];

for (const { command, option, valid, invalid } of OPTION_CASES) {
  test(`when ${option} is checked, then valid values pass and each invalid one is named in the error`, () => {
    for (const value of valid)
      assert.doesNotThrow(() => parseCommandLine([...command, `${option}=${value}`]), `${option} ${value} was refused`);
    for (const value of invalid) {
      assert.throws(
        () => parseCommandLine([...command, `${option}=${value}`]),
        (error: unknown) => error instanceof UsageError && error.message.includes(`${option} ${JSON.stringify(value)}: `),
        `${option} ${JSON.stringify(value)} was accepted`,
      );
    }
  });
}

test('when the option errors are worded, then each says what to do', () => {
  assert.equal(
    usageMessageOf(['down', '--bucket', 'xn--demo', '--region', 'eu-west-1']),
    '--bucket "xn--demo": S3 reserves this prefix or suffix',
  );
  assert.equal(
    usageMessageOf(['down', '--bucket', 'demo.bucket', '--region', 'eu-west-1']),
    '--bucket "demo.bucket": use 3–63 lowercase letters, digits or hyphens, starting and ending with a letter or digit (no dots)',
  );
  assert.equal(
    usageMessageOf(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--stack', '1x']),
    '--stack "1x": use 1–32 lowercase letters, digits or hyphens, starting with a letter',
  );
  assert.equal(
    usageMessageOf(['down', '--bucket', 'demo-bucket', '--region', 'eu']),
    '--region "eu": expected a region code such as eu-west-1',
  );
  assert.equal(
    usageMessageOf(['up', ...UP_OPTIONS, '--key-prefix', 'releases/']),
    '--key-prefix "releases/": releases/ holds the app releases; choose another prefix',
  );
  assert.equal(
    usageMessageOf(['up', ...UP_OPTIONS, '--key-prefix', 'x']),
    '--key-prefix "x": use letters, digits and ! _ . - in /-separated parts, ending with / (for example photos/)',
  );
  assert.equal(
    usageMessageOf(['up', ...UP_OPTIONS, '--instance-type', 'x']),
    '--instance-type "x": expected an EC2 instance type such as t3.micro',
  );
  assert.equal(
    usageMessageOf(['up', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--allow-cidr', 'x']),
    '--allow-cidr "x": expected an IPv4 CIDR such as 203.0.113.0/24 (your own address: <ip>/32)',
  );
  assert.equal(
    usageMessageOf(['attach', '--region', 'eu-west-1', '--instance-id', 'x']),
    '--instance-id "x": expected an instance id such as i-0123456789abcdef0',
  );
  assert.equal(usageMessageOf(['plan', '--for', 'launch']), '--for must be up, attach, down, logs or ci-role, not "launch".');
  assert.equal(usageMessageOf(['up', ...UP_OPTIONS, '--for', 'down']), '--for only applies to plan.');
  assert.match(usageMessageOf(['up', ...UP_OPTIONS, '--nope']), /^Unknown option '--nope'/);
  assert.equal(usageMessageOf(['down']), '--bucket is required for down.\n--region is required for down.');
});

test('when --help is given, then the usage is printed and the exit code is 0', async () => {
  const cli = capturingCli();

  assert.equal(await runCli(['up', '--help'], cli), 0);

  assert.equal(cli.errors.join('\n'), USAGE);
  assert.match(
    USAGE,
    /^Usage:\n {2}npm run infra:plan {4}-- \[--for up\|attach\|down\|logs\|ci-role\][\s\S]*infra:logs {4}-- --region REGION[\s\S]*infra:ci-role -- --repo OWNER\/NAME --bucket NAME[\s\S]*--delete[\s\S]*never pass keys as options\.$/,
  );
});

test('when plan is printed for each command, then its heading names the stack, region and what happens to the bucket', async () => {
  const printed = async (args: string[]) => {
    const cli = capturingCli();
    await runCli(['plan', ...args], cli);
    return cli.printed.join('\n').split('\n');
  };
  const up = await printed([...UP_OPTIONS, '--stack', 'demo2', '--instance-type', 't4g.small']);
  assert.deepEqual(up.slice(0, 3), [
    'Plan for `npm run infra:up`: a dry run. Nothing is sent to AWS and no credentials are needed.',
    'Stack demo2, bucket demo-bucket, region eu-west-1, t4g.small, photos under photos/, app port 80 open to 203.0.113.0/24 only.',
    'Shell variables ($VPC_ID, $SG_ID, …) hold values AWS returns at run time; <angle brackets> mark values only known then.',
  ]);
  assert.ok(
    up.includes(
      '   $ AMI_ID=$(aws ssm get-parameter --region eu-west-1 --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64 --query Parameter.Value --output text)',
    ),
  );
  assert.deepEqual(up.slice(-3), [
    'Up prints the app URL, instance id, role ARN and instance-profile ARN at the end. Every step is safe to repeat. The permissions it needs: infra/policies/operator-policy.json.',
    'Logs: npm run infra:logs -- --region eu-west-1 --stack demo2',
    'Teardown: npm run infra:down -- --bucket demo-bucket --region eu-west-1 --stack demo2   (see its plan with --for down)',
  ]);
  assert.deepEqual((await printed(UP_OPTIONS)).slice(-2), [
    'Logs: npm run infra:logs -- --region eu-west-1',
    'Teardown: npm run infra:down -- --bucket demo-bucket --region eu-west-1   (see its plan with --for down)',
  ]);
  assert.equal(
    (await printed([...UP_OPTIONS, '--adopt-bucket']))[1],
    'Stack s3-photo-share, bucket demo-bucket (adopted: its settings are left as they are), region eu-west-1, t3.micro, photos under photos/, app port 80 open to 203.0.113.0/24 only.',
  );
  assert.equal(
    (await printed(['--for', 'down', '--bucket', 'demo-bucket', '--region', 'eu-west-1']))[1],
    'Stack s3-photo-share, region eu-west-1; bucket demo-bucket is kept with its photos.',
  );
  assert.equal(
    (await printed(['--for', 'down', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--delete-bucket']))[1],
    'Stack s3-photo-share, region eu-west-1; bucket demo-bucket is deleted with every object in it, if this stack created it.',
  );
  assert.equal(
    (await printed(['--for', 'attach', '--instance-id', 'i-0123456789abcdef0', '--region', 'eu-west-1']))[1],
    'Stack s3-photo-share, instance i-0123456789abcdef0, region eu-west-1.',
  );
  assert.equal((await printed(['--for', 'logs', '--region', 'eu-west-1']))[1], 'Stack s3-photo-share, region eu-west-1.');
});

test('when plan runs with --instances 2 and a certificate, then it prints every load-balanced step with its CLI equivalent and touches no AWS client', async () => {
  const cli = capturingCli();

  assert.equal(await runCli(['plan', ...LOAD_BALANCED_OPTIONS], cli), 0);

  const plan = cli.printed.join('\n');
  for (const command of [
    `aws acm describe-certificate --region eu-west-1 --certificate-arn ${CERTIFICATE_ARN}`,
    'aws ssm put-parameter --region eu-west-1 --name /s3-photo-share/csrf-secret --type SecureString --value "$(openssl rand -hex 32)"',
    'aws ec2 describe-subnets --region eu-west-1 --filters Name=vpc-id,Values="$VPC_ID" Name=default-for-az,Values=true',
    'aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id "$LB_SG_ID" --protocol tcp --port 443 --cidr 203.0.113.0/24',
    'aws ec2 authorize-security-group-ingress --region eu-west-1 --group-id "$APP_SG_ID" --protocol tcp --port 80 --source-group "$LB_SG_ID"',
    'aws elbv2 create-target-group --region eu-west-1 --name s3-photo-share-tg --protocol HTTP --port 80',
    '--health-check-path /readyz',
    'Key=deregistration_delay.timeout_seconds,Value=60',
    'aws elbv2 create-load-balancer --region eu-west-1 --name s3-photo-share-lb --type application --scheme internet-facing',
    `--protocol HTTPS --port 443 --ssl-policy ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09 --certificates CertificateArn=${CERTIFICATE_ARN}`,
    "'Type=redirect,RedirectConfig={Protocol=HTTPS,Port=443,StatusCode=HTTP_301}'",
    'aws route53 change-resource-record-sets --hosted-zone-id Z0123456789ABCDEFGHIJ --change-batch file://alias.json',
    'aws ec2 create-launch-template --region eu-west-1 --launch-template-name s3-photo-share-template',
    '"HttpPutResponseHopLimit": 1',
    'aws autoscaling create-auto-scaling-group --region eu-west-1 --auto-scaling-group-name s3-photo-share-asg',
    '--min-size 2 --max-size 2 --desired-capacity 2',
    '--health-check-type ELB --health-check-grace-period 900',
    '"MinHealthyPercentage":50',
    'aws elbv2 describe-target-health --region eu-west-1',
    'curl --fail https://<domain>/readyz',
    'aws ec2 terminate-instances --region eu-west-1 --instance-ids <those>',
  ]) {
    assert.ok(plan.includes(command), `plan lacks: ${command}`);
  }
  assert.match(
    plan,
    /2 instances behind an Application Load Balancer open to 203\.0\.113\.0\/24 only, HTTPS with .* A new release rolls out by instance refresh while the URL keeps answering\./,
  );
  assert.doesNotMatch(plan, /run-instances --region/);
  const numbered = plan.split('\n').filter((line) => /^\d+\. /.test(line));
  const blocks = plan.split(/\n\n(?=\d+\. )/).slice(1);
  assert.equal(blocks.length, numbered.length);
  for (const block of blocks)
    assert.match(
      block,
      /\n {3}\$ aws |\n {3}\$ [A-Z_]+=\$\(aws |\n {3}\$ npm run build|\n {3}\$ curl /,
      `a step without a CLI equivalent: ${block.split('\n')[0]}`,
    );
  assert.doesNotMatch(plan, /AKIA|ASIA[A-Z0-9]{16}|aws_secret|AWS_SECRET_ACCESS_KEY|--profile/i);
});

test('when the load-balanced options are combined wrongly, then each problem is named with what to do', () => {
  assert.match(usageMessageOf(['up', ...UP_OPTIONS, '--certificate-arn', CERTIFICATE_ARN]), /--certificate-arn needs --instances N/);
  assert.match(
    usageMessageOf(['up', ...UP_OPTIONS, '--instances', '2', '--hosted-zone-id', 'Z0123456789ABCDEFGHIJ']),
    /--hosted-zone-id needs --certificate-arn/,
  );
  assert.match(
    usageMessageOf(['up', ...UP_OPTIONS, '--instances', '2', '--stack', `a${'b'.repeat(29)}`]),
    /--stack "ab{29}": with --instances, use at most 29 characters/,
  );
  assert.equal(usageMessageOf(['up', ...UP_OPTIONS, '--instances', '2', '--stack', `a${'b'.repeat(28)}`]), '');
  assert.equal(usageMessageOf(['up', ...UP_OPTIONS, '--stack', `a${'b'.repeat(31)}`]), '');
  assert.match(
    usageMessageOf(['up', ...UP_OPTIONS, '--instances', '2', '--certificate-arn', CERTIFICATE_ARN.replace('eu-west-1', 'us-east-1')]),
    /the certificate is in us-east-1, but a load balancer in eu-west-1 can only use a certificate from eu-west-1/,
  );
  assert.match(
    usageMessageOf(['up', ...UP_OPTIONS, '--instances', '1']),
    /expected a whole number from 2 to 20 \(leave --instances out for one instance/,
  );
  assert.match(
    usageMessageOf(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--instances', '2']),
    /--instances is not an option of down/,
  );
});

test('when up --instances is parsed, then the settings carry the load-balanced mode; without it, none', () => {
  const command = parseCommandLine(['up', ...LOAD_BALANCED_OPTIONS]);
  assert.deepEqual(command.name === 'up' && command.settings.loadBalanced, {
    instances: 2,
    certificateArn: CERTIFICATE_ARN,
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  });
  assert.deepEqual(parseCommandLine(['up', ...UP_OPTIONS, '--instances', '3']), {
    name: 'up',
    settings: { ...parseUp(UP_OPTIONS), loadBalanced: { instances: 3 } },
  });
  assert.equal('loadBalanced' in parseUp(UP_OPTIONS), false);
});

function parseUp(options: string[]) {
  const command = parseCommandLine(['up', ...options]);
  assert.equal(command.name, 'up');
  return (command as Extract<typeof command, { name: 'up' }>).settings;
}

test('when up --instances 2 and down run through the CLI, then up prints the URL, the load balancer and the record to create, and down leaves nothing', async () => {
  const account = new FakeAccount();
  account.scaling.addCertificate('eu-west-1', CERTIFICATE_ARN, { DomainName: 'photos.example.com' });
  const cli = { ...capturingCli(), createDeps: (region: string) => account.deps(region) };

  assert.equal(await runCli(['up', ...UP_OPTIONS, '--instances', '2', '--certificate-arn', CERTIFICATE_ARN], cli), 0);
  const dnsName = [...account.scaling.region('eu-west-1').loadBalancers.values()][0]?.DNSName;
  assert.equal(await runCli(['down', '--bucket', 'demo-bucket', '--region', 'eu-west-1', '--delete-bucket'], cli), 0);

  assert.deepEqual(cli.errors, []);
  const summary = account.runtime.lines.slice(account.runtime.lines.indexOf('') + 1, account.runtime.lines.indexOf('') + 6);
  assert.deepEqual(summary, [
    'App URL:              https://photos.example.com/',
    `Load balancer:        ${dnsName}`,
    `DNS record to create: photos.example.com. CNAME ${dnsName}.`,
    `Role ARN:             arn:aws:iam::123456789012:role/s3-photo-share-role`,
    `Instance profile ARN: arn:aws:iam::123456789012:instance-profile/s3-photo-share-instance-profile`,
  ]);
  assert.ok(account.scaling.isEmpty('eu-west-1') || account.scaling.region('eu-west-1').certificates.size === 1);
  assert.equal(account.scaling.region('eu-west-1').loadBalancers.size + account.scaling.region('eu-west-1').groups.size, 0);
});
