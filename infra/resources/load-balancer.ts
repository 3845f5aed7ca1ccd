// The Application Load Balancer of `--instances N`: its security groups, target group, listeners and DNS record, created tagged, converged on rerun, deleted by down.
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyListenerCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type Action,
  type Listener,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { isAwsError, unlessMissing, type AwsDeps } from '../aws-clients.js';
import {
  APP_PORT,
  assertStackOwns,
  ownershipOf,
  stackNames,
  stackTags,
  tagsCli,
  type LoadBalancedSettings,
  type StackSettings,
  type Tag,
  type UpSettings,
} from '../stack.js';
import type { StackState } from '../state.js';
import { required, retryWithBackoff, seconds, waitFor, type Step } from '../step.js';
import { siteDomain } from './certificate.js';
import { createGroupCli, ensureSecurityGroup } from './security-group.js';

/**
 * AWS's recommended policy for new HTTPS listeners (Elastic Load Balancing user guide, "Security policies"): TLS 1.3 with
 * hybrid post-quantum key exchange, and TLS 1.2 with forward-secret AES-GCM ciphers only for older clients.
 */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09';
export const HTTPS_PORT = 443;
export const HTTP_PORT = 80;
/**
 * Seconds the load balancer keeps a deregistering instance's in-flight requests (an upload still streaming) before the
 * Auto Scaling group terminates it. Three times the app's default SHUTDOWN_GRACE_SECONDS (20): a slow upload gets a
 * minute with no new requests arriving, then the app's own grace on SIGTERM. The default, 300, would make each batch of
 * an instance refresh wait five minutes for nothing on a quiet demo.
 */
export const DEREGISTRATION_DELAY_SECONDS = 60;
export const HEALTH_CHECK = {
  HealthCheckProtocol: 'HTTP',
  HealthCheckPath: '/readyz',
  HealthCheckIntervalSeconds: 15,
  HealthCheckTimeoutSeconds: 5,
  HealthyThresholdCount: 2,
  UnhealthyThresholdCount: 3,
  Matcher: { HttpCode: '200' },
} as const;
/** Tags on the load balancer that record the alias record up created, so down deletes that record and no other. */
export const DNS_ZONE_TAG_KEY = 'dns-zone';
export const DNS_NAME_TAG_KEY = 'dns-name';
export const LOAD_BALANCER_DELETION_TIMEOUT_MS = 5 * 60_000;
export const TARGET_GROUP_RELEASE_BUDGET_MS = 120_000;

export function loadBalancerSecurityGroupsStep(settings: UpSettings, lb: LoadBalancedSettings): Step<AwsDeps, StackState> {
  const { region, allowCidr } = settings;
  const names = stackNames(settings.stack);
  const ports = lb.certificateArn ? [HTTP_PORT, HTTPS_PORT] : [HTTP_PORT];
  return {
    title: `Create the security groups ${names.loadBalancerSecurityGroupName} (TCP ${ports.join(' and ')} from ${allowCidr} only) and ${names.appSecurityGroupName} (TCP ${APP_PORT} from the load balancer only)`,
    why: `Only the load balancer is reachable from your network. The instances' group has no address range in it at all: it admits the app port from members of ${names.loadBalancerSecurityGroupName} only, so no instance can be reached around the load balancer. Any other inbound rule is revoked.`,
    cli: [
      createGroupCli(settings, names.loadBalancerSecurityGroupName, 'LB_SG_ID'),
      ...ports.map(
        (port) =>
          `aws ec2 authorize-security-group-ingress --region ${region} --group-id "$LB_SG_ID" --protocol tcp --port ${port} --cidr ${allowCidr}`,
      ),
      createGroupCli(settings, names.appSecurityGroupName, 'APP_SG_ID'),
      `aws ec2 authorize-security-group-ingress --region ${region} --group-id "$APP_SG_ID" --protocol tcp --port ${APP_PORT} --source-group "$LB_SG_ID"`,
    ],
    run: async (deps, state) => {
      const vpcId = required(state.vpcId, 'the VPC id');
      const lbGroupId = await ensureSecurityGroup(
        deps,
        settings,
        vpcId,
        names.loadBalancerSecurityGroupName,
        ports.map((port) => ({ port, cidr: allowCidr, description: `S3 Photo Share ${port === HTTPS_PORT ? 'HTTPS' : 'HTTP'}` })),
      );
      state.loadBalancerSecurityGroupId = lbGroupId;
      state.appSecurityGroupId = await ensureSecurityGroup(deps, settings, vpcId, names.appSecurityGroupName, [
        { port: APP_PORT, sourceGroupId: lbGroupId, description: 'S3 Photo Share from its load balancer' },
      ]);
    },
  };
}

