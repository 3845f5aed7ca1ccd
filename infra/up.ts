// `up`: composes the per-resource steps in dependency order; each resource's module holds what is done to it.
import { identityStep } from './identity.js';
import { bucketUpSteps } from './resources/bucket.js';
import { instanceUpSteps } from './resources/instance.js';
import { logGroupUpStep } from './resources/logs.js';
import { releaseUploadStep } from './resources/release-artifacts.js';
import { roleUpSteps, stackRegionCheckStep } from './resources/role.js';
import { securityGroupUpStep } from './resources/security-group.js';
import type { UpSettings } from './stack.js';
import type { StackState, UpDeps } from './state.js';
import type { Step } from './step.js';

export function upSteps(settings: UpSettings): Step<UpDeps, StackState>[] {
  return [
    identityStep(),
    stackRegionCheckStep(settings),
    ...bucketUpSteps(settings),
    releaseUploadStep(settings),
    logGroupUpStep(settings),
    ...roleUpSteps(settings),
    securityGroupUpStep(settings),
    ...instanceUpSteps(settings),
  ];
}

export function formatUpSummary(state: StackState): string[] {
  return [
    '',
    `App URL:              ${state.appUrl}`,
    `Instance id:          ${state.instanceId}`,
    `Role ARN:             ${state.roleArn}`,
    `Instance profile ARN: ${state.instanceProfileArn}`,
  ];
}
