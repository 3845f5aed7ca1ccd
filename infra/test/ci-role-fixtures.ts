// The repository, deploy role and command line that the ci-role test files share.
import { operatorPolicy } from '../operator-policy.js';
import type { GitHubRepository } from '../state.js';
import { ACCOUNT_ID } from './fake-aws.js';

export const REPO = 'octo-org/s3-photo-share';
/** What GitHub's API shows for REPO: the owner's and the repository's immutable ids. */
export const REPOSITORY: GitHubRepository = { fullName: REPO, ownerId: '9919', repoId: '1296269' };
export const ROLE_NAME = 's3-photo-share-github-deploy';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/${ROLE_NAME}`;
export const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com`;
export const CREATE = ['ci-role', '--repo', REPO, '--bucket', 'demo-bucket', '--region', 'eu-west-1'];

export function operatorPolicyFor(bucket: string) {
  return operatorPolicy({ stack: 's3-photo-share', region: 'eu-west-1', bucket }, ACCOUNT_ID);
}