async function tagsOf({ aws }: AwsDeps, arn: string): Promise<Tag[]> {
  const { TagDescriptions = [] } = await aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
  return (TagDescriptions[0]?.Tags ?? []).map((tag) => ({ Key: tag.Key ?? '', Value: tag.Value ?? '' }));
}

async function findTargetGroup({ aws }: AwsDeps, name: string): Promise<TargetGroup | undefined> {
  const found = await unlessMissing(aws.elbv2.send(new DescribeTargetGroupsCommand({ Names: [name] })), 'TargetGroupNotFoundException');
  return found?.TargetGroups?.[0];
}

async function findLoadBalancer({ aws }: AwsDeps, name: string): Promise<LoadBalancer | undefined> {
  const found = await unlessMissing(aws.elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] })), 'LoadBalancerNotFoundException');
  return found?.LoadBalancers?.[0];
}

function healthCheckDiffers(group: TargetGroup): boolean {
  return (Object.keys(HEALTH_CHECK) as (keyof typeof HEALTH_CHECK)[]).some((key) =>
    key === 'Matcher' ? group.Matcher?.HttpCode !== HEALTH_CHECK.Matcher.HttpCode : group[key] !== HEALTH_CHECK[key],
  );
}

export function targetGroupUpStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Create the target group ${names.targetGroupName}: HTTP to port ${APP_PORT}, health check GET ${HEALTH_CHECK.HealthCheckPath}`,
    why: `The load balancer sends requests only to instances whose ${HEALTH_CHECK.HealthCheckPath} answers 200, which the app does once it reaches the bucket with its role; the Auto Scaling group replaces an instance the check finds unhealthy. Deregistration delay ${DEREGISTRATION_DELAY_SECONDS} s: an instance leaving (a release, a scale-in) gets no new requests while its uploads in flight finish.`,
    cli: [
      `TG_ARN=$(aws elbv2 create-target-group --region ${region} --name ${names.targetGroupName} --protocol HTTP --port ${APP_PORT} --vpc-id "$VPC_ID" --target-type instance --health-check-protocol HTTP --health-check-path ${HEALTH_CHECK.HealthCheckPath} --health-check-interval-seconds ${HEALTH_CHECK.HealthCheckIntervalSeconds} --health-check-timeout-seconds ${HEALTH_CHECK.HealthCheckTimeoutSeconds} --healthy-threshold-count ${HEALTH_CHECK.HealthyThresholdCount} --unhealthy-threshold-count ${HEALTH_CHECK.UnhealthyThresholdCount} --matcher HttpCode=${HEALTH_CHECK.Matcher.HttpCode} --tags ${tagsCli(settings)} --query 'TargetGroups[0].TargetGroupArn' --output text)`,
      `aws elbv2 modify-target-group-attributes --region ${region} --target-group-arn "$TG_ARN" --attributes Key=deregistration_delay.timeout_seconds,Value=${DEREGISTRATION_DELAY_SECONDS}`,
    ],
    run: async (deps, state) => {
      const { aws, log } = deps;
      let group = await findTargetGroup(deps, names.targetGroupName);
      if (group) {
        assertStackOwns(
          await tagsOf(deps, required(group.TargetGroupArn, 'the target group ARN')),
          settings,
          `Target group ${names.targetGroupName}`,
        );
        log(`Reusing target group ${group.TargetGroupArn}`);
        if (healthCheckDiffers(group)) {
          await aws.elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: group.TargetGroupArn, ...HEALTH_CHECK }));
          log(`Health check of ${names.targetGroupName} set back to GET ${HEALTH_CHECK.HealthCheckPath}`);
        }
      } else {
        const created = await aws.elbv2.send(
          new CreateTargetGroupCommand({
            Name: names.targetGroupName,
            Protocol: 'HTTP',
            Port: APP_PORT,
            VpcId: required(state.vpcId, 'the VPC id'),
            TargetType: 'instance',
            ...HEALTH_CHECK,
            Tags: stackTags(settings),
          }),
        );
        group = created.TargetGroups?.[0];
        log(`Created target group ${group?.TargetGroupArn}`);
      }
      const arn = required(group?.TargetGroupArn, 'the target group ARN');
      state.targetGroupArn = arn;
      const { Attributes = [] } = await aws.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
      const delay = Attributes.find((attribute) => attribute.Key === 'deregistration_delay.timeout_seconds')?.Value;
      if (delay !== String(DEREGISTRATION_DELAY_SECONDS)) {
        await aws.elbv2.send(
          new ModifyTargetGroupAttributesCommand({
            TargetGroupArn: arn,
            Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(DEREGISTRATION_DELAY_SECONDS) }],
          }),
        );
        log(`Deregistration delay set to ${DEREGISTRATION_DELAY_SECONDS} s`);
      }
    },
  };
}

/** The same items in any order (subnets, security groups), as AWS lists them in its own order. */
export function sameMembers(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return (a ?? []).length === b.length && b.every((item) => a?.includes(item));
}

export function loadBalancerUpStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Create the internet-facing Application Load Balancer ${names.loadBalancerName} across the default subnets`,
    why: `One public entry for every instance, in at least two availability zones, guarded by ${names.loadBalancerSecurityGroupName}. A rerun puts back its subnets and security group if they were changed.`,
    cli: [
      `aws elbv2 describe-load-balancers --region ${region} --names ${names.loadBalancerName}   # LoadBalancerNotFound: create it`,
      `LB_ARN=$(aws elbv2 create-load-balancer --region ${region} --name ${names.loadBalancerName} --type application --scheme internet-facing --ip-address-type ipv4 --subnets $SUBNET_IDS --security-groups "$LB_SG_ID" --tags ${tagsCli(settings)} --query 'LoadBalancers[0].LoadBalancerArn' --output text)`,
    ],
    run: async (deps, state) => {
      const { aws, log } = deps;
      const subnetIds = required(state.subnetIds, 'the subnet ids');
      const groupId = required(state.loadBalancerSecurityGroupId, 'the load balancer security group id');
      let loadBalancer = await findLoadBalancer(deps, names.loadBalancerName);
      if (loadBalancer) {
        const arn = required(loadBalancer.LoadBalancerArn, 'the load balancer ARN');
        assertStackOwns(await tagsOf(deps, arn), settings, `Load balancer ${names.loadBalancerName}`);
        log(`Reusing load balancer ${loadBalancer.DNSName}`);
        if (!sameMembers(loadBalancer.SecurityGroups, [groupId])) {
          await aws.elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: arn, SecurityGroups: [groupId] }));
          log(`Security groups of ${names.loadBalancerName} set back to ${groupId}`);
        }
        const currentSubnets = (loadBalancer.AvailabilityZones ?? []).map((zone) => zone.SubnetId ?? '');
        if (!sameMembers(currentSubnets, subnetIds)) {
          await aws.elbv2.send(new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: subnetIds }));
          log(`Subnets of ${names.loadBalancerName} set to ${subnetIds.join(', ')}`);
        }
      } else {
        const created = await aws.elbv2.send(
          new CreateLoadBalancerCommand({
            Name: names.loadBalancerName,
            Type: 'application',
            Scheme: 'internet-facing',
            IpAddressType: 'ipv4',
            Subnets: subnetIds,
            SecurityGroups: [groupId],
            Tags: stackTags(settings),
          }),
        );
        loadBalancer = created.LoadBalancers?.[0];
        log(`Created load balancer ${loadBalancer?.DNSName}`);
      }
      state.loadBalancerArn = required(loadBalancer?.LoadBalancerArn, 'the load balancer ARN');
      state.loadBalancerDnsName = loadBalancer?.DNSName;
      state.loadBalancerZoneId = loadBalancer?.CanonicalHostedZoneId;
    },
  };
}

