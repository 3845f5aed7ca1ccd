// The launch template and Auto Scaling group of `--instances N`: N instances from one template with one role, rolled by an instance refresh on a new release, removed by down.
import {
  AttachLoadBalancerTargetGroupsCommand,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingGroup,
  type InstanceRefresh,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createHash } from 'node:crypto';
import { isAwsError, type AwsDeps } from '../aws-clients.js';
import { releaseObjectPrefix } from '../release.js';
import {
  APP_PORT,
  assertStackOwns,
  ownershipOf,
  stackNames,
  stackTagFilters,
  stackTags,
  tagFiltersCli,
  tagListCli,
  type LoadBalancedSettings,
  type StackSettings,
  type UpSettings,
} from '../stack.js';
import type { StackState, UpDeps } from '../state.js';
import { required, retryWithBackoff, seconds, waitFor, type Step } from '../step.js';
import { renderUserData } from '../templates.js';
import { HOP_LIMIT, READINESS_TIMEOUT_MS, retryWhileProfilePropagates } from './instance.js';
import { loadBalancedUrl, sameMembers } from './load-balancer.js';

/**
 * Seconds the group trusts a new instance before the load balancer's health check can get it replaced: first boot installs
 * Node and the dependencies, retrying downloads for up to 12 minutes (user-data's deadline), so 15 minutes covers it.
 */
export const HEALTH_CHECK_GRACE_SECONDS = 900;
/** At least half the instances keep serving while a refresh replaces the others, so the URL answers throughout. */
export const MIN_HEALTHY_PERCENTAGE = 50;
/** Replace, then launch: the group never runs more instances than you asked for (and pay for). */
export const MAX_HEALTHY_PERCENTAGE = 100;
export const REFRESH_TIMEOUT_MS = 60 * 60_000;
export const GROUP_DRAIN_TIMEOUT_MS = 15 * 60_000;
export const GROUP_DELETION_TIMEOUT_MS = 10 * 60_000;
const REFRESH_ACTIVE = ['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking'];
const REFRESH_FAILED = ['Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed'];
const DEPLOYMENT_PREFIX = 'deployment ';

export function launchTemplateData(settings: UpSettings, state: StackState): RequestLaunchTemplateData {
  const names = stackNames(settings.stack);
  const releaseId = required(state.releaseId, 'the release id');
  const userData = renderUserData({
    bucket: settings.bucket,
    keyPrefix: settings.keyPrefix,
    region: settings.region,
    releasePrefix: releaseObjectPrefix(names.releasePrefix, releaseId),
    logGroup: names.logGroupName,
    port: APP_PORT,
    csrfSecretParameter: names.csrfSecretParameterName,
    trustProxy: 1,
  });
  const tags = [{ Key: 'Name', Value: settings.stack }, ...stackTags(settings)];
  return {
    ImageId: required(state.amiId, 'the AMI id'),
    InstanceType: settings.instanceType as RequestLaunchTemplateData['InstanceType'],
    IamInstanceProfile: { Arn: required(state.instanceProfileArn, 'the instance profile ARN') },
    SecurityGroupIds: [required(state.appSecurityGroupId, 'the app security group id')],
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: HOP_LIMIT, HttpEndpoint: 'enabled' },
    UserData: Buffer.from(userData, 'utf8').toString('base64'),
    // The instances, their disks and network interfaces carry the stack tags from launch, so down and the operator policy find them.
    TagSpecifications: (['instance', 'volume', 'network-interface'] as const).map((ResourceType) => ({ ResourceType, Tags: tags })),
  };
}

/**
 * What a version of the template is for: a hash of everything in it except the AMI. As with the single instance, a newer
 * Amazon Linux image alone does not roll the group; it comes with the next release or changed setting.
 */
