// The facts an outside review of infra/ against AWS's own references found missing or wrong: each stated here with its page, in the account model or the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateLaunchTemplateCommand,
  CreateSecurityGroupCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { StartInstanceRefreshCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { parseCommandLine } from '../cli.js';
import { architectureOf } from '../stack.js';
import { renderUserData } from '../templates.js';
import { appPolicy } from '../resources/role.js';
import { upSteps } from '../up.js';
import { permissionsBoundary } from '../resources/permissions-boundary.js';
import { githubTrustPolicy } from '../resources/deploy-role.js';
import { trustPolicy } from '../resources/role.js';
import { awsError, wireErrorOf } from './aws-errors.js';
import { FakeAccount, runAgainst, STACK_TAGS, upSettings } from './fake-aws.js';

const REGION = 'eu-west-1';
const SUBNETS = ['subnet-eu-west-1a', 'subnet-eu-west-1b'];

function account() {
  const model = new FakeAccount();
  return { model, aws: model.deps(REGION).aws };
}

// Elastic Load Balancing API Reference (v2), CreateTargetGroup: "This operation is idempotent, which means that it completes at
// most one time. If you attempt to create multiple target groups with the same settings, each call succeeds."
test('when a target group is created twice with the same settings, then the second call succeeds with the same group; other settings are refused', async () => {
  const { aws } = account();
  const create = (Port: number) =>
    aws.elbv2.send(
      new CreateTargetGroupCommand({ Name: 'demo-tg', Protocol: 'HTTP', Port, VpcId: `vpc-${REGION}`, TargetType: 'instance' }),
    );

  const first = await create(80);
  const again = await create(80);

  assert.equal(again.TargetGroups?.[0]?.TargetGroupArn, first.TargetGroups?.[0]?.TargetGroupArn);
  await assert.rejects(create(8080), { name: 'DuplicateTargetGroupNameException', Code: 'DuplicateTargetGroupName' });
});

// Elastic Load Balancing API Reference (v2), CreateLoadBalancer: "If you attempt to create multiple load balancers with the same
// settings, each call succeeds."
test('when a load balancer is created twice with the same settings, then the second call succeeds with the same load balancer', async () => {
  const { aws } = account();
  const create = () =>
    aws.elbv2.send(new CreateLoadBalancerCommand({ Name: 'demo-lb', Type: 'application', Scheme: 'internet-facing', Subnets: SUBNETS }));

  const first = await create();
  const again = await create();

  assert.equal(again.LoadBalancers?.[0]?.LoadBalancerArn, first.LoadBalancers?.[0]?.LoadBalancerArn);
});

// Elastic Load Balancing API Reference (v2), CreateLoadBalancer, Name: "can have a maximum of 32 characters, must contain only
// alphanumeric characters or hyphens, must not begin or end with a hyphen, and must not begin with "internal-"."
test('when a load balancer is named against ELB’s rules, then the model refuses it with ValidationError', async () => {
  const { aws } = account();
  for (const Name of ['internal-lb', 'a'.repeat(33), '-lb', 'lb-', 'demo_lb']) {
    await assert.rejects(
      aws.elbv2.send(new CreateLoadBalancerCommand({ Name, Subnets: SUBNETS })),
      { name: 'ValidationError', Code: 'ValidationError' },
      Name,
    );
  }
});

// Elastic Load Balancing API Reference (v2), DeleteLoadBalancer: "If the load balancer does not exist or has already been deleted,
// the call succeeds."
test('when a load balancer that is gone is deleted, then the call succeeds', async () => {
  const { aws } = account();
  const missing = `arn:aws:elasticloadbalancing:${REGION}:123456789012:loadbalancer/app/demo-lb/0123456789abcdef`;

  await aws.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: missing }));
});

// Elastic Load Balancing API Reference (v2), DescribeTags, Errors: LoadBalancerNotFound, TargetGroupNotFound, ListenerNotFound,
// each for its own kind of ARN.
test('when the tags of a target group that is gone are read, then ELB answers TargetGroupNotFound, not LoadBalancerNotFound', async () => {
  const { aws } = account();
  const missing = `arn:aws:elasticloadbalancing:${REGION}:123456789012:targetgroup/demo-tg/0123456789abcdef`;

  await assert.rejects(aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [missing] })), {
    name: 'TargetGroupNotFoundException',
    Code: 'TargetGroupNotFound',
  });
});

// Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidPermission.Duplicate, "The specified inbound or outbound
// rule already exists for that security group."
test('when a rule the group already holds is authorized again, then EC2 answers InvalidPermission.Duplicate and the group is unchanged', async () => {
  const { model, aws } = account();
  const { GroupId } = await aws.ec2.send(
    new CreateSecurityGroupCommand({ GroupName: 'demo', Description: 'demo', VpcId: `vpc-${REGION}` }),
  );
  const authorize = (CidrIp: string) =>
    aws.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp }] }],
      }),
    );
  await authorize('203.0.113.0/24');
  const before = structuredClone(model.region(REGION).groups.get(GroupId!)?.IpPermissions);

  await assert.rejects(authorize('203.0.113.0/24'), { name: 'InvalidPermission.Duplicate' });
  assert.deepEqual(model.region(REGION).groups.get(GroupId!)?.IpPermissions, before);
});

// IAM User Guide, "IAM and AWS STS quotas": "Role policy size cannot exceed 10,240 characters" for the aggregate of a role's inline
// policies, and "IAM does not count white space"; IAM API Reference, PutRolePolicy, Errors: LimitExceeded (409).
test('when a role’s inline policies would total more than 10,240 characters without white space, then IAM answers LimitExceeded', async () => {
  const { model, aws } = account();
  model.addRole('demo-role', STACK_TAGS);
  const document = (characters: number) => {
    const frame = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '' }] });
    return JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'x'.repeat(characters - frame.length) }],
    });
  };
  const put = (PolicyName: string, PolicyDocument: string) =>
    aws.iam.send(new PutRolePolicyCommand({ RoleName: 'demo-role', PolicyName, PolicyDocument }));

  await put('first', document(6_000));
  // White space is not counted: the same policy spread over lines still fits.
  await put('second', JSON.stringify(JSON.parse(document(4_240)), null, 8));
  const refused = await put('third', document(100)).then(
    () => undefined,
    (error: unknown) => error,
  );

  assert.equal((refused as Error | undefined)?.name, 'LimitExceededException');
  assert.equal(wireErrorOf(refused)?.status, 409);
  assert.equal((refused as Error).message, 'Maximum policy size of 10240 bytes exceeded for role demo-role');
  assert.deepEqual([...(model.roles.get('demo-role')?.inlinePolicies.keys() ?? [])], ['first', 'second']);
  // Replacing a policy counts its new size in place of the old one.
  await put('first', document(6_000));
});

// Amazon S3 User Guide, "General purpose bucket naming rules": names must not start with xn--, sthree- or amzn-s3-demo-, and must
// not end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3.
test('when --bucket has a prefix or suffix S3 reserves, then the command line refuses it before any AWS call', () => {
  for (const bucket of ['sthree-photos', 'sthree-configurator-photos', 'amzn-s3-demo-photos', 'photos--x-s3', 'photos--table-s3']) {
    assert.throws(
      () => parseCommandLine(['up', '--bucket', bucket, '--region', REGION, '--allow-cidr', '203.0.113.0/24']),
      /S3 reserves this prefix or suffix/,
      bucket,
    );
  }
});

// Elastic Load Balancing API Reference (v2), CreateLoadBalancer, Name: "must not begin with "internal-"".
test('when --stack begins with internal- and --instances asks for a load balancer, then the command line refuses it; without --instances it is fine', () => {
  const up = (...extra: string[]) =>
    parseCommandLine(['up', '--bucket', 'demo-bucket', '--region', REGION, '--allow-cidr', '203.0.113.0/24', ...extra]);

  for (const stack of ['internal', 'internal-demo'])
    assert.throws(() => up('--stack', stack, '--instances', '2'), /--stack "internal[^"]*": .*internal-/, stack);
  assert.equal(up('--stack', 'internal-demo').name, 'up');
  assert.equal(up('--stack', 'internals', '--instances', '2').name, 'up');
});