interface ListenerSpec {
  Port: number;
  Protocol: 'HTTP' | 'HTTPS';
  SslPolicy?: string;
  Certificates?: { CertificateArn: string }[];
  DefaultActions: Action[];
}

export function desiredListeners(targetGroupArn: string, certificateArn: string | undefined): ListenerSpec[] {
  const forward: Action[] = [{ Type: 'forward', TargetGroupArn: targetGroupArn }];
  if (!certificateArn) return [{ Port: HTTP_PORT, Protocol: 'HTTP', DefaultActions: forward }];
  return [
    {
      Port: HTTPS_PORT,
      Protocol: 'HTTPS',
      SslPolicy: TLS_POLICY,
      Certificates: [{ CertificateArn: certificateArn }],
      DefaultActions: forward,
    },
    {
      Port: HTTP_PORT,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: String(HTTPS_PORT), StatusCode: 'HTTP_301' } }],
    },
  ];
}

/** What a listener does, in the terms this tool sets, so an existing listener can be compared with the wanted one. */
function listenerBehaviour(listener: Listener | ListenerSpec): string {
  return JSON.stringify([
    listener.Protocol,
    listener.SslPolicy ?? null,
    listener.Certificates?.[0]?.CertificateArn ?? null,
    (listener.DefaultActions ?? []).map((action) => [
      action.Type,
      action.TargetGroupArn ?? null,
      action.RedirectConfig ? [action.RedirectConfig.Protocol, action.RedirectConfig.Port, action.RedirectConfig.StatusCode] : null,
    ]),
  ]);
}

