// Tests of `up --instances N` and its `down` against the in-memory account: end states, converging reruns, releases rolled by instance refresh, mode switches and what is never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downSteps, type DownSettings } from '../down.js';
import { MIN_HEALTHY_PERCENTAGE } from '../resources/auto-scaling.js';
import { TLS_POLICY } from '../resources/listeners.js';
import { DEREGISTRATION_DELAY_SECONDS } from '../resources/target-group.js';
import type { LoadBalancedSettings } from '../stack.js';
import { upSteps } from '../up.js';
import { ACCOUNT_ID, AMI_ID, FakeAccount, runAgainst, STACK_TAGS, upSettings } from './fake-aws.js';
import { awsError } from './aws-errors.js';
import { LOAD_BALANCER_ZONE_ID } from './fake-scaling.js';

const REGION = 'eu-west-1';
const CERTIFICATE = `arn:aws:acm:${REGION}:${ACCOUNT_ID}:certificate/12345678-1234-1234-1234-123456789012`;
const ZONE = 'Z0123456789ABCDEFGHIJ';
const PROFILE_ARN = `arn:aws:iam::${ACCOUNT_ID}:instance-profile/s3-photo-share-instance-profile`;
const OTHER_TAGS = [STACK_TAGS[0]!, { Key: 'stack', Value: 'other-demo' }, STACK_TAGS[2]!];

function lbSettings(loadBalanced: Partial<LoadBalancedSettings> = {}) {
  return upSettings({ loadBalanced: { instances: 2, ...loadBalanced } });
}

function httpsSettings(instances = 2) {
  return lbSettings({ instances, certificateArn: CERTIFICATE, hostedZoneId: ZONE });
}

function downSettings(overrides: Partial<DownSettings> = {}): DownSettings {
  return { stack: 's3-photo-share', region: REGION, bucket: 'demo-bucket', deleteBucket: false, ...overrides };
}

/** Someone else's HTTP target group in the default VPC, with no targets. */
function foreignTargetGroup(arn: string, name: string, port: number, tags: { Key: string; Value: string }[]) {
  return {
    TargetGroupArn: arn,
    TargetGroupName: name,
    Protocol: 'HTTP',
    Port: port,
    VpcId: `vpc-${REGION}`,
    TargetType: 'instance',
    Tags: tags,
    attributes: {},
    targets: new Map(),
  };
}

/** An account with a certificate and a zone for the stack, and look-alikes of every new resource that are someone else's. */
function accountWithLookAlikes(): FakeAccount {
  const account = new FakeAccount();
  account.scaling.addCertificate(REGION, CERTIFICATE, {
    DomainName: 'photos.example.com',
    SubjectAlternativeNames: ['photos.example.com'],
  });
  account.scaling.addHostedZone(ZONE, 'example.com', [
    { Name: 'www.example.com.', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.10' }] },
  ]);
  const scaling = account.scaling.region(REGION);
  scaling.parameters.set('/other-demo/csrf-secret', { Type: 'SecureString', Value: 'not ours', Tags: OTHER_TAGS });
  scaling.launchTemplates.set('lt-foreign', {
    LaunchTemplateId: 'lt-foreign',
    LaunchTemplateName: 'payroll-template',
    Tags: [{ Key: 'app', Value: 'payroll' }],
    versions: [{ VersionNumber: 1, data: {} }],
  });
  scaling.targetGroups.set('arn:foreign-tg', foreignTargetGroup('arn:foreign-tg', 'payroll-tg', 8080, []));
  // Listed before the stack's: a lookup that forgot its name would take this one.
  scaling.loadBalancers.set('arn:payroll-lb', {
    ...foreignLoadBalancer('arn:payroll-lb', [], [{ Key: 'app', Value: 'payroll' }]),
    LoadBalancerName: 'payroll-lb',
    DNSName: 'payroll-lb.elb.amazonaws.com',
  });
  account.addSecurityGroup(REGION, { GroupName: 'other-demo-lb', Tags: OTHER_TAGS });
  scaling.groups.set('payroll-asg', {
    AutoScalingGroupName: 'payroll-asg',
    LaunchTemplate: { LaunchTemplateId: 'lt-foreign', Version: '1' },
    MinSize: 0,
    MaxSize: 4,
    DesiredCapacity: 0,
    VPCZoneIdentifier: `subnet-${REGION}a`,
    TargetGroupARNs: [],
    HealthCheckType: 'EC2',
    HealthCheckGracePeriod: 0,
    Tags: [{ Key: 'app', Value: 'payroll' }],
    instances: new Map(),
    refreshes: [],
  });
  return account;
}

function stackGroups(account: FakeAccount) {
  return [...account.region(REGION).groups.values()].filter((group) => group.GroupName.startsWith('s3-photo-share-'));
}

function groupNamed(account: FakeAccount, name: string) {
  return [...account.region(REGION).groups.values()].find((group) => group.GroupName === name);
}

function liveInstances(account: FakeAccount) {
  return [...account.region(REGION).instances.values()].filter(
    (instance) => instance.State.Name !== 'terminated' && instance.State.Name !== 'shutting-down',
  );
}

/** The stack's load balancer in the model (the account also holds someone else's, listed first). */
function stackLoadBalancer(account: FakeAccount) {
  return [...account.scaling.region(REGION).loadBalancers.values()].find((lb) => lb.LoadBalancerName === 's3-photo-share-lb');
}

function asg(account: FakeAccount) {
  return account.scaling.region(REGION).groups.get('s3-photo-share-asg');
}

function mutatingCalls(account: FakeAccount): string[] {
  return account.commandNames().filter((name) => !/:(Get|Describe|List)/.test(name));
}

/** The account after every instance the model lists as terminated is forgotten, as EC2 does after a while. */
function settledSnapshot(account: FakeAccount): unknown {
  account.runtime.clockMs += 60 * 60_000;
  const region = account.region(REGION);
  for (const [id, instance] of region.instances) if (instance.State.Name === 'terminated') region.instances.delete(id);
  return account.snapshot();
}

/** An instance refresh someone else started on the stack's group, `percentage` done, ending at `endsAt` (fake clock). */
/** A load balancer named like the stack's but someone else's (its tags say so, or it has none). */
function foreignLoadBalancer(arn: string, securityGroups: string[], tags: { Key: string; Value: string }[]) {
  return {
    LoadBalancerArn: arn,
    LoadBalancerName: 's3-photo-share-lb',
    DNSName: 'theirs.elb.amazonaws.com',
    CanonicalHostedZoneId: LOAD_BALANCER_ZONE_ID,
    Scheme: 'internet-facing',
    Type: 'application',
    IpAddressType: 'ipv4',
    VpcId: `vpc-${REGION}`,
    SecurityGroups: securityGroups,
    AvailabilityZones: [],
    Tags: tags,
  };
}

function startOthersRefresh(account: FakeAccount, id: string, percentage: number, endsAt: number): void {
  asg(account)?.refreshes.unshift({
    InstanceRefreshId: id,
    Status: 'InProgress',
    PercentageComplete: percentage,
    minHealthyPercentage: 50,
    outdatedAtStart: 0,
    endsAt,
  });
}

test('when up --instances 2 with a certificate and a zone, then down, then the account is exactly as before, look-alikes included', async () => {
  const account = accountWithLookAlikes();
  const before = account.snapshot();

  await runAgainst(account, REGION, upSteps(httpsSettings()));
  await runAgainst(account, REGION, downSteps(downSettings({ deleteBucket: true })));

  assert.deepEqual(settledSnapshot(account), before);
});

test('when up --instances 2 runs, then two instances from the template run in two zones behind the load balancer, each with the one profile, IMDSv2 and hop limit 1', async () => {
  const account = accountWithLookAlikes();

  const state = await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.deepEqual(state.subnetIds, [`subnet-${REGION}a`, `subnet-${REGION}b`, `subnet-${REGION}c`]);
  assert.equal(asg(account)?.VPCZoneIdentifier, `subnet-${REGION}a,subnet-${REGION}b,subnet-${REGION}c`);
  const instances = liveInstances(account);
  assert.equal(instances.length, 2);
  assert.equal(new Set([...(asg(account)?.instances.values() ?? [])].map((launched) => launched.zone)).size, 2);
  for (const instance of instances) {
    assert.equal(instance.ImageId, AMI_ID);
    assert.deepEqual(instance.MetadataOptions, { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' });
    assert.deepEqual(instance.SecurityGroupIds, [groupNamed(account, 's3-photo-share-app')?.GroupId]);
    assert.deepEqual(instance.Tags, [
      { Key: 'Name', Value: 's3-photo-share' },
      ...STACK_TAGS,
      { Key: 'aws:autoscaling:groupName', Value: 's3-photo-share-asg' },
    ]);
    assert.match(instance.UserData ?? '', /readonly CSRF_SECRET_PARAMETER='\/s3-photo-share\/csrf-secret'\nreadonly TRUST_PROXY='1'\n/);
  }
  assert.deepEqual(
    [...account.region(REGION).associations.values()].map((association) => association.IamInstanceProfile.Arn),
    [PROFILE_ARN, PROFILE_ARN],
  );
  const group = asg(account);
  assert.deepEqual(
    [group?.MinSize, group?.DesiredCapacity, group?.MaxSize, group?.HealthCheckType, group?.HealthCheckGracePeriod],
    [2, 2, 2, 'ELB', 900],
  );
  assert.deepEqual(group?.Tags, STACK_TAGS);
  assert.equal(state.appUrl, 'https://photos.example.com/');
  assert.equal(state.instanceId, undefined);
});

test('when up --instances 2 runs, then the instances’ group admits the app port from the load balancer’s group only, with no address range', async () => {
  const account = accountWithLookAlikes();

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  const lbGroup = groupNamed(account, 's3-photo-share-lb');
  assert.deepEqual(groupNamed(account, 's3-photo-share-app')?.IpPermissions, [
    {
      IpProtocol: 'tcp',
      FromPort: 80,
      ToPort: 80,
      IpRanges: [],
      UserIdGroupPairs: [{ GroupId: lbGroup?.GroupId, Description: 'S3 Photo Share from its load balancer' }],
    },
  ]);
  assert.deepEqual(lbGroup?.IpPermissions, [
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'S3 Photo Share HTTP' }] },
    { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'S3 Photo Share HTTPS' }] },
  ]);
  assert.equal(groupNamed(account, 's3-photo-share-web'), undefined);
  for (const group of stackGroups(account)) assert.deepEqual(group.Tags, [{ Key: 'Name', Value: 's3-photo-share' }, ...STACK_TAGS]);
});

