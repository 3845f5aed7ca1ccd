// The role GitHub Actions assumes to deploy: trusted only by one repository's main branch through GitHub's OIDC provider, allowed only the operator policy.
import { PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { retryUntilVisible, type AwsDeps } from '../aws-clients.js';
import { operatorPolicy } from '../operator-policy.js';
import { PLAN_ACCOUNT_ID, stackNames, tagsCli, type BucketSettings, type StackSettings } from '../stack.js';
import type { GitHubRepository, StackState } from '../state.js';
import { required, type Step } from '../step.js';
import { renderPolicy } from '../templates.js';
import type { RepositorySettings } from './github-repository.js';
import { GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST } from './oidc-provider.js';
import { createOrConvergeRole, deleteOwnedRole } from './role.js';

export interface CiRoleSettings extends StackSettings, RepositorySettings {
  /** The bucket the operator policy is scoped to; the deploy workflow must be run with the same one. Not needed to delete. */
  bucket: string;
}

/**
 * The only token subjects the role accepts: a workflow run on the repository's main branch, named as GitHub names it
 * (by name alone for repositories from before immutable subjects, with the owner and repository ids since).
 */
export function deploySubjects({ fullName, ownerId, repoId }: GitHubRepository): string[] {
  const [owner, name] = fullName.split('/');
  return [`repo:${owner}/${name}:ref:refs/heads/main`, `repo:${owner}@${ownerId}/${name}@${repoId}:ref:refs/heads/main`];
}

export function githubTrustPolicy({ fullName, ownerId, repoId }: GitHubRepository, accountId: string) {
  // GitHub's OWNER/NAME (from its API, or checked by the CLI) has exactly one slash.
  const [Owner, Name] = fullName.split('/') as [string, string];
  return renderPolicy('github-trust-policy', { AccountId: accountId, Owner, Name, OwnerId: ownerId, RepoId: repoId });
}

/** What the plan shows before the ids are known: the names given, the ids as placeholders unless --repo-ids gave them. */
function plannedRepository({ repo, repoIds }: RepositorySettings): GitHubRepository {
  const [ownerId = 'OWNER_ID', repoId = 'REPO_ID'] = repoIds?.split('/') ?? [];
  return { fullName: repo, ownerId, repoId };
}

export function deployRoleUpSteps(settings: CiRoleSettings): Step<AwsDeps, StackState>[] {
  const names = stackNames(settings.stack);
  const bucketSettings: BucketSettings = { stack: settings.stack, region: settings.region, bucket: settings.bucket };
  return [
    {
      title: `Create the IAM role ${names.deployRoleName}, assumable only by ${settings.repo}'s main branch`,
      why: `GitHub Actions trades its OIDC token for the role's temporary credentials; the trust policy accepts only tokens whose audience is ${GITHUB_OIDC_AUDIENCE} and whose subject is exactly one of ${deploySubjects(plannedRepository(settings)).join(' or ')} (StringEquals: no other repository, branch, tag, pull request or environment). The tags, set at creation, mark it as this stack's.`,
      cli: [
        `aws iam create-role --role-name ${names.deployRoleName} --assume-role-policy-document file://github-trust-policy.json --tags ${tagsCli(settings)}   # with your account id ($ACCOUNT_ID) for ${PLAN_ACCOUNT_ID}`,
        `aws iam update-assume-role-policy --role-name ${names.deployRoleName} --policy-document file://github-trust-policy.json   # when this stack's role already exists with another trust policy`,
      ],
      documents: { 'github-trust-policy.json': githubTrustPolicy(plannedRepository(settings), PLAN_ACCOUNT_ID) },
      run: async (deps, state) => {
        const repository = required(state.githubRepository, "the repository's ids");
        const trust = githubTrustPolicy(repository, required(state.accountId, 'the account id'));
        state.deployRoleArn = await createOrConvergeRole(deps, settings, {
          roleName: names.deployRoleName,
          trust,
          onTrustChanged: 'rewrite',
        });
      },
    },
    {
      title: `Give the role the operator's permissions (inline policy ${names.deployRolePolicyName})`,
      why: `What up, down and logs need for stack ${settings.stack}, bucket ${settings.bucket} and region ${settings.region}, and nothing else: it cannot change its own role or reach other buckets, roles or instances. put-role-policy overwrites in place, so a rerun converges.`,
      cli: [
        `aws iam put-role-policy --role-name ${names.deployRoleName} --policy-name ${names.deployRolePolicyName} --policy-document file://operator-policy.json   # with your account id ($ACCOUNT_ID) for ${PLAN_ACCOUNT_ID}`,
      ],
      documents: { 'operator-policy.json': operatorPolicy(bucketSettings, PLAN_ACCOUNT_ID) },
      run: async (deps, state) => {
        const { aws, log } = deps;
        const document = operatorPolicy(bucketSettings, required(state.accountId, 'the account id'));
        // The role may have been created a moment ago, and IAM may not show it yet.
        await retryUntilVisible(
          deps,
          `role ${names.deployRoleName}`,
          () =>
            aws.iam.send(
              new PutRolePolicyCommand({
                RoleName: names.deployRoleName,
                PolicyName: names.deployRolePolicyName,
                PolicyDocument: JSON.stringify(document),
              }),
            ),
          'NoSuchEntityException',
        );
        log(`Policy ${names.deployRolePolicyName} set on ${names.deployRoleName}`);
      },
    },
  ];
}

export function deployRoleDownStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const names = stackNames(settings.stack);
  return {
    title: `Delete the role ${names.deployRoleName} and its policies`,
    why: `Only a role tagged as this stack's is deleted; the GitHub OIDC provider ${GITHUB_OIDC_HOST} stays. Deploys from CI stop working until the role is created again.`,
    cli: [
      `aws iam delete-role-policy --role-name ${names.deployRoleName} --policy-name ${names.deployRolePolicyName}`,
      `aws iam delete-role --role-name ${names.deployRoleName}`,
    ],
    run: (deps) => deleteOwnedRole(deps, settings, names.deployRoleName),
  };
}