// EC2 API Reference, GetConsoleOutput: the latest output "is supported on instance types that use the Nitro hypervisor"; the page
// names no error code for the others. So up must not hang its t2 fallback on one guessed code.
test('when EC2 refuses the latest console output of a t2 with any client error, then up reads the buffered output and reports the failure', async () => {
  const model = new FakeAccount();
  const { probeReadiness } = model.deps(REGION);
  model.fail(
    'ec2',
    'GetConsoleOutput',
    await awsError('ec2', 'InvalidParameterCombination', 'The latest console output is not supported for this instance type.'),
    Infinity,
    (input) => input.Latest === true,
  );
  const failingSetup = async (url: string) => {
    for (const instance of model.region(REGION).instances.values()) instance.setup = 'failed';
    return probeReadiness(url);
  };

  await assert.rejects(
    runAgainst(model, REGION, upSteps(upSettings({ instanceType: 't2.micro' })), { probeReadiness: failingSetup }),
    /setup of i-\w+ failed: s3-photo-share-setup: FAILED \(exit 1\) at line 42/,
  );
  assert.deepEqual(
    model.inputsOf('GetConsoleOutput').map((input) => input.Latest),
    [true, undefined],
  );
});

// Elastic Load Balancing API Reference (v2), LoadBalancerState: "provisioning", then "active" (the SDK's LoadBalancerAvailable
// waiter retries on "provisioning"); TargetHealth: a reason code with every state but healthy, "Elb.RegistrationInProgress" while
// the load balancer is not ready to check, "Elb.InitialHealthChecking" during the first checks.
test('when a load balancer and its group are new, then it is provisioning and the targets wait with ELB’s reason codes until they are healthy', async () => {
  const model = new FakeAccount();
  const steps = upSteps(upSettings({ loadBalanced: { instances: 2 } }));
  const group = steps.findIndex((step) => step.title.startsWith('Create the Auto Scaling group'));
  await runAgainst(model, REGION, steps.slice(0, group + 1));
  const { elbv2 } = model.deps(REGION).aws;
  const state = async () =>
    (await elbv2.send(new DescribeLoadBalancersCommand({ Names: ['s3-photo-share-lb'] }))).LoadBalancers?.[0]?.State?.Code;
  const health = async () => {
    const TargetGroupArn = [...model.scaling.region(REGION).targetGroups.keys()][0];
    const { TargetHealthDescriptions = [] } = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn }));
    return TargetHealthDescriptions.map(({ TargetHealth }) => [TargetHealth?.State, TargetHealth?.Reason]);
  };

  assert.equal(await state(), 'provisioning');
  assert.deepEqual(await health(), [
    ['initial', 'Elb.RegistrationInProgress'],
    ['initial', 'Elb.RegistrationInProgress'],
  ]);
  model.runtime.clockMs += model.scaling.loadBalancerProvisioningMs;
  assert.equal(await state(), 'active');
  assert.deepEqual(await health(), [
    ['initial', 'Elb.InitialHealthChecking'],
    ['initial', 'Elb.InitialHealthChecking'],
  ]);
  model.runtime.clockMs += 10 * 60_000;
  assert.deepEqual(await health(), [
    ['healthy', undefined],
    ['healthy', undefined],
  ]);
});

/** A policy document of exactly this many characters once white space is taken out. */
function policyOfSize(characters: number): string {
  const frame = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '' }] });
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'x'.repeat(characters - frame.length) }],
  });
}

// IAM User Guide, "IAM and AWS STS quotas": "Managed policy size: 6,144 characters", "Role trust policy length: 2,048 characters"
// (white space not counted); IAM API Reference, CreatePolicy, CreatePolicyVersion, CreateRole and UpdateAssumeRolePolicy, Errors:
// LimitExceeded (409).
test('when a managed policy or a trust policy is longer than IAM allows, then IAM answers LimitExceeded; the documents infra writes fit with room', async () => {
  const { model, aws } = account();
  const trust = (characters: number) => {
    const frame = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: '' }, Action: 'sts:AssumeRole' }],
    });
    return JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'x'.repeat(characters - frame.length) }, Action: 'sts:AssumeRole' }],
    });
  };

  await aws.iam.send(new CreatePolicyCommand({ PolicyName: 'fits', PolicyDocument: policyOfSize(6_144) }));
  await assert.rejects(aws.iam.send(new CreatePolicyCommand({ PolicyName: 'long', PolicyDocument: policyOfSize(6_145) })), {
    name: 'LimitExceededException',
    message: 'Cannot exceed quota for PolicySize: 6144',
  });
  await assert.rejects(
    aws.iam.send(new CreatePolicyVersionCommand({ PolicyArn: [...model.managedPolicies.keys()][0], PolicyDocument: policyOfSize(6_145) })),
    { name: 'LimitExceededException' },
  );
  await aws.iam.send(new CreateRoleCommand({ RoleName: 'fits', AssumeRolePolicyDocument: trust(2_048) }));
  await assert.rejects(aws.iam.send(new CreateRoleCommand({ RoleName: 'long', AssumeRolePolicyDocument: trust(2_049) })), {
    name: 'LimitExceededException',
    message: 'Cannot exceed quota for ACLSizePerRole: 2048',
  });
  await assert.rejects(aws.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'fits', PolicyDocument: trust(2_049) })), {
    name: 'LimitExceededException',
  });

  const size = (document: unknown) => JSON.stringify(document).replace(/\s/g, '').length;
  const longest = { stack: 'a'.repeat(32), bucket: 'b'.repeat(63), region: 'ap-southeast-3' };
  assert.ok(size(permissionsBoundary(longest, '123456789012')) < 6_144 / 2);
  assert.ok(size(trustPolicy()) < 2_048 / 2);
  const repository = { fullName: `${'o'.repeat(39)}/${'r'.repeat(100)}`, ownerId: '12345678901', repoId: '12345678901' };
  assert.ok(size(githubTrustPolicy(repository, '123456789012')) < 2_048 / 2);
});