export function templateDeployment(data: RequestLaunchTemplateData): string {
  const { ImageId: _image, ...rest } = data;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

export function launchTemplateUpStep(settings: UpSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Create the launch template ${names.launchTemplateName} (or a new version of it when the release or a setting changed)`,
    why: `Every instance starts from it: the AMI, ${settings.instanceType}, the stack's instance profile (one role for every instance, each with its own temporary credentials from its own IMDS), IMDSv2 required with hop limit ${HOP_LIMIT}, the instances' security group, the stack tags, and the same user-data as a single instance plus CSRF_SECRET_PARAMETER (the parameter's name, never its value) and TRUST_PROXY=1. The version is described by a hash of its content: a rerun with nothing changed adds no version.`,
    cli: [
      `aws ec2 describe-launch-templates --region ${region} --filters ${tagFiltersCli(settings)} Name=launch-template-name,Values=${names.launchTemplateName}`,
      `LT_ID=$(aws ec2 create-launch-template --region ${region} --launch-template-name ${names.launchTemplateName} --version-description 'deployment <hash>' --launch-template-data file://launch-template.json --tag-specifications 'ResourceType=launch-template,Tags=${tagListCli(stackTags(settings))}' --query LaunchTemplate.LaunchTemplateId --output text)`,
      `LT_VERSION=$(aws ec2 create-launch-template-version --region ${region} --launch-template-id "$LT_ID" --version-description 'deployment <hash>' --launch-template-data file://launch-template.json --query LaunchTemplateVersion.VersionNumber --output text)   # on a rerun whose $Latest has another hash`,
    ],
    documents: {
      'launch-template.json': {
        ImageId: '$AMI_ID',
        InstanceType: settings.instanceType,
        IamInstanceProfile: { Arn: '$PROFILE_ARN' },
        SecurityGroupIds: ['$APP_SG_ID'],
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: HOP_LIMIT, HttpEndpoint: 'enabled' },
        UserData: '<base64 of user-data.sh with CSRF_SECRET_PARAMETER and TRUST_PROXY=1 filled in>',
        TagSpecifications: ['instance', 'volume', 'network-interface'].map((ResourceType) => ({
          ResourceType,
          Tags: [{ Key: 'Name', Value: settings.stack }, ...stackTags(settings)],
        })),
      },
    },
    run: async ({ aws, log }, state) => {
      const data = launchTemplateData(settings, state);
      const description = `${DEPLOYMENT_PREFIX}${templateDeployment(data)}`;
      const { LaunchTemplates = [] } = await aws.ec2.send(
        new DescribeLaunchTemplatesCommand({
          Filters: [...stackTagFilters(settings), { Name: 'launch-template-name', Values: [names.launchTemplateName] }],
        }),
      );
      const template = LaunchTemplates[0];
      if (!template) {
        try {
          const { LaunchTemplate } = await aws.ec2.send(
            new CreateLaunchTemplateCommand({
              LaunchTemplateName: names.launchTemplateName,
              VersionDescription: description,
              LaunchTemplateData: data,
              TagSpecifications: [{ ResourceType: 'launch-template', Tags: stackTags(settings) }],
            }),
          );
          state.launchTemplateId = LaunchTemplate?.LaunchTemplateId;
          state.launchTemplateVersion = String(LaunchTemplate?.LatestVersionNumber);
          log(`Created launch template ${state.launchTemplateId}, version ${state.launchTemplateVersion}`);
          return;
        } catch (error) {
          if (!isAwsError(error, 'InvalidLaunchTemplateName.AlreadyExistsException')) throw error;
          // The tag filter did not find it, so it is not this stack's; this names the owner in the refusal.
          const { LaunchTemplates: named = [] } = await aws.ec2.send(
            new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [names.launchTemplateName] }),
          );
          assertStackOwns(named[0]?.Tags, settings, `Launch template ${names.launchTemplateName}`);
          throw error;
        }
      }
      state.launchTemplateId = required(template.LaunchTemplateId, 'the launch template id');
      const { LaunchTemplateVersions = [] } = await aws.ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: state.launchTemplateId, Versions: ['$Latest'] }),
      );
      const latest = LaunchTemplateVersions[0];
      if (latest?.VersionDescription === description) {
        state.launchTemplateVersion = String(latest.VersionNumber);
        log(`Launch template ${state.launchTemplateId} version ${state.launchTemplateVersion} already holds this deployment`);
        return;
      }
      const { LaunchTemplateVersion } = await aws.ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: state.launchTemplateId,
          VersionDescription: description,
          LaunchTemplateData: data,
        }),
      );
      state.launchTemplateVersion = String(LaunchTemplateVersion?.VersionNumber);
      log(`Launch template ${state.launchTemplateId}: new version ${state.launchTemplateVersion} (release or settings changed)`);
    },
  };
}

