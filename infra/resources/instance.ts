// The EC2 instance: launched tagged with its deployment, reused, started, or replaced on rerun; its setup status read from the console; terminated by down.
import { createHash } from 'node:crypto';
import {
  AssociateIamInstanceProfileCommand,
  CreateTagsCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  GetConsoleOutputCommand,
  ModifyInstanceMetadataOptionsCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { isAwsError, isClientRefusal, retryUntilVisible, unlessMissing, type AwsDeps } from '../aws-clients.js';
import { releaseObjectPrefix } from '../release.js';
import {
  amiParameterName,
  APP_PORT,
  stackNames,
  stackTagFilters,
  stackTags,
  tagFiltersCli,
  type StackSettings,
  type UpSettings,
} from '../stack.js';
import type { StackState, UpDeps } from '../state.js';
import { required, retryWithBackoff, seconds, waitFor, type Runtime, type Step } from '../step.js';
import { renderUserData } from '../templates.js';

export const PROFILE_PROPAGATION_BUDGET_MS = 120_000;
export const INSTANCE_RUNNING_TIMEOUT_MS = 5 * 60_000;
export const TERMINATION_TIMEOUT_MS = 5 * 60_000;
// User-data gives up retrying after 12 minutes and says so on the console; up waits a little longer so it always sees the verdict.
export const READINESS_TIMEOUT_MS = 15 * 60_000;
/** The one hop an IMDSv2 token needs on the host itself; nothing on the instance runs in a container. */
export const HOP_LIMIT = 1;
export const DEPLOYMENT_TAG_KEY = 'deployment';
export const SETUP_STATUS_TAG_KEY = 'setup-status';
/** The line user-data prints on the serial console when setup gives up; up reads it with GetConsoleOutput. */
export const SETUP_FAILED_MARKER = 's3-photo-share-setup: FAILED';
/** The line user-data prints once the app answers /readyz on the instance itself; the CloudWatch agent ships it to INSTANCE/setup. */
export const SETUP_DONE_MARKER = 's3-photo-share-setup: DONE';

/** An instance in these states may run again, so it still needs its profile; shutting-down and terminated ones never will. */
export const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];
const NOT_TERMINATED_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

/** What decides the instance's environment file and code; a change means a new instance (user-data runs on first boot only). */
export function deploymentId(settings: UpSettings, releaseId: string): string {
  const inputs = JSON.stringify([settings.bucket, settings.keyPrefix, settings.region, releaseId, HOP_LIMIT]);
  return createHash('sha256').update(inputs).digest('hex').slice(0, 16);
}

function tagOf(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((tag) => tag.Key === key)?.Value;
}

/** EC2 puts this tag on every instance an Auto Scaling group launches. */
export const AUTO_SCALING_GROUP_TAG_KEY = 'aws:autoscaling:groupName';

/** The stack's stand-alone instances: those of an Auto Scaling group are the group's to launch and terminate. */
async function listStackInstances({ aws }: AwsDeps, settings: StackSettings, states: string[]): Promise<Instance[]> {
  const { Reservations = [] } = await aws.ec2.send(
    new DescribeInstancesCommand({ Filters: [...stackTagFilters(settings), { Name: 'instance-state-name', Values: states }] }),
  );
  return Reservations.flatMap((reservation) => reservation.Instances ?? []).filter(
    (instance) => tagOf(instance, AUTO_SCALING_GROUP_TAG_KEY) === undefined,
  );
}

async function describeInstance({ aws }: AwsDeps, instanceId: string): Promise<Instance | undefined> {
  const { Reservations = [] } = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return Reservations[0]?.Instances?.[0];
}

export type MetadataPolicy = 'stack-instance' | 'require-imdsv2' | 'leave';

/**
 * Associates the profile with the instance, or replaces the profile already there. The stack's own instance is converged to
 * IMDSv2 with hop limit 1; an instance given by attach is only switched to IMDSv2 when asked, and otherwise warned about.
 */