test('when a certificate is given, then 443 serves HTTPS with the TLS 1.3 policy, 80 only redirects, and the alias record points at the load balancer', async () => {
  const account = accountWithLookAlikes();

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  const lb = stackLoadBalancer(account);
  const targetGroup = [...account.scaling.region(REGION).targetGroups.values()].find(
    (group) => group.TargetGroupName === 's3-photo-share-tg',
  );
  assert.deepEqual(
    [...account.scaling.region(REGION).listeners.values()].map(({ ListenerArn: _arn, LoadBalancerArn: _lb, ...listener }) => listener),
    [
      {
        Port: 443,
        Protocol: 'HTTPS',
        SslPolicy: TLS_POLICY,
        Certificates: [{ CertificateArn: CERTIFICATE }],
        DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroup?.TargetGroupArn }],
        Tags: STACK_TAGS,
      },
      {
        Port: 80,
        Protocol: 'HTTP',
        DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
        Tags: STACK_TAGS,
      },
    ],
  );
  assert.equal(TLS_POLICY, 'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09');
  assert.deepEqual(account.scaling.hostedZones.get(ZONE)?.records.at(-1), {
    Name: 'photos.example.com.',
    Type: 'A',
    AliasTarget: { HostedZoneId: LOAD_BALANCER_ZONE_ID, DNSName: `dualstack.${lb?.DNSName}.`, EvaluateTargetHealth: true },
  });
  assert.deepEqual(lb?.Tags, [...STACK_TAGS, { Key: 'dns-zone', Value: ZONE }, { Key: 'dns-name', Value: 'photos.example.com' }]);
  assert.deepEqual(
    [lb?.Scheme, lb?.Type, lb?.IpAddressType, lb?.AvailabilityZones.length, lb?.SecurityGroups],
    ['internet-facing', 'application', 'ipv4', 3, [groupNamed(account, 's3-photo-share-lb')?.GroupId]],
  );
  assert.deepEqual(
    [
      targetGroup?.HealthCheckPath,
      targetGroup?.Matcher,
      targetGroup?.Port,
      targetGroup?.Protocol,
      targetGroup?.attributes['deregistration_delay.timeout_seconds'],
    ],
    ['/readyz', { HttpCode: '200' }, 80, 'HTTP', String(DEREGISTRATION_DELAY_SECONDS)],
  );
  assert.deepEqual(
    [
      targetGroup?.HealthCheckProtocol,
      targetGroup?.HealthCheckIntervalSeconds,
      targetGroup?.HealthCheckTimeoutSeconds,
      targetGroup?.HealthyThresholdCount,
      targetGroup?.UnhealthyThresholdCount,
      targetGroup?.TargetType,
      targetGroup?.VpcId,
      targetGroup?.Tags,
    ],
    ['HTTP', 15, 5, 2, 3, 'instance', `vpc-${REGION}`, STACK_TAGS],
  );
  assert.deepEqual(account.inputsOf('ChangeResourceRecordSets'), [
    {
      HostedZoneId: ZONE,
      ChangeBatch: {
        Comment: 'S3 Photo Share s3-photo-share',
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'photos.example.com',
              Type: 'A',
              AliasTarget: { HostedZoneId: LOAD_BALANCER_ZONE_ID, DNSName: `dualstack.${lb?.DNSName}`, EvaluateTargetHealth: true },
            },
          },
        ],
      },
    },
  ]);
});

test('when no certificate is given, then only HTTP 80 forwards, nothing listens on 443, the URL is the load balancer’s, and no DNS is touched', async () => {
  const account = accountWithLookAlikes();
  const zonesBefore = structuredClone([...account.scaling.hostedZones]);

  const state = await runAgainst(account, REGION, upSteps(lbSettings()));

  const listeners = [...account.scaling.region(REGION).listeners.values()];
  assert.deepEqual(
    listeners.map((listener) => [listener.Port, listener.Protocol, (listener.DefaultActions[0] as { Type: string }).Type]),
    [[80, 'HTTP', 'forward']],
  );
  assert.deepEqual(
    groupNamed(account, 's3-photo-share-lb')?.IpPermissions.map((rule) => rule.FromPort),
    [80],
  );
  const lb = stackLoadBalancer(account);
  assert.equal(state.appUrl, `http://${lb?.DNSName}/`);
  assert.deepEqual([...account.scaling.hostedZones], zonesBefore);
  assert.equal(account.inputsOf('DescribeCertificate').length, 0);
});

test('when a certificate is given without a zone, then up prints the CNAME record to create and creates none', async () => {
  const account = accountWithLookAlikes();
  const zonesBefore = structuredClone([...account.scaling.hostedZones]);

  const state = await runAgainst(account, REGION, upSteps(lbSettings({ certificateArn: CERTIFICATE })));

  const lb = stackLoadBalancer(account);
  assert.equal(state.dnsRecordToCreate, `photos.example.com. CNAME ${lb?.DNSName}.`);
  assert.ok(account.runtime.lines.includes(`Create this DNS record at your DNS provider: photos.example.com. CNAME ${lb?.DNSName}.`));
  assert.deepEqual([...account.scaling.hostedZones], zonesBefore);
  assert.equal(account.inputsOf('ChangeResourceRecordSets').length, 0);
});

test('when up --instances 2 runs again with nothing changed, then the load-balanced resources get no mutating call', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const before = settledSnapshot(account);
  account.calls.length = 0;
  account.runtime.lines.length = 0;

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  // The log says what it found as wanted, so a rerun reads as a check rather than as silence.
  for (const line of [
    'The HTTPS listener on port 443 is as wanted',
    'The HTTP listener on port 80 is as wanted',
    'photos.example.com already points at s3-photo-share-lb-000005.eu-west-1.elb.amazonaws.com',
  ])
    assert.ok(account.runtime.lines.includes(line), `the rerun did not log "${line}":\n${account.runtime.lines.join('\n')}`);
  assert.deepEqual(
    account.calls
      .filter((call) => ['elbv2', 'autoscaling', 'route53', 'acm'].includes(call.service) || call.command.includes('LaunchTemplate'))
      .filter((call) => !/^(Get|Describe|List)/.test(call.command)),
    [],
  );
  assert.deepEqual(
    mutatingCalls(account).filter((name) => name.startsWith('ec2:') || name.startsWith('ssm:')),
    [],
  );
  assert.deepEqual(settledSnapshot(account), before);
});

test('when a new release is deployed, then a new template version rolls out by instance refresh at 50 % healthy, and the URL answers throughout', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const oldInstances = liveInstances(account).map((instance) => instance.InstanceId);
  account.releaseId = '0.2.0-fedcba987654';
  account.calls.length = 0;
  let answeredEverySleep = true;
  const deps = account.deps(REGION);
  const sleep = deps.sleep;
  deps.sleep = async (ms) => {
    await sleep(ms);
    account.snapshot();
    if (!account.scaling.answers(REGION, 'https://photos.example.com/readyz')) answeredEverySleep = false;
  };

  const { runSteps } = await import('../step.js');
  await runSteps(upSteps(httpsSettings()), deps, {});

  assert.deepEqual(account.inputsOf('StartInstanceRefresh'), [
    {
      AutoScalingGroupName: 's3-photo-share-asg',
      Strategy: 'Rolling',
      Preferences: { MinHealthyPercentage: MIN_HEALTHY_PERCENTAGE, MaxHealthyPercentage: 100, SkipMatching: true },
    },
  ]);
  assert.equal(MIN_HEALTHY_PERCENTAGE, 50);
  assert.deepEqual(account.inputsOf('UpdateAutoScalingGroup'), [
    {
      AutoScalingGroupName: 's3-photo-share-asg',
      LaunchTemplate: { LaunchTemplateId: asg(account)?.LaunchTemplate.LaunchTemplateId, Version: '2' },
    },
  ]);
  assert.equal(answeredEverySleep, true);
  const now = liveInstances(account);
  assert.equal(now.length, 2);
  for (const instance of now) {
    assert.ok(!oldInstances.includes(instance.InstanceId));
    assert.match(instance.UserData ?? '', /releases\/s3-photo-share\/0\.2\.0-fedcba987654\//);
  }
  assert.deepEqual(
    asg(account)?.refreshes.map((refresh) => refresh.Status),
    ['Successful'],
  );
  assert.ok(account.runtime.lines.some((line) => /Instance refresh refresh-\w+: InProgress, 50 % done/.test(line)));
});