async function findGroup({ aws }: AwsDeps, name: string): Promise<AutoScalingGroup | undefined> {
  const { AutoScalingGroups = [] } = await aws.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return AutoScalingGroups[0];
}

async function latestRefresh({ aws }: AwsDeps, groupName: string, refreshId?: string): Promise<InstanceRefresh | undefined> {
  const { InstanceRefreshes = [] } = await aws.autoscaling.send(
    new DescribeInstanceRefreshesCommand({
      AutoScalingGroupName: groupName,
      ...(refreshId ? { InstanceRefreshIds: [refreshId] } : { MaxRecords: 1 }),
    }),
  );
  return InstanceRefreshes[0];
}

/** Waits until the refresh ends, logging its progress; throws unless it succeeded. */
async function waitForRefresh(deps: AwsDeps, settings: StackSettings, groupName: string, refreshId: string | undefined): Promise<void> {
  let lastProgress = -1;
  const ended = await waitFor(
    async () => {
      const refresh = await latestRefresh(deps, groupName, refreshId);
      const status = refresh?.Status ?? 'Successful';
      if (REFRESH_ACTIVE.includes(status)) {
        const progress = refresh?.PercentageComplete ?? 0;
        if (progress !== lastProgress) deps.log(`Instance refresh ${refresh?.InstanceRefreshId}: ${status}, ${progress} % done`);
        lastProgress = progress;
        return undefined;
      }
      return refresh ?? { Status: status };
    },
    { intervalMs: 15_000, timeoutMs: REFRESH_TIMEOUT_MS },
    deps,
  );
  if (!ended)
    throw new Error(
      `The instance refresh of ${groupName} was still running after ${seconds(REFRESH_TIMEOUT_MS)}. Read the new instances' boot logs with \`npm run infra:logs -- --region ${settings.region}\`, then run \`npm run infra:up\` again.`,
    );
  if (ended.Status && REFRESH_FAILED.includes(ended.Status))
    throw new Error(
      `The instance refresh ${ended.InstanceRefreshId ?? ''} of ${groupName} ended ${ended.Status}${ended.StatusReason ? `: ${ended.StatusReason}` : ''}. The instances that were not replaced keep serving. Read the boot logs with \`npm run infra:logs -- --region ${settings.region}\`, then run \`npm run infra:up\` again.`,
    );
}

