// The load-balanced part of the in-memory AWS account: default subnets, launch templates, Auto Scaling groups with instance refreshes, load balancers, target groups, listeners, SSM parameters, ACM certificates and Route 53 zones, advancing with the fake clock.
import type { FakeAccount, InstanceModel } from './fake-aws.js';
import { AwsFault } from './aws-errors.js';
import { assertUserDataSize, withTags } from './fake-aws.js';

type Tags = { Key: string; Value: string }[];
type Json = Record<string, unknown>;
type Filter = { Name: string; Values: string[] };
type Handler = (input: Json, region: string) => unknown;

/** How long a new instance takes, once running, until its /readyz answers (first boot), as the fake clock counts. */
export const BOOT_MS = 120_000;
/** How long a deleted load balancer's network interfaces keep its security group in use. */
export const LOAD_BALANCER_ENI_RELEASE_MS = 30_000;
/** The statuses of an instance refresh that has ended (any other means it is still running). */
const REFRESH_ENDED = ['Successful', 'Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed'];
const RECORD_TYPES = [
  'A',
  'AAAA',
  'CAA',
  'CNAME',
  'DS',
  'HTTPS',
  'MX',
  'NAPTR',
  'NS',
  'PTR',
  'SOA',
  'SPF',
  'SRV',
  'SSHFP',
  'SVCB',
  'TLSA',
  'TXT',
];
/** The Route 53 zone of every load balancer in the model (eu-west-1's real one). */
export const LOAD_BALANCER_ZONE_ID = 'Z32O12XQLNTSW2';

export interface TargetModel {
  state: 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';
  drainingUntil?: number;
}

export interface TargetGroupModel {
  TargetGroupArn: string;
  TargetGroupName: string;
  Protocol: string;
  Port: number;
  VpcId: string;
  TargetType: string;
  HealthCheckProtocol?: string;
  HealthCheckPath?: string;
  HealthCheckIntervalSeconds?: number;
  HealthCheckTimeoutSeconds?: number;
  HealthyThresholdCount?: number;
  UnhealthyThresholdCount?: number;
  Matcher?: { HttpCode: string };
  Tags: Tags;
  attributes: Record<string, string>;
  targets: Map<string, TargetModel>;
}

export interface LoadBalancerModel {
  LoadBalancerArn: string;
  LoadBalancerName: string;
  DNSName: string;
  CanonicalHostedZoneId: string;
  Scheme: string;
  Type: string;
  IpAddressType: string;
  VpcId: string;
  SecurityGroups: string[];
  AvailabilityZones: { ZoneName: string; SubnetId: string }[];
  Tags: Tags;
  /** Set by DeleteLoadBalancer: still listed until then, as AWS deletes in the background. */
  goneAt?: number;
  /** Until then the load balancer is "provisioning" and checks no target's health (unset: active). */
  activeAt?: number;
}

export interface ListenerModel {
  ListenerArn: string;
  LoadBalancerArn: string;
  Port: number;
  Protocol: string;
  SslPolicy?: string;
  Certificates?: { CertificateArn: string }[];
  DefaultActions: Json[];
  Tags: Tags;
}

export interface LaunchTemplateModel {
  LaunchTemplateId: string;
  LaunchTemplateName: string;
  Tags: Tags;
  versions: { VersionNumber: number; VersionDescription?: string; data: Json }[];
}

export interface RefreshModel {
  InstanceRefreshId: string;
  Status: string;
  StatusReason?: string;
  PercentageComplete: number;
  minHealthyPercentage: number;
  /** The outdated instances when it started, for the percentage. */
  outdatedAtStart: number;
  /** A refresh someone else started, which ends at this time whatever the instances, with this status (Successful if unset). */
  endsAt?: number;
  endStatus?: string;
}

export interface GroupModel {
  AutoScalingGroupName: string;
  LaunchTemplate: { LaunchTemplateId: string; Version: string };
  MinSize: number;
  MaxSize: number;
  DesiredCapacity: number;
  VPCZoneIdentifier: string;
  TargetGroupARNs: string[];
  HealthCheckType: string;
  HealthCheckGracePeriod: number;
  Tags: Tags;
  /** Instance id → the template and version it was launched from (neither for an instance attached by hand: AttachInstances). */
  instances: Map<string, { templateId?: string; version?: string; zone: string }>;
  Status?: string;
  deletedAt?: number;
  /** Not AWS's field: the group launches no instance before this time. */
  launchesFrom?: number;
  refreshes: RefreshModel[];
}

export interface ScalingRegionModel {
  loadBalancers: Map<string, LoadBalancerModel>;
  targetGroups: Map<string, TargetGroupModel>;
  listeners: Map<string, ListenerModel>;
  launchTemplates: Map<string, LaunchTemplateModel>;
  groups: Map<string, GroupModel>;
  parameters: Map<string, { Type: string; Value: string; Description?: string; Tags: Tags }>;
  certificates: Map<string, { Status: string; DomainName: string; SubjectAlternativeNames: string[] }>;
  /** Security groups a deleted load balancer's network interfaces still hold, until a time. */
  lingeringInterfaces: { groupIds: string[]; until: number }[];
}

export interface HostedZoneModel {
  Name: string;
  records: Json[];
}

function emptyRegion(): ScalingRegionModel {
  return {
    loadBalancers: new Map(),
    targetGroups: new Map(),
    listeners: new Map(),
    launchTemplates: new Map(),
    groups: new Map(),
    parameters: new Map(),
    certificates: new Map(),
    lingeringInterfaces: [],
  };
}

function dotted(name: unknown): string {
  const text = String(name).toLowerCase();
  return text.endsWith('.') ? text : `${text}.`;
}

/** The versions of a template a group or a request names. */
function resolveVersion(template: LaunchTemplateModel, version: string): number {
  if (version === '$Latest' || version === '$Default') return template.versions.length;
  return Number(version);
}

export class ScalingModel {
  readonly regions = new Map<string, ScalingRegionModel>();
  readonly hostedZones = new Map<string, HostedZoneModel>();
  /** Availability zones with a default subnet, per region (three unless a test says otherwise). */
  readonly defaultZones = new Map<string, string[]>();
  /** How long a deleted load balancer stays listed. */
  loadBalancerDeletionMs = 20_000;
  /** How long a new load balancer stays "provisioning" (the ELB waiter LoadBalancerAvailable polls for "active"). */
  loadBalancerProvisioningMs = 60_000;
  /** How long a deleted Auto Scaling group stays listed as "Delete in progress" once it has no instances. */
  groupDeletionMs = 10_000;
  /** How long a new Auto Scaling group waits before it launches its first instances (CreateAutoScalingGroup returns before that). */
  groupFirstLaunchMs = 0;

  constructor(private readonly account: FakeAccount) {}

  region(name: string): ScalingRegionModel {
    let region = this.regions.get(name);
    if (!region) {
      region = emptyRegion();
      this.regions.set(name, region);
    }
    return region;
  }