export function listenersUpStep(settings: StackSettings, lb: LoadBalancedSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const forward = 'Type=forward,TargetGroupArn="$TG_ARN"';
  return {
    title: lb.certificateArn
      ? `Listen on HTTPS ${HTTPS_PORT} with ${TLS_POLICY}, and redirect HTTP ${HTTP_PORT} to it (301)`
      : `Listen on HTTP ${HTTP_PORT} only (no --certificate-arn)`,
    why: lb.certificateArn
      ? 'TLS ends at the load balancer with the ACM certificate (ACM renews it); the policy allows TLS 1.3 and TLS 1.2 with forward-secret ciphers only. Plain HTTP only answers with a redirect, so the session and CSRF cookies, which the app marks Secure behind HTTPS, never travel in clear text. A listener on another port is deleted.'
      : 'Without a certificate the demo is plain HTTP: traffic, and the session and CSRF cookies, cross the network in clear text, and the cookies cannot be marked Secure. Give --certificate-arn for anything beyond a demo. A listener on another port is deleted.',
    cli: lb.certificateArn
      ? [
          `aws elbv2 create-listener --region ${region} --load-balancer-arn "$LB_ARN" --protocol HTTPS --port ${HTTPS_PORT} --ssl-policy ${TLS_POLICY} --certificates CertificateArn=${lb.certificateArn} --default-actions ${forward} --tags ${tagsCli(settings)}`,
          `aws elbv2 create-listener --region ${region} --load-balancer-arn "$LB_ARN" --protocol HTTP --port ${HTTP_PORT} --default-actions 'Type=redirect,RedirectConfig={Protocol=HTTPS,Port=${HTTPS_PORT},StatusCode=HTTP_301}' --tags ${tagsCli(settings)}`,
          `# On a rerun: aws elbv2 modify-listener for a listener that differs, aws elbv2 delete-listener for one on another port.`,
        ]
      : [
          `aws elbv2 create-listener --region ${region} --load-balancer-arn "$LB_ARN" --protocol HTTP --port ${HTTP_PORT} --default-actions ${forward} --tags ${tagsCli(settings)}`,
          `# On a rerun: aws elbv2 modify-listener for a listener that differs, aws elbv2 delete-listener for one on another port (443 of an earlier run with a certificate).`,
        ],
    run: async ({ aws, log }, state) => {
      const loadBalancerArn = required(state.loadBalancerArn, 'the load balancer ARN');
      const wanted = desiredListeners(required(state.targetGroupArn, 'the target group ARN'), lb.certificateArn);
      const { Listeners = [] } = await aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }));
      for (const listener of Listeners) {
        if (wanted.some((spec) => spec.Port === listener.Port)) continue;
        await aws.elbv2.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
        log(`Deleted the listener on port ${listener.Port}`);
      }
      for (const spec of wanted) {
        const existing = Listeners.find((listener) => listener.Port === spec.Port);
        if (!existing) {
          await aws.elbv2.send(new CreateListenerCommand({ LoadBalancerArn: loadBalancerArn, ...spec, Tags: stackTags(settings) }));
          log(`Created the ${spec.Protocol} listener on port ${spec.Port}`);
        } else if (listenerBehaviour(existing) !== listenerBehaviour(spec)) {
          await aws.elbv2.send(new ModifyListenerCommand({ ListenerArn: existing.ListenerArn, ...spec }));
          log(`Changed the listener on port ${spec.Port} to ${spec.Protocol}`);
        } else {
          log(`The ${spec.Protocol} listener on port ${spec.Port} is as wanted`);
        }
      }
    },
  };
}