export function autoScalingGroupUpStep(settings: UpSettings, lb: LoadBalancedSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  const n = lb.instances;
  return {
    title: `Create the Auto Scaling group ${names.autoScalingGroupName}: ${n} instances (min = desired = max = ${n}) across the subnets, ELB health checks; on a new release, an instance refresh keeping ${MIN_HEALTHY_PERCENTAGE} % healthy`,
    why: `The group keeps ${n} instances running and registered in the target group, replacing any the load balancer's health check finds unhealthy after a ${HEALTH_CHECK_GRACE_SECONDS}-s grace for first boot. Max is ${n} too: there is no scaling policy, so a larger max would only allow instances you did not ask for. When the template version changes, an instance refresh replaces the instances a batch at a time, at least ${MIN_HEALTHY_PERCENTAGE} % of them healthy throughout, so the URL keeps answering during the roll. A refresh already running is waited for first.`,
    cli: [
      `aws autoscaling create-auto-scaling-group --region ${region} --auto-scaling-group-name ${names.autoScalingGroupName} --launch-template LaunchTemplateId="$LT_ID",Version="$LT_VERSION" --min-size ${n} --max-size ${n} --desired-capacity ${n} --vpc-zone-identifier "$(echo $SUBNET_IDS | tr ' ' ,)" --target-group-arns "$TG_ARN" --health-check-type ELB --health-check-grace-period ${HEALTH_CHECK_GRACE_SECONDS} --tags ${stackTags(
        settings,
      )
        .map(
          (tag) =>
            `ResourceId=${names.autoScalingGroupName},ResourceType=auto-scaling-group,Key=${tag.Key},Value=${tag.Value},PropagateAtLaunch=false`,
        )
        .join(' ')}`,
      `# On a rerun: aws autoscaling update-auto-scaling-group with what changed (template version, sizes, subnets, health check), then when instances run an older version:`,
      `aws autoscaling start-instance-refresh --region ${region} --auto-scaling-group-name ${names.autoScalingGroupName} --preferences '{"MinHealthyPercentage":${MIN_HEALTHY_PERCENTAGE},"MaxHealthyPercentage":${MAX_HEALTHY_PERCENTAGE},"SkipMatching":true}'`,
    ],
    run: async (deps, state) => {
      const { aws, log } = deps;
      const launchTemplateId = required(state.launchTemplateId, 'the launch template id');
      const version = required(state.launchTemplateVersion, 'the launch template version');
      const targetGroupArn = required(state.targetGroupArn, 'the target group ARN');
      const subnets = required(state.subnetIds, 'the subnet ids');
      let group = await findGroup(deps, names.autoScalingGroupName);
      if (!group) {
        await retryWhileProfilePropagates(deps, 'Auto Scaling', () =>
          aws.autoscaling.send(
            new CreateAutoScalingGroupCommand({
              AutoScalingGroupName: names.autoScalingGroupName,
              LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: version },
              MinSize: n,
              MaxSize: n,
              DesiredCapacity: n,
              VPCZoneIdentifier: subnets.join(','),
              TargetGroupARNs: [targetGroupArn],
              HealthCheckType: 'ELB',
              HealthCheckGracePeriod: HEALTH_CHECK_GRACE_SECONDS,
              Tags: stackTags(settings).map((tag) => ({
                ...tag,
                ResourceId: names.autoScalingGroupName,
                ResourceType: 'auto-scaling-group',
                PropagateAtLaunch: false,
              })),
            }),
          ),
        );
        log(`Created Auto Scaling group ${names.autoScalingGroupName} with ${n} instances`);
        return;
      }
      assertStackOwns(
        group.Tags?.map((tag) => ({ Key: tag.Key, Value: tag.Value })),
        settings,
        `Auto Scaling group ${names.autoScalingGroupName}`,
      );
      if (group.Status)
        throw new Error(
          `Auto Scaling group ${names.autoScalingGroupName} is being deleted (${group.Status}). Wait until it is gone, then run up again.`,
        );
      const running = await latestRefresh(deps, names.autoScalingGroupName);
      if (running?.Status && REFRESH_ACTIVE.includes(running.Status)) {
        log(`An instance refresh (${running.InstanceRefreshId}) is already running: waiting for it to end first`);
        await waitForRefresh(deps, settings, names.autoScalingGroupName, running.InstanceRefreshId);
        group = required(await findGroup(deps, names.autoScalingGroupName), 'the Auto Scaling group');
      }

      const changes = {
        ...(group.LaunchTemplate?.LaunchTemplateId !== launchTemplateId || group.LaunchTemplate?.Version !== version
          ? { LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: version } }
          : {}),
        ...(group.MinSize !== n || group.MaxSize !== n || group.DesiredCapacity !== n
          ? { MinSize: n, MaxSize: n, DesiredCapacity: n }
          : {}),
        ...(!sameMembers(group.VPCZoneIdentifier?.split(','), subnets) ? { VPCZoneIdentifier: subnets.join(',') } : {}),
        ...(group.HealthCheckType !== 'ELB' || group.HealthCheckGracePeriod !== HEALTH_CHECK_GRACE_SECONDS
          ? { HealthCheckType: 'ELB', HealthCheckGracePeriod: HEALTH_CHECK_GRACE_SECONDS }
          : {}),
      };
      if (Object.keys(changes).length > 0) {
        await retryWhileProfilePropagates(deps, 'Auto Scaling', () =>
          aws.autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: names.autoScalingGroupName, ...changes })),
        );
        log(`Updated ${names.autoScalingGroupName}: ${Object.keys(changes).join(', ')}`);
      }
      if (!group.TargetGroupARNs?.includes(targetGroupArn)) {
        await aws.autoscaling.send(
          new AttachLoadBalancerTargetGroupsCommand({
            AutoScalingGroupName: names.autoScalingGroupName,
            TargetGroupARNs: [targetGroupArn],
          }),
        );
        log(`Attached target group ${names.targetGroupName} to ${names.autoScalingGroupName}`);
      }
      const outdated = (group.Instances ?? []).filter(
        (instance) => instance.LaunchTemplate?.LaunchTemplateId !== launchTemplateId || instance.LaunchTemplate?.Version !== version,
      );
      if (outdated.length === 0) {
        log(`All instances of ${names.autoScalingGroupName} run launch template version ${version}`);
        return;
      }
      const { InstanceRefreshId } = await retryWithBackoff(
        () =>
          retryWhileProfilePropagates(deps, 'Auto Scaling', () =>
            aws.autoscaling.send(
              new StartInstanceRefreshCommand({
                AutoScalingGroupName: names.autoScalingGroupName,
                Strategy: 'Rolling',
                Preferences: {
                  MinHealthyPercentage: MIN_HEALTHY_PERCENTAGE,
                  MaxHealthyPercentage: MAX_HEALTHY_PERCENTAGE,
                  SkipMatching: true,
                },
              }),
            ),
          ),
        {
          // Someone else's refresh started since the look-up: wait for it, then start ours.
          isRetryable: (error) => isAwsError(error, 'InstanceRefreshInProgressFault'),
          describeWait: (delayMs) =>
            `Another instance refresh of ${names.autoScalingGroupName} is running; retrying in ${seconds(delayMs)}`,
          firstDelayMs: 15_000,
          maxDelayMs: 60_000,
          budgetMs: REFRESH_TIMEOUT_MS,
        },
        deps,
      );
      state.instanceRefreshId = InstanceRefreshId;
      log(
        `Started instance refresh ${InstanceRefreshId}: ${outdated.length} instance(s) on an older version are replaced, ${MIN_HEALTHY_PERCENTAGE} % kept healthy`,
      );
    },
  };
}

