// `ci-role`: the GitHub OIDC provider and the deploy role a repository's main branch assumes to run up with no key in CI; or, with --delete, the role removed.
import { identityStep } from './identity.js';
import { deployRoleDownStep, deployRoleUpSteps, type CiRoleSettings } from './resources/deploy-role.js';
import { githubRepositoryStep } from './resources/github-repository.js';
import { oidcProviderKeptStep, oidcProviderUpStep } from './resources/oidc-provider.js';
import { permissionsBoundaryDownStep, permissionsBoundaryUpStep } from './resources/permissions-boundary.js';
import { stackNames } from './stack.js';
import type { CiRoleDeps, StackState } from './state.js';
import type { Step } from './step.js';

export interface CiRoleCommandSettings extends CiRoleSettings {
  delete: boolean;
}

export function ciRoleSteps(settings: CiRoleCommandSettings): Step<CiRoleDeps, StackState>[] {
  if (settings.delete) {
    return [
      identityStep(),
      deployRoleDownStep(settings),
      permissionsBoundaryDownStep(settings, stackNames(settings.stack).roleName),
      oidcProviderKeptStep(),
    ];
  }
  // The boundary the operator policy names, made here because CI may not create it; after the role, so a refused role leaves nothing behind.
  return [
    identityStep(),
    githubRepositoryStep(settings),
    oidcProviderUpStep(),
    ...deployRoleUpSteps(settings),
    permissionsBoundaryUpStep(settings),
  ];
}

export function formatCiRoleSummary(state: StackState, settings: CiRoleCommandSettings): string[] {
  return [
    '',
    `Deploy role ARN: ${state.deployRoleArn}`,
    `Store it as the repository variable AWS_DEPLOY_ROLE_ARN of ${settings.repo} (Settings → Secrets and variables → Actions → Variables; it is a name, not a secret),`,
    `  or: gh variable set AWS_DEPLOY_ROLE_ARN --repo ${settings.repo} --body ${state.deployRoleArn}`,
    `Run the Deploy workflow from main with bucket ${settings.bucket} and region ${settings.region}: the role may act on those only.`,
  ];
}
