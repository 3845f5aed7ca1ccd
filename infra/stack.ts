// The settings of one demo stack and every name and tag derived from them, so up, attach and down agree on what they look for.

export const APP_TAG_VALUE = 's3-photo-share';
export const DEFAULT_STACK = 's3-photo-share';
export const DEFAULT_INSTANCE_TYPE = 't3.micro';
export const DEFAULT_KEY_PREFIX = 'photos/';
export const RELEASES_ROOT = 'releases/';
// Port 80 so the demo URL needs no port; systemd grants the unprivileged service user CAP_NET_BIND_SERVICE for it.
export const APP_PORT = 80;

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
}

export interface StackNames {
  roleName: string;
  instanceProfileName: string;
  rolePolicyName: string;
  securityGroupName: string;
  releasePrefix: string;
}

export function stackNames(stack: string): StackNames {
  return {
    roleName: `${stack}-role`,
    instanceProfileName: `${stack}-instance-profile`,
    rolePolicyName: `${stack}-s3-access`,
    securityGroupName: `${stack}-web`,
    releasePrefix: `${RELEASES_ROOT}${stack}/`,
  };
}

export interface Tag {
  Key: string;
  Value: string;
}

/** The tags that mark a resource as created by this tool for this stack; down only touches resources that carry both. */
export function stackTags(stack: string): Tag[] {
  return [
    { Key: 'app', Value: APP_TAG_VALUE },
    { Key: 'stack', Value: stack },
  ];
}

export function carriesStackTags(tags: readonly { Key?: string; Value?: string }[] | undefined, stack: string): boolean {
  return stackTags(stack).every((wanted) => tags?.some((tag) => tag.Key === wanted.Key && tag.Value === wanted.Value));
}

/** A resource with our name but without our tags belongs to someone else: changing or deleting it would be a surprise. */
export function assertStackOwns(tags: readonly { Key?: string; Value?: string }[] | undefined, stack: string, what: string): void {
  if (!carriesStackTags(tags, stack)) {
    throw new Error(`${what} exists but is not tagged app=${APP_TAG_VALUE}, stack=${stack}, so this tool leaves it alone. Choose another --stack, or remove it yourself.`);
  }
}

/** EC2 filters that select only this stack's resources. */
export function stackTagFilters(stack: string): { Name: string; Values: string[] }[] {
  return stackTags(stack).map((tag) => ({ Name: `tag:${tag.Key}`, Values: [tag.Value] }));
}

/** Graviton instance types (t4g, m7g, c8g, …) need the arm64 image; everything else gets x86_64. */
export function architectureOf(instanceType: string): 'arm64' | 'x86_64' {
  const family = instanceType.split('.')[0] ?? '';
  return /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family) ? 'arm64' : 'x86_64';
}

export function amiParameterName(instanceType: string): string {
  return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architectureOf(instanceType)}`;
}