export function loadBalancedReadinessStep(settings: UpSettings, lb: LoadBalancedSettings): Step<UpDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Wait for the instance refresh (if one started), ${lb.instances} healthy targets, and GET /readyz through the load balancer`,
    why: `First boot installs Node and the dependencies on each instance. The target group counts an instance healthy once its /readyz answers 200; the URL check proves the listener, the security groups and${lb.hostedZoneId ? ' the DNS record' : ' the load balancer'} carry a request end to end.`,
    cli: [
      `aws autoscaling describe-instance-refreshes --region ${region} --auto-scaling-group-name ${names.autoScalingGroupName} --max-records 1   # until Successful, when one started`,
      `aws elbv2 describe-target-health --region ${region} --target-group-arn "$TG_ARN" --query "TargetHealthDescriptions[?TargetHealth.State=='healthy'] | length(@)"   # until ${lb.instances}`,
      `${lb.certificateArn ? 'curl --fail https://<domain>/readyz   # once the DNS record exists;' : 'curl --fail "http://$LB_DNS_NAME/readyz"   #'} when it times out (outside --allow-cidr), the healthy targets are the readiness`,
    ],
    run: async (deps, state) => {
      if (state.instanceRefreshId) await waitForRefresh(deps, settings, names.autoScalingGroupName, state.instanceRefreshId);
      const targetGroupArn = required(state.targetGroupArn, 'the target group ARN');
      let summary = '';
      const healthy = await waitFor(
        async () => {
          const { TargetHealthDescriptions = [] } = await deps.aws.elbv2.send(
            new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
          );
          const states = TargetHealthDescriptions.map((target) => `${target.Target?.Id} ${target.TargetHealth?.State}`);
          const next = states.join(', ') || 'no target registered yet';
          if (next !== summary) deps.log(`Targets: ${next}`);
          summary = next;
          return TargetHealthDescriptions.filter((target) => target.TargetHealth?.State === 'healthy').length >= lb.instances
            ? true
            : undefined;
        },
        { intervalMs: 15_000, timeoutMs: READINESS_TIMEOUT_MS },
        deps,
      );
      if (!healthy)
        throw new Error(
          `Fewer than ${lb.instances} targets of ${names.targetGroupName} were healthy after ${seconds(READINESS_TIMEOUT_MS)} (${summary}). ` +
            `Read every instance's boot and app log with \`npm run infra:logs -- --region ${region}\`, then run \`npm run infra:up\` again.`,
        );
      const url = loadBalancedUrl(state, lb);
      state.appUrl = url;
      if (lb.certificateArn && !lb.hostedZoneId) {
        deps.log(`${lb.instances} targets are healthy. ${url} answers once the DNS record ${state.dnsRecordToCreate} exists.`);
        return;
      }
      const ready = await waitFor(
        async () => {
          const answer = await deps.probeReadiness(`${url}readyz`);
          return answer === 'not-ready' ? undefined : answer;
        },
        { intervalMs: 10_000, timeoutMs: READINESS_TIMEOUT_MS },
        deps,
      );
      if (ready === 'unreachable') {
        // The healthy targets are the readiness seen from inside AWS: the load balancer itself got 200 from each /readyz.
        deps.log(
          `${url} does not answer from here, which --allow-cidr ${settings.allowCidr} may not cover; ${lb.instances} healthy targets are the readiness`,
        );
        return;
      }
      if (!ready)
        throw new Error(
          `${url}readyz did not answer 200 within ${seconds(READINESS_TIMEOUT_MS)}, though the targets are healthy. ${lb.hostedZoneId ? 'A new DNS name can take a few minutes to resolve; ' : ''}read the logs with \`npm run infra:logs -- --region ${region}\`, then run \`npm run infra:up\` again.`,
        );
      deps.log(`${url} answers through the load balancer`);
    },
  };
}

