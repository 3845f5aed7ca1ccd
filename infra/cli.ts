// Entry point of `npm run infra:*`: parses and checks the options, then prints the plan or runs up, attach, down, logs or ci-role.
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { attachSteps, type AttachSettings } from './attach.js';
import { createAwsClients, type AwsDeps } from './aws-clients.js';
import { ciRoleSteps, formatCiRoleSummary, type CiRoleCommandSettings } from './ci-role.js';
import { downSteps, type DownSettings } from './down.js';
import { logsSteps, type LogsSettings } from './logs.js';
import { buildRelease } from './release.js';
import {
  APP_PORT,
  DEFAULT_INSTANCE_TYPE,
  DEFAULT_KEY_PREFIX,
  DEFAULT_STACK,
  MAX_LOAD_BALANCED_STACK_LENGTH,
  RELEASES_ROOT,
  type LoadBalancedSettings,
  type UpSettings,
} from './stack.js';
import { lookUpGitHubRepository } from './resources/github-repository.js';
import { type CommandDeps, newStackState } from './state.js';
import { formatPlan, runSteps, type Runtime, type Step } from './step.js';
import { formatUpSummary, upSteps } from './up.js';

export type Command =
  | { name: 'plan'; target: Exclude<Command, { name: 'plan' }> }
  | { name: 'up'; settings: UpSettings }
  | { name: 'attach'; settings: AttachSettings }
  | { name: 'down'; settings: DownSettings }
  | { name: 'logs'; settings: LogsSettings }
  | { name: 'ci-role'; settings: CiRoleCommandSettings };

type CommandName = Command['name'];
type OptionName = keyof typeof OPTIONS;