test('when another instance refresh is still running, then up waits for it to end before it starts its own', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  startOthersRefresh(account, 'refresh-earlier', 0, account.now() + 10 * 60_000);
  account.releaseId = '0.2.0-fedcba987654';

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.deepEqual(
    asg(account)?.refreshes.map((refresh) => [refresh.InstanceRefreshId === 'refresh-earlier', refresh.Status]),
    [
      [false, 'Successful'],
      [true, 'Successful'],
    ],
  );
  assert.ok(account.runtime.lines.includes('An instance refresh (refresh-earlier) is already running: waiting for it to end first'));
});

test('when someone starts another refresh just after ours succeeded, then up goes by ours, asked for by its id, and ends', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  account.releaseId = '0.2.0-fedcba987654';
  const deps = account.deps(REGION);
  const sleep = deps.sleep;
  deps.sleep = async (ms) => {
    await sleep(ms);
    account.snapshot();
    const [newest] = asg(account)?.refreshes ?? [];
    if (newest?.Status !== 'Successful' || newest.InstanceRefreshId === 'refresh-theirs') return;
    startOthersRefresh(account, 'refresh-theirs', 0, account.now() + 60_000);
    Object.assign(asg(account)!.refreshes[0]!, { endStatus: 'Failed', StatusReason: 'Their instances failed to become healthy' });
  };
  const { runSteps } = await import('../step.js');
  const state: { instanceRefreshId?: string } = {};

  await runSteps(upSteps(lbSettings()), deps, state);

  assert.deepEqual(
    asg(account)?.refreshes.map((refresh) => [refresh.InstanceRefreshId === state.instanceRefreshId, refresh.Status]),
    [
      [false, 'InProgress'],
      [true, 'Successful'],
    ],
  );
});

test('when StartInstanceRefresh answers InstanceRefreshInProgress, then up waits and starts it again', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  account.releaseId = '0.2.0-fedcba987654';
  account.fail(
    'autoscaling',
    'StartInstanceRefresh',
    await awsError(
      'autoscaling',
      'InstanceRefreshInProgress',
      'An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.',
    ),
    1,
  );

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.equal(account.inputsOf('StartInstanceRefresh').length, 2);
  assert.deepEqual(
    asg(account)?.refreshes.map((refresh) => refresh.Status),
    ['Successful'],
  );
});

test('when the instance refresh fails, then up stops naming the reason and the logs command', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  account.releaseId = '0.2.0-fedcba987654';
  const group = asg(account)!;
  account.fail('autoscaling', 'DescribeInstanceRefreshes', await awsError('autoscaling', 'Throttling', 'Rate exceeded'), 0);
  const original = account.scaling.handlers['autoscaling:DescribeInstanceRefreshes']!;
  account.scaling.handlers['autoscaling:DescribeInstanceRefreshes'] = (input, region) => {
    for (const refresh of group.refreshes)
      if (refresh.Status === 'InProgress') Object.assign(refresh, { Status: 'Failed', StatusReason: 'Instances failed to become healthy' });
    return original(input, region);
  };

  await assert.rejects(
    runAgainst(account, REGION, upSteps(httpsSettings())),
    /^Error: The instance refresh refresh-\w+ of s3-photo-share-asg ended Failed: Instances failed to become healthy\. The instances that were not replaced keep serving\. Read the boot logs with `npm run infra:logs -- --region eu-west-1`, then run `npm run infra:up` again\.$/,
  );
});

test('when an earlier refresh was cancelled and the instances are on the current version, then a rerun starts none and waits for none', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  startOthersRefresh(account, 'refresh-cancelled', 40, account.runtime.clockMs);
  Object.assign(asg(account)!.refreshes[0]!, { Status: 'Cancelled', StatusReason: 'Cancelled by a person' });

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.equal(account.inputsOf('StartInstanceRefresh').length, 0);
});

test('when the new group has launched no instance at the first look, then up logs that no target is registered yet, then the new targets', async () => {
  const account = accountWithLookAlikes();
  account.scaling.groupFirstLaunchMs = 20_000;

  await runAgainst(account, REGION, upSteps(lbSettings()));

  const targets = account.runtime.lines.filter((line) => line.startsWith('Targets: '));
  assert.equal(targets[0], 'Targets: no target registered yet');
  assert.match(targets[1] ?? '', /^Targets: i-\S+ initial, i-\S+ initial$/);
  assert.equal(liveInstances(account).length, 2);
});

test('when the instances never become healthy, then up stops after the wait and points at npm run infra:logs', async () => {
  const account = accountWithLookAlikes();
  account.launchSetups.push('failed', 'failed');

  await assert.rejects(
    runAgainst(account, REGION, upSteps(httpsSettings())),
    /Fewer than 2 targets of s3-photo-share-tg were healthy after 900 s \(i-\w+ unhealthy, i-\w+ unhealthy\)\. Read every instance's boot and app log with `npm run infra:logs -- --region eu-west-1`/,
  );
});

test('when up --instances changes from 2 to 3, then the group is resized in place and no refresh runs', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings(2)));
  account.calls.length = 0;

  await runAgainst(account, REGION, upSteps(httpsSettings(3)));

  assert.deepEqual(account.inputsOf('UpdateAutoScalingGroup'), [
    { AutoScalingGroupName: 's3-photo-share-asg', MinSize: 3, MaxSize: 3, DesiredCapacity: 3 },
  ]);
  assert.equal(account.inputsOf('StartInstanceRefresh').length, 0);
  assert.equal(liveInstances(account).length, 3);
});

test('when the certificate is dropped on a rerun, then 80 forwards again, 443 is deleted and closed in the load balancer’s group', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));

  await runAgainst(account, REGION, upSteps(lbSettings()));

  assert.deepEqual(
    [...account.scaling.region(REGION).listeners.values()].map((listener) => [
      listener.Port,
      (listener.DefaultActions[0] as { Type: string }).Type,
    ]),
    [[80, 'forward']],
  );
  assert.deepEqual(
    groupNamed(account, 's3-photo-share-lb')?.IpPermissions.map((rule) => rule.FromPort),
    [80],
  );
});

test('when someone changed the stack’s resources, then a rerun puts back the rules, subnets, security groups, health check and delay', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const app = groupNamed(account, 's3-photo-share-app')!;
  app.IpPermissions.push({ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] });
  const lb = stackLoadBalancer(account);
  lb!.SecurityGroups = ['sg-default'];
  lb!.AvailabilityZones = lb!.AvailabilityZones.slice(0, 2);
  const [targetGroup] = [...account.scaling.region(REGION).targetGroups.values()].filter(
    (group) => group.TargetGroupName === 's3-photo-share-tg',
  );
  targetGroup!.HealthCheckPath = '/';
  targetGroup!.attributes['deregistration_delay.timeout_seconds'] = '300';

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.deepEqual(
    app.IpPermissions.flatMap((rule) => rule.IpRanges),
    [],
  );
  assert.deepEqual(lb?.SecurityGroups, [groupNamed(account, 's3-photo-share-lb')?.GroupId]);
  assert.equal(lb?.AvailabilityZones.length, 3);
  assert.equal(targetGroup?.HealthCheckPath, '/readyz');
  assert.equal(targetGroup?.attributes['deregistration_delay.timeout_seconds'], '60');
});

test('when the CSRF secret is created, then it is a 64-character random SecureString, tagged, kept on rerun, and never logged', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const parameter = account.scaling.region(REGION).parameters.get('/s3-photo-share/csrf-secret');
  const value = parameter?.Value ?? '';

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.equal(parameter?.Type, 'SecureString');
  assert.match(value, /^[0-9a-f]{64}$/);
  assert.deepEqual(parameter?.Tags, STACK_TAGS);
  assert.equal(account.scaling.region(REGION).parameters.get('/s3-photo-share/csrf-secret')?.Value, value);
  assert.equal(account.inputsOf('PutParameter').length, 1);
  assert.ok(!account.runtime.lines.some((line) => line.includes(value)));
  for (const instance of account.region(REGION).instances.values()) assert.ok(!(instance.UserData ?? '').includes(value));
  for (const version of account.scaling.region(REGION).launchTemplates.values())
    assert.ok(!JSON.stringify(version).includes(value) && !Buffer.from(JSON.stringify(version)).toString('base64').includes(value));
});

test('when two up runs race for the parameter, then ParameterAlreadyExists is read as the stack’s own when tagged so', async () => {
  const account = accountWithLookAlikes();
  account.fail(
    'ssm',
    'ListTagsForResource',
    await awsError('ssm', 'InvalidResourceId', 'The resource ID is not valid. Verify that you entered the correct ID and try again.'),
    1,
  );
  account.scaling
    .region(REGION)
    .parameters.set('/s3-photo-share/csrf-secret', { Type: 'SecureString', Value: 'x'.repeat(64), Tags: STACK_TAGS });

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.equal(account.scaling.region(REGION).parameters.get('/s3-photo-share/csrf-secret')?.Value, 'x'.repeat(64));
});

