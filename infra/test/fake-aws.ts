// A stateful in-memory AWS account for the infra tests: buckets, roles, profiles, OIDC providers, instances, groups and log groups that the SDK calls change, answered through aws-sdk-client-mock.
import { mockClient } from 'aws-sdk-client-mock';
import type { Tag as Ec2Tag } from '@aws-sdk/client-ec2';
import { createAwsClients, type AwsClients } from '../aws-clients.js';
import type { UpSettings } from '../stack.js';
import { lookUpGitHubRepository } from '../resources/github-repository.js';
import type { CommandDeps, GitHubRepository } from '../state.js';
import { AwsFault, awsError } from './aws-errors.js';
import { ScalingModel } from './fake-scaling.js';

export const ACCOUNT_ID = '123456789012';
export const OTHER_ACCOUNT_ID = '210987654321';
export const AMI_ID = 'ami-0123456789abcdef0';
export const RELEASE_ID = '0.1.0-abcdef012345';
export const STACK_TAGS = [
  { Key: 'app', Value: 's3-photo-share' },
  { Key: 'stack', Value: 's3-photo-share' },
  { Key: 'stack-region', Value: 'eu-west-1' },
];
/** The EC2 and Auto Scaling filters that select the default stack in eu-west-1. */
export const STACK_TAG_FILTERS = STACK_TAGS.map((tag) => ({ Name: `tag:${tag.Key}`, Values: [tag.Value] }));

export function upSettings(overrides: Partial<UpSettings> = {}): UpSettings {
  return {
    stack: 's3-photo-share',
    region: 'eu-west-1',
    bucket: 'demo-bucket',
    allowCidr: '203.0.113.0/24',
    instanceType: 't3.micro',
    keyPrefix: 'photos/',
    adoptBucket: false,
    ...overrides,
  };
}

/** `tags` with each of `added` set, as CreateTags and AddTags do: a new value replaces the one under the same key. */
export function withTags<Tag extends { Key: string }>(tags: Tag[], added: Tag[]): Tag[] {
  return added.reduce((result, tag) => [...result.filter((existing) => existing.Key !== tag.Key), tag], tags);
}

type Tags = { Key: string; Value: string }[];
type Json = Record<string, unknown>;

export interface BucketModel {
  region: string;
  ownerAccount: string;
  tags?: Tags;
  objects: Map<string, string>;
  /** Keys whose latest version is a delete marker (a versioned bucket): listed, and removed by DeleteObjects with their VersionId. */
  deleteMarkers: Set<string>;
  /** Keys DeleteObjects reports as errors (an object lock, a deny in the bucket policy). */
  undeletable: Set<string>;
  objectOwnership?: string;
  publicAccessBlock?: Json;
  encryption?: Json;
  policy?: Json;
  lifecycle?: Json;
}

export interface RoleModel {
  arn: string;
  tags: Tags;
  trust: Json;
  inlinePolicies: Map<string, Json>;
  attachedPolicies: string[];
  /** The ARN of the managed policy that caps the role (CreateRole PermissionsBoundary, PutRolePermissionsBoundary). */
  permissionsBoundary?: string;
}

/** A customer managed policy: its versions, one the default (IAM API reference, CreatePolicy and CreatePolicyVersion). */
export interface ManagedPolicyModel {
  name: string;
  tags: Tags;
  versions: { id: string; document: Json; isDefault: boolean }[];
  lastVersion: number;
}

export interface OidcProviderModel {
  /** The issuer without https://, as IAM returns it. */
  url: string;
  clientIds: string[];
  thumbprints: string[];
  tags: Tags;
}

export interface ProfileModel {
  arn: string;
  tags: Tags;
  roles: string[];
  /** Clock time from which EC2 accepts the profile in RunInstances (IAM propagation). */
  visibleToEc2At: number;
}

export interface InstanceModel {
  InstanceId: string;
  State: { Name: string };
  Tags: Tags;
  MetadataOptions: { HttpTokens?: string; HttpEndpoint?: string; HttpPutResponseHopLimit?: number };
  SecurityGroupIds: string[];
  PublicIpAddress: string;
  UserData?: string;
  ImageId?: string;
  InstanceType?: string;
  /** 'ok': the app answers /readyz once running; 'failed': setup prints FAILED on the console and never answers. */
  setup: 'ok' | 'failed';
  stateChangeAt?: number;
}

export interface SecurityGroupModel {
  GroupId: string;
  GroupName: string;
  VpcId: string;
  Tags: Tags;
  IpPermissions: {
    IpProtocol: string;
    FromPort?: number;
    ToPort?: number;
    IpRanges: { CidrIp: string; Description?: string }[];
    UserIdGroupPairs?: { GroupId: string; Description?: string }[];
    Ipv6Ranges?: { CidrIpv6: string }[];
    PrefixListIds?: { PrefixListId: string }[];
  }[];
}

export interface AssociationModel {
  AssociationId: string;
  InstanceId: string;
  IamInstanceProfile: { Arn: string };
  State: string;
  /** While the clock is before this, the association is still `associating`. */
  settlesAt?: number;
  endsAt?: number;
}

export interface RegionModel {
  vpcId: string;
  instances: Map<string, InstanceModel>;
  groups: Map<string, SecurityGroupModel>;
  associations: Map<string, AssociationModel>;
  logGroups: Map<
    string,
    { tags: Record<string, string>; retentionInDays?: number; events: { timestamp: number; logStreamName: string; message: string }[] }
  >;
}

export interface RecordedCall {
  service: keyof AwsClients;
  region: string;
  command: string;
  input: Json;
}

type Handler = (input: Json, region: string) => unknown;

/** Instances take this long to change state, as they do in EC2 (roughly). */
const PENDING_MS = 15_000;

export interface FakeAccountOptions {
  /**
   * Reads straight after a create fail as AWS documents, for a few seconds of the fake clock: EC2's "Eventual consistency
   * in the Amazon EC2 API" (InvalidInstanceID.NotFound after RunInstances, InvalidGroup.NotFound after CreateSecurityGroup),
   * the IAM User Guide's "Changes that I make are not always immediately visible" (NoSuchEntity), and a new instance profile
   * that EC2 and Auto Scaling refuse until it has propagated.
   */
  eventuallyConsistent?: boolean;
}

/** In the eventually consistent mode: how long a new instance, security group, role or profile is not yet found by reads that name it. */
export const CONSISTENCY_MS = 4_000;
/** In the eventually consistent mode: how long EC2 and Auto Scaling refuse a new instance profile. */
export const PROFILE_PROPAGATION_MS = 8_000;

export class FakeAccount {
  readonly buckets = new Map<string, BucketModel>();
  readonly roles = new Map<string, RoleModel>();
  readonly profiles = new Map<string, ProfileModel>();
  /** Customer managed policies, by ARN. */
  readonly managedPolicies = new Map<string, ManagedPolicyModel>();
  /** By ARN: IAM names an OIDC provider by its issuer host, one per account. */
  readonly oidcProviders = new Map<string, OidcProviderModel>();
  /** Not AWS: the repositories GitHub's public API shows the operator, by OWNER/NAME in any case (ci-role reads their ids). */
  readonly githubRepositories = new Map<string, GitHubRepository>();
  readonly regions = new Map<string, RegionModel>();
  readonly calls: RecordedCall[] = [];
  readonly runtime = fakeRuntime();
  /** How long a terminating instance stays shutting-down. */
  terminationMs = 30_000;
  /** How long after creation EC2 accepts a new instance profile. */
  profilePropagationMs = 0;
  releaseId = RELEASE_ID;
  /** Whether each region has a default VPC (`aws ec2 delete-vpc` can remove it). */
  hasDefaultVpc = true;
  /** How long EC2 keeps the profile association of a terminated instance. */
  associationLingerMs = 10_000;
  /** How long a new association stays `associating`, and a disassociated one `disassociating` before it goes. */
  associationSettleMs = 5_000;
  /** Not AWS: whether the machine up runs on is inside --allow-cidr. When not (a GitHub runner), every GET of the app times out. */
  reachableFromHere = true;
  /** The image the public Amazon Linux parameter names; AWS publishes a new one every few weeks. */
  amiId = AMI_ID;
  /** Load balancers, Auto Scaling groups, launch templates, parameters, certificates and hosted zones. */
  readonly scaling = new ScalingModel(this);
  /** How the setup of the next instances launched (by RunInstances or an Auto Scaling group) ends, one entry per launch; then 'ok'. */
  readonly launchSetups: InstanceModel['setup'][] = [];
  /** How long a new instance, security group, role or profile stays unknown to reads that name it (0: found at once). */
  consistencyMs = 0;
  /** By resource (instance or group id, role:NAME, profile:NAME): when reads start to find it. */
  private readonly visibleAt = new Map<string, number>();
  private sequence = 0;
  private readonly faults: { service: string; command: string; error: Error; remaining: number; when?: (input: Json) => boolean }[] = [];