/** Scales the stack's group to zero, waits until its instances are gone, then deletes it and waits until it is gone. */
export async function deleteAutoScalingGroups(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const { aws, log } = deps;
  const { AutoScalingGroups = [] } = await aws.autoscaling.send(
    new DescribeAutoScalingGroupsCommand({
      Filters: stackTagFilters(settings).map((filter) => ({ Name: filter.Name, Values: filter.Values })),
    }),
  );
  if (AutoScalingGroups.length === 0) log('No Auto Scaling group of this stack');
  for (const group of AutoScalingGroups) {
    const name = required(group.AutoScalingGroupName, 'the group name');
    const instanceIds = (group.Instances ?? []).map((instance) => instance.InstanceId ?? '');
    // AWS keeps min ≤ desired ≤ max, so a max of 0 means the group is already scaled to zero.
    if (group.MaxSize !== 0) {
      await aws.autoscaling.send(
        new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, MaxSize: 0, DesiredCapacity: 0 }),
      );
      log(`Scaling ${name} to 0; waiting until its instances (${instanceIds.join(', ') || 'none'}) are terminated`);
    }
    const drained = await waitFor(
      async () => (((await findGroup(deps, name))?.Instances ?? []).length === 0 ? true : undefined),
      { intervalMs: 10_000, timeoutMs: GROUP_DRAIN_TIMEOUT_MS },
      deps,
    );
    if (!drained) throw new Error(`${name} still had instances after ${seconds(GROUP_DRAIN_TIMEOUT_MS)}. Run the same command again.`);
    await retryWithBackoff(
      () => aws.autoscaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name })),
      {
        isRetryable: (error) => isAwsError(error, 'ResourceInUseFault', 'ScalingActivityInProgressFault'),
        describeWait: (delayMs) => `${name} is still busy; retrying in ${seconds(delayMs)}`,
        firstDelayMs: 10_000,
        maxDelayMs: 30_000,
        budgetMs: GROUP_DELETION_TIMEOUT_MS,
      },
      deps,
    );
    const gone = await waitFor(
      async () => ((await findGroup(deps, name)) ? undefined : true),
      { intervalMs: 10_000, timeoutMs: GROUP_DELETION_TIMEOUT_MS },
      deps,
    );
    if (!gone) throw new Error(`${name} was still being deleted after ${seconds(GROUP_DELETION_TIMEOUT_MS)}. Run the same command again.`);
    log(`Deleted Auto Scaling group ${name}`);
  }
}

