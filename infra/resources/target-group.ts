// The target group of `--instances N`: the instances the load balancer forwards to, with their health check; created tagged, converged on rerun, deleted by down.
import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTargetGroupAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAwsError, type AwsDeps } from '../aws-clients.js';
import { APP_PORT, assertStackOwns, ownershipOf, stackNames, stackTags, tagsCli, type StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import { required, retryWithBackoff, seconds, type Step } from '../step.js';
import { findTargetGroup, tagsOf } from './load-balancer-lookups.js';

/**
 * Seconds the load balancer keeps a deregistering instance's in-flight requests (an upload still streaming) before the
 * Auto Scaling group terminates it. Three times the app's default SHUTDOWN_GRACE_SECONDS (20): a slow upload gets a
 * minute with no new requests arriving, then the app's own grace on SIGTERM. The default, 300, would make each batch of
 * an instance refresh wait five minutes for nothing on a quiet demo.
 */
export const DEREGISTRATION_DELAY_SECONDS = 60;
export const HEALTH_CHECK = {
  HealthCheckProtocol: 'HTTP',
  HealthCheckPath: '/readyz',
  HealthCheckIntervalSeconds: 15,
  HealthCheckTimeoutSeconds: 5,
  HealthyThresholdCount: 2,
  UnhealthyThresholdCount: 3,
  Matcher: { HttpCode: '200' },
} as const;
export const TARGET_GROUP_RELEASE_BUDGET_MS = 120_000;

function healthCheckDiffers(group: TargetGroup): boolean {
  return (Object.keys(HEALTH_CHECK) as (keyof typeof HEALTH_CHECK)[]).some((key) =>
    key === 'Matcher' ? group.Matcher?.HttpCode !== HEALTH_CHECK.Matcher.HttpCode : group[key] !== HEALTH_CHECK[key],
  );
}

export function targetGroupUpStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Create the target group ${names.targetGroupName}: HTTP to port ${APP_PORT}, health check GET ${HEALTH_CHECK.HealthCheckPath}`,
    why: `The load balancer sends requests only to instances whose ${HEALTH_CHECK.HealthCheckPath} answers 200, which the app does once it reaches the bucket with its role; the Auto Scaling group replaces an instance the check finds unhealthy. Deregistration delay ${DEREGISTRATION_DELAY_SECONDS} s: an instance leaving (a release, a scale-in) gets no new requests while its uploads in flight finish.`,
    cli: [
      `TG_ARN=$(aws elbv2 create-target-group --region ${region} --name ${names.targetGroupName} --protocol HTTP --port ${APP_PORT} --vpc-id "$VPC_ID" --target-type instance --health-check-protocol HTTP --health-check-path ${HEALTH_CHECK.HealthCheckPath} --health-check-interval-seconds ${HEALTH_CHECK.HealthCheckIntervalSeconds} --health-check-timeout-seconds ${HEALTH_CHECK.HealthCheckTimeoutSeconds} --healthy-threshold-count ${HEALTH_CHECK.HealthyThresholdCount} --unhealthy-threshold-count ${HEALTH_CHECK.UnhealthyThresholdCount} --matcher HttpCode=${HEALTH_CHECK.Matcher.HttpCode} --tags ${tagsCli(settings)} --query 'TargetGroups[0].TargetGroupArn' --output text)`,
      `aws elbv2 modify-target-group-attributes --region ${region} --target-group-arn "$TG_ARN" --attributes Key=deregistration_delay.timeout_seconds,Value=${DEREGISTRATION_DELAY_SECONDS}`,
    ],
    run: async (deps, state) => {
      const { aws, log } = deps;
      let group = await findTargetGroup(deps, names.targetGroupName);
      if (group) {
        assertStackOwns(
          await tagsOf(deps, required(group.TargetGroupArn, 'the target group ARN')),
          settings,
          `Target group ${names.targetGroupName}`,
        );
        log(`Reusing target group ${group.TargetGroupArn}`);
        if (healthCheckDiffers(group)) {
          await aws.elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: group.TargetGroupArn, ...HEALTH_CHECK }));
          log(`Health check of ${names.targetGroupName} set back to GET ${HEALTH_CHECK.HealthCheckPath}`);
        }
      } else {
        const created = await aws.elbv2.send(
          new CreateTargetGroupCommand({
            Name: names.targetGroupName,
            Protocol: 'HTTP',
            Port: APP_PORT,
            VpcId: required(state.vpcId, 'the VPC id'),
            TargetType: 'instance',
            ...HEALTH_CHECK,
            Tags: stackTags(settings),
          }),
        );
        group = created.TargetGroups?.[0];
        log(`Created target group ${group?.TargetGroupArn}`);
      }
      const arn = required(group?.TargetGroupArn, 'the target group ARN');
      state.targetGroupArn = arn;
      const { Attributes = [] } = await aws.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
      const delay = Attributes.find((attribute) => attribute.Key === 'deregistration_delay.timeout_seconds')?.Value;
      if (delay !== String(DEREGISTRATION_DELAY_SECONDS)) {
        await aws.elbv2.send(
          new ModifyTargetGroupAttributesCommand({
            TargetGroupArn: arn,
            Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(DEREGISTRATION_DELAY_SECONDS) }],
          }),
        );
        log(`Deregistration delay set to ${DEREGISTRATION_DELAY_SECONDS} s`);
      }
    },
  };
}

/** Deletes the target group, retrying while a listener or the Auto Scaling group being deleted still uses it. */
export async function deleteTargetGroup(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const name = stackNames(settings.stack).targetGroupName;
  const group = await findTargetGroup(deps, name);
  if (!group) {
    deps.log(`No target group ${name}`);
    return;
  }
  const arn = required(group.TargetGroupArn, 'the target group ARN');
  if (ownershipOf(await tagsOf(deps, arn), settings).owner !== 'this-stack') {
    deps.log(`Target group ${name} is not tagged as this stack's: left as it is`);
    return;
  }
  await retryWithBackoff(
    () => deps.aws.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })),
    {
      isRetryable: (error) => isAwsError(error, 'ResourceInUseException'),
      describeWait: (delayMs) => `Target group ${name} is still in use; retrying in ${seconds(delayMs)}`,
      firstDelayMs: 5_000,
      maxDelayMs: 20_000,
      budgetMs: TARGET_GROUP_RELEASE_BUDGET_MS,
    },
    deps,
  );
  deps.log(`Deleted target group ${name}`);
}