  /** The options of every account a test builds without its own: the eventual-consistency suite sets them before loading the others. */
  static defaultOptions: FakeAccountOptions = {};

  constructor(options: FakeAccountOptions = FakeAccount.defaultOptions) {
    if (options.eventuallyConsistent) {
      this.consistencyMs = CONSISTENCY_MS;
      this.profilePropagationMs = PROFILE_PROPAGATION_MS;
    }
  }

  /** A resource a create has just made: reads that name it fail for consistencyMs. */
  created(resource: string): void {
    if (this.consistencyMs > 0) this.visibleAt.set(resource, this.now() + this.consistencyMs);
  }

  /** Whether reads find a resource yet (always, outside the eventually consistent mode). */
  isVisible(resource: string): boolean {
    return this.now() >= (this.visibleAt.get(resource) ?? 0);
  }

  /** Makes the next `times` calls of a command fail with the error (Infinity: every call). */
  fail(service: keyof AwsClients, command: string, error: Error, times = Infinity, when?: (input: Json) => boolean): void {
    this.faults.push({ service, command, error, remaining: times, when });
  }

  region(name: string): RegionModel {
    let region = this.regions.get(name);
    if (!region) {
      region = { vpcId: `vpc-${name}`, instances: new Map(), groups: new Map(), associations: new Map(), logGroups: new Map() };
      this.regions.set(name, region);
    }
    return region;
  }

  nextId(prefix: string): string {
    this.sequence += 1;
    return `${prefix}-${this.sequence.toString(16).padStart(17, '0')}`;
  }

  now(): number {
    return this.runtime.clockMs;
  }

  addBucket(name: string, bucket: Partial<BucketModel> & { objects?: Map<string, string> } = {}): BucketModel {
    const model: BucketModel = {
      region: 'eu-west-1',
      ownerAccount: ACCOUNT_ID,
      objects: new Map(),
      deleteMarkers: new Set(),
      undeletable: new Set(),
      ...bucket,
    };
    this.buckets.set(name, model);
    return model;
  }

  addRole(name: string, tags: Tags, inlinePolicies: Record<string, Json> = {}): RoleModel {
    const role: RoleModel = {
      arn: `arn:aws:iam::${ACCOUNT_ID}:role/${name}`,
      tags,
      trust: {},
      inlinePolicies: new Map(Object.entries(inlinePolicies)),
      attachedPolicies: [],
    };
    this.roles.set(name, role);
    return role;
  }

  addProfile(name: string, tags: Tags, roles: string[] = []): ProfileModel {
    const profile: ProfileModel = { arn: `arn:aws:iam::${ACCOUNT_ID}:instance-profile/${name}`, tags, roles, visibleToEc2At: 0 };
    this.profiles.set(name, profile);
    return profile;
  }

