// `down`: removes what `up` created in either mode, found by the stack tags, in dependency order; the bucket stays unless asked and this stack created it.
import type { AwsDeps } from './aws-clients.js';
import { identityStep } from './identity.js';
import { autoScalingDownStep, launchTemplateDownStep } from './resources/auto-scaling.js';
import { bucketDeletionCheckStep, bucketDeletionStep } from './resources/bucket.js';
import { csrfSecretDownStep } from './resources/csrf-secret.js';
import { instanceDownStep } from './resources/instance.js';
import { loadBalancerDownSteps } from './resources/load-balancer.js';
import { logGroupDownStep } from './resources/logs.js';
import { permissionsBoundaryDownStep } from './resources/permissions-boundary.js';
import { releaseDeletionStep } from './resources/release-artifacts.js';
import { roleDownSteps, stackRegionCheckStep } from './resources/role.js';
import { securityGroupDownStep } from './resources/security-group.js';
import { stackNames, type BucketSettings } from './stack.js';
import type { StackState } from './state.js';
import type { Step } from './step.js';

export interface DownSettings extends BucketSettings {
  deleteBucket: boolean;
}

export function downSteps(settings: DownSettings): Step<AwsDeps, StackState>[] {
  return [
    identityStep(),
    stackRegionCheckStep(settings),
    ...(settings.deleteBucket ? [bucketDeletionCheckStep(settings)] : []),
    // The load-balanced mode first: the group would replace instances terminated under it, and it holds the target group.
    autoScalingDownStep(settings),
    ...loadBalancerDownSteps(settings),
    launchTemplateDownStep(settings),
    csrfSecretDownStep(settings),
    instanceDownStep(settings),
    securityGroupDownStep(settings),
    ...roleDownSteps(settings),
    permissionsBoundaryDownStep(settings, stackNames(settings.stack).deployRoleName),
    logGroupDownStep(settings),
    settings.deleteBucket ? bucketDeletionStep(settings) : releaseDeletionStep(settings),
  ];
}