// AWS Systems Manager API Reference, PutParameter, Name: "A parameter name can't be prefixed with "aws" or "ssm"
// (case-insensitive)"; a bad name is a ValidationException.
test('when a parameter name begins with aws or ssm, then SSM refuses it, and the command line refuses a stack that would make one', async () => {
  const { aws } = account();
  for (const Name of ['/aws-demo/csrf-secret', '/SSM-demo/csrf-secret', 'awsDemo'])
    await assert.rejects(
      aws.ssm.send(new PutParameterCommand({ Name, Type: 'SecureString', Value: 'x'.repeat(64) })),
      { name: 'ValidationException' },
      Name,
    );
  await aws.ssm.send(new PutParameterCommand({ Name: '/demo-aws/csrf-secret', Type: 'SecureString', Value: 'x'.repeat(64) }));

  const up = (...extra: string[]) =>
    parseCommandLine(['up', '--bucket', 'demo-bucket', '--region', REGION, '--allow-cidr', '203.0.113.0/24', ...extra]);
  for (const stack of ['aws-demo', 'ssmdemo'])
    assert.throws(() => up('--stack', stack, '--instances', '2'), /--stack "\w+-?\w*": .*aws or ssm/, stack);
  assert.equal(up('--stack', 'aws-demo').name, 'up');
  // The rule is about the prefix only, as SSM just accepted /demo-aws/.
  assert.equal(up('--stack', 'demo-aws', '--instances', '2').name, 'up');
});

// Amazon EC2 Auto Scaling API Reference, RefreshPreferences: MaxHealthyPercentage from 100 to 200, given only with
// MinHealthyPercentage, and "The difference between the maximum and minimum healthy percentages cannot be greater than 100".
test('when an instance refresh asks for healthy percentages Auto Scaling does not allow, then it answers ValidationError', async () => {
  const model = new FakeAccount();
  await runAgainst(model, REGION, upSteps(upSettings({ loadBalanced: { instances: 2 } })));
  const { autoscaling } = model.deps(REGION).aws;
  const start = (Preferences: { MinHealthyPercentage?: number; MaxHealthyPercentage?: number }) =>
    autoscaling.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 's3-photo-share-asg', Preferences }));

  for (const preferences of [
    { MaxHealthyPercentage: 100 },
    { MinHealthyPercentage: 50, MaxHealthyPercentage: 99 },
    { MinHealthyPercentage: 50, MaxHealthyPercentage: 201 },
    { MinHealthyPercentage: 0, MaxHealthyPercentage: 110 },
  ])
    await assert.rejects(start(preferences), { name: 'ValidationError' }, JSON.stringify(preferences));
  await start({ MinHealthyPercentage: 50, MaxHealthyPercentage: 100 });
});

// Amazon EC2 Instance Types, "General purpose": A1 instances are powered by AWS Graviton processors (arm64), as the t4g, m6g… families
// are; DescribeInstanceTypes lists a1's SupportedArchitectures as arm64 only.
test('when the instance type is an a1 (the first Graviton), then the arm64 image is chosen, as for the later Graviton families', () => {
  assert.deepEqual(['a1.medium', 't4g.micro', 'm7gd.large', 'is4gen.large', 't3.micro', 'g4dn.xlarge', 'g6e.xlarge'].map(architectureOf), [
    'arm64',
    'arm64',
    'arm64',
    'arm64',
    'x86_64',
    'x86_64',
    'x86_64',
  ]);
});