  addOidcProvider(url: string, provider: Partial<OidcProviderModel> = {}): OidcProviderModel {
    const host = url.replace(/^https:\/\//, '');
    const model: OidcProviderModel = { url: host, clientIds: [], thumbprints: [], tags: [], ...provider };
    this.oidcProviders.set(`arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${host}`, model);
    return model;
  }

  addInstance(regionName: string, instance: Partial<InstanceModel> & { profileArn?: string } = {}): InstanceModel {
    const { profileArn, ...rest } = instance;
    const model: InstanceModel = {
      InstanceId: this.nextId('i'),
      State: { Name: 'running' },
      Tags: [],
      MetadataOptions: { HttpTokens: 'optional', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
      SecurityGroupIds: [],
      PublicIpAddress: `198.51.100.${this.sequence}`,
      setup: 'ok',
      ...rest,
    };
    const region = this.region(regionName);
    region.instances.set(model.InstanceId, model);
    if (profileArn) this.associate(region, model.InstanceId, profileArn);
    return model;
  }

  addSecurityGroup(regionName: string, group: Partial<SecurityGroupModel> = {}): SecurityGroupModel {
    const region = this.region(regionName);
    const model: SecurityGroupModel = {
      GroupId: this.nextId('sg'),
      GroupName: 'other',
      VpcId: region.vpcId,
      Tags: [],
      IpPermissions: [],
      ...group,
    };
    region.groups.set(model.GroupId, model);
    return model;
  }

  nextLaunchSetup(): InstanceModel['setup'] {
    return this.launchSetups.shift() ?? 'ok';
  }

  associate(region: RegionModel, instanceId: string, profileArn: string): AssociationModel {
    const association = {
      AssociationId: this.nextId('iip-assoc'),
      InstanceId: instanceId,
      IamInstanceProfile: { Arn: profileArn },
      State: 'associated',
    };
    region.associations.set(association.AssociationId, association);
    return association;
  }

  /** Everything in the account, as plain data, to compare before and after a command. */
  snapshot(): unknown {
    this.advanceInstances();
    return JSON.parse(
      JSON.stringify(
        {
          buckets: [...this.buckets],
          roles: [...this.roles],
          managedPolicies: [...this.managedPolicies],
          profiles: [...this.profiles],
          oidcProviders: [...this.oidcProviders],
          regions: [...this.regions].filter(([, region]) => !isEmptyRegion(region)),
          scaling: this.scaling.snapshot(),
        },
        (_key, value: unknown) => (value instanceof Map ? [...value] : value instanceof Set ? [...value] : value),
      ),
    ) as unknown;
  }

  /** Dependencies for one command, with clients of the given region answered by this account. */
  deps(regionName: string, overrides: Partial<CommandDeps> = {}): CommandDeps {
    const aws = createAwsClients(regionName);
    for (const service of Object.keys(aws) as (keyof AwsClients)[]) {
      const client = aws[service];
      const stub = mockClient(client as never);
      stub.send.callsFake((async (command: { input: Json; constructor: { name: string } }) => {
        // The region comes from the client itself, so a client built without one is caught here.
        const clientRegion = await client.config.region();
        if (!clientRegion) throw new Error('client has no region');
        return this.handle(service, clientRegion, command.constructor.name.replace(/Command$/, ''), structuredClone(command.input));
      }) as never);
    }
    return {
      ...this.runtime,
      aws,
      buildRelease: async () => ({ id: this.releaseId, tarball: Buffer.from(`tarball ${this.releaseId}`), packageLock: Buffer.from('{}') }),
      // The real lookup, with GitHub's REST API answered from githubRepositories (a renamed one answers under its new name, as the API's redirect does).
      lookUpGitHubRepository: (repo) =>
        lookUpGitHubRepository(repo, async (url) => {
          const asked = url.replace('https://api.github.com/repos/', '').toLowerCase();
          const found = [...this.githubRepositories].find(([name]) => name.toLowerCase() === asked)?.[1];
          if (!found) return { status: 404, body: undefined };
          return { status: 200, body: { full_name: found.fullName, id: Number(found.repoId), owner: { id: Number(found.ownerId) } } };
        }),
      probeReadiness: async (url) => {
        if (!this.reachableFromHere) return 'unreachable';
        return this.answers(regionName, url) ? 'ready' : 'not-ready';
      },
      ...overrides,
    };
  }

  /** Is a GET of this URL answered 200 by the app, on an instance's public address or through a load balancer of the region? */
  /** Whether the app answers `url` with 200 (an instance or load balancer of this account, once it is ready). */
  answers(regionName: string, url: string): boolean {
    this.advanceInstances();
    return (
      this.scaling.answers(regionName, url) ||
      [...this.region(regionName).instances.values()].some(
        (instance) => url.startsWith(`http://${instance.PublicIpAddress}/`) && instance.State.Name === 'running' && instance.setup === 'ok',
      )
    );
  }

  /** The commands sent, as "service:Command", in order. */
  commandNames(): string[] {
    return this.calls.map((call) => `${call.service}:${call.command}`);
  }

  inputsOf(command: string): Json[] {
    return this.calls.filter((call) => call.command === command).map((call) => call.input);
  }

  /** Answers one call as the account: the mocked clients above and the wire endpoint (wire-endpoint.ts) both come here. */
  async handle(service: keyof AwsClients, region: string, command: string, input: Json): Promise<unknown> {
    this.calls.push({ service, region, command, input });
    const fault = this.faults.find(
      (candidate) =>
        candidate.service === service && candidate.command === command && candidate.remaining > 0 && (candidate.when?.(input) ?? true),
    );
    if (fault) {
      fault.remaining -= 1;
      throw fault.error;
    }
    const handler = this.handlers[`${service}:${command}`] ?? this.scaling.handlers[`${service}:${command}`];
    if (!handler) throw new Error(`The fake account does not implement ${service}:${command}`);
    this.advanceInstances();
    try {
      return withoutEmptyLists(await handler(input, region));
    } catch (error) {
      // The model names an error by its wire code; the service's real SDK client decides what the code reaches infra/ as.
      if (error instanceof AwsFault) throw await awsError(service, error.code, error.message, { status: error.status });
      throw error;
    }
  }

  private advanceInstances(): void {
    for (const region of this.regions.values()) {
      for (const [id, association] of region.associations) {
        if (association.endsAt !== undefined && this.now() >= association.endsAt) region.associations.delete(id);
        if (association.settlesAt !== undefined && this.now() >= association.settlesAt) {
          association.State = 'associated';
          association.settlesAt = undefined;
        }
      }
      for (const instance of region.instances.values()) {
        if (instance.stateChangeAt === undefined || this.now() < instance.stateChangeAt) continue;
        const next: Record<string, string> = { pending: 'running', 'shutting-down': 'terminated', stopping: 'stopped' };
        instance.State = { Name: next[instance.State.Name] ?? instance.State.Name };
        instance.stateChangeAt = undefined;
        if (instance.State.Name === 'running' && instance.setup === 'ok') this.shipSetupDone(region, instance);
        // EC2 ends the profile association of a terminated instance shortly after, not at once.
        if (instance.State.Name === 'terminated') {
          for (const association of region.associations.values())
            if (association.InstanceId === instance.InstanceId) association.endsAt = this.now() + this.associationLingerMs;
        }
      }
    }
    this.scaling.advance();
  }

  private bucketFor(name: unknown, region: string): BucketModel {
    const bucket = this.buckets.get(String(name));
    // Amazon S3 API Reference, "Error responses" (list of error codes): NoSuchBucket 404, AccessDenied 403, PermanentRedirect 301.
    if (!bucket) throw new AwsFault('NoSuchBucket', 'The specified bucket does not exist');
    if (bucket.ownerAccount !== ACCOUNT_ID) throw new AwsFault('AccessDenied', 'Access Denied');
    if (bucket.region !== region)
      throw new AwsFault('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.');
    return bucket;
  }

  private roleFor(name: unknown): RoleModel {
    const role = this.roles.get(String(name));
    // IAM API Reference, GetRole "Errors": NoSuchEntity (404).
    if (!role || !this.isVisible(`role:${String(name)}`))
      throw new AwsFault('NoSuchEntity', `The role with name ${String(name)} cannot be found.`);
    return role;
  }

  /** Not AWS: once the app answers on an instance whose setup went well, user-data's DONE line reaches LOG_GROUP INSTANCE/setup. */
  private shipSetupDone(region: RegionModel, instance: InstanceModel): void {
    const logGroupName = /^readonly LOG_GROUP='(.*)'$/m.exec(instance.UserData ?? '')?.[1];
    const group = logGroupName === undefined ? undefined : region.logGroups.get(logGroupName);
    group?.events.push({ timestamp: this.now(), logStreamName: `${instance.InstanceId}/setup`, message: 's3-photo-share-setup: DONE' });
  }

  private managedPolicyFor(arn: unknown): ManagedPolicyModel {
    const policy = this.managedPolicies.get(String(arn));
    if (!policy) throw new AwsFault('NoSuchEntity', `Policy ${String(arn)} does not exist or is not attachable.`);
    return policy;
  }

  private profileFor(name: unknown): ProfileModel {
    const profile = this.profiles.get(String(name));
    // IAM API Reference, GetInstanceProfile "Errors": NoSuchEntity (404).
    if (!profile || !this.isVisible(`profile:${String(name)}`))
      throw new AwsFault('NoSuchEntity', `Instance Profile ${String(name)} cannot be found.`);
    return profile;
  }

  private instanceFor(region: string, id: unknown): InstanceModel {
    const instance = this.region(region).instances.get(String(id));
    // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidInstanceID.NotFound.
    if (!instance || !this.isVisible(String(id)))
      throw new AwsFault('InvalidInstanceID.NotFound', `The instance ID '${String(id)}' does not exist`);
    return instance;
  }

  private securityGroupFor(region: string, id: unknown): SecurityGroupModel {
    const group = this.region(region).groups.get(String(id));
    // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidGroup.NotFound.
    if (!group || !this.isVisible(String(id)))
      throw new AwsFault('InvalidGroup.NotFound', `The security group '${String(id)}' does not exist`);
    return group;
  }

  /** Whether EC2 and Auto Scaling accept a profile yet: IAM takes a while to reach them (always, for a profile the model does not know). */
  acceptsProfile(arn: string | undefined): boolean {
    const profile = [...this.profiles.values()].find((candidate) => candidate.arn === arn);
    return !profile || this.now() >= profile.visibleToEc2At;
  }

  private logGroupFor(region: string, name: unknown) {
    const group = this.region(region).logGroups.get(String(name));
    // CloudWatch Logs API Reference, PutRetentionPolicy, DeleteLogGroup and FilterLogEvents "Errors": ResourceNotFoundException.
    if (!group) throw new AwsFault('ResourceNotFoundException', 'The specified log group does not exist.');
    return group;
  }

  private readonly handlers: Record<string, Handler> = {
    'sts:GetCallerIdentity': () => ({ Account: ACCOUNT_ID, Arn: `arn:aws:iam::${ACCOUNT_ID}:user/operator` }),
    'ssm:GetParameter': (input, region) => {
      if (String(input.Name).startsWith('/aws/service/')) return { Parameter: { Value: this.amiId } };
      const parameter = this.scaling.region(region).parameters.get(String(input.Name));
      // AWS Systems Manager API Reference, GetParameter "Errors": ParameterNotFound.
      if (!parameter) throw new AwsFault('ParameterNotFound', '');
      return { Parameter: { Name: input.Name, Type: parameter.Type, Value: parameter.Value } };
    },

    's3:CreateBucket': (input, region) => {
      const name = String(input.Bucket);
      const configuration = (input.CreateBucketConfiguration ?? {}) as { LocationConstraint?: string; Tags?: Tags };
      const existing = this.buckets.get(name);
      // Amazon S3 API Reference, CreateBucket "Errors" and "Error responses" (list of error codes): BucketAlreadyExists 409, InvalidLocationConstraint 400, IllegalLocationConstraintException 400, BucketAlreadyOwnedByYou 409.
      if (existing && existing.ownerAccount !== ACCOUNT_ID)
        throw new AwsFault('BucketAlreadyExists', 'The requested bucket name is not available.');
      if (region === 'us-east-1' && configuration.LocationConstraint !== undefined)
        throw new AwsFault('InvalidLocationConstraint', 'The specified location-constraint is not valid');
      if (region !== 'us-east-1' && configuration.LocationConstraint !== region)
        throw new AwsFault('IllegalLocationConstraintException', 'The location constraint is incompatible with the region');
      // us-east-1 answers 200 for a bucket you already own there, and changes nothing.
      if (existing && existing.region === 'us-east-1' && region === 'us-east-1') return {};
      if (existing)
        throw new AwsFault('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
      this.addBucket(name, { region, tags: configuration.Tags, objectOwnership: input.ObjectOwnership as string | undefined });
      return {};
    },
    's3:GetBucketTagging': (input, region) => {
      const bucket = this.bucketFor(input.Bucket, region);
      // Amazon S3 API Reference, GetBucketTagging: NoSuchTagSet 404 ("Error responses").
      if (!bucket.tags?.length) throw new AwsFault('NoSuchTagSet', 'The TagSet does not exist');
      return { TagSet: bucket.tags };
    },
    's3:GetBucketLocation': (input) => {
      const bucket = this.buckets.get(String(input.Bucket));
      // Amazon S3 API Reference, "Error responses" (list of error codes): NoSuchBucket 404, AccessDenied 403.
      if (!bucket) throw new AwsFault('NoSuchBucket', 'The specified bucket does not exist');
      if (bucket.ownerAccount !== ACCOUNT_ID) throw new AwsFault('AccessDenied', 'Access Denied');
      return { LocationConstraint: bucket.region === 'us-east-1' ? undefined : bucket.region === 'eu-west-1' ? 'EU' : bucket.region };
    },
    's3:PutPublicAccessBlock': (input, region) =>
      void (this.bucketFor(input.Bucket, region).publicAccessBlock = input.PublicAccessBlockConfiguration as Json),
    's3:PutBucketOwnershipControls': (input, region) =>
      void (this.bucketFor(input.Bucket, region).objectOwnership = (
        input.OwnershipControls as { Rules: { ObjectOwnership: string }[] }
      ).Rules[0]?.ObjectOwnership),
    's3:PutBucketEncryption': (input, region) =>
      void (this.bucketFor(input.Bucket, region).encryption = input.ServerSideEncryptionConfiguration as Json),
    's3:PutBucketPolicy': (input, region) => void (this.bucketFor(input.Bucket, region).policy = JSON.parse(String(input.Policy)) as Json),
    's3:PutBucketLifecycleConfiguration': (input, region) =>
      void (this.bucketFor(input.Bucket, region).lifecycle = input.LifecycleConfiguration as Json),
    's3:PutBucketTagging': (input, region) => void (this.bucketFor(input.Bucket, region).tags = (input.Tagging as { TagSet: Tags }).TagSet),
    's3:PutObject': (input, region) => {
      const body = input.Body as Uint8Array | string;
      this.bucketFor(input.Bucket, region).objects.set(String(input.Key), Buffer.from(body).toString('utf8'));
      return {};
    },
    's3:ListObjectVersions': (input, region) => {
      const bucket = this.bucketFor(input.Bucket, region);
      const prefix = String(input.Prefix ?? '');
      const keys = [...bucket.objects.keys()].filter((key) => key.startsWith(prefix)).slice(0, 2);
      const markers = [...bucket.deleteMarkers].filter((key) => key.startsWith(prefix)).slice(0, 2);
      return {
        Versions: keys.map((Key) => ({ Key, VersionId: 'null' })),
        DeleteMarkers: markers.map((Key) => ({ Key, VersionId: `marker-${Key}` })),
        IsTruncated: false,
      };
    },
    's3:DeleteObjects': (input, region) => {
      const bucket = this.bucketFor(input.Bucket, region);
      const Errors: { Key: string; Code: string }[] = [];
      for (const { Key, VersionId } of (input.Delete as { Objects: { Key: string; VersionId?: string }[] }).Objects) {
        if (bucket.undeletable.has(Key)) Errors.push({ Key, Code: 'AccessDenied' });
        else if (VersionId === `marker-${Key}`) bucket.deleteMarkers.delete(Key);
        else bucket.objects.delete(Key);
      }
      return { Errors };
    },
    's3:DeleteBucket': (input, region) => {
      const bucket = this.bucketFor(input.Bucket, region);
      // Amazon S3 API Reference, "Error responses" (list of error codes): BucketNotEmpty 409.
      if (bucket.objects.size + bucket.deleteMarkers.size > 0)
        throw new AwsFault('BucketNotEmpty', 'The bucket you tried to delete is not empty');
      this.buckets.delete(String(input.Bucket));
      return {};
    },

    'iam:CreateRole': (input) => {
      const name = String(input.RoleName);
      // IAM API Reference, CreateRole "Errors": EntityAlreadyExists (409).
      if (this.roles.has(name)) throw new AwsFault('EntityAlreadyExists', `Role with name ${name} already exists.`);
      assertTrustPolicySize(String(input.AssumeRolePolicyDocument));
      const role = this.addRole(name, (input.Tags as Tags) ?? []);
      this.created(`role:${name}`);
      role.trust = JSON.parse(String(input.AssumeRolePolicyDocument)) as Json;
      role.permissionsBoundary = input.PermissionsBoundary as string | undefined;
      return { Role: { Arn: role.arn, RoleName: name, Tags: role.tags } };
    },
    // GetRole returns the trust policy URL-encoded (RFC 3986), and the boundary as PermissionsBoundaryPolicy (IAM API reference, GetRole and AttachedPermissionsBoundary).
    'iam:GetRole': (input) => {
      const role = this.roleFor(input.RoleName);
      return {
        Role: {
          Arn: role.arn,
          RoleName: input.RoleName,
          Tags: role.tags,
          AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(role.trust)),
          PermissionsBoundary: role.permissionsBoundary
            ? { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: role.permissionsBoundary }
            : undefined,
        },
      };
    },
    // IAM API reference, PutRolePermissionsBoundary: adds or replaces the role's boundary.
    'iam:PutRolePermissionsBoundary': (input) =>
      void (this.roleFor(input.RoleName).permissionsBoundary = String(input.PermissionsBoundary)),
    // IAM API reference, CreatePolicy: EntityAlreadyExists for a name in use; the first version is v1 and the default.
    'iam:CreatePolicy': (input) => {
      const arn = `arn:aws:iam::${ACCOUNT_ID}:policy/${String(input.PolicyName)}`;
      if (this.managedPolicies.has(arn))
        throw new AwsFault(
          'EntityAlreadyExists',
          `A policy called ${String(input.PolicyName)} already exists. Duplicate names are not allowed.`,
        );
      assertManagedPolicySize(String(input.PolicyDocument));
      const document = JSON.parse(String(input.PolicyDocument)) as Json;
      const policy = {
        name: String(input.PolicyName),
        tags: (input.Tags as Tags) ?? [],
        versions: [{ id: 'v1', document, isDefault: true }],
        lastVersion: 1,
      };
      this.managedPolicies.set(arn, policy);
      return { Policy: { PolicyName: policy.name, Arn: arn, DefaultVersionId: 'v1', Tags: policy.tags } };
    },
    'iam:GetPolicy': (input) => {
      const policy = this.managedPolicyFor(input.PolicyArn);
      const usage = [...this.roles.values()].filter((role) => role.permissionsBoundary === input.PolicyArn).length;
      const defaultVersion = policy.versions.find((version) => version.isDefault);
      return {
        Policy: {
          PolicyName: policy.name,
          Arn: input.PolicyArn,
          DefaultVersionId: defaultVersion?.id,
          PermissionsBoundaryUsageCount: usage,
          Tags: policy.tags,
        },
      };
    },
    // The document comes back URL-encoded (RFC 3986), as GetRole's trust policy does (IAM API reference, GetPolicyVersion).
    'iam:GetPolicyVersion': (input) => {
      const version = this.managedPolicyFor(input.PolicyArn).versions.find((candidate) => candidate.id === input.VersionId);
      if (!version)
        throw new AwsFault('NoSuchEntity', `Policy ${String(input.PolicyArn)} version ${String(input.VersionId)} does not exist.`);
      return {
        PolicyVersion: {
          Document: encodeURIComponent(JSON.stringify(version.document)),
          VersionId: version.id,
          IsDefaultVersion: version.isDefault,
        },
      };
    },
    'iam:ListPolicyVersions': (input) => ({
      Versions: this.managedPolicyFor(input.PolicyArn).versions.map((version) => ({
        VersionId: version.id,
        IsDefaultVersion: version.isDefault,
      })),
    }),
    // IAM API reference, CreatePolicyVersion: at most five versions; LimitExceeded beyond.
    'iam:CreatePolicyVersion': (input) => {
      const policy = this.managedPolicyFor(input.PolicyArn);
      if (policy.versions.length >= 5)
        throw new AwsFault(
          'LimitExceeded',
          'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
        );
      assertManagedPolicySize(String(input.PolicyDocument));
      policy.lastVersion += 1;
      const version = {
        id: `v${policy.lastVersion}`,
        document: JSON.parse(String(input.PolicyDocument)) as Json,
        isDefault: input.SetAsDefault === true,
      };
      if (version.isDefault) for (const other of policy.versions) other.isDefault = false;
      policy.versions.push(version);
      return { PolicyVersion: { VersionId: version.id, IsDefaultVersion: version.isDefault } };
    },
    // IAM API reference, DeletePolicyVersion: the default version cannot be deleted this way.
    'iam:DeletePolicyVersion': (input) => {
      const policy = this.managedPolicyFor(input.PolicyArn);
      const version = policy.versions.find((candidate) => candidate.id === input.VersionId);
      if (!version)
        throw new AwsFault('NoSuchEntity', `Policy ${String(input.PolicyArn)} version ${String(input.VersionId)} does not exist.`);
      if (version.isDefault) throw new AwsFault('DeleteConflict', 'Cannot delete the default version of a policy.');
      policy.versions = policy.versions.filter((candidate) => candidate !== version);
    },
    // IAM API reference, DeletePolicy: other versions must be deleted first, and a policy still attached, or used as a
    // permissions boundary, is refused with DeleteConflict (AWS's messages as reported in rebuy-de/aws-nuke#1 and gruntwork-io/cloud-nuke#972).
    'iam:DeletePolicy': (input) => {
      const policy = this.managedPolicyFor(input.PolicyArn);
      if (policy.versions.length > 1)
        throw new AwsFault(
          'DeleteConflict',
          "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        );
      if (
        [...this.roles.values()].some(
          (role) => role.permissionsBoundary === input.PolicyArn || role.attachedPolicies.includes(String(input.PolicyArn)),
        )
      )
        throw new AwsFault('DeleteConflict', 'Cannot delete a policy attached to entities.');
      this.managedPolicies.delete(String(input.PolicyArn));
    },
    'iam:UpdateAssumeRolePolicy': (input) => {
      const role = this.roleFor(input.RoleName);
      assertTrustPolicySize(String(input.PolicyDocument));
      role.trust = JSON.parse(String(input.PolicyDocument)) as Json;
    },
    'iam:PutRolePolicy': (input) => {
      const role = this.roleFor(input.RoleName);
      const document = JSON.parse(String(input.PolicyDocument)) as Json;
      // IAM User Guide, "IAM and AWS STS quotas": a role's inline policies together may hold at most 10,240 characters, white
      // space not counted; IAM API Reference, PutRolePolicy "Errors": LimitExceeded (409), in the words IAM answers with.
      const others = [...role.inlinePolicies].filter(([name]) => name !== input.PolicyName).map(([, policy]) => policy);
      const size = [...others, document].reduce((total, policy) => total + JSON.stringify(policy).replace(/\s/g, '').length, 0);
      if (size > ROLE_POLICY_SIZE_QUOTA)
        throw new AwsFault(
          'LimitExceeded',
          `Maximum policy size of ${ROLE_POLICY_SIZE_QUOTA} bytes exceeded for role ${String(input.RoleName)}`,
        );
      role.inlinePolicies.set(String(input.PolicyName), document);
    },
    'iam:ListRolePolicies': (input) => ({ PolicyNames: [...this.roleFor(input.RoleName).inlinePolicies.keys()] }),
    // IAM API Reference, DeleteRolePolicy, DetachRolePolicy and RemoveRoleFromInstanceProfile "Errors": NoSuchEntity (404) for a
    // policy or role that is not there.
    'iam:DeleteRolePolicy': (input) => {
      if (!this.roleFor(input.RoleName).inlinePolicies.delete(String(input.PolicyName)))
        throw new AwsFault('NoSuchEntity', `The role policy with name ${String(input.PolicyName)} cannot be found.`);
    },
    'iam:ListAttachedRolePolicies': (input) => ({
      AttachedPolicies: this.roleFor(input.RoleName).attachedPolicies.map((PolicyArn) => ({ PolicyArn })),
    }),
    'iam:DetachRolePolicy': (input) => {
      const role = this.roleFor(input.RoleName);
      if (!role.attachedPolicies.includes(String(input.PolicyArn)))
        throw new AwsFault('NoSuchEntity', `Policy ${String(input.PolicyArn)} was not found.`);
      role.attachedPolicies = role.attachedPolicies.filter((arn) => arn !== input.PolicyArn);
    },
    'iam:DeleteRole': (input) => {
      const role = this.roleFor(input.RoleName);
      // IAM API Reference, DeleteRole "Errors": DeleteConflict (409).
      if (role.inlinePolicies.size > 0 || role.attachedPolicies.length > 0)
        throw new AwsFault('DeleteConflict', 'Cannot delete entity, must delete policies first.');
      if ([...this.profiles.values()].some((profile) => profile.roles.includes(String(input.RoleName))))
        throw new AwsFault('DeleteConflict', 'Cannot delete entity, must remove roles from instance profile first.');
      this.roles.delete(String(input.RoleName));
    },
    'iam:CreateOpenIDConnectProvider': (input) => {
      const host = String(input.Url).replace(/^https:\/\//, '');
      const arn = `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${host}`;
      // IAM API Reference, CreateOpenIDConnectProvider "Errors": EntityAlreadyExists (409).
      if (this.oidcProviders.has(arn)) throw new AwsFault('EntityAlreadyExists', `Provider with url ${String(input.Url)} already exists.`);
      this.addOidcProvider(host, {
        clientIds: (input.ClientIDList as string[] | undefined) ?? [],
        thumbprints: (input.ThumbprintList as string[] | undefined) ?? [],
        tags: (input.Tags as Tags | undefined) ?? [],
      });
      return { OpenIDConnectProviderArn: arn };
    },
    'iam:GetOpenIDConnectProvider': (input) => {
      const provider = this.oidcProviders.get(String(input.OpenIDConnectProviderArn));
      // IAM API Reference, GetOpenIDConnectProvider "Errors": NoSuchEntity (404).
      if (!provider)
        throw new AwsFault('NoSuchEntity', `OpenIDConnect Provider not found for arn ${String(input.OpenIDConnectProviderArn)}`);
      return {
        Url: provider.url,
        ClientIDList: [...provider.clientIds],
        ThumbprintList: [...provider.thumbprints],
        Tags: [...provider.tags],
      };
    },
    'iam:CreateInstanceProfile': (input) => {
      const name = String(input.InstanceProfileName);
      // IAM API Reference, CreateInstanceProfile "Errors": EntityAlreadyExists (409).
      if (this.profiles.has(name)) throw new AwsFault('EntityAlreadyExists', `Instance Profile ${name} already exists.`);
      const profile = this.addProfile(name, (input.Tags as Tags) ?? []);
      this.created(`profile:${name}`);
      profile.visibleToEc2At = this.now() + this.profilePropagationMs;
      return { InstanceProfile: { Arn: profile.arn, InstanceProfileName: name, Tags: profile.tags, Roles: [] } };
    },
    'iam:GetInstanceProfile': (input) => {
      const profile = this.profileFor(input.InstanceProfileName);
      return {
        InstanceProfile: {
          Arn: profile.arn,
          InstanceProfileName: input.InstanceProfileName,
          Tags: profile.tags,
          Roles: profile.roles.map((RoleName) => ({ RoleName, Arn: this.roles.get(RoleName)?.arn })),
        },
      };
    },
    'iam:AddRoleToInstanceProfile': (input) => {
      const profile = this.profileFor(input.InstanceProfileName);
      this.roleFor(input.RoleName);
      // IAM API Reference, AddRoleToInstanceProfile "Errors": LimitExceeded (409).
      if (profile.roles.length > 0) throw new AwsFault('LimitExceeded', 'Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1');
      profile.roles.push(String(input.RoleName));
    },
    'iam:RemoveRoleFromInstanceProfile': (input) => {
      const profile = this.profileFor(input.InstanceProfileName);
      if (!profile.roles.includes(String(input.RoleName)))
        throw new AwsFault('NoSuchEntity', `The role with name ${String(input.RoleName)} cannot be found.`);
      profile.roles = profile.roles.filter((name) => name !== input.RoleName);
    },
    'iam:DeleteInstanceProfile': (input) => {
      const profile = this.profileFor(input.InstanceProfileName);
      // IAM API Reference, DeleteInstanceProfile "Errors": DeleteConflict (409).
      if (profile.roles.length > 0)
        throw new AwsFault('DeleteConflict', 'Cannot delete entity, must remove roles from instance profile first.');
      this.profiles.delete(String(input.InstanceProfileName));
    },

    'ec2:DescribeVpcs': (_input, region) => ({ Vpcs: this.hasDefaultVpc ? [{ VpcId: this.region(region).vpcId, IsDefault: true }] : [] }),
    'ec2:CreateSecurityGroup': (input, region) => {
      const model = this.region(region);
      // Amazon EC2 API Reference, CreateSecurityGroup, GroupName: "Can't start with sg-" (InvalidParameterValue, in EC2's words).
      if (String(input.GroupName).startsWith('sg-'))
        throw new AwsFault('InvalidParameterValue', 'Group names may not be in the format sg-*.');
      if ([...model.groups.values()].some((group) => group.GroupName === input.GroupName && group.VpcId === input.VpcId)) {
        // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidGroup.Duplicate.
        throw new AwsFault(
          'InvalidGroup.Duplicate',
          `The security group '${String(input.GroupName)}' already exists for VPC '${String(input.VpcId)}'`,
        );
      }
      const tags = ((input.TagSpecifications as { Tags: Tags }[] | undefined) ?? []).flatMap((spec) => spec.Tags);
      const group = this.addSecurityGroup(region, { GroupName: String(input.GroupName), VpcId: String(input.VpcId), Tags: tags });
      this.created(group.GroupId);
      return { GroupId: group.GroupId };
    },
    'ec2:DescribeSecurityGroups': (input, region) => ({
      SecurityGroups: structuredClone(
        [...this.region(region).groups.values()].filter((group) => matchesFilters(group, input.Filters as Filter[] | undefined)),
      ),
    }),
    'ec2:AuthorizeSecurityGroupIngress': (input, region) => {
      const group = this.securityGroupFor(region, input.GroupId);
      const rules = input.IpPermissions as SecurityGroupModel['IpPermissions'];
      // A rule that names another group needs that group found too, and a new one is not at first.
      for (const pair of rules.flatMap((rule) => rule.UserIdGroupPairs ?? [])) this.securityGroupFor(region, pair.GroupId);
      // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidPermission.Duplicate, "The specified inbound or
      // outbound rule already exists for that security group"; the whole request is refused and nothing is added.
      const held = new Set(group.IpPermissions.flatMap(ruleSources));
      const duplicate = rules.flatMap(ruleSources).find((source) => held.has(source));
      if (duplicate) throw new AwsFault('InvalidPermission.Duplicate', `the specified rule "${duplicate}" already exists`);
      for (const rule of rules) group.IpPermissions.push({ ...rule, IpRanges: rule.IpRanges ?? [] });
      return { Return: true };
    },
    'ec2:RevokeSecurityGroupIngress': (input, region) => {
      const group = this.securityGroupFor(region, input.GroupId);
      for (const revoked of input.IpPermissions as SecurityGroupModel['IpPermissions']) {
        const revokedCidrs = new Set((revoked.IpRanges ?? []).map((range) => range.CidrIp));
        const revokedGroups = new Set((revoked.UserIdGroupPairs ?? []).map((pair) => pair.GroupId));
        const revokedIpv6 = new Set((revoked.Ipv6Ranges ?? []).map((range) => range.CidrIpv6));
        const revokedPrefixLists = new Set((revoked.PrefixListIds ?? []).map((prefixList) => prefixList.PrefixListId));
        for (const rule of group.IpPermissions) {
          if (rule.IpProtocol !== revoked.IpProtocol || rule.FromPort !== revoked.FromPort || rule.ToPort !== revoked.ToPort) continue;
          rule.IpRanges = rule.IpRanges.filter((range) => !revokedCidrs.has(range.CidrIp));
          if (rule.UserIdGroupPairs) rule.UserIdGroupPairs = rule.UserIdGroupPairs.filter((pair) => !revokedGroups.has(pair.GroupId));
          if (rule.Ipv6Ranges) rule.Ipv6Ranges = rule.Ipv6Ranges.filter((range) => !revokedIpv6.has(range.CidrIpv6));
          if (rule.PrefixListIds)
            rule.PrefixListIds = rule.PrefixListIds.filter((prefixList) => !revokedPrefixLists.has(prefixList.PrefixListId));
        }
        group.IpPermissions = group.IpPermissions.filter(
          (rule) =>
            rule.IpRanges.length +
              (rule.UserIdGroupPairs?.length ?? 0) +
              (rule.Ipv6Ranges?.length ?? 0) +
              (rule.PrefixListIds?.length ?? 0) >
            0,
        );
      }
      return { Return: true };
    },
    'ec2:DeleteSecurityGroup': (input, region) => {
      this.advanceInstances();
      const model = this.region(region);
      this.securityGroupFor(region, input.GroupId);
      // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": DependencyViolation.
      const users = [...model.instances.values()].filter(
        (instance) => instance.State.Name !== 'terminated' && instance.SecurityGroupIds.includes(String(input.GroupId)),
      );
      if (users.length > 0 || this.scaling.groupInUse(region, String(input.GroupId)))
        throw new AwsFault('DependencyViolation', `resource ${String(input.GroupId)} has a dependent object`);
      model.groups.delete(String(input.GroupId));
    },
    'ec2:DescribeInstances': (input, region) => {
      this.advanceInstances();
      const model = this.region(region);
      const ids = input.InstanceIds as string[] | undefined;
      if (ids) for (const id of ids) this.instanceFor(region, id);
      const instances = [...model.instances.values()].filter(
        (instance) => (!ids || ids.includes(instance.InstanceId)) && matchesFilters(instance, input.Filters as Filter[] | undefined),
      );
      return { Reservations: instances.length === 0 ? [] : [{ Instances: structuredClone(instances) }] };
    },
    'ec2:RunInstances': (input, region) => {
      assertUserDataSize(input.UserData);
      const profileArn = (input.IamInstanceProfile as { Arn?: string } | undefined)?.Arn;
      const profile = [...this.profiles.values()].find((candidate) => candidate.arn === profileArn);
      if (profileArn && (!profile || !this.acceptsProfile(profileArn))) {
        // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidParameterValue (the message names the parameter).
        throw new AwsFault(
          'InvalidParameterValue',
          `Value (${profileArn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile name`,
        );
      }
      const tags =
        ((input.TagSpecifications as { ResourceType: string; Tags: Tags }[] | undefined) ?? []).find(
          (spec) => spec.ResourceType === 'instance',
        )?.Tags ?? [];
      const groupIds = (input.SecurityGroupIds as string[] | undefined) ?? [];
      const instance = this.addInstance(region, {
        State: { Name: 'pending' },
        stateChangeAt: this.now() + PENDING_MS,
        setup: this.nextLaunchSetup(),
        Tags: tags,
        ImageId: String(input.ImageId),
        InstanceType: input.InstanceType as string | undefined,
        MetadataOptions: input.MetadataOptions as InstanceModel['MetadataOptions'],
        // Without a group, EC2 uses the VPC's default group, which is open to everything else in it.
        SecurityGroupIds: groupIds.length > 0 ? groupIds : ['sg-default'],
        UserData: Buffer.from(String(input.UserData ?? ''), 'base64').toString('utf8'),
        profileArn,
      });
      this.created(instance.InstanceId);
      return { Instances: [{ InstanceId: instance.InstanceId }] };
    },
    'ec2:TerminateInstances': (input, region) => {
      for (const id of input.InstanceIds as string[]) {
        const instance = this.instanceFor(region, id);
        if (instance.State.Name === 'terminated' || instance.State.Name === 'shutting-down') continue;
        instance.State = { Name: 'shutting-down' };
        instance.stateChangeAt = this.now() + this.terminationMs;
      }
      return {};
    },
    'ec2:StartInstances': (input, region) => {
      for (const id of input.InstanceIds as string[]) {
        const instance = this.instanceFor(region, id);
        // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": IncorrectInstanceState.
        if (instance.State.Name !== 'stopped')
          throw new AwsFault('IncorrectInstanceState', `The instance '${id}' is not in a state from which it can be started.`);
        instance.State = { Name: 'pending' };
        instance.stateChangeAt = this.now() + PENDING_MS;
      }
      return {};
    },
    'ec2:CreateTags': (input, region) => {
      for (const id of input.Resources as string[]) {
        const instance = this.instanceFor(region, id);
        instance.Tags = withTags(instance.Tags, input.Tags as Tags);
      }
      return {};
    },
    'ec2:GetConsoleOutput': (input, region) => {
      const instance = this.instanceFor(region, input.InstanceId);
      // EC2 API Reference, GetConsoleOutput: the latest output "is supported on instance types that use the Nitro hypervisor".
      // The page names no error code for the others; UnsupportedOperation is the one "Error codes for the Amazon EC2 API" lists
      // for a request the resource does not support.
      if (input.Latest && !isNitro(instance.InstanceType ?? 't3.micro'))
        throw new AwsFault(
          'UnsupportedOperation',
          `The instance type ${String(instance.InstanceType)} does not support retrieving the latest console output.`,
        );
      const text =
        instance.setup === 'failed'
          ? 'Installing Node.js 24\ns3-photo-share-setup: FAILED (exit 1) at line 42: retry dnf install -y nodejs24\n'
          : 'Installing Node.js 24\n';
      return { InstanceId: instance.InstanceId, Output: Buffer.from(text).toString('base64') };
    },
    'ec2:DescribeIamInstanceProfileAssociations': (input, region) => {
      this.advanceInstances();
      const associations = [...this.region(region).associations.values()].filter((association) =>
        matchesFilters(association, input.Filters as Filter[] | undefined),
      );
      // One association a page, so paging is exercised.
      const start = Number(input.NextToken ?? 0);
      const page = associations.slice(start, start + 1).map(({ endsAt: _endsAt, settlesAt: _settlesAt, ...association }) => association);
      return {
        IamInstanceProfileAssociations: structuredClone(page),
        NextToken: start + 1 < associations.length ? String(start + 1) : undefined,
      };
    },
    'ec2:AssociateIamInstanceProfile': (input, region) => {
      const model = this.region(region);
      const instance = this.instanceFor(region, input.InstanceId);
      // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": IncorrectState.
      if ([...model.associations.values()].some((association) => association.InstanceId === instance.InstanceId))
        throw new AwsFault('IncorrectState', 'There is an existing association for instance');
      const association = this.associate(model, instance.InstanceId, String((input.IamInstanceProfile as { Arn: string }).Arn));
      // Amazon EC2 API Reference, AssociateIamInstanceProfile, Sample Response: a new association answers `associating`.
      association.State = 'associating';
      association.settlesAt = this.now() + this.associationSettleMs;
      const { settlesAt: _settlesAt, ...answer } = association;
      return { IamInstanceProfileAssociation: answer };
    },
    // Amazon EC2 API Reference, DisassociateIamInstanceProfile, Sample Response: the association answers `disassociating`,
    // one of the states IamInstanceProfileAssociation lists (associating | associated | disassociating | disassociated).
    'ec2:DisassociateIamInstanceProfile': (input, region) => {
      const association = this.region(region).associations.get(String(input.AssociationId));
      if (!association)
        throw new AwsFault('InvalidAssociationID.NotFound', `The association ID '${String(input.AssociationId)}' does not exist`);
      association.State = 'disassociating';
      association.settlesAt = undefined;
      association.endsAt = this.now() + this.associationSettleMs;
      const { endsAt: _endsAt, ...answer } = association;
      return { IamInstanceProfileAssociation: answer };
    },
    'ec2:ReplaceIamInstanceProfileAssociation': (input, region) => {
      const association = this.region(region).associations.get(String(input.AssociationId));
      // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidAssociationID.NotFound.
      if (!association)
        throw new AwsFault('InvalidAssociationID.NotFound', `The association ID '${String(input.AssociationId)}' does not exist`);
      association.IamInstanceProfile = { Arn: String((input.IamInstanceProfile as { Arn: string }).Arn) };
      return { IamInstanceProfileAssociation: association };
    },
    'ec2:ModifyInstanceMetadataOptions': (input, region) => {
      const instance = this.instanceFor(region, input.InstanceId);
      const { HttpTokens, HttpEndpoint, HttpPutResponseHopLimit } = input as InstanceModel['MetadataOptions'];
      instance.MetadataOptions = {
        ...instance.MetadataOptions,
        ...(HttpTokens && { HttpTokens }),
        ...(HttpEndpoint && { HttpEndpoint }),
        ...(HttpPutResponseHopLimit && { HttpPutResponseHopLimit }),
      };
      return {};
    },

    'logs:CreateLogGroup': (input, region) => {
      const model = this.region(region);
      // CloudWatch Logs API Reference, CreateLogGroup "Errors": ResourceAlreadyExistsException.
      if (model.logGroups.has(String(input.logGroupName)))
        throw new AwsFault('ResourceAlreadyExistsException', 'The specified log group already exists');
      model.logGroups.set(String(input.logGroupName), { tags: (input.tags as Record<string, string>) ?? {}, events: [] });
      return {};
    },
    'logs:ListTagsForResource': (input, region) => {
      const match = /^arn:aws:logs:([^:]+):(\d+):log-group:(.+)$/.exec(String(input.resourceArn));
      // CloudWatch Logs API Reference, ListTagsForResource "Errors": ResourceNotFoundException.
      if (!match || match[1] !== region || match[2] !== ACCOUNT_ID)
        throw new AwsFault('ResourceNotFoundException', 'The specified resource does not exist.');
      return { tags: this.logGroupFor(region, match[3]).tags };
    },
    'logs:PutRetentionPolicy': (input, region) =>
      void (this.logGroupFor(region, input.logGroupName).retentionInDays = Number(input.retentionInDays)),
    'logs:DeleteLogGroup': (input, region) => {
      this.logGroupFor(region, input.logGroupName);
      this.region(region).logGroups.delete(String(input.logGroupName));
    },
    'logs:FilterLogEvents': (input, region) => {
      const streams = input.logStreamNames as string[] | undefined;
      // A quoted filter pattern matches events that hold the exact phrase (CloudWatch Logs User Guide, filter pattern syntax).
      const phrase = /^"(.*)"$/.exec(String(input.filterPattern ?? ''))?.[1];
      const events = this.logGroupFor(region, input.logGroupName)
        .events.filter((event) => event.timestamp >= Number(input.startTime ?? 0))
        .filter((event) => !streams || streams.includes(event.logStreamName))
        .filter((event) => phrase === undefined || event.message.includes(phrase))
        .slice(0, Number(input.limit ?? Infinity));
      // Two events a page, so paging is exercised.
      const start = Number(input.nextToken ?? 0);
      const page = events.slice(start, start + 2);
      return { events: page, nextToken: start + 2 < events.length ? String(start + 2) : undefined };
    },
  };
}

type Filter = { Name: string; Values: string[] };

/** IAM User Guide, "IAM and AWS STS quotas": role policy size, the aggregate of its inline policies without white space. */
export const ROLE_POLICY_SIZE_QUOTA = 10_240;
/** The same page: managed policy size, and role trust policy length (the default quota), white space not counted. */
export const MANAGED_POLICY_SIZE_QUOTA = 6_144;
export const TRUST_POLICY_SIZE_QUOTA = 2_048;

/**
 * Amazon EC2 User Guide, "Run commands when you launch an EC2 instance with user data input": "User data is limited to 16 KB, in raw
 * form, before it is base64-encoded"; RunInstances and launch templates answer InvalidParameterValue beyond it.
 */
export function assertUserDataSize(userData: unknown): void {
  if (userData !== undefined && Buffer.from(String(userData), 'base64').length > 16_384)
    throw new AwsFault('InvalidParameterValue', 'User data is limited to 16384 bytes');
}

/** IAM API Reference, CreatePolicy and CreatePolicyVersion "Errors": LimitExceeded (409), in the words IAM answers with. */
function assertManagedPolicySize(document: string): void {
  if (document.replace(/\s/g, '').length > MANAGED_POLICY_SIZE_QUOTA)
    throw new AwsFault('LimitExceeded', `Cannot exceed quota for PolicySize: ${MANAGED_POLICY_SIZE_QUOTA}`);
}

/** IAM API Reference, CreateRole and UpdateAssumeRolePolicy "Errors": LimitExceeded (409), in the words IAM answers with. */
function assertTrustPolicySize(document: string): void {
  if (document.replace(/\s/g, '').length > TRUST_POLICY_SIZE_QUOTA)
    throw new AwsFault('LimitExceeded', `Cannot exceed quota for ACLSizePerRole: ${TRUST_POLICY_SIZE_QUOTA}`);
}

/** Each source a permission opens its ports to, as one comparable string: a rule EC2 would call a duplicate has the same string. */
function ruleSources(rule: SecurityGroupModel['IpPermissions'][number]): string[] {
  const ports = `${rule.IpProtocol} ${rule.FromPort ?? ''}-${rule.ToPort ?? ''}`;
  return [
    ...(rule.IpRanges ?? []).map((range) => `${ports} from ${range.CidrIp}`),
    ...(rule.Ipv6Ranges ?? []).map((range) => `${ports} from ${range.CidrIpv6}`),
    ...(rule.PrefixListIds ?? []).map((prefixList) => `${ports} from ${prefixList.PrefixListId}`),
    ...(rule.UserIdGroupPairs ?? []).map((pair) => `${ports} from ${pair.GroupId}`),
  ];
}

/**
 * The instance families on the Xen hypervisor (Amazon EC2 User Guide, "Instances built on the AWS Nitro System": every
 * current generation type is Nitro; these previous-generation ones are not).
 */
const XEN_FAMILIES = [
  't1',
  't2',
  'm1',
  'm2',
  'm3',
  'm4',
  'c1',
  'c3',
  'c4',
  'cc2',
  'cr1',
  'r3',
  'r4',
  'x1',
  'x1e',
  'd2',
  'h1',
  'i2',
  'i3',
  'p2',
  'p3',
  'g2',
  'g3',
  'f1',
];

function isNitro(instanceType: string): boolean {
  return !XEN_FAMILIES.includes(instanceType.split('.')[0] ?? '');
}

/** A region the tests never put anything in looks the same as one a command only looked at. */
function isEmptyRegion(region: RegionModel): boolean {
  return region.instances.size + region.groups.size + region.associations.size + region.logGroups.size === 0;
}

/** EC2-style filters: every filter must match one of its values; tag:Key looks at the tags. */
function matchesFilters(resource: { Tags?: Ec2Tag[] } & object, filters: Filter[] | undefined): boolean {
  const fields: Record<string, (item: Record<string, unknown>) => unknown> = {
    'instance-state-name': (item) => (item.State as { Name: string }).Name,
    'group-name': (item) => item.GroupName,
    'vpc-id': (item) => item.VpcId,
    'instance-id': (item) => item.InstanceId,
    state: (item) => item.State,
  };
  return (filters ?? []).every((filter) => {
    const value = filter.Name.startsWith('tag:')
      ? resource.Tags?.find((tag) => tag.Key === filter.Name.slice(4))?.Value
      : (
          fields[filter.Name] ??
          (() => {
            throw new Error(`The fake account does not know the filter ${filter.Name}`);
          })
        )(resource as Record<string, unknown>);
    return filter.Values.includes(String(value));
  });
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

/** Runs the steps of one command against the account, as the CLI would, and returns the state it ended with. */
export async function runAgainst<State extends object>(
  account: FakeAccount,
  region: string,
  steps: import('../step.js').Step<CommandDeps, State>[],
  overrides: Partial<CommandDeps> = {},
): Promise<State> {
  const { runSteps } = await import('../step.js');
  const state = {} as State;
  await runSteps(steps, account.deps(region, overrides), state);
  return state;
}

/**
 * An answer as the SDK may hand it over: every list field is optional in its types, and some services leave an empty
 * list out instead of sending []. The model always leaves them out, so code that reads `Tags` or `Instances` without
 * a default fails here rather than on a real account. A copy: the model's own records keep their lists.
 */
function withoutEmptyLists(answer: unknown): unknown {
  if (Array.isArray(answer)) return answer.map(withoutEmptyLists);
  if (answer === null || typeof answer !== 'object' || answer instanceof Uint8Array || answer instanceof Date) return answer;
  const copy: Json = {};
  for (const [key, value] of Object.entries(answer)) {
    if (Array.isArray(value) && value.length === 0) continue;
    copy[key] = withoutEmptyLists(value);
  }
  return copy;
}