export async function ensureInstanceUsesProfile(
  { aws, log }: AwsDeps,
  instance: Instance,
  instanceProfileArn: string,
  metadata: MetadataPolicy,
): Promise<void> {
  const instanceId = required(instance.InstanceId, 'the instance id');
  const { IamInstanceProfileAssociations: associations = [] } = await aws.ec2.send(
    new DescribeIamInstanceProfileAssociationsCommand({
      Filters: [
        { Name: 'instance-id', Values: [instanceId] },
        { Name: 'state', Values: ['associating', 'associated'] },
      ],
    }),
  );
  const [current] = associations;
  if (!current) {
    await aws.ec2.send(new AssociateIamInstanceProfileCommand({ InstanceId: instanceId, IamInstanceProfile: { Arn: instanceProfileArn } }));
    log(`Associated ${instanceProfileArn} with ${instanceId}`);
  } else if (current.IamInstanceProfile?.Arn === instanceProfileArn) {
    log(`${instanceId} already uses ${instanceProfileArn}`);
  } else {
    await aws.ec2.send(
      new ReplaceIamInstanceProfileAssociationCommand({
        AssociationId: current.AssociationId,
        IamInstanceProfile: { Arn: instanceProfileArn },
      }),
    );
    log(`Replaced ${current.IamInstanceProfile?.Arn} with ${instanceProfileArn} on ${instanceId}`);
  }

  const options = instance.MetadataOptions;
  const requiresTokens = options?.HttpTokens === 'required' && options.HttpEndpoint !== 'disabled';
  if (metadata === 'leave') {
    if (!requiresTokens) {
      log(
        `Warning: ${instanceId} still accepts IMDSv1, so an SSRF bug in any program on it can read these role credentials without a token. ` +
          'Run attach again with --require-imdsv2 once nothing on it uses IMDSv1 (old SDKs, curl scripts without a token): they stop getting credentials.',
      );
    }
    return;
  }
  if (metadata === 'require-imdsv2') {
    if (requiresTokens) {
      log(`${instanceId} already requires IMDSv2`);
      return;
    }
    await aws.ec2.send(
      new ModifyInstanceMetadataOptionsCommand({ InstanceId: instanceId, HttpTokens: 'required', HttpEndpoint: 'enabled' }),
    );
    log(`${instanceId} now requires IMDSv2 (session tokens); IMDSv1 callers on it no longer get credentials`);
    return;
  }
  if (requiresTokens && options?.HttpPutResponseHopLimit === HOP_LIMIT) {
    log(`${instanceId} already requires IMDSv2 with hop limit ${HOP_LIMIT}`);
    return;
  }
  await aws.ec2.send(
    new ModifyInstanceMetadataOptionsCommand({
      InstanceId: instanceId,
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      HttpPutResponseHopLimit: HOP_LIMIT,
    }),
  );
  log(`${instanceId} now requires IMDSv2 with hop limit ${HOP_LIMIT}`);
}

/**
 * How EC2 (RunInstances: InvalidParameterValue) and Auto Scaling (CreateAutoScalingGroup, UpdateAutoScalingGroup,
 * StartInstanceRefresh: ValidationError "You must use a valid fully-formed launch template") refuse an instance profile
 * that IAM has not yet propagated to them; only time fixes it.
 */
export function isProfilePropagationError(error: unknown): boolean {
  return isAwsError(error, 'InvalidParameterValue', 'ValidationError') && /Invalid IAM Instance Profile/i.test(error.message);
}

/** Sends a request that names a new instance profile, retrying with backoff while `service` does not accept the profile yet. */
export function retryWhileProfilePropagates<T>(runtime: Runtime, service: string, request: () => Promise<T>): Promise<T> {
  return retryWithBackoff(
    request,
    {
      isRetryable: isProfilePropagationError,
      describeWait: (delayMs, waitedMs) =>
        `${service} does not see the new instance profile yet (IAM is eventually consistent); retrying in ${seconds(delayMs)} (waited ${seconds(waitedMs)} of up to ${seconds(PROFILE_PROPAGATION_BUDGET_MS)})`,
      firstDelayMs: 2_000,
      maxDelayMs: 20_000,
      budgetMs: PROFILE_PROPAGATION_BUDGET_MS,
    },
    runtime,
  );
}

type RunInstancesInstanceType = NonNullable<ConstructorParameters<typeof RunInstancesCommand>[0]['InstanceType']>;

/** Why an existing stack instance cannot serve this deployment, or undefined when it can. */
function replacementReason(instance: Instance, wantedDeployment: string): string | undefined {
  if (tagOf(instance, SETUP_STATUS_TAG_KEY) === 'failed') return 'its setup failed';
  if (tagOf(instance, DEPLOYMENT_TAG_KEY) !== wantedDeployment) return 'the bucket, key prefix, region or release changed';
  return undefined;
}