// Amazon S3 User Guide, "Naming Amazon S3 objects": a key's UTF-8 encoding is at most 1,024 bytes. The app's keys add a folder, the
// photo id and an extension to the prefix, so a prefix near that length would let up finish and every upload fail.
test('when --key-prefix is longer than 512 characters, then the command line refuses it; 512 is accepted', () => {
  const up = (prefix: string) =>
    parseCommandLine(['up', '--bucket', 'demo-bucket', '--region', REGION, '--allow-cidr', '203.0.113.0/24', '--key-prefix', prefix]);

  assert.equal(up(`${'p'.repeat(511)}/`).name, 'up');
  assert.throws(() => up(`${'p'.repeat(512)}/`), /--key-prefix "p+\/": use at most 512 characters/);
});

// Amazon EC2 User Guide, "Run commands when you launch an EC2 instance with user data input": "User data is limited to 16 KB, in raw
// form, before it is base64-encoded"; RunInstances and the launch template answer InvalidParameterValue beyond.
test('when user data is over 16 KB, then EC2 refuses it; the boot script with the longest settings infra takes keeps a quarter of it free', async () => {
  const { aws } = account();
  const userData = (bytes: number) => Buffer.from('#'.repeat(bytes)).toString('base64');

  await aws.ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, UserData: userData(16_384) }));
  await assert.rejects(
    aws.ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, UserData: userData(16_385) })),
    { name: 'InvalidParameterValue', message: 'User data is limited to 16384 bytes' },
  );
  await assert.rejects(
    aws.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'demo', LaunchTemplateData: { UserData: userData(16_385) } })),
    { name: 'InvalidParameterValue' },
  );

  const stack = 'a'.repeat(32);
  const keyPrefix = `${'p'.repeat(511)}/`;
  const script = renderUserData({
    bucket: 'b'.repeat(63),
    keyPrefix,
    region: 'ap-southeast-3',
    releasePrefix: `releases/${stack}/0.1.0-abcdef012345/`,
    logGroup: `/s3-photo-share/${stack}`,
    port: 80,
    csrfSecretParameter: `/${stack}/csrf-secret`,
    trustProxy: 1,
  });
  assert.ok(Buffer.byteLength(script) < (16_384 * 3) / 4, `${Buffer.byteLength(script)} bytes`);
  const policy = appPolicy({ ...upSettings({ stack, bucket: 'b'.repeat(63), region: 'ap-southeast-3', keyPrefix }) }, '123456789012');
  assert.ok(JSON.stringify(policy).length < 10_240 / 2);
});

// Amazon EC2 API Reference, CreateSecurityGroup, GroupName: "Up to 255 characters in length. Can't start with sg-."
test('when a security group name begins with sg-, then EC2 refuses it, and the command line refuses a stack whose groups would', async () => {
  const { aws } = account();
  await assert.rejects(
    aws.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'sg-demo-web', Description: 'demo', VpcId: `vpc-${REGION}` })),
    { name: 'InvalidParameterValue', message: 'Group names may not be in the format sg-*.' },
  );

  assert.throws(
    () => parseCommandLine(['up', '--bucket', 'demo-bucket', '--region', REGION, '--allow-cidr', '203.0.113.0/24', '--stack', 'sg-demo']),
    /--stack "sg-demo": .*sg-/,
  );
  assert.equal(parseCommandLine(['down', '--bucket', 'demo-bucket', '--region', REGION, '--stack', 'sgdemo']).name, 'down');
});

// IAM API Reference, DeleteRolePolicy, DetachRolePolicy and RemoveRoleFromInstanceProfile, Errors: NoSuchEntity (404) for what is
// not there; a removal never succeeds silently.
test('when a policy or role that is not there is removed, then IAM answers NoSuchEntity', async () => {
  const { model, aws } = account();
  model.addRole('demo-role', STACK_TAGS);
  model.addProfile('demo-profile', STACK_TAGS);

  for (const request of [
    aws.iam.send(new DeleteRolePolicyCommand({ RoleName: 'demo-role', PolicyName: 'absent' })),
    aws.iam.send(new DetachRolePolicyCommand({ RoleName: 'demo-role', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' })),
    aws.iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: 'demo-profile', RoleName: 'demo-role' })),
  ])
    await assert.rejects(request, { name: 'NoSuchEntityException' });
});
