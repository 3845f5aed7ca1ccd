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
  /** Instances down terminated: their profile associations end with them. */
  terminatedInstanceIds?: string[];
}

export function newStackState(): StackState {
  return {};
}

export interface UpDeps extends AwsDeps {
  buildRelease: () => Promise<ReleaseArtifact>;
  /** One GET of the app's /readyz; true only for a 200. */
  isReady: (url: string) => Promise<boolean>;
}

/** Everything any command may need; each command's steps use a part of it. */
export type CommandDeps = UpDeps & CiRoleDeps;