/** The current Amazon Linux 2023 image for the instance type's architecture; the single instance and the launch template both use it. */
export function amiLookupStep(settings: UpSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  return {
    title: 'Resolve the latest Amazon Linux 2023 AMI from the public SSM parameter',
    why: 'AMI ids differ per region and change with every release; AWS publishes the current one under a stable parameter name.',
    cli: [
      `AMI_ID=$(aws ssm get-parameter --region ${region} --name ${amiParameterName(settings.instanceType)} --query Parameter.Value --output text)`,
    ],
    run: async ({ aws, log }, state) => {
      const { Parameter } = await aws.ssm.send(new GetParameterCommand({ Name: amiParameterName(settings.instanceType) }));
      state.amiId = required(Parameter?.Value, 'the AMI id');
      log(`Amazon Linux 2023: ${state.amiId}`);
    },
  };
}

export function instanceUpSteps(settings: UpSettings): Step<UpDeps, StackState>[] {
  const { bucket, region, stack } = settings;
  const names = stackNames(stack);
  const ec2Tags = (deployment: string) => [
    { Key: 'Name', Value: stack },
    ...stackTags(settings),
    { Key: DEPLOYMENT_TAG_KEY, Value: deployment },
  ];
  const ec2TagsCli = ec2Tags('<deployment>')
    .map((tag) => `{Key=${tag.Key},Value=${tag.Value}}`)
    .join(',');

  return [
    amiLookupStep(settings),
    {
      title: `Launch a ${settings.instanceType} with the instance profile, IMDSv2 required (hop limit ${HOP_LIMIT}) and the rendered user-data; or reuse, start or replace the stack's instance`,
      why:
        `IMDSv2 makes the role credentials need a session token, and hop limit ${HOP_LIMIT} keeps the token on the host (nothing runs in a container). No key pair: there is no SSH. ` +
        `The instance is tagged ${DEPLOYMENT_TAG_KEY}=<hash of bucket, prefix, region, release, hop limit>: user-data runs on first boot only, so an instance whose deployment differs, or whose setup failed (tag ${SETUP_STATUS_TAG_KEY}=failed), is terminated and replaced; a stopped one is started.`,
      cli: [
        `aws ec2 describe-instances --region ${region} --filters ${tagFiltersCli(settings)} Name=instance-state-name,Values=${LIVE_STATES.join(',')}   # reuse, start-instances, or terminate-instances and launch`,
        `INSTANCE_ID=$(aws ec2 run-instances --region ${region} --image-id "$AMI_ID" --instance-type ${settings.instanceType} --count 1 --security-group-ids "$SG_ID" --iam-instance-profile Name=${names.instanceProfileName} --metadata-options HttpTokens=required,HttpPutResponseHopLimit=${HOP_LIMIT},HttpEndpoint=enabled --user-data file://user-data.sh --tag-specifications 'ResourceType=instance,Tags=[${ec2TagsCli}]' 'ResourceType=volume,Tags=[${ec2TagsCli}]' 'ResourceType=network-interface,Tags=[${ec2TagsCli}]' --query 'Instances[0].InstanceId' --output text)`,
        '# user-data.sh is infra/user-data.sh with {{Bucket}}, {{Prefix}}, {{Region}}, {{ReleasePrefix}}, {{LogGroup}} and {{Port}} filled in; it holds no credential.',
        `# If this fails with "Invalid IAM Instance Profile name", IAM has not reached EC2 yet: retry with backoff for up to ${seconds(PROFILE_PROPAGATION_BUDGET_MS)}.`,
      ],
      run: async (deps, state) => {
        const { aws, log } = deps;
        const instanceProfileArn = required(state.instanceProfileArn, 'the instance profile ARN');
        const releaseId = required(state.releaseId, 'the release id');
        const deployment = deploymentId(settings, releaseId);
        for (const existing of await listStackInstances(deps, settings, LIVE_STATES)) {
          const reason = replacementReason(existing, deployment);
          if (reason) {
            await aws.ec2.send(new TerminateInstancesCommand({ InstanceIds: [required(existing.InstanceId, 'the instance id')] }));
            log(`Terminating ${existing.InstanceId} because ${reason}; launching a new instance`);
            continue;
          }
          state.instanceId = existing.InstanceId;
          log(`Reusing instance ${existing.InstanceId} (${existing.State?.Name}), already on this deployment`);
          await ensureInstanceUsesProfile(deps, existing, instanceProfileArn, 'stack-instance');
          await startIfStopped(deps, existing);
          return;
        }
        const userData = renderUserData({
          bucket,
          keyPrefix: settings.keyPrefix,
          region,
          releasePrefix: releaseObjectPrefix(names.releasePrefix, releaseId),
          logGroup: names.logGroupName,
          port: APP_PORT,
          // Clients connect to the instance directly: no proxy hop to trust, and one process holds the CSRF secret.
          trustProxy: 0,
        });
        const launch = () =>
          aws.ec2.send(
            new RunInstancesCommand({
              ImageId: required(state.amiId, 'the AMI id'),
              InstanceType: settings.instanceType as RunInstancesInstanceType,
              MinCount: 1,
              MaxCount: 1,
              SecurityGroupIds: [required(state.securityGroupId, 'the security group id')],
              IamInstanceProfile: { Arn: instanceProfileArn },
              MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: HOP_LIMIT, HttpEndpoint: 'enabled' },
              UserData: Buffer.from(userData, 'utf8').toString('base64'),
              TagSpecifications: (['instance', 'volume', 'network-interface'] as const).map((ResourceType) => ({
                ResourceType,
                Tags: ec2Tags(deployment),
              })),
            }),
          );
        const { Instances = [] } = await retryWhileProfilePropagates(deps, 'EC2', launch);
        state.instanceId = required(Instances[0]?.InstanceId, 'the new instance id');
        log(`Launched ${state.instanceId}`);
      },
    },
    {
      title: 'Wait until the instance is running and has a public address',
      why: 'The app URL is the public IPv4 address that EC2 assigns in the default subnet.',
      cli: [
        `aws ec2 wait instance-running --region ${region} --instance-ids "$INSTANCE_ID"`,
        `aws ec2 describe-instances --region ${region} --instance-ids "$INSTANCE_ID" --query 'Reservations[0].Instances[0].PublicIpAddress' --output text`,
      ],
      run: async (deps, state) => {
        const instanceId = required(state.instanceId, 'the instance id');
        const publicIp = await waitFor(
          async () => {
            // Just launched: EC2 answers InvalidInstanceID.NotFound until the new id has propagated.
            const instance = await retryUntilVisible(
              deps,
              `instance ${instanceId}`,
              () => describeInstance(deps, instanceId),
              'InvalidInstanceID.NotFound',
            );
            return instance?.State?.Name === 'running' ? instance.PublicIpAddress : undefined;
          },
          { intervalMs: 5_000, timeoutMs: INSTANCE_RUNNING_TIMEOUT_MS },
          deps,
        );
        if (!publicIp) {
          throw new Error(
            `${instanceId} was not running with a public IPv4 address after ${seconds(INSTANCE_RUNNING_TIMEOUT_MS)}. Check it with \`aws ec2 describe-instances --region ${region} --instance-ids ${instanceId}\`.`,
          );
        }
        state.appUrl = `http://${publicIp}${APP_PORT === 80 ? '' : `:${APP_PORT}`}/`;
        deps.log(`${instanceId} is running at ${publicIp}`);
      },
    },
    {
      title: 'Wait until the app answers GET /readyz with 200, or the setup reports failure on the console',
      why: `First boot installs Node and the dependencies, retrying each download until a deadline; /readyz turns 200 once the app reaches the bucket with the instance role. When setup gives up it prints "${SETUP_FAILED_MARKER}" on the serial console: up then tags the instance ${SETUP_STATUS_TAG_KEY}=failed, so the next run replaces it.`,
      cli: [
        `curl --fail http://<public-ip>/readyz`,
        `aws logs filter-log-events --region ${region} --log-group-name ${stackNames(settings.stack).logGroupName} --log-stream-names "$INSTANCE_ID/setup" --filter-pattern '"${SETUP_DONE_MARKER}"'   # when the URL does not answer from here (outside --allow-cidr)`,
        `aws ec2 get-console-output --region ${region} --instance-id "$INSTANCE_ID" --latest --output text | grep '${SETUP_FAILED_MARKER}'   # without --latest on a type not on Nitro (t2, m4, c4…)`,
        `aws ec2 create-tags --region ${region} --resources "$INSTANCE_ID" --tags Key=${SETUP_STATUS_TAG_KEY},Value=failed   # only when setup failed`,
      ],
      run: async (deps, state) => {
        const appUrl = required(state.appUrl, 'the app URL');
        const instanceId = required(state.instanceId, 'the instance id');
        deps.log(`Polling ${appUrl}readyz for up to ${seconds(READINESS_TIMEOUT_MS)} while the instance boots`);
        let failure: string | undefined;
        const consoleOutput = { latest: true };
        const ready = await waitFor(
          async () => {
            const answer = await deps.probeReadiness(`${appUrl}readyz`);
            if (answer === 'ready') return 'from here';
            if (answer === 'unreachable' && (await setupDoneInLogs(deps, settings, instanceId))) return 'inside AWS';
            failure = await setupFailure(deps, instanceId, consoleOutput);
            return failure === undefined ? undefined : false;
          },
          { intervalMs: 10_000, timeoutMs: READINESS_TIMEOUT_MS },
          deps,
        );
        if (failure !== undefined) {
          await deps.aws.ec2.send(
            new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: SETUP_STATUS_TAG_KEY, Value: 'failed' }] }),
          );
          throw new Error(
            `The setup of ${instanceId} failed: ${failure}\nRead the whole log with \`npm run infra:logs -- --region ${region}\`. ${instanceId} is tagged ${SETUP_STATUS_TAG_KEY}=failed: run \`npm run infra:up\` again to replace it.`,
          );
        }
        if (!ready) {
          throw new Error(
            `${appUrl}readyz did not answer 200 within ${seconds(READINESS_TIMEOUT_MS)}. Read the boot log with \`npm run infra:logs -- --region ${region}\` or ` +
              `\`aws ec2 get-console-output --region ${region} --instance-id ${instanceId} --latest --output text\`, then run \`npm run infra:up\` again.`,
          );
        }
        deps.log(
          ready === 'inside AWS'
            ? `The app is ready: its setup log says /readyz answers on the instance. ${appUrl} does not answer from here, which --allow-cidr ${settings.allowCidr} may not cover.`
            : 'The app is ready',
        );
      },
    },
  ];
}

