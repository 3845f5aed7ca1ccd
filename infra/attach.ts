// `attach`, the CLI twin of the console's "Modify IAM role": gives an existing instance the stack's instance profile; IMDSv2 only when asked.
import type { AwsDeps } from './aws-clients.js';
import { identityStep } from './identity.js';
import { attachInstanceSteps } from './resources/instance.js';
import { profileLookupStep } from './resources/role.js';
import type { StackSettings } from './stack.js';
import type { StackState } from './state.js';
import type { Step } from './step.js';

export interface AttachSettings extends StackSettings {
  instanceId: string;
  /** Switch the instance to IMDSv2-only; programs on it that still use IMDSv1 stop getting credentials. */
  requireImdsv2: boolean;
}

export function attachSteps(settings: AttachSettings): Step<AwsDeps, StackState>[] {
  // The profile lookup refuses a profile recorded in another region, so attach acts in the stack's region only.
  return [identityStep(), profileLookupStep(settings), ...attachInstanceSteps(settings)];
}