function recordName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** Route 53 returns alias targets lower-case with a trailing dot, and the load balancer's name as `dualstack.<dns name>`. */
function aliasPointsAt(record: ResourceRecordSet | undefined, dnsName: string): boolean {
  const target = record?.AliasTarget?.DNSName;
  return target !== undefined && recordName(target).replace(/^dualstack\./, '') === recordName(dnsName);
}

async function findARecord({ aws }: AwsDeps, zoneId: string, name: string): Promise<ResourceRecordSet | undefined> {
  const { ResourceRecordSets = [] } = await aws.route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, StartRecordType: 'A', MaxItems: 1 }),
  );
  return ResourceRecordSets.find((record) => recordName(record.Name ?? '') === recordName(name) && record.Type === 'A');
}

export function dnsRecordUpStep(settings: StackSettings, lb: LoadBalancedSettings & { certificateArn: string }): Step<AwsDeps, StackState> {
  const names = stackNames(settings.stack);
  const zoneId = lb.hostedZoneId;
  return {
    title: zoneId
      ? `Point the certificate's domain at the load balancer: an alias A record in the hosted zone ${zoneId}`
      : "Print the DNS record the certificate's domain needs (no --hosted-zone-id)",
    why: zoneId
      ? `The certificate is only valid for its own names, so browsers must reach the load balancer by one of them. An alias record costs nothing per query and follows the load balancer's changing addresses. Its zone and name are recorded as tags (${DNS_ZONE_TAG_KEY}, ${DNS_NAME_TAG_KEY}) on the load balancer, so down deletes that record and only while it still points at this load balancer; a record of that name pointing elsewhere is refused.`
      : 'The certificate is only valid for its own names, so browsers must reach the load balancer by one of them. Create the printed CNAME record at your DNS provider (or pass --hosted-zone-id for a Route 53 zone and up creates an alias record).',
    cli: zoneId
      ? [
          `aws route53 get-hosted-zone --id ${zoneId} --query HostedZone.Name`,
          `aws route53 change-resource-record-sets --hosted-zone-id ${zoneId} --change-batch file://alias.json`,
          `aws elbv2 add-tags --region ${settings.region} --resource-arns "$LB_ARN" --tags Key=${DNS_ZONE_TAG_KEY},Value=${zoneId} Key=${DNS_NAME_TAG_KEY},Value=<domain>`,
        ]
      : [
          `aws elbv2 describe-load-balancers --region ${settings.region} --names ${names.loadBalancerName} --query 'LoadBalancers[0].DNSName' --output text   # then at your DNS provider: <domain> CNAME <that name>`,
        ],
    documents: zoneId
      ? {
          'alias.json': {
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: '<the first non-wildcard name of the certificate>',
                  Type: 'A',
                  AliasTarget: {
                    HostedZoneId: '<the load balancer CanonicalHostedZoneId>',
                    DNSName: 'dualstack.<the load balancer DNSName>',
                    EvaluateTargetHealth: true,
                  },
                },
              },
            ],
          },
        }
      : undefined,
    run: async (deps, state) => {
      const { aws, log } = deps;
      const domain = siteDomain(required(state.certificateDomains, 'the certificate domains'), lb.certificateArn);
      const dnsName = required(state.loadBalancerDnsName, 'the load balancer DNS name');
      if (!zoneId) {
        state.dnsRecordToCreate = `${domain}. CNAME ${dnsName}.`;
        log(`Create this DNS record at your DNS provider: ${state.dnsRecordToCreate}`);
        return;
      }
      const found = await unlessMissing(aws.route53.send(new GetHostedZoneCommand({ Id: zoneId })), 'NoSuchHostedZone');
      const zoneName = recordName(found?.HostedZone?.Name ?? '');
      if (!found?.HostedZone)
        throw new Error(`Hosted zone ${zoneId} does not exist. Check --hosted-zone-id (\`aws route53 list-hosted-zones\`).`);
      if (recordName(domain) !== zoneName && !recordName(domain).endsWith(`.${zoneName}`))
        throw new Error(
          `The certificate's name ${domain} is not inside the hosted zone ${zoneId} (${zoneName}). Pass the zone that holds ${domain}.`,
        );
      const existing = await findARecord(deps, zoneId, domain);
      if (existing && !aliasPointsAt(existing, dnsName)) {
        throw new Error(
          `Hosted zone ${zoneId} already has an A record ${domain} that does not point at ${names.loadBalancerName}: up leaves it as it is. Delete or rename it yourself, or leave out --hosted-zone-id and create the record you want.`,
        );
      }
      if (existing) {
        log(`${domain} already points at ${dnsName}`);
      } else {
        await aws.route53.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            ChangeBatch: {
              Comment: `S3 Photo Share ${settings.stack}`,
              Changes: [
                {
                  Action: 'UPSERT',
                  ResourceRecordSet: {
                    Name: domain,
                    Type: 'A',
                    AliasTarget: {
                      HostedZoneId: required(state.loadBalancerZoneId, 'the load balancer hosted zone'),
                      DNSName: `dualstack.${dnsName}`,
                      EvaluateTargetHealth: true,
                    },
                  },
                },
              ],
            },
          }),
        );
        log(`Created the alias record ${domain} → ${dnsName}`);
      }
      const loadBalancerArn = required(state.loadBalancerArn, 'the load balancer ARN');
      const tags = await tagsOf(deps, loadBalancerArn);
      const recorded = (key: string) => tags.find((tag) => tag.Key === key)?.Value;
      if (recorded(DNS_ZONE_TAG_KEY) !== zoneId || recorded(DNS_NAME_TAG_KEY) !== domain) {
        await aws.elbv2.send(
          new AddTagsCommand({
            ResourceArns: [loadBalancerArn],
            Tags: [
              { Key: DNS_ZONE_TAG_KEY, Value: zoneId },
              { Key: DNS_NAME_TAG_KEY, Value: domain },
            ],
          }),
        );
      }
    },
  };
}

