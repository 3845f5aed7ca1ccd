// Switching a stack between one instance and `--instances N`: after the wait for the new mode, whatever its outcome, up removes what the other mode left, so no orphan stays behind.
import type { AwsDeps } from '../aws-clients.js';
import { stackNames, tagFiltersCli, type StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import type { Step } from '../step.js';
import { deleteAutoScalingGroups, deleteLaunchTemplates } from './auto-scaling.js';
import { deleteCsrfSecret } from './csrf-secret.js';
import { terminateStandaloneInstances } from './instance.js';
import { deleteDnsRecord } from './dns-record.js';
import { deleteLoadBalancer } from './load-balancer.js';
import { deleteTargetGroup } from './target-group.js';
import { deleteSecurityGroup, stackSecurityGroups } from './security-group.js';

async function deleteStackGroupsNamed(deps: AwsDeps, settings: StackSettings, groupNames: string[]): Promise<void> {
  for (const group of await stackSecurityGroups(deps, settings)) {
    if (groupNames.includes(group.GroupName ?? '')) await deleteSecurityGroup(deps, group);
  }
}

/** In single-instance mode, after the wait for the instance: everything an earlier `up --instances N` created. */
export function retireLoadBalancedStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title:
      'Remove what an earlier `up --instances N` of this stack left, if anything (Auto Scaling group, load balancer, template, parameter)',
    why: `Runs after the wait for the single instance, so switching back from the load-balanced mode keeps the demo up, and runs even when that wait failed, so no orphan is left behind (a load balancer costs money every hour). Only resources carrying the stack tags; on a stack that never ran with --instances it only looks. The same removals as \`npm run infra:down\` (see its plan): group scaled to 0 and deleted, alias record, load balancer, target group, launch template, ${names.csrfSecretParameterName}, and the groups ${names.appSecurityGroupName} and ${names.loadBalancerSecurityGroupName}.`,
    cli: [
      `aws autoscaling describe-auto-scaling-groups --region ${region} --filters ${tagFiltersCli(settings)}   # nothing listed: nothing to remove`,
      `aws elbv2 describe-load-balancers --region ${region} --names ${names.loadBalancerName}`,
      `# then the commands of: npm run infra:plan -- --for down …, less the instance, role, log group and bucket steps`,
    ],
    run: async (deps) => {
      await deleteAutoScalingGroups(deps, settings);
      await deleteDnsRecord(deps, settings);
      await deleteLoadBalancer(deps, settings);
      await deleteTargetGroup(deps, settings);
      await deleteLaunchTemplates(deps, settings);
      await deleteCsrfSecret(deps, settings);
      await deleteStackGroupsNamed(deps, settings, [names.appSecurityGroupName, names.loadBalancerSecurityGroupName]);
    },
  };
}

/** In load-balanced mode, after the wait for healthy targets: the stand-alone instance and its open group of an earlier single-instance `up`. */
export function retireStandaloneStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Remove the stand-alone instance and the group ${names.securityGroupName} of an earlier single-instance \`up\`, if any`,
    why: `Runs after the wait for healthy targets, so switching to --instances keeps the demo up, and even when that wait failed, so no open instance is left behind; afterwards no instance of the stack is reachable except through the load balancer. Instances launched by the Auto Scaling group are not touched.`,
    cli: [
      `aws ec2 describe-instances --region ${region} --filters ${tagFiltersCli(settings)} Name=instance-state-name,Values=pending,running,stopping,stopped --query "Reservations[].Instances[?!(Tags[?Key=='aws:autoscaling:groupName'])].InstanceId"`,
      `aws ec2 terminate-instances --region ${region} --instance-ids <those>; aws ec2 wait instance-terminated --region ${region} --instance-ids <those>`,
      `aws ec2 delete-security-group --region ${region} --group-id <the id of ${names.securityGroupName}, found by the stack tags>`,
    ],
    run: async (deps) => {
      await terminateStandaloneInstances(deps, settings);
      await deleteStackGroupsNamed(deps, settings, [names.securityGroupName]);
    },
  };
}