for (const [what, arrange, message] of [
  [
    'a parameter of that name without the stack tags',
    (account: FakeAccount) => {
      account.scaling.region(REGION).parameters.set('/s3-photo-share/csrf-secret', { Type: 'SecureString', Value: 'theirs', Tags: [] });
      return () => account.scaling.region(REGION).parameters.get('/s3-photo-share/csrf-secret');
    },
    /Parameter \/s3-photo-share\/csrf-secret exists but is not tagged/,
  ],
  [
    'a load balancer of that name without the stack tags',
    (account: FakeAccount) => {
      account.scaling.region(REGION).loadBalancers.set('arn:lb', foreignLoadBalancer('arn:lb', ['sg-theirs'], []));
      return () => account.scaling.region(REGION).loadBalancers.get('arn:lb');
    },
    /Load balancer s3-photo-share-lb exists but is not tagged/,
  ],
  [
    'a launch template of that name without the stack tags',
    (account: FakeAccount) => {
      account.scaling.region(REGION).launchTemplates.set('lt-theirs', {
        LaunchTemplateId: 'lt-theirs',
        LaunchTemplateName: 's3-photo-share-template',
        Tags: [],
        versions: [{ VersionNumber: 1, data: {} }],
      });
      return () => account.scaling.region(REGION).launchTemplates.get('lt-theirs');
    },
    /Launch template s3-photo-share-template exists but is not tagged/,
  ],
  [
    'a launch template of that name tagged as this stack of another region',
    (account: FakeAccount) => {
      account.scaling.region(REGION).launchTemplates.set('lt-elsewhere', {
        LaunchTemplateId: 'lt-elsewhere',
        LaunchTemplateName: 's3-photo-share-template',
        Tags: [STACK_TAGS[0]!, STACK_TAGS[1]!, { Key: 'stack-region', Value: 'eu-central-1' }],
        versions: [{ VersionNumber: 1, data: {} }],
      });
      return () => account.scaling.region(REGION).launchTemplates.get('lt-elsewhere');
    },
    /^Error: Stack s3-photo-share lives in eu-central-1 \(recorded on Launch template s3-photo-share-template\), not eu-west-1\./,
  ],
  [
    'an A record for the domain pointing elsewhere',
    (account: FakeAccount) => {
      account.scaling.hostedZones
        .get(ZONE)
        ?.records.push({ Name: 'photos.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.1' }] });
      return () => account.scaling.hostedZones.get(ZONE)?.records;
    },
    /already has an A record photos\.example\.com that does not point at s3-photo-share-lb: up leaves it as it is/,
  ],
] as const) {
  test(`when ${what} exists, then up refuses and leaves it as it is`, async () => {
    const account = accountWithLookAlikes();
    const read = arrange(account);
    const before = structuredClone(read());

    await assert.rejects(runAgainst(account, REGION, upSteps(httpsSettings())), message);

    assert.deepEqual(read(), before);
    assert.equal(asg(account), undefined);
  });
}

test('when down runs with foreign look-alikes of every name present, then they survive and down succeeds', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  await runAgainst(account, REGION, downSteps(downSettings()));
  const scaling = account.scaling.region(REGION);
  scaling.parameters.set('/s3-photo-share/csrf-secret', { Type: 'SecureString', Value: 'theirs', Tags: [] });
  scaling.targetGroups.set('arn:theirs-tg', foreignTargetGroup('arn:theirs-tg', 's3-photo-share-tg', 80, OTHER_TAGS));
  scaling.launchTemplates.set('lt-theirs', {
    LaunchTemplateId: 'lt-theirs',
    LaunchTemplateName: 's3-photo-share-template',
    Tags: OTHER_TAGS,
    versions: [{ VersionNumber: 1, data: {} }],
  });
  scaling.loadBalancers.set(
    'arn:theirs-lb',
    foreignLoadBalancer(
      'arn:theirs-lb',
      [],
      [...OTHER_TAGS, { Key: 'dns-zone', Value: ZONE }, { Key: 'dns-name', Value: 'www.example.com' }],
    ),
  );
  const before = account.snapshot();
  account.calls.length = 0;

  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.deepEqual(account.snapshot(), before);
  assert.deepEqual(mutatingCalls(account), []);
});

test('when the group still has instances, then down scales it to zero, names them, and waits before deleting it, never forcing', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const instanceIds = [...asg(account)!.instances.keys()];
  account.calls.length = 0;

  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.deepEqual(account.inputsOf('UpdateAutoScalingGroup'), [
    { AutoScalingGroupName: 's3-photo-share-asg', MinSize: 0, MaxSize: 0, DesiredCapacity: 0 },
  ]);
  assert.deepEqual(account.inputsOf('DeleteAutoScalingGroup'), [{ AutoScalingGroupName: 's3-photo-share-asg' }]);
  assert.equal(asg(account), undefined);
  assert.equal(liveInstances(account).length, 0);
  assert.ok(account.runtime.sleeps.length > 0);
  assert.equal(instanceIds.length, 2);
  assert.ok(
    account.runtime.lines.includes(
      `Scaling s3-photo-share-asg to 0; waiting until its instances (${instanceIds.join(', ')}) are terminated`,
    ),
    account.runtime.lines.join('\n'),
  );
});

test('when the group or target group is still busy, then down retries ScalingActivityInProgress and ResourceInUse on the fake clock', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  account.fail(
    'autoscaling',
    'DeleteAutoScalingGroup',
    await awsError(
      'autoscaling',
      'ScalingActivityInProgress',
      'You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.',
    ),
    2,
  );
  account.fail(
    'elbv2',
    'DeleteTargetGroup',
    await awsError('elbv2', 'ResourceInUse', 'Target group is currently in use by a listener or a rule'),
    2,
  );
  account.runtime.sleeps.length = 0;

  await runAgainst(account, REGION, downSteps(downSettings({ deleteBucket: true })));

  assert.equal(account.inputsOf('DeleteAutoScalingGroup').length, 3);
  assert.equal(account.inputsOf('DeleteTargetGroup').length, 3);
  assert.equal(asg(account), undefined);
  assert.deepEqual(
    [...account.scaling.region(REGION).targetGroups.values()].map((group) => group.TargetGroupName),
    ['payroll-tg'],
  );
  assert.ok(account.runtime.lines.includes('Target group s3-photo-share-tg is still in use; retrying in 5 s'));
});

// Amazon EC2 Auto Scaling API Reference, DeleteAutoScalingGroup "Errors": ResourceInUse and ScalingActivityInProgress (400), both
// "the operation can't be performed" while the group is busy, which it can still be just after its last instance has gone.
for (const [code, message] of [
  [
    'ResourceInUse',
    'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.',
  ],
  ['ScalingActivityInProgress', 'You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.'],
] as const) {
  test(`when DeleteAutoScalingGroup answers ${code} twice, then down retries after 10 s and 20 s and the account is as before`, async () => {
    const account = accountWithLookAlikes();
    const before = account.snapshot();
    await runAgainst(account, REGION, upSteps(lbSettings()));
    account.fail('autoscaling', 'DeleteAutoScalingGroup', await awsError('autoscaling', code, message), 2);

    await runAgainst(account, REGION, downSteps(downSettings({ deleteBucket: true })));

    assert.equal(account.inputsOf('DeleteAutoScalingGroup').length, 3);
    assert.deepEqual(
      account.runtime.lines.filter((line) => line.startsWith('s3-photo-share-asg is still busy')),
      ['s3-photo-share-asg is still busy; retrying in 10 s', 's3-photo-share-asg is still busy; retrying in 20 s'],
    );
    assert.deepEqual(settledSnapshot(account), before);
  });
}

test('when the group stays "Delete in progress", then down stops after ten minutes and says to run it again', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  account.scaling.groupDeletionMs = Number.POSITIVE_INFINITY;

  await assert.rejects(
    runAgainst(account, REGION, downSteps(downSettings())),
    /^Error: s3-photo-share-asg was still being deleted after 600 s\. Run the same command again\.$/,
  );
  assert.equal(asg(account)?.Status, 'Delete in progress');
  assert.ok(!account.runtime.lines.includes('Deleted Auto Scaling group s3-photo-share-asg'));
});

test('when the load balancer’s group is still held by its network interfaces, then down retries DependencyViolation until they are released', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));

  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.deepEqual(stackGroups(account), []);
  assert.ok(account.runtime.lines.some((line) => / is still in use by a network interface; retrying in 5 s/.test(line)));
});

test('when the alias record was changed to point elsewhere, then down leaves it and still removes the stack', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const record = account.scaling.hostedZones.get(ZONE)!.records.at(-1)!;
  record.AliasTarget = { HostedZoneId: 'Z2FDTNDATAQYW2', DNSName: 'd111111abcdef8.cloudfront.net.', EvaluateTargetHealth: false };

  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.deepEqual(account.scaling.hostedZones.get(ZONE)?.records.at(-1), record);
  assert.equal(stackLoadBalancer(account), undefined);
});

for (const kept of ['dns-zone', 'dns-name']) {
  test(`when the load balancer lost one of its DNS tags (only ${kept} is left), then down deletes no record and still removes the stack`, async () => {
    const account = accountWithLookAlikes();
    await runAgainst(account, REGION, upSteps(httpsSettings()));
    const records = structuredClone(account.scaling.hostedZones.get(ZONE)?.records);
    const loadBalancer = stackLoadBalancer(account);
    loadBalancer!.Tags = loadBalancer!.Tags.filter((tag) => !tag.Key.startsWith('dns-') || tag.Key === kept);
    account.runtime.lines.length = 0;

    await runAgainst(account, REGION, downSteps(downSettings()));

    assert.ok(account.runtime.lines.includes('The load balancer has no DNS record created by up'), account.runtime.lines.join('\n'));
    assert.deepEqual(account.scaling.hostedZones.get(ZONE)?.records, records);
    assert.equal(account.inputsOf('ChangeResourceRecordSets').length, 1, 'only up’s own change');
    assert.equal(asg(account), undefined);
  });
}