  zonesOf(region: string): string[] {
    return this.defaultZones.get(region) ?? [`${region}a`, `${region}b`, `${region}c`];
  }

  addCertificate(
    region: string,
    arn: string,
    certificate: { Status?: string; DomainName: string; SubjectAlternativeNames?: string[] },
  ): void {
    this.region(region).certificates.set(arn, { Status: 'ISSUED', SubjectAlternativeNames: [], ...certificate });
  }

  addHostedZone(id: string, name: string, records: Json[] = []): HostedZoneModel {
    const zone = { Name: dotted(name), records };
    this.hostedZones.set(id, zone);
    return zone;
  }

  isEmpty(region: string): boolean {
    const model = this.regions.get(region);
    if (!model) return true;
    return (
      model.loadBalancers.size +
        model.targetGroups.size +
        model.listeners.size +
        model.launchTemplates.size +
        model.groups.size +
        model.parameters.size +
        model.certificates.size ===
      0
    );
  }

  snapshot(): unknown {
    return {
      regions: [...this.regions]
        .filter(([name]) => !this.isEmpty(name))
        .map(([name, region]) => [name, { ...region, lingeringInterfaces: undefined }]),
      hostedZones: [...this.hostedZones],
    };
  }

  /** Whether a security group is still used by a load balancer, a lingering interface of one, or another group's rule. */
  groupInUse(region: string, groupId: string): boolean {
    const model = this.region(region);
    if ([...model.loadBalancers.values()].some((lb) => lb.SecurityGroups.includes(groupId))) return true;
    if (model.lingeringInterfaces.some((eni) => eni.until > this.account.now() && eni.groupIds.includes(groupId))) return true;
    return [...this.account.region(region).groups.values()].some((group) =>
      group.IpPermissions.some((rule) => (rule.UserIdGroupPairs ?? []).some((pair) => pair.GroupId === groupId)),
    );
  }

  /** Is a GET of this URL answered 200 by a load balancer of the region? */
  answers(region: string, url: string): boolean {
    const { host, protocol } = new URL(url);
    const model = this.region(region);
    const aliasTarget = [...this.hostedZones.values()]
      .flatMap((zone) => zone.records)
      .find((record) => record.Name === dotted(host) && record.Type === 'A')?.AliasTarget as { DNSName?: string } | undefined;
    const lbHost = aliasTarget?.DNSName
      ? dotted(aliasTarget.DNSName)
          .replace(/^dualstack\./, '')
          .replace(/\.$/, '')
      : host;
    const lb = [...model.loadBalancers.values()].find((candidate) => candidate.DNSName === lbHost);
    if (!lb) return false;
    const port = protocol === 'https:' ? 443 : 80;
    const listener = [...model.listeners.values()].find(
      (candidate) => candidate.LoadBalancerArn === lb.LoadBalancerArn && candidate.Port === port,
    );
    const action = listener?.DefaultActions[0] as { Type?: string; TargetGroupArn?: string } | undefined;
    if (action?.Type !== 'forward') return false;
    const group = model.targetGroups.get(String(action.TargetGroupArn));
    return [...(group?.targets.values() ?? [])].some((target) => target.state === 'healthy');
  }

  /** Moves every group, target and refresh forward to the account's clock. */
  advance(): void {
    const now = this.account.now();
    for (const [regionName, model] of this.regions) {
      const instances = this.account.region(regionName).instances;
      model.lingeringInterfaces = model.lingeringInterfaces.filter((eni) => eni.until > now);
      for (const [arn, lb] of model.loadBalancers) {
        if (lb.goneAt === undefined || lb.goneAt > now) continue;
        model.loadBalancers.delete(arn);
        model.lingeringInterfaces.push({ groupIds: lb.SecurityGroups, until: now + LOAD_BALANCER_ENI_RELEASE_MS });
      }
      for (const group of model.targetGroups.values()) {
        const checked = this.healthCheckedBy(model, group.TargetGroupArn);
        for (const [id, target] of group.targets) {
          const instance = instances.get(id);
          if (target.state === 'draining') {
            if ((target.drainingUntil ?? 0) <= now) group.targets.delete(id);
            continue;
          }
          if (!instance || instance.State.Name === 'terminated' || instance.State.Name === 'shutting-down') group.targets.delete(id);
          // Elastic Load Balancing, "Health checks for Application Load Balancer target groups": "unused" when no load balancer
          // routes to the group; checks start once the load balancer is active, so until then a target stays "initial".
          else if (checked === 'unused') target.state = 'unused';
          else if (checked === 'provisioning') target.state = 'initial';
          else if (instance.setup === 'failed') target.state = 'unhealthy';
          else if (instance.State.Name === 'running' && now >= ((instance as InstanceModel & { bootedAt?: number }).bootedAt ?? 0))
            target.state = 'healthy';
        }
      }
      for (const group of [...model.groups.values()]) this.advanceGroup(regionName, model, group);
    }
  }

  /** Whether a load balancer checks the group's targets: one of its listeners forwards there, and it is active. */
  private healthCheckedBy(model: ScalingRegionModel, targetGroupArn: string): 'checked' | 'provisioning' | 'unused' {
    const routing = [...model.listeners.values()]
      .filter((listener) => listener.DefaultActions.some((action) => action.TargetGroupArn === targetGroupArn))
      .map((listener) => model.loadBalancers.get(listener.LoadBalancerArn))
      .filter((lb): lb is LoadBalancerModel => lb !== undefined && lb.goneAt === undefined);
    if (routing.length === 0) return 'unused';
    return routing.some((lb) => (lb.activeAt ?? 0) <= this.account.now()) ? 'checked' : 'provisioning';
  }

