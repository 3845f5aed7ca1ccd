// The CloudWatch Logs group the instance ships its setup and app logs to: created tagged with a short retention, read by `infra:logs`, deleted by down.
import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  FilterLogEventsCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
  type FilteredLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { isAwsError, unlessMissing, type AwsDeps } from '../aws-clients.js';
import { assertStackOwns, LOG_RETENTION_DAYS, stackNames, stackTags, type StackSettings } from '../stack.js';
import type { StackState } from '../state.js';
import { required, type Step } from '../step.js';

function logGroupArn(settings: StackSettings, accountId: string): string {
  return `arn:aws:logs:${settings.region}:${accountId}:log-group:${stackNames(settings.stack).logGroupName}`;
}

function tagsObject(settings: StackSettings): Record<string, string> {
  return Object.fromEntries(stackTags(settings).map((tag) => [tag.Key, tag.Value]));
}

async function logGroupTags({ aws }: AwsDeps, settings: StackSettings, accountId: string) {
  const found = await unlessMissing(
    aws.logs.send(new ListTagsForResourceCommand({ resourceArn: logGroupArn(settings, accountId) })),
    'ResourceNotFoundException',
  );
  return found && Object.entries(found.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
}

export function logGroupUpStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { logGroupName } = stackNames(settings.stack);
  const tagsCli = stackTags(settings)
    .map((tag) => `${tag.Key}=${tag.Value}`)
    .join(',');
  return {
    title: `Create the log group ${logGroupName} (${LOG_RETENTION_DAYS}-day retention)`,
    why: 'The CloudWatch agent on the instance sends the setup log and the app log here, so `npm run infra:logs` can read them with no SSH and no open port. The role may write to this group only.',
    cli: [
      `aws logs create-log-group --region ${settings.region} --log-group-name ${logGroupName} --tags ${tagsCli}`,
      `aws logs put-retention-policy --region ${settings.region} --log-group-name ${logGroupName} --retention-in-days ${LOG_RETENTION_DAYS}`,
    ],
    run: async (deps, state) => {
      const accountId = required(state.accountId, 'the account id');
      try {
        await deps.aws.logs.send(new CreateLogGroupCommand({ logGroupName, tags: tagsObject(settings) }));
        deps.log(`Created log group ${logGroupName}`);
      } catch (error) {
        if (!isAwsError(error, 'ResourceAlreadyExistsException')) throw error;
        assertStackOwns(await logGroupTags(deps, settings, accountId), settings, `Log group ${logGroupName}`);
        deps.log(`Reusing log group ${logGroupName}`);
      }
      await deps.aws.logs.send(new PutRetentionPolicyCommand({ logGroupName, retentionInDays: LOG_RETENTION_DAYS }));
    },
  };
}

export function logGroupDownStep(settings: StackSettings): Step<AwsDeps, StackState> {
  const { logGroupName } = stackNames(settings.stack);
  return {
    title: `Delete the log group ${logGroupName}`,
    why: 'Its log streams go with it; a group with this name but without the stack tags is left alone.',
    cli: [`aws logs delete-log-group --region ${settings.region} --log-group-name ${logGroupName}`],
    run: async (deps, state) => {
      const tags = await logGroupTags(deps, settings, required(state.accountId, 'the account id'));
      if (!tags) {
        deps.log(`Log group ${logGroupName} is already gone`);
        return;
      }
      assertStackOwns(tags, settings, `Log group ${logGroupName}`);
      await deps.aws.logs.send(new DeleteLogGroupCommand({ logGroupName }));
      deps.log(`Deleted log group ${logGroupName}`);
    },
  };
}

export interface LogsSettings extends StackSettings {
  minutes: number;
  lines: number;
}

/** The last `lines` events of the past `minutes`, oldest first, from every stream of the stack's log group. */
export async function readRecentLogs({ aws, now }: AwsDeps, settings: LogsSettings): Promise<FilteredLogEvent[]> {
  const { logGroupName } = stackNames(settings.stack);
  const events: FilteredLogEvent[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await aws.logs.send(
        new FilterLogEventsCommand({ logGroupName, startTime: now() - settings.minutes * 60_000, nextToken }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    if (!isAwsError(error, 'ResourceNotFoundException')) throw error;
    throw new Error(
      `There is no log group ${logGroupName} in ${settings.region}. Run \`npm run infra:up\` first, or check --region and --stack.`,
    );
  }
  return events.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0)).slice(-settings.lines);
}

export function formatLogEvent(event: FilteredLogEvent): string {
  return `${new Date(event.timestamp ?? 0).toISOString()} ${event.logStreamName} ${(event.message ?? '').trimEnd()}`;
}

export function logsStep(settings: LogsSettings): Step<AwsDeps, StackState> {
  const { logGroupName } = stackNames(settings.stack);
  return {
    title: `Print the last ${settings.lines} log lines of the past ${settings.minutes} minutes from ${logGroupName}`,
    why: 'The instance has no SSH and no open admin port; its CloudWatch agent ships the setup log (<instance-id>/setup) and the app log (<instance-id>/app) here.',
    cli: [`aws logs tail ${logGroupName} --region ${settings.region} --since ${settings.minutes}m`],
    run: async (deps) => {
      const events = await readRecentLogs(deps, settings);
      if (events.length === 0) deps.log(`No log line in the past ${settings.minutes} minutes`);
      for (const event of events) deps.log(formatLogEvent(event));
    },
  };
}