test('when a single-instance stack is rerun with --instances 2, then the load balancer serves first and the stand-alone instance and its open group are removed after', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(upSettings()));
  const standalone = liveInstances(account)[0]!;

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.equal(account.region(REGION).instances.get(standalone.InstanceId)?.State.Name, 'terminated');
  assert.equal(groupNamed(account, 's3-photo-share-web'), undefined);
  assert.equal(liveInstances(account).length, 2);
  const calls = account.commandNames();
  assert.ok(calls.lastIndexOf('elbv2:DescribeTargetHealth') < calls.indexOf('ec2:TerminateInstances'));
});

test('when a load-balanced stack is rerun without --instances, then the instance serves first and every load-balanced resource is removed after', async () => {
  const account = accountWithLookAlikes();
  const before = account.snapshot() as { scaling: unknown };
  await runAgainst(account, REGION, upSteps(httpsSettings()));

  const state = await runAgainst(account, REGION, upSteps(upSettings()));

  assert.match(state.appUrl ?? '', /^http:\/\/198\.51\.100\.\d+\/$/);
  assert.deepEqual((account.snapshot() as { scaling: unknown }).scaling, before.scaling);
  assert.deepEqual(
    stackGroups(account).map((group) => group.GroupName),
    ['s3-photo-share-web'],
  );
  assert.equal(liveInstances(account).length, 1);
  const calls = account.commandNames();
  assert.ok(calls.indexOf('autoscaling:DeleteAutoScalingGroup') > calls.indexOf('ec2:RunInstances'));
});

test('when up runs where the app does not answer (a CI runner outside --allow-cidr) and switches to one instance, then the instance’s setup log in CloudWatch Logs stands for readiness and the load balancer is removed', async () => {
  const account = accountWithLookAlikes();
  const before = account.snapshot() as { scaling: unknown };
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  account.reachableFromHere = false;
  account.calls.length = 0;

  const state = await runAgainst(account, REGION, upSteps(upSettings()));

  assert.deepEqual((account.snapshot() as { scaling: unknown }).scaling, before.scaling);
  assert.equal(liveInstances(account).length, 1);
  const instanceId = state.instanceId!;
  assert.deepEqual(account.inputsOf('FilterLogEvents').at(-1), {
    logGroupName: '/s3-photo-share/s3-photo-share',
    logStreamNames: [`${instanceId}/setup`],
    filterPattern: '"s3-photo-share-setup: DONE"',
    limit: 1,
  });
  assert.ok(
    account.runtime.lines.includes(
      `The app is ready: its setup log says /readyz answers on the instance. ${state.appUrl} does not answer from here, which --allow-cidr 203.0.113.0/24 may not cover.`,
    ),
  );
});

test('when up runs where the app does not answer and switches to --instances 2, then the healthy targets stand for readiness and the stand-alone instance is removed', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(upSettings()));
  const standalone = liveInstances(account)[0]!;
  account.reachableFromHere = false;

  const state = await runAgainst(account, REGION, upSteps(lbSettings()));

  assert.equal(account.region(REGION).instances.get(standalone.InstanceId)?.State.Name, 'terminated');
  assert.equal(groupNamed(account, 's3-photo-share-web'), undefined);
  assert.ok(
    account.runtime.lines.includes(
      `${state.appUrl} does not answer from here, which --allow-cidr 203.0.113.0/24 may not cover; 2 healthy targets are the readiness`,
    ),
  );
});

test('when the new mode is never confirmed ready, then the other mode is removed all the same and up then stops with the readiness failure', async () => {
  const toSingle = accountWithLookAlikes();
  const before = toSingle.snapshot() as { scaling: unknown };
  await runAgainst(toSingle, REGION, upSteps(httpsSettings()));
  await assert.rejects(
    runAgainst(toSingle, REGION, upSteps(upSettings()), { probeReadiness: async () => 'not-ready' }),
    /^Error: http:\/\/[\d.]+\/readyz did not answer 200 within 900 s\./,
  );
  assert.deepEqual((toSingle.snapshot() as { scaling: unknown }).scaling, before.scaling);

  const toBalanced = accountWithLookAlikes();
  await runAgainst(toBalanced, REGION, upSteps(upSettings()));
  const standalone = liveInstances(toBalanced)[0]!;
  toBalanced.launchSetups.push('failed', 'failed');
  await assert.rejects(runAgainst(toBalanced, REGION, upSteps(lbSettings())), /Fewer than 2 targets of s3-photo-share-tg were healthy/);
  assert.equal(toBalanced.region(REGION).instances.get(standalone.InstanceId)?.State.Name, 'terminated');
});

test('when a stack switches modes back and forth and is taken down, then the account is as before', async () => {
  const account = accountWithLookAlikes();
  const before = account.snapshot();

  await runAgainst(account, REGION, upSteps(upSettings()));
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  await runAgainst(account, REGION, upSteps(upSettings()));
  await runAgainst(account, REGION, upSteps(lbSettings({ instances: 3 })));
  await runAgainst(account, REGION, downSteps(downSettings({ deleteBucket: true })));

  assert.deepEqual(settledSnapshot(account), before);
});

test('when the default VPC has default subnets in one zone only, then up stops naming the zone and the command that adds one, before creating anything of the load balancer', async () => {
  const account = accountWithLookAlikes();
  account.scaling.defaultZones.set(REGION, [`${REGION}a`]);

  await assert.rejects(
    runAgainst(account, REGION, upSteps(httpsSettings())),
    /^Error: The default VPC vpc-eu-west-1 of eu-west-1 has default subnets in 1 availability zone\(s\) \(eu-west-1a\); a load balancer needs 2\. Create the missing ones with `aws ec2 create-default-subnet --region eu-west-1 --availability-zone <zone>`/,
  );
  account.scaling.defaultZones.set(REGION, []);
  await assert.rejects(
    runAgainst(account, REGION, upSteps(httpsSettings())),
    /has default subnets in 0 availability zone\(s\) \(none\); a load balancer/,
  );
  assert.equal(stackLoadBalancer(account), undefined);
  assert.equal(stackGroups(account).length, 0);
});

for (const [what, arrange, message] of [
  [
    'is pending validation',
    (account: FakeAccount) =>
      account.scaling.addCertificate(REGION, CERTIFICATE, { DomainName: 'photos.example.com', Status: 'PENDING_VALIDATION' }),
    /is PENDING_VALIDATION, not ISSUED\. Create the validation CNAME record/,
  ],
  [
    'has expired',
    (account: FakeAccount) => account.scaling.addCertificate(REGION, CERTIFICATE, { DomainName: 'photos.example.com', Status: 'EXPIRED' }),
    /is EXPIRED, not ISSUED\. Request a new certificate in ACM, then run up again with its ARN\.$/,
  ],
  ['does not exist', (account: FakeAccount) => account.scaling.region(REGION).certificates.clear(), /was not found in eu-west-1/],
  [
    'covers only a wildcard',
    (account: FakeAccount) => account.scaling.addCertificate(REGION, CERTIFICATE, { DomainName: '*.example.com' }),
    /^Error: Certificate \S+ covers only wildcard names \(\*\.example\.com\), so up cannot tell which name the site uses\. Add the site's name/,
  ],
  [
    'names a domain outside the zone',
    (account: FakeAccount) => account.scaling.addCertificate(REGION, CERTIFICATE, { DomainName: 'photos.example.org' }),
    /photos\.example\.org is not inside the hosted zone Z0123456789ABCDEFGHIJ \(example\.com\)/,
  ],
] as const) {
  test(`when the certificate ${what}, then up stops with a message that says what to do`, async () => {
    const account = accountWithLookAlikes();
    arrange(account);

    await assert.rejects(runAgainst(account, REGION, upSteps(httpsSettings())), message);
  });
}

test('when the certificate ARN names another account, then up stops before asking ACM', async () => {
  const account = accountWithLookAlikes();
  const foreign = CERTIFICATE.replace(ACCOUNT_ID, '210987654321');

  await assert.rejects(
    runAgainst(account, REGION, upSteps(lbSettings({ certificateArn: foreign }))),
    /belongs to account 210987654321, not 123456789012/,
  );
  assert.equal(account.inputsOf('DescribeCertificate').length, 0);
});

test('when the hosted zone does not exist, then up says so and names the command that lists zones', async () => {
  const account = accountWithLookAlikes();
  account.scaling.hostedZones.clear();

  await assert.rejects(
    runAgainst(account, REGION, upSteps(httpsSettings())),
    /Hosted zone Z0123456789ABCDEFGHIJ does not exist.*aws route53 list-hosted-zones/,
  );
});

test('when a listener, the health check or the group was changed by hand, then a rerun sets back each field that differs', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const listeners = [...account.scaling.region(REGION).listeners.values()];
  const https = listeners.find((listener) => listener.Port === 443)!;
  https.SslPolicy = 'ELBSecurityPolicy-2016-08';
  const targetGroup = [...account.scaling.region(REGION).targetGroups.values()].find(
    (group) => group.TargetGroupName === 's3-photo-share-tg',
  )!;
  targetGroup.Matcher = { HttpCode: '200-399' };
  const group = asg(account)!;
  group.HealthCheckType = 'EC2';
  group.TargetGroupARNs = [];
  account.calls.length = 0;

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.deepEqual(
    account.inputsOf('ModifyListener').map((input) => [input.Port, input.SslPolicy]),
    [[443, TLS_POLICY]],
  );
  assert.deepEqual(
    account.inputsOf('ModifyTargetGroup').map((input) => input.Matcher),
    [{ HttpCode: '200' }],
  );
  assert.deepEqual(account.inputsOf('UpdateAutoScalingGroup'), [
    { AutoScalingGroupName: 's3-photo-share-asg', HealthCheckType: 'ELB', HealthCheckGracePeriod: 900 },
  ]);
  assert.deepEqual(account.inputsOf('AttachLoadBalancerTargetGroups'), [
    { AutoScalingGroupName: 's3-photo-share-asg', TargetGroupARNs: [targetGroup.TargetGroupArn] },
  ]);
  assert.equal(https.SslPolicy, TLS_POLICY);
});

