// Test doubles for the infra commands: AWS clients mocked with aws-sdk-client-mock, a fake clock, and a small fresh-account world.
import { mockClient } from 'aws-sdk-client-mock';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeVpcsCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { GetBucketTaggingCommand } from '@aws-sdk/client-s3';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { createAwsClients } from '../../infra/aws-clients.js';
import type { UpSettings } from '../../infra/stack.js';
import type { UpDeps } from '../../infra/up.js';

export const ACCOUNT_ID = '123456789012';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/s3-photo-share-role`;
export const PROFILE_ARN = `arn:aws:iam::${ACCOUNT_ID}:instance-profile/s3-photo-share-instance-profile`;
export const INSTANCE_ID = 'i-0123456789abcdef0';
export const SECURITY_GROUP_ID = 'sg-0123456789abcdef0';
export const VPC_ID = 'vpc-0123456789abcdef0';
export const AMI_ID = 'ami-0123456789abcdef0';
export const PUBLIC_IP = '198.51.100.7';
export const STACK_TAGS = [
  { Key: 'app', Value: 's3-photo-share' },
  { Key: 'stack', Value: 's3-photo-share' },
];

export function upSettings(overrides: Partial<UpSettings> = {}): UpSettings {
  return {
    stack: 's3-photo-share',
    region: 'eu-west-1',
    bucket: 'demo-bucket',
    allowCidr: '203.0.113.0/24',
    instanceType: 't3.micro',
    keyPrefix: 'photos/',
    ...overrides,
  };
}

/** An SDK-style service error: the SDK names errors by the service's error code, which is all the infra code looks at. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

export function fakeAws() {
  const aws = createAwsClients('eu-west-1');
  const stubs = {
    s3: mockClient(aws.s3),
    iam: mockClient(aws.iam),
    ec2: mockClient(aws.ec2),
    ssm: mockClient(aws.ssm),
    sts: mockClient(aws.sts),
  };
  stubs.sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT_ID, Arn: `arn:aws:iam::${ACCOUNT_ID}:user/operator` });

  /** Every command sent to any client, in the order sent, as e.g. "iam:CreateRole". */
  function commandSequence(): string[] {
    const calls = Object.entries(stubs).flatMap(([service, stub]) => stub.calls().map((call) => ({ service, call })));
    calls.sort((a, b) => (a.call.calledBefore(b.call) ? -1 : 1));
    return calls.map(({ service, call }) => `${service}:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`);
  }

  return { aws, stubs, commandSequence };
}

export type FakeAws = ReturnType<typeof fakeAws>;

/** The answers of an account where nothing of the stack exists yet. */
export function answerAsFreshAccount({ stubs }: FakeAws): void {
  stubs.s3.onAnyCommand().resolves({});
  stubs.s3.on(GetBucketTaggingCommand).rejects(awsError('NoSuchTagSet', 'The TagSet does not exist'));
  stubs.iam.onAnyCommand().resolves({});
  stubs.iam.on(CreateRoleCommand).resolves({ Role: { Arn: ROLE_ARN, RoleName: 's3-photo-share-role', Path: '/', RoleId: 'AROAEXAMPLE', CreateDate: new Date() } });
  stubs.iam.on(PutRolePolicyCommand).resolves({});
  stubs.iam.on(CreateInstanceProfileCommand).resolves({ InstanceProfile: instanceProfile([]) });
  stubs.iam.on(AddRoleToInstanceProfileCommand).resolves({});
  stubs.iam.on(GetInstanceProfileCommand).resolves({ InstanceProfile: instanceProfile(['s3-photo-share-role']) });
  stubs.ec2.onAnyCommand().resolves({});
  stubs.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: VPC_ID, IsDefault: true }] });
  stubs.ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: SECURITY_GROUP_ID });
  stubs.ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
  stubs.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  stubs.ec2.on(DescribeInstancesCommand, { InstanceIds: [INSTANCE_ID] }).resolves({ Reservations: [{ Instances: [runningInstance()] }] });
  stubs.ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: INSTANCE_ID }] });
  stubs.ssm.on(GetParameterCommand).resolves({ Parameter: { Value: AMI_ID } });
}

export function instanceProfile(roleNames: string[]) {
  return {
    Arn: PROFILE_ARN,
    InstanceProfileName: 's3-photo-share-instance-profile',
    InstanceProfileId: 'AIPAEXAMPLE',
    Path: '/',
    CreateDate: new Date(),
    Tags: STACK_TAGS,
    Roles: roleNames.map((RoleName) => ({ RoleName, Arn: ROLE_ARN, Path: '/', RoleId: 'AROAEXAMPLE', CreateDate: new Date() })),
  };
}

export function runningInstance(overrides: object = {}) {
  return {
    InstanceId: INSTANCE_ID,
    State: { Name: 'running' as const, Code: 16 },
    PublicIpAddress: PUBLIC_IP,
    MetadataOptions: { HttpTokens: 'required' as const, HttpEndpoint: 'enabled' as const, HttpPutResponseHopLimit: 2 },
    Tags: STACK_TAGS,
    ...overrides,
  };
}

/** A clock that only moves when the code under test sleeps, so waits and retries run instantly and measurably. */
export function fakeRuntime() {
  const runtime = {
    clockMs: 0,
    sleeps: [] as number[],
    lines: [] as string[],
    log: (line: string) => void runtime.lines.push(line),
    sleep: async (ms: number) => {
      runtime.sleeps.push(ms);
      runtime.clockMs += ms;
    },
    now: () => runtime.clockMs,
  };
  return runtime;
}

export function upDeps(fake: FakeAws, overrides: Partial<UpDeps> = {}) {
  const runtime = fakeRuntime();
  const deps: UpDeps = {
    ...runtime,
    aws: fake.aws,
    buildRelease: async () => ({ id: '0.1.0-abcdef012345', tarball: Buffer.from('tarball'), packageLock: Buffer.from('{}') }),
    isReady: async () => true,
    ...overrides,
  };
  return { deps, runtime };
}