  private advanceGroup(regionName: string, model: ScalingRegionModel, group: GroupModel): void {
    const now = this.account.now();
    const instances = this.account.region(regionName).instances;
    for (const id of [...group.instances.keys()]) {
      const state = instances.get(id)?.State.Name;
      if (state === 'terminated' || state === undefined) group.instances.delete(id);
    }
    if (group.Status) {
      if (group.instances.size === 0 && now >= (group.deletedAt ?? 0)) model.groups.delete(group.AutoScalingGroupName);
      return;
    }
    const inService = () =>
      [...group.instances].filter(([id]) => {
        const state = instances.get(id)?.State.Name;
        const draining = group.TargetGroupARNs.some((arn) => model.targetGroups.get(arn)?.targets.get(id)?.state === 'draining');
        return state !== 'shutting-down' && !draining;
      });
    const template = model.launchTemplates.get(group.LaunchTemplate.LaunchTemplateId);
    const current = template ? String(resolveVersion(template, group.LaunchTemplate.Version)) : group.LaunchTemplate.Version;
    const isCurrent = (launched: { templateId?: string; version?: string }) =>
      launched.templateId === group.LaunchTemplate.LaunchTemplateId && launched.version === current;
    const isHealthy = (id: string) =>
      group.TargetGroupARNs.every((arn) => model.targetGroups.get(arn)?.targets.get(id)?.state === 'healthy');

    const refresh = group.refreshes.find((candidate) => !REFRESH_ENDED.includes(candidate.Status));
    if (refresh?.endsAt !== undefined) {
      if (now >= refresh.endsAt) Object.assign(refresh, { Status: refresh.endStatus ?? 'Successful', PercentageComplete: 100 });
    } else if (refresh) {
      refresh.Status = 'InProgress';
      const outdated = inService().filter(([, launched]) => !isCurrent(launched));
      const replaced = refresh.outdatedAtStart - outdated.length;
      refresh.PercentageComplete = Math.round((100 * Math.max(0, replaced)) / Math.max(1, refresh.outdatedAtStart));
      const settled =
        inService().length === group.DesiredCapacity &&
        inService().every(([id, launched]) => launched.version !== current || isHealthy(id));
      if (outdated.length === 0 && settled && inService().every(([id]) => isHealthy(id))) {
        refresh.Status = 'Successful';
        refresh.PercentageComplete = 100;
      } else if (outdated.length > 0 && settled) {
        const batch = Math.max(1, Math.floor((group.DesiredCapacity * (100 - refresh.minHealthyPercentage)) / 100));
        for (const [id] of outdated.slice(0, batch)) this.retire(regionName, model, group, id);
      }
    }

    const live = inService();
    if (live.length > group.DesiredCapacity) {
      for (const [id] of live.slice(0, live.length - group.DesiredCapacity)) this.retire(regionName, model, group, id);
    }
    if (now < (group.launchesFrom ?? 0)) return;
    for (let missing = group.DesiredCapacity - inService().length; missing > 0; missing -= 1)
      this.launch(regionName, model, group, current);
  }

  /**
   * Auto Scaling refuses a launch template whose instance profile IAM has not yet propagated, as widely reported (e.g. the
   * Terraform AWS provider's issues on "Invalid IAM Instance Profile"), with its "Common Errors" ValidationError.
   */
  private assertProfilePropagated(region: string, launchTemplate: GroupModel['LaunchTemplate']): void {
    const template = this.region(region).launchTemplates.get(launchTemplate.LaunchTemplateId);
    if (!template) return;
    const data = template.versions[resolveVersion(template, launchTemplate.Version) - 1]?.data as Json | undefined;
    const arn = (data?.IamInstanceProfile as { Arn?: string } | undefined)?.Arn;
    if (!this.account.acceptsProfile(arn))
      throw new AwsFault(
        'ValidationError',
        `You must use a valid fully-formed launch template. Value (${String(arn)}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile name`,
      );
  }

  private templateOf(region: string, group: GroupModel): LaunchTemplateModel {
    const template = this.region(region).launchTemplates.get(group.LaunchTemplate.LaunchTemplateId);
    if (!template) throw new Error(`The fake account has no launch template ${group.LaunchTemplate.LaunchTemplateId}`);
    return template;
  }

  /** Deregisters an instance (draining for the target group's delay), then terminates it. */
  private retire(region: string, model: ScalingRegionModel, group: GroupModel, id: string): void {
    let delayMs = 0;
    for (const arn of group.TargetGroupARNs) {
      const targetGroup = model.targetGroups.get(arn);
      const target = targetGroup?.targets.get(id);
      if (!target) continue;
      delayMs = Math.max(delayMs, Number(targetGroup?.attributes['deregistration_delay.timeout_seconds'] ?? 300) * 1000);
      target.state = 'draining';
      target.drainingUntil = this.account.now() + delayMs;
    }
    const instance = this.account.region(region).instances.get(id);
    if (instance && instance.State.Name !== 'shutting-down' && instance.State.Name !== 'terminated') {
      instance.State = { Name: 'shutting-down' };
      instance.stateChangeAt = this.account.now() + delayMs + this.account.terminationMs;
    }
  }

  private launch(region: string, model: ScalingRegionModel, group: GroupModel, version: string): void {
    const template = this.templateOf(region, group);
    const data = template.versions[Number(version) - 1]?.data as Json;
    const tags =
      ((data.TagSpecifications as { ResourceType: string; Tags: Tags }[] | undefined) ?? []).find(
        (spec) => spec.ResourceType === 'instance',
      )?.Tags ?? [];
    const subnets = group.VPCZoneIdentifier.split(',');
    const zone = subnets[group.instances.size % subnets.length]?.replace(/^subnet-/, '') ?? '';
    const instance = this.account.addInstance(region, {
      State: { Name: 'pending' },
      stateChangeAt: this.account.now() + 15_000,
      Tags: [...tags, { Key: 'aws:autoscaling:groupName', Value: group.AutoScalingGroupName }],
      ImageId: String(data.ImageId),
      MetadataOptions: data.MetadataOptions as InstanceModel['MetadataOptions'],
      SecurityGroupIds: (data.SecurityGroupIds as string[] | undefined) ?? ['sg-default'],
      UserData: Buffer.from(String(data.UserData ?? ''), 'base64').toString('utf8'),
      profileArn: (data.IamInstanceProfile as { Arn?: string } | undefined)?.Arn,
      setup: this.account.nextLaunchSetup(),
    });
    Object.assign(instance, { bootedAt: this.account.now() + 15_000 + BOOT_MS });
    group.instances.set(instance.InstanceId, { templateId: template.LaunchTemplateId, version, zone });
    for (const arn of group.TargetGroupARNs) model.targetGroups.get(arn)?.targets.set(instance.InstanceId, { state: 'initial' });
  }

  private lbOf(region: string, arn: unknown): LoadBalancerModel {
    const lb = this.region(region).loadBalancers.get(String(arn));
    // Elastic Load Balancing API Reference (v2), DescribeLoadBalancers etc. "Errors": LoadBalancerNotFound (400).
    if (!lb) throw new AwsFault('LoadBalancerNotFound', `Load balancer '${String(arn)}' not found`);
    return lb;
  }

  private targetGroupOf(region: string, arn: unknown): TargetGroupModel {
    const group = this.region(region).targetGroups.get(String(arn));
    // Elastic Load Balancing API Reference (v2), DescribeTargetGroups etc. "Errors": TargetGroupNotFound (400).
    if (!group) throw new AwsFault('TargetGroupNotFound', `Target groups '${String(arn)}' not found`);
    return group;
  }

  private groupOf(region: string, name: unknown): GroupModel {
    const group = this.region(region).groups.get(String(name));
    // Amazon EC2 Auto Scaling API Reference, "Common Errors": ValidationError (400); Auto Scaling declares no "not found" error.
    if (!group) throw new AwsFault('ValidationError', `AutoScalingGroup name not found - AutoScalingGroup ${String(name)} not found`);
    return group;
  }

