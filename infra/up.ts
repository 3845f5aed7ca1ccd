// `up`: composes the per-resource steps in dependency order; each resource's module holds what is done to it.
import { identityStep } from './identity.js';
import { autoScalingGroupUpStep, launchTemplateUpStep, loadBalancedReadinessStep } from './resources/auto-scaling.js';
import { bucketUpSteps } from './resources/bucket.js';
import { certificateCheckStep } from './resources/certificate.js';
import { csrfSecretUpStep } from './resources/csrf-secret.js';
import { amiLookupStep, instanceUpSteps } from './resources/instance.js';
import { dnsRecordUpStep } from './resources/dns-record.js';
import { listenersUpStep } from './resources/listeners.js';
import { loadBalancerSecurityGroupsStep } from './resources/load-balancer-security-groups.js';
import { loadBalancerUpStep } from './resources/load-balancer.js';
import { targetGroupUpStep } from './resources/target-group.js';
import { logGroupUpStep } from './resources/logs.js';
import { retireLoadBalancedStep, retireStandaloneStep } from './resources/mode-switch.js';
import { defaultSubnetsStep } from './resources/network.js';
import { permissionsBoundaryUpStep } from './resources/permissions-boundary.js';
import { releaseUploadStep } from './resources/release-artifacts.js';
import { roleUpSteps, stackRegionCheckStep } from './resources/role.js';
import { securityGroupUpStep } from './resources/security-group.js';
import type { LoadBalancedSettings, UpSettings } from './stack.js';
import type { StackState, UpDeps } from './state.js';
import type { Step } from './step.js';

export function upSteps(settings: UpSettings): Step<UpDeps, StackState>[] {
  const lb = settings.loadBalanced;
  return [
    identityStep(),
    stackRegionCheckStep(settings),
    // Before anything is created: a certificate that cannot be used stops up here.
    ...(lb?.certificateArn ? [certificateCheckStep(settings, lb.certificateArn)] : []),
    ...bucketUpSteps(settings),
    releaseUploadStep(settings),
    logGroupUpStep(settings),
    permissionsBoundaryUpStep(settings),
    ...roleUpSteps(settings),
    ...(lb
      ? loadBalancedSteps(settings, lb)
      : [securityGroupUpStep(settings), ...retiringDespiteReadiness(instanceUpSteps(settings), retireLoadBalancedStep(settings))]),
  ];
}

/**
 * The last of the readiness steps waits for the new mode; removing the other mode must not depend on it, or a deploy
 * that cannot confirm readiness (from CI, say) would leave a load balancer or an open instance behind. So a readiness
 * failure is held in the state while the other mode is removed, and reported when that is done.
 */
function retiringDespiteReadiness(
  readinessSteps: Step<UpDeps, StackState>[],
  retire: Step<UpDeps, StackState>,
): Step<UpDeps, StackState>[] {
  const readiness = readinessSteps.at(-1);
  if (!readiness) return [...readinessSteps, retire];
  return [
    ...readinessSteps.slice(0, -1),
    {
      ...readiness,
      run: async (deps, state) => {
        try {
          await readiness.run(deps, state);
        } catch (error) {
          state.readinessFailure = error;
          deps.log('The app was not confirmed ready; the other mode is removed all the same, and up stops after that');
        }
      },
    },
    {
      ...retire,
      run: async (deps, state) => {
        await retire.run(deps, state);
        if (state.readinessFailure !== undefined) throw state.readinessFailure;
      },
    },
  ];
}

function loadBalancedSteps(settings: UpSettings, lb: LoadBalancedSettings): Step<UpDeps, StackState>[] {
  return [
    csrfSecretUpStep(settings),
    defaultSubnetsStep(settings),
    loadBalancerSecurityGroupsStep(settings, lb),
    targetGroupUpStep(settings),
    loadBalancerUpStep(settings),
    listenersUpStep(settings, lb),
    ...(lb.certificateArn ? [dnsRecordUpStep(settings, { ...lb, certificateArn: lb.certificateArn })] : []),
    amiLookupStep(settings),
    launchTemplateUpStep(settings),
    autoScalingGroupUpStep(settings, lb),
    ...retiringDespiteReadiness([loadBalancedReadinessStep(settings, lb)], retireStandaloneStep(settings)),
  ];
}

export function formatUpSummary(state: StackState): string[] {
  if (state.loadBalancer) {
    return [
      '',
      `App URL:              ${state.appUrl}`,
      `Load balancer:        ${state.loadBalancer.dnsName}`,
      ...(state.dnsRecordToCreate ? [`DNS record to create: ${state.dnsRecordToCreate}`] : []),
      `Role ARN:             ${state.roleArn}`,
      `Instance profile ARN: ${state.instanceProfileArn}`,
    ];
  }
  return [
    '',
    `App URL:              ${state.appUrl}`,
    `Instance id:          ${state.instanceId}`,
    `Role ARN:             ${state.roleArn}`,
    `Instance profile ARN: ${state.instanceProfileArn}`,
  ];
}