export async function deleteLaunchTemplates(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const { LaunchTemplates = [] } = await deps.aws.ec2.send(new DescribeLaunchTemplatesCommand({ Filters: stackTagFilters(settings) }));
  if (LaunchTemplates.length === 0) deps.log('No launch template of this stack');
  for (const template of LaunchTemplates) {
    if (ownershipOf(template.Tags, settings).owner !== 'this-stack') continue;
    await deps.aws.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: template.LaunchTemplateId }));
    deps.log(`Deleted launch template ${template.LaunchTemplateName} with all its versions`);
  }
}

export function autoScalingDownStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  const names = stackNames(settings.stack);
  return {
    title: `Scale the Auto Scaling group ${names.autoScalingGroupName} to zero, wait until its instances are terminated, and delete it`,
    why: 'Only groups carrying the stack tags. Scaling to zero first lets the load balancer drain each instance; a group that still has instances cannot be deleted without forcing it.',
    cli: [
      `aws autoscaling describe-auto-scaling-groups --region ${region} --filters ${tagFiltersCli(settings)}`,
      `aws autoscaling update-auto-scaling-group --region ${region} --auto-scaling-group-name ${names.autoScalingGroupName} --min-size 0 --max-size 0 --desired-capacity 0`,
      `aws autoscaling delete-auto-scaling-group --region ${region} --auto-scaling-group-name ${names.autoScalingGroupName}   # once describe-auto-scaling-groups shows no instance`,
    ],
    run: (deps) => deleteAutoScalingGroups(deps, settings),
  };
}

export function launchTemplateDownStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const names = stackNames(settings.stack);
  return {
    title: `Delete the launch template ${names.launchTemplateName}`,
    why: 'Only templates carrying the stack tags; all their versions go with them.',
    cli: [
      `LT_ID=$(aws ec2 describe-launch-templates --region ${settings.region} --filters ${tagFiltersCli(settings)} --query 'LaunchTemplates[0].LaunchTemplateId' --output text)`,
      `aws ec2 delete-launch-template --region ${settings.region} --launch-template-id "$LT_ID"`,
    ],
    run: (deps) => deleteLaunchTemplates(deps, settings),
  };
}