  private taggable(region: string, arn: string): { Tags: Tags } {
    const model = this.region(region);
    const found = model.loadBalancers.get(arn) ?? model.targetGroups.get(arn) ?? model.listeners.get(arn);
    // Elastic Load Balancing API Reference (v2), AddTags and DescribeTags "Errors": LoadBalancerNotFound, TargetGroupNotFound,
    // ListenerNotFound (400), each for its own kind of resource.
    if (!found) {
      if (arn.includes(':targetgroup/')) throw new AwsFault('TargetGroupNotFound', `Target groups '${arn}' not found`);
      if (arn.includes(':listener/')) throw new AwsFault('ListenerNotFound', `Listeners '${arn}' not found`);
      throw new AwsFault('LoadBalancerNotFound', `Load balancers '${arn}' not found`);
    }
    return found;
  }

  private describeGroup(region: string, group: GroupModel): Json {
    const instances = this.account.region(region).instances;
    return {
      ...structuredClone({ ...group, instances: undefined, refreshes: undefined, deletedAt: undefined, launchesFrom: undefined }),
      Tags: group.Tags.map((tag) => ({
        ...tag,
        ResourceId: group.AutoScalingGroupName,
        ResourceType: 'auto-scaling-group',
        PropagateAtLaunch: false,
      })),
      Instances: [...group.instances].map(([InstanceId, launched]) => ({
        InstanceId,
        AvailabilityZone: launched.zone,
        LifecycleState: instances.get(InstanceId)?.State.Name === 'shutting-down' ? 'Terminating' : 'InService',
        // Amazon EC2 Auto Scaling API Reference, Instance: LaunchTemplate is "the launch template for the instance", which an
        // instance attached to the group by hand was not launched from.
        ...(launched.templateId && { LaunchTemplate: { LaunchTemplateId: launched.templateId, Version: launched.version } }),
      })),
    };
  }

