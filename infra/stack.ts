// The settings of one demo stack and every name and tag derived from them, so up, attach, down and logs agree on what they look for.

export const APP_TAG_VALUE = 's3-photo-share';
export const DEFAULT_STACK = 's3-photo-share';
export const DEFAULT_INSTANCE_TYPE = 't3.micro';
export const DEFAULT_KEY_PREFIX = 'photos/';
export const RELEASES_ROOT = 'releases/';
// Port 80 so the demo URL needs no port; systemd grants the unprivileged service user CAP_NET_BIND_SERVICE for it.
export const APP_PORT = 80;
/** The file `npm start` runs; the systemd unit starts the same file from the unpacked release. */
export const APP_ENTRY = 'dist/src/server.js';
export const LOG_RETENTION_DAYS = 7;
/** The plan shows this where the account id appears; the commands fill in the real one from GetCallerIdentity. */
export const PLAN_ACCOUNT_ID = 'ACCOUNT_ID';
/** Load balancer and target group names allow 32 characters; the longest suffix this tool adds to the stack is 3. */
export const MAX_LOAD_BALANCED_STACK_LENGTH = 29;

export interface StackSettings {
  stack: string;
  region: string;
}

export interface BucketSettings extends StackSettings {
  bucket: string;
}

export interface UpSettings extends BucketSettings {
  allowCidr: string;
  instanceType: string;
  keyPrefix: string;
  /** Use an existing bucket this stack did not create, changing nothing on it; down never empties or deletes it. */
  adoptBucket: boolean;
  /** Present with `--instances N`: an Auto Scaling group of N behind an Application Load Balancer instead of one instance. */
  loadBalanced?: LoadBalancedSettings;
}

export interface LoadBalancedSettings {
  instances: number;
  /** An ISSUED ACM certificate in the stack's region: HTTPS on 443, port 80 redirects. Without it, HTTP only. */
  certificateArn?: string;
  /** A Route 53 hosted zone that gets an alias record for the certificate's domain; without it, up prints the record to create. */
  hostedZoneId?: string;
}

export interface StackNames {
  roleName: string;
  instanceProfileName: string;
  rolePolicyName: string;
  securityGroupName: string;
  releasePrefix: string;
  logGroupName: string;
  /** The role GitHub Actions assumes to run up from CI (`infra:ci-role`), and its inline operator policy. */
  deployRoleName: string;
  deployRolePolicyName: string;
  /** The managed policy that caps the stack role: whatever policy it is given, it can do no more than the app needs. */
  permissionsBoundaryName: string;
  /** Load-balanced mode (`--instances N`). */
  loadBalancerName: string;
  targetGroupName: string;
  loadBalancerSecurityGroupName: string;
  /** The instances' group in load-balanced mode: the app port from the load balancer's group only. */
  appSecurityGroupName: string;
  launchTemplateName: string;
  autoScalingGroupName: string;
  /** The SSM SecureString every instance reads its CSRF secret from, so a form served by one instance is accepted by another. */
  csrfSecretParameterName: string;
}

export function stackNames(stack: string): StackNames {
  return {
    roleName: `${stack}-role`,
    instanceProfileName: `${stack}-instance-profile`,
    rolePolicyName: `${stack}-s3-access`,
    securityGroupName: `${stack}-web`,
    releasePrefix: `${RELEASES_ROOT}${stack}/`,
    logGroupName: `/s3-photo-share/${stack}`,
    deployRoleName: `${stack}-github-deploy`,
    deployRolePolicyName: `${stack}-operator`,
    permissionsBoundaryName: `${stack}-boundary`,
    loadBalancerName: `${stack}-lb`,
    targetGroupName: `${stack}-tg`,
    loadBalancerSecurityGroupName: `${stack}-lb`,
    appSecurityGroupName: `${stack}-app`,
    launchTemplateName: `${stack}-template`,
    autoScalingGroupName: `${stack}-asg`,
    csrfSecretParameterName: `/${stack}/csrf-secret`,
  };
}