/** The stack's load balancer, or undefined when there is none or the one of that name is someone else's (left alone). */
async function ownedLoadBalancer(deps: AwsDeps, settings: StackSettings): Promise<{ loadBalancer: LoadBalancer; tags: Tag[] } | undefined> {
  const name = stackNames(settings.stack).loadBalancerName;
  const loadBalancer = await findLoadBalancer(deps, name);
  if (!loadBalancer) {
    deps.log(`No load balancer ${name}`);
    return undefined;
  }
  const tags = await tagsOf(deps, required(loadBalancer.LoadBalancerArn, 'the load balancer ARN'));
  if (ownershipOf(tags, settings).owner !== 'this-stack') {
    deps.log(`Load balancer ${name} is not tagged as this stack's: left as it is`);
    return undefined;
  }
  return { loadBalancer, tags };
}

/** Deletes the alias record up created, if it still points at this stack's load balancer. */
export async function deleteDnsRecord(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const owned = await ownedLoadBalancer(deps, settings);
  if (!owned) return;
  const zoneId = owned.tags.find((tag) => tag.Key === DNS_ZONE_TAG_KEY)?.Value;
  const name = owned.tags.find((tag) => tag.Key === DNS_NAME_TAG_KEY)?.Value;
  if (!zoneId || !name) {
    deps.log('The load balancer has no DNS record created by up');
    return;
  }
  const record = await findARecord(deps, zoneId, name);
  if (!record || !aliasPointsAt(record, owned.loadBalancer.DNSName ?? '')) {
    deps.log(`No A record ${name} pointing at the load balancer in ${zoneId}: nothing to delete`);
    return;
  }
  await deps.aws.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: record }] },
    }),
  );
  deps.log(`Deleted the alias record ${name} in ${zoneId}`);
}