  readonly handlers: Record<string, Handler> = {
    'ec2:DescribeSubnets': (input, region) => {
      const vpcId = this.account.region(region).vpcId;
      const defaults = this.zonesOf(region).map((zone) => ({
        SubnetId: `subnet-${zone}`,
        AvailabilityZone: zone,
        VpcId: vpcId,
        DefaultForAz: true,
      }));
      // As on a used account: a subnet someone added to the default VPC, and another VPC's subnet, listed in no zone order.
      const others = [
        { SubnetId: `subnet-added-${region}a`, AvailabilityZone: `${region}a`, VpcId: vpcId, DefaultForAz: false },
        { SubnetId: `subnet-other-${region}a`, AvailabilityZone: `${region}a`, VpcId: 'vpc-other', DefaultForAz: false },
      ];
      const subnets = [...others, ...defaults].reverse();
      return { Subnets: subnets.filter((subnet) => matches(subnet, input.Filters as Filter[] | undefined)) };
    },
    'ec2:CreateLaunchTemplate': (input, region) => {
      const model = this.region(region);
      const name = String(input.LaunchTemplateName);
      // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidLaunchTemplateName.AlreadyExistsException.
      if ([...model.launchTemplates.values()].some((template) => template.LaunchTemplateName === name))
        throw new AwsFault('InvalidLaunchTemplateName.AlreadyExistsException', `Launch template name already in use.`);
      assertUserDataSize((input.LaunchTemplateData as Json | undefined)?.UserData);
      const template: LaunchTemplateModel = {
        LaunchTemplateId: this.account.nextId('lt'),
        LaunchTemplateName: name,
        Tags: ((input.TagSpecifications as { ResourceType: string; Tags: Tags }[] | undefined) ?? [])
          .filter((spec) => spec.ResourceType === 'launch-template')
          .flatMap((spec) => spec.Tags),
        versions: [
          { VersionNumber: 1, VersionDescription: input.VersionDescription as string | undefined, data: input.LaunchTemplateData as Json },
        ],
      };
      model.launchTemplates.set(template.LaunchTemplateId, template);
      return {
        LaunchTemplate: {
          LaunchTemplateId: template.LaunchTemplateId,
          LaunchTemplateName: name,
          LatestVersionNumber: 1,
          DefaultVersionNumber: 1,
        },
      };
    },
    'ec2:DescribeLaunchTemplates': (input, region) => {
      const templates = [...this.region(region).launchTemplates.values()];
      const names = input.LaunchTemplateNames as string[] | undefined;
      // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidLaunchTemplateName.NotFoundException.
      if (names?.some((name) => !templates.some((template) => template.LaunchTemplateName === name)))
        throw new AwsFault(
          'InvalidLaunchTemplateName.NotFoundException',
          'At least one of the launch templates specified in the request does not exist.',
        );
      return {
        LaunchTemplates: templates
          .filter(
            (template) =>
              (!names || names.includes(template.LaunchTemplateName)) && matches(template, input.Filters as Filter[] | undefined),
          )
          .map((template) => ({
            LaunchTemplateId: template.LaunchTemplateId,
            LaunchTemplateName: template.LaunchTemplateName,
            LatestVersionNumber: template.versions.length,
            Tags: template.Tags,
          })),
      };
    },
    'ec2:DescribeLaunchTemplateVersions': (input, region) => {
      const template = this.region(region).launchTemplates.get(String(input.LaunchTemplateId));
      // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidLaunchTemplateId.NotFound.
      if (!template) throw new AwsFault('InvalidLaunchTemplateId.NotFound', 'The specified launch template does not exist.');
      const wanted = (input.Versions as string[]).map((version) => resolveVersion(template, version));
      return {
        LaunchTemplateVersions: template.versions
          .filter((version) => wanted.includes(version.VersionNumber))
          .map((version) => ({
            LaunchTemplateId: template.LaunchTemplateId,
            VersionNumber: version.VersionNumber,
            VersionDescription: version.VersionDescription,
          })),
      };
    },
    'ec2:CreateLaunchTemplateVersion': (input, region) => {
      const template = this.region(region).launchTemplates.get(String(input.LaunchTemplateId));
      // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidLaunchTemplateId.NotFound.
      if (!template) throw new AwsFault('InvalidLaunchTemplateId.NotFound', 'The specified launch template does not exist.');
      assertUserDataSize((input.LaunchTemplateData as Json | undefined)?.UserData);
      const VersionNumber = template.versions.length + 1;
      template.versions.push({
        VersionNumber,
        VersionDescription: input.VersionDescription as string | undefined,
        data: input.LaunchTemplateData as Json,
      });
      return { LaunchTemplateVersion: { LaunchTemplateId: template.LaunchTemplateId, VersionNumber } };
    },
    'ec2:DeleteLaunchTemplate': (input, region) => {
      // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidLaunchTemplateId.NotFound.
      if (!this.region(region).launchTemplates.delete(String(input.LaunchTemplateId)))
        throw new AwsFault('InvalidLaunchTemplateId.NotFound', 'The specified launch template does not exist.');
      return {};
    },

    'elbv2:CreateTargetGroup': (input, region) => {
      const model = this.region(region);
      const { Name, Tags, ...settings } = input as Json & { Name: string; Tags?: Tags };
      const existing = [...model.targetGroups.values()].find((group) => group.TargetGroupName === Name);
      // Elastic Load Balancing API Reference (v2), CreateTargetGroup: idempotent, "If you attempt to create multiple target groups
      // with the same settings, each call succeeds"; a name in use with other settings: "Errors": DuplicateTargetGroupName (400).
      if (existing) {
        if (!sameSettings(existing, settings))
          throw new AwsFault('DuplicateTargetGroupName', 'A target group with the same name exists, but with different settings');
        return { TargetGroups: [this.describeTargetGroup(existing)] };
      }
      const group = {
        ...(settings as Partial<TargetGroupModel>),
        TargetGroupArn: `arn:aws:elasticloadbalancing:${region}:123456789012:targetgroup/${Name}/${this.account.nextId('tg').slice(3)}`,
        TargetGroupName: Name,
        Tags: Tags ?? [],
        // ELB lists many attributes; the delay is not the first.
        attributes: { 'stickiness.enabled': 'false', 'deregistration_delay.timeout_seconds': '300', 'slow_start.duration_seconds': '0' },
        targets: new Map(),
      } as TargetGroupModel;
      model.targetGroups.set(group.TargetGroupArn, group);
      return { TargetGroups: [this.describeTargetGroup(group)] };
    },
    'elbv2:DescribeTargetGroups': (input, region) => {
      const groups = [...this.region(region).targetGroups.values()];
      const names = input.Names as string[] | undefined;
      // Elastic Load Balancing API Reference (v2), DescribeTargetGroups "Errors": TargetGroupNotFound (400).
      if (names?.some((name) => !groups.some((group) => group.TargetGroupName === name)))
        throw new AwsFault('TargetGroupNotFound', `One or more target groups not found`);
      return {
        TargetGroups: groups
          .filter((group) => !names || names.includes(group.TargetGroupName))
          .map((group) => this.describeTargetGroup(group)),
      };
    },
    'elbv2:ModifyTargetGroup': (input, region) => {
      const { TargetGroupArn, ...changes } = input;
      Object.assign(this.targetGroupOf(region, TargetGroupArn), changes);
      return {};
    },
    'elbv2:DescribeTargetGroupAttributes': (input, region) => ({
      Attributes: Object.entries(this.targetGroupOf(region, input.TargetGroupArn).attributes).map(([Key, Value]) => ({ Key, Value })),
    }),
    'elbv2:ModifyTargetGroupAttributes': (input, region) => {
      const group = this.targetGroupOf(region, input.TargetGroupArn);
      for (const { Key, Value } of input.Attributes as { Key: string; Value: string }[]) group.attributes[Key] = Value;
      return {};
    },
    'elbv2:DeleteTargetGroup': (input, region) => {
      const model = this.region(region);
      const group = this.targetGroupOf(region, input.TargetGroupArn);
      const usedByListener = [...model.listeners.values()].some((listener) =>
        listener.DefaultActions.some((action) => action.TargetGroupArn === group.TargetGroupArn),
      );
      const usedByGroup = [...model.groups.values()].some((asg) => asg.TargetGroupARNs.includes(group.TargetGroupArn));
      // Elastic Load Balancing API Reference (v2), DeleteTargetGroup "Errors": ResourceInUse (400).
      if (usedByListener || usedByGroup)
        throw new AwsFault('ResourceInUse', `Target group '${group.TargetGroupArn}' is currently in use by a listener or a rule`);
      model.targetGroups.delete(group.TargetGroupArn);
      return {};
    },
    'elbv2:DescribeTargetHealth': (input, region) => {
      const group = this.targetGroupOf(region, input.TargetGroupArn);
      const provisioning = this.healthCheckedBy(this.region(region), group.TargetGroupArn) === 'provisioning';
      // Elastic Load Balancing API Reference (v2), TargetHealth: each state but healthy comes with a reason code.
      const reasons: Record<TargetModel['state'], string | undefined> = {
        initial: provisioning ? 'Elb.RegistrationInProgress' : 'Elb.InitialHealthChecking',
        healthy: undefined,
        unhealthy: 'Target.FailedHealthChecks',
        draining: 'Target.DeregistrationInProgress',
        unused: 'Target.NotInUse',
      };
      return {
        TargetHealthDescriptions: [...group.targets].map(([Id, target]) => ({
          Target: { Id, Port: 80 },
          TargetHealth: { State: target.state, ...(reasons[target.state] ? { Reason: reasons[target.state] } : {}) },
        })),
      };
    },
    'elbv2:CreateLoadBalancer': (input, region) => {
      const model = this.region(region);
      const name = String(input.Name);
      // Elastic Load Balancing API Reference (v2), CreateLoadBalancer, Name: "a maximum of 32 characters, must contain only
      // alphanumeric characters or hyphens, must not begin or end with a hyphen, and must not begin with "internal-"".
      if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$/.test(name) || name.startsWith('internal-'))
        throw new AwsFault('ValidationError', `The load balancer name '${name}' is not valid`);
      const subnets = input.Subnets as string[];
      // CreateLoadBalancer is idempotent: "If you attempt to create multiple load balancers with the same settings, each call
      // succeeds"; a name in use with other settings: "Errors": DuplicateLoadBalancerName (400). "Common Errors": ValidationError.
      const existing = [...model.loadBalancers.values()].find((lb) => lb.LoadBalancerName === name && lb.goneAt === undefined);
      if (existing) {
        const same =
          sameMembers(
            existing.AvailabilityZones.map((zone) => zone.SubnetId),
            subnets,
          ) &&
          sameMembers(existing.SecurityGroups, (input.SecurityGroups as string[] | undefined) ?? existing.SecurityGroups) &&
          (input.Scheme ?? 'internet-facing') === existing.Scheme &&
          (input.Type ?? 'application') === existing.Type &&
          (input.IpAddressType ?? 'ipv4') === existing.IpAddressType;
        if (!same) throw new AwsFault('DuplicateLoadBalancerName', 'A load balancer with the same name already exists');
        return { LoadBalancers: [this.describeLoadBalancer(existing)] };
      }
      if ([...model.loadBalancers.values()].some((lb) => lb.LoadBalancerName === name))
        throw new AwsFault('DuplicateLoadBalancerName', 'A load balancer with the same name already exists');
      const zones = new Set(subnets.map((subnet) => subnet.replace(/^subnet-/, '')));
      if (zones.size < 2)
        throw new AwsFault('ValidationError', 'At least two subnets in two different Availability Zones must be specified');
      const id = this.account.nextId('lb').slice(3);
      const lb: LoadBalancerModel = {
        LoadBalancerArn: `arn:aws:elasticloadbalancing:${region}:123456789012:loadbalancer/app/${name}/${id}`,
        LoadBalancerName: name,
        DNSName: `${name}-${id.slice(-6)}.${region}.elb.amazonaws.com`,
        CanonicalHostedZoneId: LOAD_BALANCER_ZONE_ID,
        Scheme: String(input.Scheme ?? 'internet-facing'),
        Type: String(input.Type ?? 'application'),
        IpAddressType: String(input.IpAddressType ?? 'ipv4'),
        VpcId: this.account.region(region).vpcId,
        SecurityGroups: (input.SecurityGroups as string[] | undefined) ?? [],
        AvailabilityZones: subnets.map((SubnetId) => ({ SubnetId, ZoneName: SubnetId.replace(/^subnet-/, '') })),
        Tags: (input.Tags as Tags | undefined) ?? [],
        activeAt: this.account.now() + this.loadBalancerProvisioningMs,
      };
      model.loadBalancers.set(lb.LoadBalancerArn, lb);
      return { LoadBalancers: [this.describeLoadBalancer(lb)] };
    },
    'elbv2:DescribeLoadBalancers': (input, region) => {
      const lbs = [...this.region(region).loadBalancers.values()];
      const names = input.Names as string[] | undefined;
      // Elastic Load Balancing API Reference (v2), DescribeLoadBalancers "Errors": LoadBalancerNotFound (400).
      if (names?.some((name) => !lbs.some((lb) => lb.LoadBalancerName === name)))
        throw new AwsFault('LoadBalancerNotFound', 'One or more load balancers not found');
      return {
        LoadBalancers: lbs.filter((lb) => !names || names.includes(lb.LoadBalancerName)).map((lb) => this.describeLoadBalancer(lb)),
      };
    },
    'elbv2:SetSecurityGroups': (input, region) => {
      this.lbOf(region, input.LoadBalancerArn).SecurityGroups = input.SecurityGroups as string[];
      return {};
    },
    'elbv2:SetSubnets': (input, region) => {
      this.lbOf(region, input.LoadBalancerArn).AvailabilityZones = (input.Subnets as string[]).map((SubnetId) => ({
        SubnetId,
        ZoneName: SubnetId.replace(/^subnet-/, ''),
      }));
      return {};
    },
    'elbv2:DeleteLoadBalancer': (input, region) => {
      const model = this.region(region);
      const lb = model.loadBalancers.get(String(input.LoadBalancerArn));
      // Elastic Load Balancing API Reference (v2), DeleteLoadBalancer: "If the load balancer does not exist or has already been
      // deleted, the call succeeds."
      if (!lb) return {};
      for (const [arn, listener] of model.listeners) if (listener.LoadBalancerArn === lb.LoadBalancerArn) model.listeners.delete(arn);
      lb.goneAt ??= this.account.now() + this.loadBalancerDeletionMs;
      return {};
    },
    'elbv2:CreateListener': (input, region) => {
      const model = this.region(region);
      const lb = this.lbOf(region, input.LoadBalancerArn);
      // Elastic Load Balancing API Reference (v2), CreateListener "Errors": DuplicateListener (400).
      if ([...model.listeners.values()].some((listener) => listener.LoadBalancerArn === lb.LoadBalancerArn && listener.Port === input.Port))
        throw new AwsFault('DuplicateListener', 'A listener already exists on this port for this load balancer');
      for (const action of input.DefaultActions as Json[]) if (action.TargetGroupArn) this.targetGroupOf(region, action.TargetGroupArn);
      const listener: ListenerModel = {
        ListenerArn: `${lb.LoadBalancerArn.replace(':loadbalancer/', ':listener/')}/${this.account.nextId('l').slice(2)}`,
        LoadBalancerArn: lb.LoadBalancerArn,
        Port: Number(input.Port),
        Protocol: String(input.Protocol),
        ...(input.SslPolicy ? { SslPolicy: String(input.SslPolicy) } : {}),
        ...(input.Certificates ? { Certificates: input.Certificates as { CertificateArn: string }[] } : {}),
        DefaultActions: input.DefaultActions as Json[],
        Tags: (input.Tags as Tags | undefined) ?? [],
      };
      model.listeners.set(listener.ListenerArn, listener);
      return { Listeners: [structuredClone({ ...listener, Tags: undefined })] };
    },
    'elbv2:DescribeListeners': (input, region) => ({
      Listeners: [...this.region(region).listeners.values()]
        .filter((listener) => listener.LoadBalancerArn === input.LoadBalancerArn)
        // ELB fills in the redirect's defaults, which up does not set.
        .map(({ Tags: _tags, ...listener }) =>
          structuredClone({
            ...listener,
            DefaultActions: listener.DefaultActions.map((action) =>
              action.RedirectConfig
                ? {
                    ...action,
                    RedirectConfig: { Host: '#{host}', Path: '/#{path}', Query: '#{query}', ...(action.RedirectConfig as Json) },
                  }
                : action,
            ),
          }),
        ),
    }),
    'elbv2:ModifyListener': (input, region) => {
      const listener = this.region(region).listeners.get(String(input.ListenerArn));
      // Elastic Load Balancing API Reference (v2), ModifyListener and DeleteListener "Errors": ListenerNotFound (400).
      if (!listener) throw new AwsFault('ListenerNotFound', 'One or more listeners not found');
      const { ListenerArn: _arn, ...changes } = input;
      Object.assign(listener, changes);
      if (listener.Protocol === 'HTTP') {
        delete listener.SslPolicy;
        delete listener.Certificates;
      }
      return {};
    },
    'elbv2:DeleteListener': (input, region) => {
      // Elastic Load Balancing API Reference (v2), ListenerNotFound (400).
      if (!this.region(region).listeners.delete(String(input.ListenerArn)))
        throw new AwsFault('ListenerNotFound', 'One or more listeners not found');
      return {};
    },
    'elbv2:DescribeTags': (input, region) => ({
      TagDescriptions: (input.ResourceArns as string[]).map((ResourceArn) => ({
        ResourceArn,
        Tags: structuredClone(this.taggable(region, ResourceArn).Tags),
      })),
    }),
    'elbv2:AddTags': (input, region) => {
      for (const arn of input.ResourceArns as string[]) {
        const resource = this.taggable(region, arn);
        resource.Tags = withTags(resource.Tags, input.Tags as Tags);
      }
      return {};
    },

