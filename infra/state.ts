// What one command's steps learn (from AWS and GitHub) and hand to later steps, and the commands' dependencies beyond the AWS clients.
import type { AwsDeps } from './aws-clients.js';
import type { ReleaseArtifact } from './release.js';

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
  /** What the load balancer step found or created; the listeners, the DNS record and the app URL are built on it. */
  loadBalancer?: LoadBalancerFacts;
  /** The DNS record the operator must create when up did not create it (no --hosted-zone-id). */
  dnsRecordToCreate?: string;
  launchTemplateId?: string;
  launchTemplateVersion?: string;
  /** Set when this run started an instance refresh (a new release or changed settings). */
  instanceRefreshId?: string;
  /** Why the app was not confirmed ready: held until the other mode is removed, then reported. */
  readinessFailure?: unknown;
}

/** The load balancer as later steps use it, all three known together once it exists. */
export interface LoadBalancerFacts {
  arn: string;
  dnsName: string;
  /** The load balancer's own Route 53 zone, which an alias record points into. */
  zoneId: string;
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

/**
 * Since 15 July 2026 a repository created or renamed on GitHub.com gets OIDC subjects with the numeric ids of its owner and
 * itself (`repo:OWNER@OWNER_ID/NAME@REPO_ID:ref:…`), so a name that is deleted and claimed again by someone else no longer
 * matches; older repositories keep `repo:OWNER/NAME:ref:…` until they opt in. The trust policy accepts both, each exactly.
 */
export interface GitHubRepository {
  /** OWNER/NAME as GitHub spells it (the subject is case-sensitive). */
  fullName: string;
  ownerId: string;
  repoId: string;
}

export interface CiRoleDeps extends AwsDeps {
  /** Reads OWNER/NAME's ids from GitHub's public REST API; throws an Error whose message says what to do instead. */
  lookUpGitHubRepository: (repo: string) => Promise<GitHubRepository>;
}

/** Everything any command may need; each command's steps use a part of it. */
export type CommandDeps = UpDeps & CiRoleDeps;