/** Readiness seen from inside AWS, for when the URL does not answer from here: the setup's DONE line in CloudWatch Logs. */
async function setupDoneInLogs({ aws }: AwsDeps, settings: StackSettings, instanceId: string): Promise<boolean> {
  const found = await unlessMissing(
    aws.logs.send(
      new FilterLogEventsCommand({
        logGroupName: stackNames(settings.stack).logGroupName,
        logStreamNames: [`${instanceId}/setup`],
        filterPattern: `"${SETUP_DONE_MARKER}"`,
        limit: 1,
      }),
    ),
    'ResourceNotFoundException',
  );
  return (found?.events ?? []).length > 0;
}

async function startIfStopped(deps: AwsDeps, instance: Instance): Promise<void> {
  const instanceId = required(instance.InstanceId, 'the instance id');
  if (instance.State?.Name !== 'stopped' && instance.State?.Name !== 'stopping') return;
  const stopped = await waitFor(
    async () => ((await describeInstance(deps, instanceId))?.State?.Name === 'stopped' ? true : undefined),
    { intervalMs: 5_000, timeoutMs: INSTANCE_RUNNING_TIMEOUT_MS },
    deps,
  );
  if (!stopped)
    throw new Error(
      `${instanceId} did not finish stopping within ${seconds(INSTANCE_RUNNING_TIMEOUT_MS)}. Run \`npm run infra:up\` again.`,
    );
  await deps.aws.ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
  deps.log(`Started ${instanceId}, which was stopped`);
}