    'autoscaling:CreateAutoScalingGroup': (input, region) => {
      const model = this.region(region);
      const name = String(input.AutoScalingGroupName);
      // Amazon EC2 Auto Scaling API Reference, CreateAutoScalingGroup "Errors": AlreadyExists (400); "Common Errors": ValidationError.
      if (model.groups.has(name))
        throw new AwsFault('AlreadyExists', `AutoScalingGroup by this name already exists - A group with the name ${name} already exists`);
      const launchTemplate = input.LaunchTemplate as GroupModel['LaunchTemplate'];
      if (!model.launchTemplates.has(launchTemplate.LaunchTemplateId))
        throw new AwsFault(
          'ValidationError',
          `You must use a valid fully-formed launch template. The specified launch template does not exist.`,
        );
      for (const arn of (input.TargetGroupARNs as string[] | undefined) ?? []) this.targetGroupOf(region, arn);
      this.assertProfilePropagated(region, launchTemplate);
      const group: GroupModel = {
        AutoScalingGroupName: name,
        LaunchTemplate: { ...launchTemplate },
        MinSize: Number(input.MinSize),
        MaxSize: Number(input.MaxSize),
        DesiredCapacity: Number(input.DesiredCapacity ?? input.MinSize),
        VPCZoneIdentifier: String(input.VPCZoneIdentifier),
        TargetGroupARNs: (input.TargetGroupARNs as string[] | undefined) ?? [],
        HealthCheckType: String(input.HealthCheckType ?? 'EC2'),
        HealthCheckGracePeriod: Number(input.HealthCheckGracePeriod ?? 0),
        Tags: ((input.Tags as (Tags[number] & Json)[] | undefined) ?? []).map(({ Key, Value }) => ({ Key, Value })),
        instances: new Map(),
        refreshes: [],
        launchesFrom: this.account.now() + this.groupFirstLaunchMs,
      };
      model.groups.set(name, group);
      this.advanceGroup(region, model, group);
      return {};
    },
    'autoscaling:DescribeAutoScalingGroups': (input, region) => {
      const names = input.AutoScalingGroupNames as string[] | undefined;
      const filters = input.Filters as Filter[] | undefined;
      return {
        AutoScalingGroups: [...this.region(region).groups.values()]
          .filter((group) => (!names || names.includes(group.AutoScalingGroupName)) && matches(group, filters))
          .map((group) => this.describeGroup(region, group)),
      };
    },
    'autoscaling:UpdateAutoScalingGroup': (input, region) => {
      const group = this.groupOf(region, input.AutoScalingGroupName);
      // Amazon EC2 Auto Scaling API Reference, UpdateAutoScalingGroup "Errors": ScalingActivityInProgress (400).
      if (group.Status) throw new AwsFault('ScalingActivityInProgress', 'The group is being deleted');
      this.assertProfilePropagated(region, (input.LaunchTemplate as GroupModel['LaunchTemplate'] | undefined) ?? group.LaunchTemplate);
      const { AutoScalingGroupName: _name, ...changes } = input;
      Object.assign(group, structuredClone(changes));
      this.advanceGroup(region, this.region(region), group);
      return {};
    },
    'autoscaling:AttachLoadBalancerTargetGroups': (input, region) => {
      const group = this.groupOf(region, input.AutoScalingGroupName);
      group.TargetGroupARNs = [...new Set([...group.TargetGroupARNs, ...(input.TargetGroupARNs as string[])])];
      return {};
    },
    'autoscaling:DeleteAutoScalingGroup': (input, region) => {
      const group = this.groupOf(region, input.AutoScalingGroupName);
      if (group.instances.size > 0 && !input.ForceDelete) {
        const terminating = [...group.instances.keys()].some(
          (id) => this.account.region(region).instances.get(id)?.State.Name === 'shutting-down',
        );
        // Amazon EC2 Auto Scaling API Reference, DeleteAutoScalingGroup "Errors": ScalingActivityInProgress, ResourceInUse (400).
        throw terminating
          ? new AwsFault(
              'ScalingActivityInProgress',
              'You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.',
            )
          : new AwsFault(
              'ResourceInUse',
              'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.',
            );
      }
      group.Status = 'Delete in progress';
      group.deletedAt = this.account.now() + this.groupDeletionMs;
      // The group is what still held the target group.
      group.TargetGroupARNs = [];
      return {};
    },
    'autoscaling:StartInstanceRefresh': (input, region) => {
      const group = this.groupOf(region, input.AutoScalingGroupName);
      // Amazon EC2 Auto Scaling API Reference, StartInstanceRefresh "Errors": InstanceRefreshInProgress (400).
      if (group.refreshes.some((refresh) => !REFRESH_ENDED.includes(refresh.Status)))
        throw new AwsFault(
          'InstanceRefreshInProgress',
          'An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.',
        );
      const preferences = (input.Preferences as { MinHealthyPercentage?: number; MaxHealthyPercentage?: number } | undefined) ?? {};
      // Amazon EC2 Auto Scaling API Reference, RefreshPreferences: MaxHealthyPercentage "Value range is 100 to 200"; "If you specify
      // MaxHealthyPercentage, you must also specify MinHealthyPercentage, and the difference between them cannot be greater than 100".
      const { MinHealthyPercentage: min, MaxHealthyPercentage: max } = preferences;
      if (max !== undefined && (min === undefined || max < 100 || max > 200 || max - min > 100))
        throw new AwsFault('ValidationError', `The healthy percentages (minimum ${String(min)}, maximum ${max}) are not valid.`);
      this.assertProfilePropagated(region, group.LaunchTemplate);
      const current = String(resolveVersion(this.templateOf(region, group), group.LaunchTemplate.Version));
      const templateId = group.LaunchTemplate.LaunchTemplateId;
      const refresh: RefreshModel = {
        InstanceRefreshId: `refresh-${this.account.nextId('r').slice(2)}`,
        Status: 'Pending',
        PercentageComplete: 0,
        minHealthyPercentage: preferences.MinHealthyPercentage ?? 90,
        outdatedAtStart: [...group.instances.values()].filter(
          (launched) => launched.templateId !== templateId || launched.version !== current,
        ).length,
      };
      group.refreshes.unshift(refresh);
      return { InstanceRefreshId: refresh.InstanceRefreshId };
    },
    'autoscaling:DescribeInstanceRefreshes': (input, region) => {
      const group = this.groupOf(region, input.AutoScalingGroupName);
      const ids = input.InstanceRefreshIds as string[] | undefined;
      const refreshes = group.refreshes.filter((refresh) => !ids || ids.includes(refresh.InstanceRefreshId));
      return {
        InstanceRefreshes: refreshes.slice(0, Number(input.MaxRecords ?? 50)).map((refresh) => ({
          InstanceRefreshId: refresh.InstanceRefreshId,
          AutoScalingGroupName: group.AutoScalingGroupName,
          Status: refresh.Status,
          StatusReason: refresh.StatusReason,
          PercentageComplete: refresh.PercentageComplete,
        })),
      };
    },

