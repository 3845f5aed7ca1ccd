// The facts an outside review of infra/ against AWS's own references found missing or wrong: each stated here with its page, in the account model or the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand } from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { parseCommandLine } from '../../infra/cli.js';
import { upSteps } from '../../infra/up.js';
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