/**
 * The failure line user-data printed on the console, if it did. The latest output only exists on Nitro instances (EC2 API
 * Reference, GetConsoleOutput); on an older type (t2, m4, c4…) EC2 refuses Latest, and up reads the buffered output,
 * which EC2 posts shortly after boot, from then on (`consoleOutput.latest` remembers it across polls). The page names no
 * error code for that refusal, so any client error to Latest switches to the buffered output; one to that is thrown.
 */
async function setupFailure(deps: AwsDeps, instanceId: string, consoleOutput: { latest: boolean }): Promise<string | undefined> {
  const read = (latest: boolean) =>
    deps.aws.ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, ...(latest ? { Latest: true } : {}) }));
  let answer: Awaited<ReturnType<typeof read>>;
  try {
    answer = await read(consoleOutput.latest);
  } catch (error) {
    if (!consoleOutput.latest || !isClientRefusal(error)) throw error;
    consoleOutput.latest = false;
    deps.log(`${instanceId} is not on the Nitro hypervisor, so EC2 has no latest console output for it: reading the output it buffers`);
    answer = await read(false);
  }
  const { Output } = answer;
  const text = Buffer.from(Output ?? '', 'base64').toString('utf8');
  return text
    .split('\n')
    .find((line) => line.includes(SETUP_FAILED_MARKER))
    ?.trim();
}