    'ssm:PutParameter': (input, region) => {
      const model = this.region(region);
      const name = String(input.Name);
      // AWS Systems Manager API Reference, PutParameter, Name: "A parameter name can't be prefixed with "aws" or "ssm"
      // (case-insensitive)", read here as the text after a leading slash; a bad name is a ValidationException.
      if (/^\/?(aws|ssm)/i.test(name))
        throw new AwsFault('ValidationException', `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive).`);
      // AWS Systems Manager API Reference, PutParameter "Errors": ParameterAlreadyExists; tags with Overwrite answer ValidationException.
      if (input.Tags && input.Overwrite)
        throw new AwsFault('ValidationException', "Invalid request: tags and overwrite can't be used together.");
      if (model.parameters.has(name) && !input.Overwrite)
        throw new AwsFault(
          'ParameterAlreadyExists',
          'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
        );
      model.parameters.set(name, {
        Type: String(input.Type),
        Value: String(input.Value),
        Description: input.Description as string | undefined,
        Tags: (input.Tags as Tags | undefined) ?? model.parameters.get(name)?.Tags ?? [],
      });
      return { Version: 1, Tier: 'Standard' };
    },
    'ssm:ListTagsForResource': (input, region) => {
      const parameter = this.region(region).parameters.get(String(input.ResourceId));
      // AWS Systems Manager API Reference, ListTagsForResource "Errors": InvalidResourceId.
      if (input.ResourceType !== 'Parameter' || !parameter)
        throw new AwsFault('InvalidResourceId', 'The resource ID is not valid. Verify that you entered the correct ID and try again.');
      return { TagList: structuredClone(parameter.Tags) };
    },
    'ssm:DeleteParameter': (input, region) => {
      // AWS Systems Manager API Reference, DeleteParameter "Errors": ParameterNotFound.
      if (!this.region(region).parameters.delete(String(input.Name))) throw new AwsFault('ParameterNotFound', 'Parameter not found');
      return {};
    },

