// What the steps of one command learn from AWS and hand to later steps, and the dependencies of up beyond the AWS clients.
import type { AwsDeps } from './aws-clients.js';
import type { ReleaseArtifact } from './release.js';
import type { CiRoleDeps, GitHubRepository } from './resources/github-repository.js';

export interface StackState {
  accountId?: string;
  /** Set when --adopt-bucket found a bucket this stack did not create: nothing on the bucket itself is changed. */
  bucketAdopted?: boolean;
  releaseId?: string;
  roleArn?: string;
  /** The role GitHub Actions assumes (`infra:ci-role`), and the repository it trusts. */
  deployRoleArn?: string;
  githubRepository?: GitHubRepository;
  instanceProfileArn?: string;
  securityGroupId?: string;
  amiId?: string;
  instanceId?: string;
  appUrl?: string;

  // Load-balanced mode (`--instances N`).
  vpcId?: string;
  /** One default subnet per availability zone, at least two. */
  subnetIds?: string[];
  loadBalancerSecurityGroupId?: string;
  appSecurityGroupId?: string;
  /** The names the certificate covers (its domain first); the first is the one the DNS record and the app URL use. */
  certificateDomains?: string[];
  targetGroupArn?: string;
  loadBalancerArn?: string;
  loadBalancerDnsName?: string;
  /** The load balancer's own Route 53 zone, which an alias record points into. */
  loadBalancerZoneId?: string;
  /** The DNS record the operator must create when up did not create it (no --hosted-zone-id). */
  dnsRecordToCreate?: string;
  launchTemplateId?: string;
  launchTemplateVersion?: string;
  /** Set when this run started an instance refresh (a new release or changed settings). */
  instanceRefreshId?: string;
  /** Why the app was not confirmed ready: held until the other mode is removed, then reported. */
  readinessFailure?: unknown;
}

export function newStackState(): StackState {
  return {};
}

/**
 * What one GET of the app's /readyz learned: 'ready' only for a 200; 'not-ready' for any other answer or error (a refused
 * connection, a name that does not resolve yet); 'unreachable' when nothing answered in time, as when a security group
 * does not admit the machine up runs on (--allow-cidr): then only a check from inside AWS can tell.
 */
export type ReadinessProbe = 'ready' | 'not-ready' | 'unreachable';

export interface UpDeps extends AwsDeps {
  buildRelease: () => Promise<ReleaseArtifact>;
  probeReadiness: (url: string) => Promise<ReadinessProbe>;
}

/** Everything any command may need; each command's steps use a part of it. */
export type CommandDeps = UpDeps & CiRoleDeps;