const OPTIONS = {
  for: { type: 'string' },
  bucket: { type: 'string' },
  region: { type: 'string' },
  'allow-cidr': { type: 'string' },
  'instance-type': { type: 'string' },
  'key-prefix': { type: 'string' },
  stack: { type: 'string' },
  'instance-id': { type: 'string' },
  'delete-bucket': { type: 'boolean' },
  'adopt-bucket': { type: 'boolean' },
  'require-imdsv2': { type: 'boolean' },
  minutes: { type: 'string' },
  lines: { type: 'string' },
  repo: { type: 'string' },
  'repo-ids': { type: 'string' },
  delete: { type: 'boolean' },
  instances: { type: 'string' },
  'certificate-arn': { type: 'string' },
  'hosted-zone-id': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const ACCEPTED: Record<Exclude<CommandName, 'plan'>, { required: OptionName[]; optional: OptionName[] }> = {
  up: {
    required: ['bucket', 'region', 'allow-cidr'],
    optional: ['instance-type', 'key-prefix', 'stack', 'adopt-bucket', 'instances', 'certificate-arn', 'hosted-zone-id'],
  },
  attach: { required: ['instance-id', 'region'], optional: ['stack', 'require-imdsv2'] },
  down: { required: ['bucket', 'region'], optional: ['stack', 'delete-bucket'] },
  logs: { required: ['region'], optional: ['stack', 'minutes', 'lines'] },
  // --bucket is required to create (the policy is scoped to it), accepted and unused with --delete.
  'ci-role': { required: ['repo', 'region'], optional: ['bucket', 'stack', 'delete', 'repo-ids'] },
};

/** A ceiling against a typo (`--instances 200`): each instance is billed by the hour. Raise it here if you mean it. */
export const MAX_INSTANCES = 20;
/** Half of S3's 1,024-byte key limit, so every key the app makes under the prefix fits with room. */
export const MAX_KEY_PREFIX_LENGTH = 512;
const DEFAULT_LOG_MINUTES = '60';
const DEFAULT_LOG_LINES = '200';

export const USAGE = `Usage:
  npm run infra:plan    -- [--for up|attach|down|logs|ci-role] <the options of that command>   (default: up; calls nothing, needs no credentials)
  npm run infra:up      -- --bucket NAME --region REGION --allow-cidr CIDR [--instance-type ${DEFAULT_INSTANCE_TYPE}] [--key-prefix ${DEFAULT_KEY_PREFIX}] [--stack ${DEFAULT_STACK}] [--adopt-bucket]
                           [--instances N [--certificate-arn arn:aws:acm:… [--hosted-zone-id Z…]]]   (N ≥ 2: an Auto Scaling group behind a load balancer)
  npm run infra:attach  -- --instance-id i-… --region REGION [--stack ${DEFAULT_STACK}] [--require-imdsv2]
  npm run infra:down    -- --bucket NAME --region REGION [--stack ${DEFAULT_STACK}] [--delete-bucket]
  npm run infra:logs    -- --region REGION [--stack ${DEFAULT_STACK}] [--minutes ${DEFAULT_LOG_MINUTES}] [--lines ${DEFAULT_LOG_LINES}]
  npm run infra:ci-role -- --repo OWNER/NAME --bucket NAME --region REGION [--stack ${DEFAULT_STACK}] [--repo-ids OWNER_ID/REPO_ID]   (the role GitHub Actions deploys with; the ids are read from GitHub unless given)
  npm run infra:ci-role -- --repo OWNER/NAME --region REGION [--stack ${DEFAULT_STACK}] --delete   (removes that role, keeps the OIDC provider)
AWS credentials come from the default provider chain (environment, SSO or profile config, instance role); never pass keys as options.`;

export class UsageError extends Error {}

function isTargetName(name: string | undefined): name is Exclude<CommandName, 'plan'> {
  return name === 'up' || name === 'attach' || name === 'down' || name === 'logs' || name === 'ci-role';
}

function isCommandName(name: string | undefined): name is CommandName {
  return name === 'plan' || isTargetName(name);
}

/** Checks every option at once, so one run lists every problem. */
export function parseCommandLine(argv: readonly string[]): Command {
  const [commandName, ...rest] = argv;
  if (!isCommandName(commandName))
    throw new UsageError(`Unknown command ${JSON.stringify(commandName ?? '')}: expected plan, up, attach, down, logs or ci-role.`);
  let values: Partial<Record<OptionName, string | boolean>>;
  try {
    ({ values } = parseArgs({ args: [...rest], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) throw new UsageError('');

  const target = commandName === 'plan' ? String(values.for ?? 'up') : commandName;
  if (!isTargetName(target)) throw new UsageError(`--for must be up, attach, down, logs or ci-role, not ${JSON.stringify(target)}.`);
  if (commandName !== 'plan' && values.for !== undefined) throw new UsageError('--for only applies to plan.');

  const problems: string[] = [];
  const accepted = ACCEPTED[target];
  for (const name of Object.keys(values) as OptionName[]) {
    if (name !== 'for' && !accepted.required.includes(name) && !accepted.optional.includes(name))
      problems.push(`--${name} is not an option of ${target}.`);
  }
  for (const name of accepted.required) {
    if (values[name] === undefined) problems.push(`--${name} is required for ${target}.`);
  }
  const text = (name: OptionName) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const check = (name: OptionName, fallback: string | undefined, validate: (value: string) => string | undefined): string => {
    const value = text(name) ?? fallback;
    if (value === undefined) return '';
    const problem = validate(value);
    if (problem) problems.push(`--${name} ${JSON.stringify(value)}: ${problem}`);
    return value;
  };

  const stack = check('stack', DEFAULT_STACK, validateStack);
  const region = check('region', undefined, validateRegion);
  let command: Exclude<Command, { name: 'plan' }>;
  if (target === 'up') {
    const loadBalanced = text('instances') === undefined ? undefined : loadBalancedOptions(stack, region, check, text, problems);
    if (!loadBalanced && text('certificate-arn') !== undefined)
      problems.push('--certificate-arn needs --instances N: HTTPS ends at the load balancer, which only the load-balanced mode has.');
    command = {
      name: 'up',
      settings: {
        stack,
        region,
        bucket: check('bucket', undefined, validateBucket),
        allowCidr: check('allow-cidr', undefined, validateCidr),
        instanceType: check('instance-type', DEFAULT_INSTANCE_TYPE, validateInstanceType),
        keyPrefix: check('key-prefix', DEFAULT_KEY_PREFIX, validateKeyPrefix),
        adoptBucket: values['adopt-bucket'] === true,
        ...(loadBalanced ? { loadBalanced } : {}),
      },
    };
  } else if (target === 'attach') {
    command = {
      name: 'attach',
      settings: {
        stack,
        region,
        instanceId: check('instance-id', undefined, validateInstanceId),
        requireImdsv2: values['require-imdsv2'] === true,
      },
    };
  } else if (target === 'ci-role') {
    const remove = values.delete === true;
    if (!remove && values.bucket === undefined)
      problems.push('--bucket is required for ci-role (the role may deploy to that bucket only).');
    command = {
      name: 'ci-role',
      settings: {
        stack,
        region,
        repo: check('repo', undefined, validateRepo),
        ...(text('repo-ids') === undefined ? {} : { repoIds: check('repo-ids', undefined, validateRepoIds) }),
        bucket: check('bucket', undefined, validateBucket),
        delete: remove,
      },
    };
  } else if (target === 'logs') {
    command = {
      name: 'logs',
      settings: {
        stack,
        region,
        minutes: Number(check('minutes', DEFAULT_LOG_MINUTES, validateCount)),
        lines: Number(check('lines', DEFAULT_LOG_LINES, validateCount)),
      },
    };
  } else {
    command = {
      name: 'down',
      settings: { stack, region, bucket: check('bucket', undefined, validateBucket), deleteBucket: values['delete-bucket'] === true },
    };
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return commandName === 'plan' ? { name: 'plan', target: command } : command;
}

type Check = (name: OptionName, fallback: string | undefined, validate: (value: string) => string | undefined) => string;

function loadBalancedOptions(
  stack: string,
  region: string,
  check: Check,
  text: (name: OptionName) => string | undefined,
  problems: string[],
): LoadBalancedSettings {
  const instances = Number(check('instances', undefined, validateInstances));
  if (stack.length > MAX_LOAD_BALANCED_STACK_LENGTH)
    problems.push(
      `--stack ${JSON.stringify(stack)}: with --instances, use at most ${MAX_LOAD_BALANCED_STACK_LENGTH} characters (load balancer and target group names allow 32, and get -lb and -tg added).`,
    );
  // AWS Systems Manager API Reference, PutParameter, Name: "A parameter name can't be prefixed with "aws" or "ssm"
  // (case-insensitive)"; the CSRF secret of a load-balanced stack is /STACK/csrf-secret.
  if (/^(aws|ssm)/i.test(stack))
    problems.push(
      `--stack ${JSON.stringify(stack)}: with --instances, choose a name that does not begin with aws or ssm (SSM refuses parameter names that do, and the CSRF secret is /${stack}/csrf-secret).`,
    );
  // Elastic Load Balancing API Reference (v2), CreateLoadBalancer, Name: "must not begin with "internal-"".
  if (`${stack}-lb`.startsWith('internal-'))
    problems.push(
      `--stack ${JSON.stringify(stack)}: with --instances, choose a name that does not begin with internal- (ELB refuses load balancer names that begin with internal-).`,
    );
  const certificateArn =
    text('certificate-arn') === undefined
      ? undefined
      : check('certificate-arn', undefined, (value) => validateCertificateArn(value, region));
  const hostedZoneId = text('hosted-zone-id') === undefined ? undefined : check('hosted-zone-id', undefined, validateHostedZoneId);
  if (hostedZoneId !== undefined && certificateArn === undefined)
    problems.push('--hosted-zone-id needs --certificate-arn: the alias record is for the certificate’s domain.');
  return { instances, ...(certificateArn ? { certificateArn } : {}), ...(hostedZoneId ? { hostedZoneId } : {}) };
}

function validateInstances(value: string): string | undefined {
  const count = /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN;
  return count >= 2 && count <= MAX_INSTANCES
    ? undefined
    : `expected a whole number from 2 to ${MAX_INSTANCES} (leave --instances out for one instance without a load balancer)`;
}

export function validateCertificateArn(value: string, region: string): string | undefined {
  const match =
    /^arn:aws(?:-cn|-us-gov)?:acm:([a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.exec(
      value,
    );
  if (!match)
    return 'expected an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
  if (match[1] !== region)
    return `the certificate is in ${match[1]}, but a load balancer in ${region} can only use a certificate from ${region} (request or import one there)`;
  return undefined;
}

function validateHostedZoneId(value: string): string | undefined {
  return /^Z[A-Z0-9]{1,31}$/.test(value)
    ? undefined
    : 'expected a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ (`aws route53 list-hosted-zones`)';
}

function validateStack(value: string): string | undefined {
  // Role names allow 64 characters and the longest derived name adds 17.
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(value)) return 'use 1–32 lowercase letters, digits or hyphens, starting with a letter';
  // Amazon EC2 API Reference, CreateSecurityGroup, GroupName: "Can't start with sg-"; the groups are STACK-web, STACK-lb, STACK-app.
  if (value.startsWith('sg-')) return 'choose a name that does not begin with sg- (EC2 refuses security group names that do)';
  return undefined;
}

function validateRegion(value: string): string | undefined {
  return /^[a-z]{2}(-[a-z]+)+-\d+$/.test(value) ? undefined : 'expected a region code such as eu-west-1';
}

function validateBucket(value: string): string | undefined {
  // Dots are valid in bucket names but break the TLS certificate of virtual-hosted URLs, which the SDK uses.
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(value))
    return 'use 3–63 lowercase letters, digits or hyphens, starting and ending with a letter or digit (no dots)';
  // Amazon S3 User Guide, "General purpose bucket naming rules" (.mrap, the other reserved suffix, needs a dot).
  const reservedPrefixes = ['xn--', 'sthree-', 'amzn-s3-demo-'];
  const reservedSuffixes = ['-s3alias', '--ol-s3', '--x-s3', '--table-s3'];
  if (reservedPrefixes.some((prefix) => value.startsWith(prefix)) || reservedSuffixes.some((suffix) => value.endsWith(suffix)))
    return 'S3 reserves this prefix or suffix';
  return undefined;
}

function validateCidr(value: string): string | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!match || match.slice(1, 5).some((octet) => Number(octet) > 255) || Number(match[5]) > 32) {
    return 'expected an IPv4 CIDR such as 203.0.113.0/24 (your own address: <ip>/32)';
  }
  // EC2 stores a range by its network address: 10.0.0.1/8 would be kept as 10.0.0.0/8, never equal to what was
  // asked, so every rerun would revoke and add the rule again. Ask for the range as EC2 will hold it.
  const bits = Number(match[5]);
  const address = match.slice(1, 5).reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const network = bits === 0 ? 0 : address - (address % 2 ** (32 - bits));
  if (network !== address) {
    const octets = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
    return `the range has host bits set: write it as ${octets.join('.')}/${bits} (or <ip>/32 for one address)`;
  }
  return undefined;
}

function validateInstanceType(value: string): string | undefined {
  return /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(value) ? undefined : 'expected an EC2 instance type such as t3.micro';
}

function validateKeyPrefix(value: string): string | undefined {
  if (!/^[A-Za-z0-9!_.-]+(\/[A-Za-z0-9!_.-]+)*\/$/.test(value))
    return 'use letters, digits and ! _ . - in /-separated parts, ending with / (for example photos/)';
  if (value.startsWith(RELEASES_ROOT)) return `${RELEASES_ROOT} holds the app releases; choose another prefix`;
  // Amazon S3 User Guide, "Naming Amazon S3 objects": a key is at most 1,024 bytes, and the app adds a folder, an id and an extension.
  if (value.length > MAX_KEY_PREFIX_LENGTH) return `use at most ${MAX_KEY_PREFIX_LENGTH} characters (S3 keys are at most 1,024 bytes)`;
  // The app refuses them too (S3_PREFIX): an instance given one would not start.
  if (value.split('/').some((part) => part === '.' || part === '..')) return 'no part may be . or ..';
  return undefined;
}

function validateCount(value: string): string | undefined {
  return /^[1-9]\d{0,4}$/.test(value) ? undefined : 'expected a whole number from 1 to 99999';
}

/** GitHub's rules: an owner of 1–39 letters, digits and single inner hyphens; a name of 1–100 letters, digits, `.`, `_`, `-`. */
export function validateRepo(value: string): string | undefined {
  const match = /^([A-Za-z0-9](?:-?[A-Za-z0-9]){0,38})\/([A-Za-z0-9._-]{1,100})$/.exec(value);
  if (!match || (match[1]?.length ?? 0) > 39 || match[2] === '.' || match[2] === '..' || match[2]?.endsWith('.git'))
    return 'expected OWNER/NAME as GitHub spells it, such as octo-org/s3-photo-share (the owner: letters, digits and single inner hyphens; the name: letters, digits, . _ -, not ending in .git)';
  return undefined;
}

function validateRepoIds(value: string): string | undefined {
  return /^[1-9]\d{0,18}\/[1-9]\d{0,18}$/.test(value)
    ? undefined
    : 'expected OWNER_ID/REPO_ID, two numbers such as 9919/1296269 (print them with gh api repos/OWNER/NAME --jq \'"\\(.owner.id)/\\(.id)"\')';
}

function validateInstanceId(value: string): string | undefined {
  return /^i-[0-9a-f]{8,17}$/.test(value) ? undefined : 'expected an instance id such as i-0123456789abcdef0';
}

export function planText(target: Exclude<Command, { name: 'plan' }>): string {
  const variables =
    'Shell variables ($VPC_ID, $SG_ID, …) hold values AWS returns at run time; <angle brackets> mark values only known then.';
  const intro = `Plan for \`npm run infra:${target.name}\`: a dry run. Nothing is sent to AWS and no credentials are needed.`;
  const { settings } = target;
  switch (target.name) {
    case 'up':
      return formatPlan(
        [
          intro,
          `Stack ${settings.stack}, bucket ${target.settings.bucket}${target.settings.adoptBucket ? ' (adopted: its settings are left as they are)' : ''}, region ${settings.region}, ${target.settings.instanceType}, photos under ${target.settings.keyPrefix}, ${upModeText(target.settings)}`,
          variables,
        ],
        upSteps(target.settings),
        [
          `Up prints the app URL, ${target.settings.loadBalanced ? 'the load balancer’s DNS name (and the DNS record to create, if any)' : 'instance id'}, role ARN and instance-profile ARN at the end. Every step is safe to repeat. The permissions it needs: infra/policies/operator-policy.json.`,
          `Logs: npm run infra:logs -- --region ${settings.region}${settings.stack === DEFAULT_STACK ? '' : ` --stack ${settings.stack}`}`,
          `Teardown: npm run infra:down -- --bucket ${target.settings.bucket} --region ${settings.region}${settings.stack === DEFAULT_STACK ? '' : ` --stack ${settings.stack}`}   (see its plan with --for down)`,
        ],
      );
    case 'attach':
      return formatPlan(
        [intro, `Stack ${settings.stack}, instance ${target.settings.instanceId}, region ${settings.region}.`, variables],
        attachSteps(target.settings),
        [],
      );
    case 'down':
      return formatPlan(
        [
          intro,
          `Stack ${settings.stack}, region ${settings.region}; bucket ${target.settings.bucket} is ${target.settings.deleteBucket ? 'deleted with every object in it, if this stack created it' : 'kept with its photos'}.`,
          variables,
        ],
        downSteps(target.settings),
        [],
      );
    case 'logs':
      return formatPlan([intro, `Stack ${settings.stack}, region ${settings.region}.`], logsSteps(target.settings), []);
    case 'ci-role':
      return formatPlan(
        [
          intro,
          target.settings.delete
            ? `Stack ${settings.stack}: the deploy role of ${target.settings.repo} is deleted if this stack created it; the GitHub OIDC provider stays.`
            : `Stack ${settings.stack}, repository ${target.settings.repo} (main branch only), bucket ${target.settings.bucket}, region ${settings.region}.`,
          variables,
        ],
        ciRoleSteps(target.settings),
        target.settings.delete
          ? []
          : [
              'ci-role prints the role ARN at the end: store it as the repository variable AWS_DEPLOY_ROLE_ARN, which .github/workflows/deploy.yml reads.',
              `Removal: npm run infra:ci-role -- --repo ${target.settings.repo} --region ${settings.region}${settings.stack === DEFAULT_STACK ? '' : ` --stack ${settings.stack}`} --delete`,
            ],
      );
  }
}

function upModeText({ loadBalanced: lb, allowCidr }: UpSettings): string {
  if (!lb) return `app port ${APP_PORT} open to ${allowCidr} only.`;
  return (
    `${lb.instances} instances behind an Application Load Balancer open to ${allowCidr} only, ` +
    (lb.certificateArn
      ? `HTTPS with ${lb.certificateArn}${lb.hostedZoneId ? ` and an alias record in ${lb.hostedZoneId}` : ''}. A new release rolls out by instance refresh while the URL keeps answering.`
      : 'plain HTTP (no --certificate-arn). A new release rolls out by instance refresh while the URL keeps answering.')
  );
}

export interface CliDeps {
  createDeps: (region: string) => CommandDeps;
  print: (text: string) => void;
  printError: (text: string) => void;
}

function stepsOf(command: Exclude<Command, { name: 'plan' }>): Step<CommandDeps, ReturnType<typeof newStackState>>[] {
  switch (command.name) {
    case 'up':
      return upSteps(command.settings);
    case 'attach':
      return attachSteps(command.settings) as Step<AwsDeps, ReturnType<typeof newStackState>>[];
    case 'down':
      return downSteps(command.settings);
    case 'logs':
      return logsSteps(command.settings);
    case 'ci-role':
      return ciRoleSteps(command.settings);
  }
}

/** Returns the process exit code; never calls AWS for plan or for a usage error. */
export async function runCli(argv: readonly string[], cli: CliDeps): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    cli.printError([error.message, USAGE].filter(Boolean).join('\n\n'));
    return error.message ? 2 : 0;
  }
  if (command.name === 'plan') {
    cli.print(planText(command.target));
    return 0;
  }
  const deps = cli.createDeps(command.settings.region);
  if (command.name === 'up' && command.settings.allowCidr.endsWith('/0'))
    deps.log(`Warning: --allow-cidr ${command.settings.allowCidr} opens the app to the whole internet.`);
  const state = newStackState();
  try {
    await runSteps(stepsOf(command), deps, state);
  } catch (error) {
    cli.printError(
      `\n${command.name} stopped: ${(error as Error).message}\nEvery step is safe to repeat: fix the cause and run the same command again.`,
    );
    return 1;
  }
  if (command.name === 'up') for (const line of formatUpSummary(state)) deps.log(line);
  if (command.name === 'ci-role' && !command.settings.delete)
    for (const line of formatCiRoleSummary(state, command.settings)) deps.log(line);
  return 0;
}

/** A fetch (not an AWS call) that ended by our own deadline (AbortSignal.timeout) or undici's connect timeout: no packet came back. */
function isTimeout(fetchFailure: unknown): boolean {
  const cause = fetchFailure instanceof Error ? (fetchFailure.cause as { code?: string } | undefined) : undefined;
  return (fetchFailure instanceof Error && fetchFailure.name === 'TimeoutError') || cause?.code === 'UND_ERR_CONNECT_TIMEOUT';
}

export function defaultDeps(region: string): CommandDeps {
  const repoRoot = fileURLToPath(new URL('..', import.meta.url));
  const runtime: Runtime = { log: (line) => console.log(line), sleep: (ms) => sleep(ms), now: () => Date.now() };
  return {
    ...runtime,
    aws: createAwsClients(region),
    buildRelease: () => buildRelease(repoRoot),
    lookUpGitHubRepository: (repo) => lookUpGitHubRepository(repo),
    probeReadiness: async (url) => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(5_000), redirect: 'manual' });
        return response.status === 200 ? 'ready' : 'not-ready';
      } catch (error) {
        // A security group drops what it does not admit, so the request times out; anything else means something answered.
        return isTimeout(error) ? 'unreachable' : 'not-ready';
      }
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2), {
    createDeps: defaultDeps,
    print: (text) => console.log(text),
    printError: (text) => console.error(text),
  });
}