export interface Tag {
  Key: string;
  Value: string;
}

type TagList = readonly { Key?: string; Value?: string }[] | undefined;

export const REGION_TAG_KEY = 'stack-region';

/**
 * The tags that mark a resource as created by this tool for this stack, in this region. Only the creating call sets them
 * (CreateBucket, CreateRole, RunInstances, … take tags), so a resource carrying them was made by `up`, never adopted.
 */
export function stackTags({ stack, region }: StackSettings): Tag[] {
  return [
    { Key: 'app', Value: APP_TAG_VALUE },
    { Key: 'stack', Value: stack },
    { Key: REGION_TAG_KEY, Value: region },
  ];
}

function tagValue(tags: TagList, key: string): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}

export type Ownership = { owner: 'this-stack' } | { owner: 'other' } | { owner: 'this-stack-elsewhere'; region: string };

/** Whose a resource is: this stack's (here), this stack's but recorded in another region, or someone else's. */
export function ownershipOf(tags: TagList, { stack, region }: StackSettings): Ownership {
  if (tagValue(tags, 'app') !== APP_TAG_VALUE || tagValue(tags, 'stack') !== stack) return { owner: 'other' };
  const recorded = tagValue(tags, REGION_TAG_KEY);
  if (recorded === region) return { owner: 'this-stack' };
  return recorded === undefined ? { owner: 'other' } : { owner: 'this-stack-elsewhere', region: recorded };
}

/** A resource with our name but without our tags belongs to someone else: changing or deleting it would be a surprise. */
export function assertStackOwns(tags: TagList, settings: StackSettings, what: string): void {
  const ownership = ownershipOf(tags, settings);
  if (ownership.owner === 'this-stack-elsewhere') throw new WrongRegionError(settings, ownership.region, what);
  if (ownership.owner === 'other') {
    throw new Error(
      `${what} exists but is not tagged app=${APP_TAG_VALUE}, stack=${settings.stack}, ${REGION_TAG_KEY}=${settings.region}, so this tool did not create it and leaves it alone. Choose another --stack, or remove it yourself.`,
    );
  }
}

export class WrongRegionError extends Error {
  constructor(settings: StackSettings, recordedRegion: string, what: string) {
    super(
      `Stack ${settings.stack} lives in ${recordedRegion} (recorded on ${what}), not ${settings.region}. Run the command again with --region ${recordedRegion}, or choose another --stack for a second demo in ${settings.region}.`,
    );
  }
}

/** EC2 filters that select only this stack's resources in this region. */
export function stackTagFilters(settings: StackSettings): { Name: string; Values: string[] }[] {
  return stackTags(settings).map((tag) => ({ Name: `tag:${tag.Key}`, Values: [tag.Value] }));
}

export function tagsCli(settings: StackSettings): string {
  return stackTags(settings)
    .map((tag) => `Key=${tag.Key},Value=${tag.Value}`)
    .join(' ');
}

/** The tags in the `[{Key=…,Value=…},…]` shorthand of --tag-specifications. */
export function tagListCli(tags: readonly Tag[]): string {
  return `[${tags.map((tag) => `{Key=${tag.Key},Value=${tag.Value}}`).join(',')}]`;
}

export function tagFiltersCli(settings: StackSettings): string {
  return stackTagFilters(settings)
    .map((filter) => `Name=${filter.Name},Values=${filter.Values.join(',')}`)
    .join(' ');
}

/** Graviton instance types (a1, the first, then t4g, m7g, c8g, …) need the arm64 image; everything else gets x86_64. */
export function architectureOf(instanceType: string): 'arm64' | 'x86_64' {
  const family = instanceType.split('.')[0] ?? '';
  return family === 'a1' || /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family) ? 'arm64' : 'x86_64';
}

export function amiParameterName(instanceType: string): string {
  return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architectureOf(instanceType)}`;
}