/** Deletes the load balancer (its listeners go with it) and waits until it is gone, so the target group is free. */
export async function deleteLoadBalancer(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const owned = await ownedLoadBalancer(deps, settings);
  if (!owned) return;
  const name = stackNames(settings.stack).loadBalancerName;
  await deps.aws.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: owned.loadBalancer.LoadBalancerArn }));
  deps.log(`Deleting load balancer ${name}; waiting until it is gone`);
  const gone = await waitFor(
    async () => ((await findLoadBalancer(deps, name)) ? undefined : true),
    { intervalMs: 5_000, timeoutMs: LOAD_BALANCER_DELETION_TIMEOUT_MS },
    deps,
  );
  if (!gone)
    throw new Error(
      `Load balancer ${name} was still there after ${seconds(LOAD_BALANCER_DELETION_TIMEOUT_MS)}. Run the same command again.`,
    );
}

/** Deletes the target group, retrying while a listener or the Auto Scaling group being deleted still uses it. */
export async function deleteTargetGroup(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const name = stackNames(settings.stack).targetGroupName;
  const group = await findTargetGroup(deps, name);
  if (!group) {
    deps.log(`No target group ${name}`);
    return;
  }
  const arn = required(group.TargetGroupArn, 'the target group ARN');
  if (ownershipOf(await tagsOf(deps, arn), settings).owner !== 'this-stack') {
    deps.log(`Target group ${name} is not tagged as this stack's: left as it is`);
    return;
  }
  await retryWithBackoff(
    () => deps.aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })),
    {
      isRetryable: (error) => isAwsError(error, 'ResourceInUseException'),
      describeWait: (delayMs) => `Target group ${name} is still in use; retrying in ${seconds(delayMs)}`,
      firstDelayMs: 5_000,
      maxDelayMs: 20_000,
      budgetMs: TARGET_GROUP_RELEASE_BUDGET_MS,
    },
    deps,
  );
  deps.log(`Deleted target group ${name}`);
}

export function loadBalancerDownSteps(settings: StackSettings): Step<AwsDeps, StackState>[] {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return [
    {
      title: `Delete the DNS alias record up created for ${names.loadBalancerName}, if any`,
      why: `Only the record named by the load balancer's ${DNS_ZONE_TAG_KEY} and ${DNS_NAME_TAG_KEY} tags, and only while it still points at this load balancer; any other record stays.`,
      cli: [
        `aws elbv2 describe-tags --region ${region} --resource-arns "$LB_ARN"   # ${DNS_ZONE_TAG_KEY}, ${DNS_NAME_TAG_KEY}`,
        `aws route53 change-resource-record-sets --hosted-zone-id <${DNS_ZONE_TAG_KEY}> --change-batch file://delete-alias.json   # the A record as list-resource-record-sets shows it, with Action DELETE`,
      ],
      run: (deps) => deleteDnsRecord(deps, settings),
    },
    {
      title: `Delete the load balancer ${names.loadBalancerName} with its listeners, and wait until it is gone`,
      why: 'Only when it carries the stack tags. The target group cannot be deleted while a listener forwards to it.',
      cli: [
        `LB_ARN=$(aws elbv2 describe-load-balancers --region ${region} --names ${names.loadBalancerName} --query 'LoadBalancers[0].LoadBalancerArn' --output text)`,
        `aws elbv2 describe-tags --region ${region} --resource-arns "$LB_ARN"   # must carry the stack tags`,
        `aws elbv2 delete-load-balancer --region ${region} --load-balancer-arn "$LB_ARN"`,
        `aws elbv2 wait load-balancers-deleted --region ${region} --load-balancer-arns "$LB_ARN"`,
      ],
      run: (deps) => deleteLoadBalancer(deps, settings),
    },
    {
      title: `Delete the target group ${names.targetGroupName}`,
      why: 'Only when it carries the stack tags; ResourceInUse is retried for a while, as the deleted load balancer releases it.',
      cli: [
        `TG_ARN=$(aws elbv2 describe-target-groups --region ${region} --names ${names.targetGroupName} --query 'TargetGroups[0].TargetGroupArn' --output text)`,
        `aws elbv2 delete-target-group --region ${region} --target-group-arn "$TG_ARN"`,
      ],
      run: (deps) => deleteTargetGroup(deps, settings),
    },
  ];
}

export function loadBalancedUrl(state: StackState, lb: LoadBalancedSettings): string {
  if (lb.certificateArn) return `https://${siteDomain(required(state.certificateDomains, 'the certificate domains'), lb.certificateArn)}/`;
  return `http://${required(state.loadBalancerDnsName, 'the load balancer DNS name')}/`;
}