for (const [field, change] of [
  ['HealthCheckIntervalSeconds', { HealthCheckIntervalSeconds: 30 }],
  ['HealthCheckPath', { HealthCheckPath: '/' }],
  ['UnhealthyThresholdCount', { UnhealthyThresholdCount: 10 }],
] as const) {
  test(`when only the target group's ${field} differs, then the rerun modifies the health check`, async () => {
    const account = accountWithLookAlikes();
    await runAgainst(account, REGION, upSteps(lbSettings()));
    const targetGroup = [...account.scaling.region(REGION).targetGroups.values()].find(
      (group) => group.TargetGroupName === 's3-photo-share-tg',
    )!;
    Object.assign(targetGroup, change);

    await runAgainst(account, REGION, upSteps(lbSettings()));

    assert.equal(account.inputsOf('ModifyTargetGroup').length, 1);
    assert.equal(targetGroup[field], { HealthCheckIntervalSeconds: 15, HealthCheckPath: '/readyz', UnhealthyThresholdCount: 3 }[field]);
  });
}

test('when the redirect on port 80 was changed by hand, then the rerun sets it back to a 301 to HTTPS', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const http = [...account.scaling.region(REGION).listeners.values()].find((listener) => listener.Port === 80)!;
  http.DefaultActions = [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_302' } }];

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.deepEqual(http.DefaultActions, [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }]);
});

test('when the certificate is replaced by another, then the HTTPS listener is modified to use it', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const renewed = CERTIFICATE.replace('12345678-1234', '87654321-1234');
  account.scaling.addCertificate(REGION, renewed, { DomainName: 'photos.example.com' });

  await runAgainst(account, REGION, upSteps(lbSettings({ certificateArn: renewed, hostedZoneId: ZONE })));

  assert.deepEqual(
    account.inputsOf('ModifyListener').map((input) => [input.Port, input.Certificates]),
    [[443, [{ CertificateArn: renewed }]]],
  );
});

test('when the region gains or loses a default subnet, then the load balancer and the group follow the subnets', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  account.scaling.defaultZones.set(REGION, [`${REGION}a`, `${REGION}b`]);

  await runAgainst(account, REGION, upSteps(lbSettings()));

  assert.deepEqual(
    account.inputsOf('SetSubnets').map((input) => input.Subnets),
    [[`subnet-${REGION}a`, `subnet-${REGION}b`]],
  );
  assert.deepEqual(account.inputsOf('UpdateAutoScalingGroup').at(-1), {
    AutoScalingGroupName: 's3-photo-share-asg',
    VPCZoneIdentifier: `subnet-${REGION}a,subnet-${REGION}b`,
  });
});

for (const removed of ['dns-zone', 'dns-name']) {
  test(`when the ${removed} tag was removed from the load balancer, then the rerun puts both back and changes no record`, async () => {
    const account = accountWithLookAlikes();
    await runAgainst(account, REGION, upSteps(httpsSettings()));
    const lb = stackLoadBalancer(account);
    lb!.Tags = lb!.Tags.filter((tag) => tag.Key !== removed);
    account.calls.length = 0;

    await runAgainst(account, REGION, upSteps(httpsSettings()));

    assert.equal(account.inputsOf('ChangeResourceRecordSets').length, 0);
    assert.deepEqual(account.inputsOf('AddTags'), [
      {
        ResourceArns: [lb?.LoadBalancerArn],
        Tags: [
          { Key: 'dns-zone', Value: ZONE },
          { Key: 'dns-name', Value: 'photos.example.com' },
        ],
      },
    ]);
  });
}

test('when the certificate names the zone apex, then the alias is the apex; a name that only ends like the zone is refused', async () => {
  const apex = accountWithLookAlikes();
  apex.scaling.addCertificate(REGION, CERTIFICATE, { DomainName: 'EXAMPLE.com', SubjectAlternativeNames: ['*.example.com'] });
  const state = await runAgainst(apex, REGION, upSteps(httpsSettings()));
  assert.equal(apex.scaling.hostedZones.get(ZONE)?.records.at(-1)?.Name, 'example.com.');
  assert.equal(state.appUrl, 'https://EXAMPLE.com/');

  const lookAlike = accountWithLookAlikes();
  lookAlike.scaling.addCertificate(REGION, CERTIFICATE, { DomainName: 'photos.notexample.com' });
  await assert.rejects(runAgainst(lookAlike, REGION, upSteps(httpsSettings())), /photos\.notexample\.com is not inside the hosted zone/);
});

test('when the certificate’s first name is a wildcard, then the site uses its first plain name', async () => {
  const account = accountWithLookAlikes();
  account.scaling.addCertificate(REGION, CERTIFICATE, {
    DomainName: '*.example.com',
    SubjectAlternativeNames: ['*.example.com', 'photos.example.com'],
  });

  const state = await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.equal(state.appUrl, 'https://photos.example.com/');
  assert.deepEqual(state.certificateDomains, ['*.example.com', 'photos.example.com']);
});

test('when an instance refresh never ends, then up stops after an hour and points at npm run infra:logs', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  startOthersRefresh(account, 'refresh-stuck', 40, Number.POSITIVE_INFINITY);

  await assert.rejects(
    runAgainst(account, REGION, upSteps(httpsSettings())),
    /The instance refresh of s3-photo-share-asg was still running after 3600 s\. Read the new instances' boot logs with `npm run infra:logs -- --region eu-west-1`/,
  );
  assert.ok(account.runtime.lines.includes('Instance refresh refresh-stuck: InProgress, 40 % done'));
});

test('when the group is being deleted, then up stops and says to wait', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  asg(account)!.Status = 'Delete in progress';

  await assert.rejects(
    runAgainst(account, REGION, upSteps(httpsSettings())),
    /s3-photo-share-asg is being deleted \(Delete in progress\)\. Wait until it is gone/,
  );
});

for (const [whose, tags] of [
  ['another stack’s tags', OTHER_TAGS],
  ['no tag at all', []],
] as const) {
  test(`when a group of the stack’s name carries ${whose}, then up refuses it`, async () => {
    const account = accountWithLookAlikes();
    await runAgainst(account, REGION, upSteps(httpsSettings()));
    asg(account)!.Tags = [...tags];

    await assert.rejects(
      runAgainst(account, REGION, upSteps(httpsSettings())),
      /^Error: Auto Scaling group s3-photo-share-asg exists but is not tagged/,
    );
  });
}

test('when the group’s instances never terminate, then down stops after the wait and says to run it again', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  account.terminationMs = Number.POSITIVE_INFINITY;

  await assert.rejects(
    runAgainst(account, REGION, downSteps(downSettings())),
    /s3-photo-share-asg still had instances after 900 s\. Run the same command again\./,
  );
  assert.notEqual(asg(account), undefined);
});

test('when ACM lists the certificate’s own name again among its alternative names, as it does, then each name counts once', async () => {
  const account = accountWithLookAlikes();
  account.scaling.addCertificate(REGION, CERTIFICATE, {
    DomainName: 'photos.example.com',
    SubjectAlternativeNames: ['photos.example.com', 'www.photos.example.com', 'photos.example.com'],
  });

  const state = await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.deepEqual(state.certificateDomains, ['photos.example.com', 'www.photos.example.com']);
});

test('when ACM lists no alternative names, then the certificate’s own name is the site’s', async () => {
  const account = accountWithLookAlikes();
  account.scaling.region(REGION).certificates.set(CERTIFICATE, { Status: 'ISSUED', DomainName: 'photos.example.com' } as never);

  const state = await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.deepEqual(state.certificateDomains, ['photos.example.com']);
});

test('when the parameter appears between the look-up and the put, then its tags decide: another stack’s is refused', async () => {
  const account = accountWithLookAlikes();
  account.fail(
    'ssm',
    'ListTagsForResource',
    await awsError('ssm', 'InvalidResourceId', 'The resource ID is not valid. Verify that you entered the correct ID and try again.'),
    1,
  );
  account.scaling.region(REGION).parameters.set('/s3-photo-share/csrf-secret', { Type: 'SecureString', Value: 'theirs', Tags: OTHER_TAGS });

  await assert.rejects(
    runAgainst(account, REGION, upSteps(httpsSettings())),
    /Parameter \/s3-photo-share\/csrf-secret exists but is not tagged/,
  );
  assert.equal(account.scaling.region(REGION).parameters.get('/s3-photo-share/csrf-secret')?.Value, 'theirs');
});

test('when creating the parameter is denied, then up stops with that error', async () => {
  const account = accountWithLookAlikes();
  account.fail('ssm', 'PutParameter', await awsError('ssm', 'AccessDeniedException', 'not authorized to perform: ssm:PutParameter'));

  await assert.rejects(runAgainst(account, REGION, upSteps(httpsSettings())), /not authorized to perform: ssm:PutParameter/);
});

test('when the parameter is created, then its description names the stack, and down of a stack without one says so', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  assert.equal(
    account.scaling.region(REGION).parameters.get('/s3-photo-share/csrf-secret')?.Description,
    'CSRF secret of the S3 Photo Share stack s3-photo-share',
  );

  await runAgainst(account, REGION, downSteps(downSettings()));
  account.runtime.lines.length = 0;
  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.ok(account.runtime.lines.includes('Parameter /s3-photo-share/csrf-secret does not exist'));
});