export function instanceDownStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { region } = settings;
  return {
    title: 'Terminate the stack’s stand-alone instance and wait until it is gone',
    why: 'Only instances carrying this stack’s tags and not launched by an Auto Scaling group (the group’s are gone with it). The security group cannot be deleted while an instance network interface still uses it, and the profile must be free of associations.',
    cli: [
      `INSTANCE_IDS=$(aws ec2 describe-instances --region ${region} --filters ${tagFiltersCli(settings)} Name=instance-state-name,Values=${NOT_TERMINATED_STATES.join(',')} --query 'Reservations[].Instances[].InstanceId' --output text)`,
      `aws ec2 terminate-instances --region ${region} --instance-ids $INSTANCE_IDS`,
      `aws ec2 wait instance-terminated --region ${region} --instance-ids $INSTANCE_IDS`,
    ],
    run: (deps) => terminateStandaloneInstances(deps, settings),
  };
}

/** Terminates the stack's stand-alone instances and waits until they are terminated. */
export async function terminateStandaloneInstances(deps: AwsDeps, settings: StackSettings): Promise<void> {
  const listLive = async () =>
    (await listStackInstances(deps, settings, NOT_TERMINATED_STATES)).map((instance) => required(instance.InstanceId, 'the instance id'));
  const instanceIds = await listLive();
  if (instanceIds.length === 0) {
    deps.log('No instance of this stack is left');
    return;
  }
  await deps.aws.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
  deps.log(`Terminating ${instanceIds.join(', ')}; waiting until terminated`);
  const gone = await waitFor(
    async () => ((await listLive()).length === 0 ? true : undefined),
    { intervalMs: 5_000, timeoutMs: TERMINATION_TIMEOUT_MS },
    deps,
  );
  if (!gone)
    throw new Error(
      `Instances ${instanceIds.join(', ')} were not terminated after ${seconds(TERMINATION_TIMEOUT_MS)}. Run \`npm run infra:down\` again.`,
    );
  deps.log('Instances terminated');
}

export function attachInstanceSteps(settings: StackSettings & { instanceId: string; requireImdsv2: boolean }): Step<AwsDeps, StackState>[] {
  const { region, instanceId } = settings;
  let found: Instance | undefined;
  return [
    {
      title: `Find instance ${instanceId}`,
      why: 'Its current profile association and metadata options decide between associate and replace, and whether IMDSv2 is already required.',
      cli: [`aws ec2 describe-instances --region ${region} --instance-ids ${instanceId}`],
      run: async (deps) => {
        try {
          found = await describeInstance(deps, instanceId);
        } catch (error) {
          if (!isAwsError(error, 'InvalidInstanceID.NotFound')) throw error;
        }
        if (!found)
          throw new Error(
            `Instance ${instanceId} was not found in ${region}. Check --instance-id and --region (attach works in the stack's region only).`,
          );
      },
    },
    {
      title: settings.requireImdsv2
        ? 'Attach the instance profile and require IMDSv2 (--require-imdsv2)'
        : 'Attach the instance profile (IMDS settings left as they are)',
      why: settings.requireImdsv2
        ? 'An instance holds at most one profile: associate when it has none, replace the association when it has another. --require-imdsv2 makes credentials need a session token (blocks SSRF-style theft); anything on the instance still using IMDSv1 stops getting credentials.'
        : 'An instance holds at most one profile: associate when it has none, replace the association when it has another. IMDSv1 is left as it is, with a warning: requiring IMDSv2 could break programs on an instance this stack does not know; pass --require-imdsv2 to do it.',
      cli: [
        `aws ec2 describe-iam-instance-profile-associations --region ${region} --filters Name=instance-id,Values=${instanceId} Name=state,Values=associating,associated`,
        `aws ec2 associate-iam-instance-profile --region ${region} --instance-id ${instanceId} --iam-instance-profile Arn="$PROFILE_ARN"   # when none is associated`,
        `aws ec2 replace-iam-instance-profile-association --region ${region} --association-id <iip-assoc-id from above> --iam-instance-profile Arn="$PROFILE_ARN"   # when another is`,
        ...(settings.requireImdsv2
          ? [
              `aws ec2 modify-instance-metadata-options --region ${region} --instance-id ${instanceId} --http-tokens required --http-endpoint enabled`,
            ]
          : []),
      ],
      run: async (deps, state) => {
        await ensureInstanceUsesProfile(
          deps,
          required(found, 'the instance'),
          required(state.instanceProfileArn, 'the instance profile ARN'),
          settings.requireImdsv2 ? 'require-imdsv2' : 'leave',
        );
      },
    },
  ];
}