    'acm:DescribeCertificate': (input, region) => {
      const certificate = this.region(region).certificates.get(String(input.CertificateArn));
      // AWS Certificate Manager API Reference, DescribeCertificate "Errors": ResourceNotFoundException.
      if (!certificate) throw new AwsFault('ResourceNotFoundException', `Could not find certificate ${String(input.CertificateArn)}.`);
      return { Certificate: { CertificateArn: input.CertificateArn, ...structuredClone(certificate) } };
    },

    'route53:GetHostedZone': (input) => {
      const zone = this.hostedZones.get(String(input.Id));
      // Amazon Route 53 API Reference, GetHostedZone "Errors": NoSuchHostedZone (404).
      if (!zone) throw new AwsFault('NoSuchHostedZone', `No hosted zone found with ID: ${String(input.Id)}`);
      return { HostedZone: { Id: `/hostedzone/${String(input.Id)}`, Name: zone.Name } };
    },
    'route53:ListResourceRecordSets': (input) => {
      const zone = this.hostedZones.get(String(input.HostedZoneId));
      // Amazon Route 53 API Reference, ListResourceRecordSets "Errors": NoSuchHostedZone (404), InvalidInput (400).
      if (!zone) throw new AwsFault('NoSuchHostedZone', `No hosted zone found with ID: ${String(input.HostedZoneId)}`);
      // As Route 53: a start type must be a record type, and needs a start name.
      if (input.StartRecordType !== undefined && !RECORD_TYPES.includes(String(input.StartRecordType)))
        throw new AwsFault('InvalidInput', `Invalid type: ${String(input.StartRecordType)}`);
      if (input.StartRecordType !== undefined && input.StartRecordName === undefined)
        throw new AwsFault('InvalidInput', 'The input is not valid: StartRecordType requires StartRecordName');
      const key = (record: Json) => `${String(record.Name).split('.').reverse().join('.')} ${String(record.Type)}`;
      const start = `${dotted(input.StartRecordName ?? '')
        .split('.')
        .reverse()
        .join('.')} ${String(input.StartRecordType ?? '')}`;
      const sorted = [...zone.records].sort((a, b) => key(a).localeCompare(key(b))).filter((record) => key(record) >= start);
      return { ResourceRecordSets: structuredClone(sorted.slice(0, Number(input.MaxItems ?? 300))) };
    },
    'route53:ChangeResourceRecordSets': (input) => {
      const zone = this.hostedZones.get(String(input.HostedZoneId));
      // Amazon Route 53 API Reference, ChangeResourceRecordSets "Errors": NoSuchHostedZone (404), InvalidChangeBatch (400).
      if (!zone) throw new AwsFault('NoSuchHostedZone', `No hosted zone found with ID: ${String(input.HostedZoneId)}`);
      for (const change of (input.ChangeBatch as { Changes: { Action: string; ResourceRecordSet: Json }[] }).Changes) {
        const record: Json = { ...change.ResourceRecordSet, Name: dotted(change.ResourceRecordSet.Name) };
        if (record.AliasTarget)
          record.AliasTarget = { ...(record.AliasTarget as Json), DNSName: dotted((record.AliasTarget as Json).DNSName) };
        const index = zone.records.findIndex((existing) => existing.Name === record.Name && existing.Type === record.Type);
        if (change.Action === 'DELETE') {
          if (index < 0 || JSON.stringify(zone.records[index]) !== JSON.stringify(record))
            throw new AwsFault(
              'InvalidChangeBatch',
              `Tried to delete resource record set [name='${String(record.Name)}', type='${String(record.Type)}'] but the values provided do not match the current values`,
            );
          zone.records.splice(index, 1);
        } else if (change.Action === 'CREATE' && index >= 0) {
          throw new AwsFault(
            'InvalidChangeBatch',
            `Tried to create resource record set [name='${String(record.Name)}', type='${String(record.Type)}'] but it already exists`,
          );
        } else if (index >= 0) zone.records[index] = record;
        else zone.records.push(record);
      }
      return { ChangeInfo: { Id: '/change/C1', Status: 'PENDING' } };
    },
  };

  private describeTargetGroup(group: TargetGroupModel): Json {
    return structuredClone({ ...group, Tags: undefined, attributes: undefined, targets: undefined });
  }

  private describeLoadBalancer(lb: LoadBalancerModel): Json {
    // Elastic Load Balancing API Reference (v2), LoadBalancerState: "provisioning" while it is set up, then "active"; a deleted
    // one stays listed as active until it is gone (the SDK's LoadBalancersDeleted waiter retries on "active").
    const state = (lb.activeAt ?? 0) > this.account.now() ? 'provisioning' : 'active';
    return structuredClone({ ...lb, Tags: undefined, goneAt: undefined, activeAt: undefined, State: { Code: state } });
  }
}

/** The same items in any order. */
function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && b.every((item) => a.includes(item));
}

/** Whether each setting a create request gives is the one the existing resource has (settings left out are not compared). */
function sameSettings(existing: object, requested: Json): boolean {
  const current = existing as Json;
  return Object.entries(requested).every(([key, value]) => JSON.stringify(current[key]) === JSON.stringify(value));
}

/** EC2 and Auto Scaling filters over the fields this part of the model has. */
function matches(resource: object, filters: Filter[] | undefined): boolean {
  const item = resource as Record<string, unknown> & { Tags?: Tags };
  const fields: Record<string, () => unknown> = {
    'vpc-id': () => item.VpcId,
    'default-for-az': () => String(item.DefaultForAz),
    'launch-template-name': () => item.LaunchTemplateName,
  };
  return (filters ?? []).every((filter) => {
    let value: unknown;
    if (filter.Name.startsWith('tag:')) value = item.Tags?.find((tag) => tag.Key === filter.Name.slice(4))?.Value;
    else if (fields[filter.Name]) value = fields[filter.Name]?.();
    else throw new Error(`The fake account does not know the filter ${filter.Name}`);
    return filter.Values.includes(String(value));
  });
}