test('when the group is created, then it gets exactly the template version, sizes, subnets, target group, ELB health checks and tags', async () => {
  const account = accountWithLookAlikes();

  await runAgainst(account, REGION, upSteps(lbSettings({ instances: 3 })));

  const [template] = [...account.scaling.region(REGION).launchTemplates.values()].filter(
    (candidate) => candidate.LaunchTemplateName === 's3-photo-share-template',
  );
  const targetGroup = [...account.scaling.region(REGION).targetGroups.values()].find(
    (group) => group.TargetGroupName === 's3-photo-share-tg',
  );
  assert.deepEqual(account.inputsOf('CreateAutoScalingGroup'), [
    {
      AutoScalingGroupName: 's3-photo-share-asg',
      LaunchTemplate: { LaunchTemplateId: template?.LaunchTemplateId, Version: '1' },
      MinSize: 3,
      MaxSize: 3,
      DesiredCapacity: 3,
      VPCZoneIdentifier: `subnet-${REGION}a,subnet-${REGION}b,subnet-${REGION}c`,
      TargetGroupARNs: [targetGroup?.TargetGroupArn],
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 900,
      Tags: STACK_TAGS.map((tag) => ({
        ...tag,
        ResourceId: 's3-photo-share-asg',
        ResourceType: 'auto-scaling-group',
        PropagateAtLaunch: false,
      })),
    },
  ]);
  const data = template?.versions[0]?.data as Record<string, unknown>;
  const tags = [{ Key: 'Name', Value: 's3-photo-share' }, ...STACK_TAGS];
  assert.deepEqual(
    { ...data, UserData: undefined },
    {
      ImageId: AMI_ID,
      InstanceType: 't3.micro',
      IamInstanceProfile: { Arn: PROFILE_ARN },
      SecurityGroupIds: [groupNamed(account, 's3-photo-share-app')?.GroupId],
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
      UserData: undefined,
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
        { ResourceType: 'network-interface', Tags: tags },
      ],
    },
  );
  assert.deepEqual(template?.Tags, STACK_TAGS);
  assert.match(template?.versions[0]?.VersionDescription ?? '', /^deployment [0-9a-f]{16}$/);
});

test('when only a newer Amazon Linux image is published, then a rerun adds no template version and replaces nothing', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  account.amiId = 'ami-0fedcba9876543210';

  await runAgainst(account, REGION, upSteps(lbSettings()));

  assert.equal(account.inputsOf('CreateLaunchTemplateVersion').length, 0);
  assert.equal(account.inputsOf('StartInstanceRefresh').length, 0);
});

test('when the instance type changes, then a new template version with the new image and type rolls out by refresh', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  account.amiId = 'ami-0fedcba9876543210';

  await runAgainst(account, REGION, upSteps(upSettings({ instanceType: 't3.small', loadBalanced: { instances: 2 } })));

  assert.deepEqual(
    account.inputsOf('CreateLaunchTemplateVersion').map((input) => {
      const data = input.LaunchTemplateData as { ImageId: string; InstanceType: string };
      return [data.ImageId, data.InstanceType];
    }),
    [['ami-0fedcba9876543210', 't3.small']],
  );
  assert.equal(account.inputsOf('StartInstanceRefresh').length, 1);
  for (const instance of liveInstances(account)) assert.equal(instance.ImageId, 'ami-0fedcba9876543210');
});

test('when an earlier down left the group scaled to zero, then down deletes it without scaling it again', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  account.fail('autoscaling', 'DeleteAutoScalingGroup', await awsError('autoscaling', 'AccessDenied', 'not authorized'), 1);
  await assert.rejects(runAgainst(account, REGION, downSteps(downSettings())), /not authorized/);
  account.calls.length = 0;

  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.deepEqual(account.inputsOf('UpdateAutoScalingGroup'), []);
  assert.deepEqual(account.inputsOf('DeleteAutoScalingGroup'), [{ AutoScalingGroupName: 's3-photo-share-asg' }]);
  assert.equal(asg(account), undefined);
});

test('when a subnet or the forward target was swapped by hand, then the rerun sets the load balancer and listener back', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const lb = stackLoadBalancer(account);
  lb!.AvailabilityZones = [...lb!.AvailabilityZones.slice(0, 2), { ZoneName: `${REGION}z`, SubnetId: 'subnet-private' }];
  const https = [...account.scaling.region(REGION).listeners.values()].find((listener) => listener.Port === 443)!;
  https.DefaultActions = [{ Type: 'forward', TargetGroupArn: 'arn:foreign-tg' }];
  account.calls.length = 0;

  await runAgainst(account, REGION, upSteps(httpsSettings()));

  assert.deepEqual(
    account.inputsOf('SetSubnets').map((input) => input.Subnets),
    [[`subnet-${REGION}a`, `subnet-${REGION}b`, `subnet-${REGION}c`]],
  );
  assert.deepEqual(
    account.inputsOf('ModifyListener').map((input) => input.Port),
    [443],
  );
  assert.notEqual((https.DefaultActions[0] as { TargetGroupArn: string }).TargetGroupArn, 'arn:foreign-tg');
});

test('when the domain also has a TXT record, then up still creates the alias and down deletes only the alias', async () => {
  const account = accountWithLookAlikes();
  const txt = { Name: 'photos.example.com.', Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: '"site-verification=abc"' }] };
  account.scaling.hostedZones.get(ZONE)?.records.push(txt);

  await runAgainst(account, REGION, upSteps(httpsSettings()));
  assert.equal(account.inputsOf('ChangeResourceRecordSets').length, 1);
  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.deepEqual(account.scaling.hostedZones.get(ZONE)?.records, [
    { Name: 'www.example.com.', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.10' }] },
    txt,
  ]);
});

test('when the load balancer stays listed after its deletion, then down stops after five minutes and says to run it again', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  account.scaling.loadBalancerDeletionMs = Number.POSITIVE_INFINITY;

  await assert.rejects(
    runAgainst(account, REGION, downSteps(downSettings())),
    /Load balancer s3-photo-share-lb was still there after 300 s\. Run the same command again\./,
  );
});

for (const status of ['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking']) {
  test(`when a refresh someone started is ${status}, then up waits until it ends`, async () => {
    const account = accountWithLookAlikes();
    await runAgainst(account, REGION, upSteps(lbSettings()));
    const started = account.now();
    asg(account)?.refreshes.unshift({
      InstanceRefreshId: 'refresh-theirs',
      Status: status,
      PercentageComplete: 10,
      minHealthyPercentage: 90,
      outdatedAtStart: 0,
      endsAt: started + 20 * 60_000,
    });

    await runAgainst(account, REGION, upSteps(lbSettings()));

    assert.ok(account.now() >= started + 20 * 60_000);
    assert.ok(account.runtime.lines.includes(`Instance refresh refresh-theirs: ${status}, 10 % done`));
  });
}

test('when the first look at a running refresh reads 1 % done, then that first progress is logged', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  startOthersRefresh(account, 'refresh-theirs', 1, account.now() + 60_000);
  account.runtime.lines.length = 0;

  await runAgainst(account, REGION, upSteps(lbSettings()));

  assert.deepEqual(
    account.runtime.lines.filter((line) => line.startsWith('Instance refresh ')),
    ['Instance refresh refresh-theirs: InProgress, 1 % done'],
  );
});

test('when the refresh being waited for ends Cancelled with no reason given, then up stops naming it without an empty reason', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  asg(account)?.refreshes.unshift({
    InstanceRefreshId: 'refresh-theirs',
    Status: 'InProgress',
    PercentageComplete: 50,
    minHealthyPercentage: 90,
    outdatedAtStart: 0,
    endsAt: account.now() + 60_000,
    endStatus: 'Cancelled',
  });

  await assert.rejects(
    runAgainst(account, REGION, upSteps(lbSettings())),
    /^Error: The instance refresh refresh-theirs of s3-photo-share-asg ended Cancelled\. The instances that were not replaced keep serving\. /,
  );
});

for (const status of ['Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed']) {
  test(`when the refresh being waited for ends ${status}, then up stops naming it and the logs command`, async () => {
    const account = accountWithLookAlikes();
    await runAgainst(account, REGION, upSteps(lbSettings()));
    asg(account)?.refreshes.unshift({
      InstanceRefreshId: 'refresh-theirs',
      Status: 'InProgress',
      StatusReason: 'Instances failed to become healthy',
      PercentageComplete: 50,
      minHealthyPercentage: 90,
      outdatedAtStart: 0,
      endsAt: account.now() + 60_000,
      endStatus: status,
    });

    await assert.rejects(
      runAgainst(account, REGION, upSteps(lbSettings())),
      new RegExp(
        `The instance refresh refresh-theirs of s3-photo-share-asg ended ${status}: Instances failed to become healthy\\. The instances that were not replaced keep serving\\. Read the boot logs with \`npm run infra:logs -- --region eu-west-1\``,
      ),
    );
  });
}

for (const [field, value] of [
  ['MinSize', 1],
  ['MaxSize', 4],
  ['DesiredCapacity', 1],
  ['HealthCheckGracePeriod', 300],
] as const) {
  test(`when only the group's ${field} was changed by hand, then the rerun sets it back`, async () => {
    const account = accountWithLookAlikes();
    await runAgainst(account, REGION, upSteps(lbSettings()));
    Object.assign(asg(account)!, { [field]: value });
    account.calls.length = 0;

    await runAgainst(account, REGION, upSteps(lbSettings()));

    assert.equal(account.inputsOf('UpdateAutoScalingGroup').length, 1);
    assert.deepEqual(
      [asg(account)?.MinSize, asg(account)?.DesiredCapacity, asg(account)?.MaxSize, asg(account)?.HealthCheckGracePeriod],
      [2, 2, 2, 900],
    );
  });
}

test('when the group was scaled to zero by hand, then the rerun sets its sizes back and starts no refresh for instances it no longer has', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  Object.assign(asg(account)!, { MinSize: 0, DesiredCapacity: 0 });
  // The first look retires the instances; by the second, an hour on, they have terminated and left the group.
  settledSnapshot(account);
  settledSnapshot(account);
  assert.equal(asg(account)?.instances.size, 0);
  account.calls.length = 0;

  await runAgainst(account, REGION, upSteps(lbSettings()));

  assert.deepEqual(account.inputsOf('UpdateAutoScalingGroup'), [
    { AutoScalingGroupName: 's3-photo-share-asg', MinSize: 2, MaxSize: 2, DesiredCapacity: 2 },
  ]);
  assert.deepEqual(account.inputsOf('StartInstanceRefresh'), []);
  assert.equal(liveInstances(account).length, 2);
});

test('when an instance not launched from the template was attached to the group by hand, then the rerun replaces it by refresh', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  const group = asg(account)!;
  const [detached] = group.instances.keys();
  group.instances.delete(String(detached));
  const attached = account.addInstance(REGION, { Tags: [...STACK_TAGS] });
  group.instances.set(attached.InstanceId, { zone: `${REGION}a` });
  // DetachInstances and AttachInstances deregister and register the instance with the group's target groups.
  for (const arn of group.TargetGroupARNs) {
    const targets = account.scaling.region(REGION).targetGroups.get(arn)!.targets;
    targets.delete(String(detached));
    targets.set(attached.InstanceId, { state: 'healthy' });
  }
  account.calls.length = 0;

  await runAgainst(account, REGION, upSteps(lbSettings()));

  assert.equal(account.inputsOf('StartInstanceRefresh').length, 1);
  assert.equal(group.instances.has(attached.InstanceId), false);
  assert.equal(group.instances.size, 2);
});

test('when the launch template was deleted by hand, then the rerun creates it again and rolls the group onto it', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  const oldTemplate = asg(account)!.LaunchTemplate.LaunchTemplateId;
  account.scaling.region(REGION).launchTemplates.delete(oldTemplate);
  account.calls.length = 0;

  await runAgainst(account, REGION, upSteps(lbSettings()));

  const newTemplate = asg(account)!.LaunchTemplate.LaunchTemplateId;
  assert.notEqual(newTemplate, oldTemplate);
  assert.deepEqual(account.inputsOf('UpdateAutoScalingGroup'), [
    { AutoScalingGroupName: 's3-photo-share-asg', LaunchTemplate: { LaunchTemplateId: newTemplate, Version: '1' } },
  ]);
  assert.equal(account.inputsOf('StartInstanceRefresh').length, 1);
  assert.deepEqual(
    [...asg(account)!.instances.values()].map((launched) => launched.templateId),
    [newTemplate, newTemplate],
  );
});

test('when creating the launch template fails for another reason than its name, then up stops with that error', async () => {
  const account = accountWithLookAlikes();
  account.fail(
    'ec2',
    'CreateLaunchTemplate',
    await awsError('ec2', 'UnauthorizedOperation', 'You are not authorized to perform: ec2:CreateLaunchTemplate'),
  );

  await assert.rejects(runAgainst(account, REGION, upSteps(lbSettings())), /You are not authorized to perform: ec2:CreateLaunchTemplate/);
});

test('when EC2 keeps the profile associations of the group’s instances for a long while, then down still deletes the profile', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  account.associationLingerMs = 60 * 60_000;

  await runAgainst(account, REGION, downSteps(downSettings()));

  assert.equal(account.profiles.has('s3-photo-share-instance-profile'), false);
});

test('when the URL answers only after DNS settles, then up polls it every 10 s; when it never answers, it stops pointing at the logs', async () => {
  const account = accountWithLookAlikes();
  let calls = 0;
  const probeReadiness = async () => (++calls > 2 ? ('ready' as const) : ('not-ready' as const));
  await runAgainst(account, REGION, upSteps(httpsSettings()), { probeReadiness });
  assert.equal(calls, 3);
  assert.ok(account.runtime.lines.includes('https://photos.example.com/ answers through the load balancer'));

  const never = accountWithLookAlikes();
  await assert.rejects(
    runAgainst(never, REGION, upSteps(httpsSettings()), { probeReadiness: async () => 'not-ready' }),
    /https:\/\/photos\.example\.com\/readyz did not answer 200 within 900 s, though the targets are healthy\. A new DNS name can take a few minutes to resolve; read the logs with `npm run infra:logs -- --region eu-west-1`/,
  );
  const plain = accountWithLookAlikes();
  await assert.rejects(
    runAgainst(plain, REGION, upSteps(lbSettings()), { probeReadiness: async () => 'not-ready' }),
    /readyz did not answer 200 within 900 s, though the targets are healthy\. read the logs/,
  );
});

test('when the region has no default VPC, then up --instances stops and names the command that creates one', async () => {
  const account = accountWithLookAlikes();
  account.hasDefaultVpc = false;

  await assert.rejects(
    runAgainst(account, REGION, upSteps(lbSettings())),
    /Region eu-west-1 has no default VPC\. Create one with `aws ec2 create-default-vpc --region eu-west-1`, or use another region\./,
  );
});

test('when the instances’ group gained an IPv6 range or a prefix list, then the rerun revokes them and keeps the load balancer rule', async () => {
  const account = accountWithLookAlikes();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  const app = groupNamed(account, 's3-photo-share-app')!;
  const kept = structuredClone(app.IpPermissions);
  app.IpPermissions.push(
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [], Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [], PrefixListIds: [{ PrefixListId: 'pl-0123456789abcdef0' }] },
  );

  await runAgainst(account, REGION, upSteps(lbSettings()));

  assert.deepEqual(app.IpPermissions, kept);
});

/** The lines matching `pattern` that repeat the line before them: a poll should log only what changed. */
function repeatedLines(lines: string[], pattern: RegExp): string[] {
  const matching = lines.filter((line) => pattern.test(line));
  return matching.filter((line, index) => index > 0 && line === matching[index - 1]);
}

test('when up waits and down finds nothing, then the progress lines say what changed, once, and "No … of this stack" only when there is none', async () => {
  const account = accountWithLookAlikes();
  const lines = account.runtime.lines;
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const firstUp = lines.splice(0);
  account.releaseId = '0.2.0-fedcba987654';
  await runAgainst(account, REGION, upSteps(httpsSettings()));
  const release = lines.splice(0);
  const groupInstances = [...(asg(account)?.instances.keys() ?? [])];
  await runAgainst(account, REGION, downSteps(downSettings()));
  const down = lines.splice(0);
  await runAgainst(account, REGION, downSteps(downSettings()));
  const secondDown = lines.splice(0);

  // The targets stay "initial" for several 15 s polls while the instances boot: each state is logged once.
  assert.ok(firstUp.filter((line) => line.startsWith('Targets: ')).length >= 2, firstUp.join('\n'));
  assert.ok(firstUp.some((line) => / initial, i-\S+ initial$/.test(line)));
  assert.deepEqual(repeatedLines(firstUp, /^Targets: /), []);
  assert.ok(
    firstUp.some((line) => /^s3-photo-share-lb now allows TCP 80 from 203\.0\.113\.0\/24, TCP 443 from 203\.0\.113\.0\/24$/.test(line)),
    firstUp.join('\n'),
  );
  assert.ok(firstUp.some((line) => /^s3-photo-share-app now allows TCP 80 from sg-\w+$/.test(line)));
  assert.ok(
    release.some((line) => /^Instance refresh refresh-\S+: InProgress, 0 % done$/.test(line)),
    release.join('\n'),
  );
  assert.ok(release.some((line) => /^Instance refresh refresh-\S+: InProgress, 50 % done$/.test(line)));
  assert.deepEqual(repeatedLines(release, /^Instance refresh /), []);

  const nothingLeft = [
    'No Auto Scaling group of this stack',
    'No launch template of this stack',
    'No security group of this stack is left',
  ];
  for (const line of nothingLeft) {
    assert.ok(!down.includes(line), `down of a running stack said "${line}"`);
    assert.ok(secondDown.includes(line), `down of an empty stack did not say "${line}"`);
  }
  assert.equal(groupInstances.length, 2);
  for (const instanceId of groupInstances) assert.equal(account.region(REGION).instances.get(instanceId)?.State.Name, 'terminated');
});

test('when the load balancer’s group lost its rules by hand, then down still deletes the instances’ group first, which refers to it', async () => {
  const account = accountWithLookAlikes();
  const before = account.snapshot();
  await runAgainst(account, REGION, upSteps(lbSettings()));
  groupNamed(account, 's3-photo-share-lb')!.IpPermissions = [];
  const nameOf = new Map([...account.region(REGION).groups.values()].map((group) => [group.GroupId, group.GroupName]));
  account.calls.length = 0;

  await runAgainst(account, REGION, downSteps(downSettings({ deleteBucket: true })));

  assert.deepEqual(
    [...new Set(account.inputsOf('DeleteSecurityGroup').map((input) => nameOf.get(String(input.GroupId))))],
    ['s3-photo-share-app', 's3-photo-share-lb'],
  );
  assert.deepEqual(settledSnapshot(account), before);
});
