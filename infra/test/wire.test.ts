// The infra CLIs as an operator runs them (`npm run infra:*`, the default credential chain), against the account model served over HTTP in AWS's wire protocols.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type ImdsEmulator, startImdsEmulator } from '../../scripts/emulators/imds.js';
import { CONSISTENCY_MS, FakeAccount } from './fake-aws.js';
import { startWireEndpoint, type WireEndpoint } from './wire-endpoint.js';

const REGION = 'eu-west-1';
const STACK = 's3-photo-share';
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UP = ['--bucket', 'demo-bucket', '--region', REGION, '--allow-cidr', '203.0.113.0/24'];
/** Every 7th first attempt is throttled: each command meets several, and the SDK's retries must absorb them. */
const THROTTLE_EVERY = 7;
interface CliRun {
  code: number | null;
  output: string;
  /** The requests this run made, as "service:Operation". */
  requests: string[];
}

/** The operator's machine: an IMDS for credentials, the wire endpoint as AWS, and the public addresses of what the account runs. */
class World {
  private constructor(
    readonly account: FakeAccount,
    readonly endpoint: WireEndpoint,
    private readonly imds: ImdsEmulator,
    private readonly publicAddresses: Server,
    private readonly home: string,
  ) {}

  static async start(): Promise<World> {
    // As AWS is: reads straight after a create fail for a while, and a new instance profile is refused at first.
    const account = new FakeAccount({ eventuallyConsistent: true });
    const imds = await startImdsEmulator({ region: REGION });
    const secrets = new Map<string, string>();
    imds.watchCredentials({
      issued: (credentials) => secrets.set(credentials.accessKeyId, credentials.secretAccessKey),
      expired: () => {},
    });
    const endpoint = await startWireEndpoint(account, {
      throttleEvery: THROTTLE_EVERY,
      secretOf: (accessKeyId) => secrets.get(accessKeyId),
    });
    // A GET of an instance's or load balancer's public address (wire-world.mjs sends it here): 200 when the model says the app answers there.
    const publicAddresses = createServer((request, response) => {
      const [, protocol, host, ...path] = (request.url ?? '/').split('/');
      response.writeHead(account.answers(REGION, `${protocol}://${host}/${path.join('/')}`) ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => publicAddresses.listen(0, '127.0.0.1', resolve));
    return new World(account, endpoint, imds, publicAddresses, await mkdtemp(join(tmpdir(), 'wire-test-home-')));
  }

  /** Runs `npm run <script> -- <args>` as an operator would; of the default chain's sources only the IMDS has credentials. */
  async run(script: string, ...args: string[]): Promise<CliRun> {
    const firstRequest = this.endpoint.requests.length;
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('AWS_') && value !== undefined) env[name] = value;
    Object.assign(env, {
      HOME: this.home,
      // Empty profile files: the machine's own ~/.aws is never read.
      AWS_CONFIG_FILE: join(this.home, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(this.home, 'no-credentials'),
      AWS_ENDPOINT_URL: this.endpoint.url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: this.imds.endpoint,
      AWS_EC2_METADATA_V1_DISABLED: 'true',
      NODE_OPTIONS: `--import ${pathToFileURL(join(REPO_ROOT, 'infra/test/wire-world.mjs')).href}`,
      WIRE_TEST_CLOCK_MS: String(this.endpoint.now()),
      WIRE_TEST_PUBLIC_ADDRESSES: `http://127.0.0.1:${(this.publicAddresses.address() as AddressInfo).port}`,
    });
    const child = spawn('npm', ['run', '--silent', script, '--', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, output, requests: this.endpoint.requests.slice(firstRequest) };
  }

  /** What the stack owns in the account, read from the model, in a form to compare whole. */
  stackResources(): StackResources {
    const region = this.account.region(REGION);
    const scaling = this.account.scaling.region(REGION);
    const live = [...region.instances.values()].filter(
      (instance) => instance.State.Name !== 'terminated' && instance.Tags.some((tag) => tag.Key === 'stack' && tag.Value === STACK),
    );
    return {
      buckets: [...this.account.buckets.keys()],
      roles: [...this.account.roles.keys()].sort(),
      profiles: [...this.account.profiles.keys()],
      instances: live.map((instance) => ({
        state: instance.State.Name,
        group: instance.Tags.find((tag) => tag.Key === 'aws:autoscaling:groupName')?.Value ?? '-',
      })),
      securityGroups: [...region.groups.values()].map((group) => group.GroupName).sort(),
      logGroups: [...region.logGroups.keys()],
      loadBalancers: [...scaling.loadBalancers.values()].map((lb) => lb.LoadBalancerName),
      targetGroups: [...scaling.targetGroups.values()].map((group) => group.TargetGroupName),
      autoScalingGroups: [...scaling.groups.values()].map((group) => `${group.AutoScalingGroupName} (${group.DesiredCapacity})`),
      launchTemplates: [...scaling.launchTemplates.values()].map((template) => template.LaunchTemplateName),
      parameters: [...scaling.parameters.keys()],
    };
  }

  async close(): Promise<void> {
    await this.endpoint.close();
    await this.imds.close();
    await new Promise<void>((resolve) => this.publicAddresses.close(() => resolve()));
    await rm(this.home, { recursive: true, force: true });
  }
}

interface StackResources {
  buckets: string[];
  roles: string[];
  profiles: string[];
  instances: { state: string; group: string }[];
  securityGroups: string[];
  logGroups: string[];
  loadBalancers: string[];
  targetGroups: string[];
  autoScalingGroups: string[];
  launchTemplates: string[];
  parameters: string[];
}

const NOTHING: StackResources = {
  buckets: [],
  roles: [],
  profiles: [],
  instances: [],
  securityGroups: [],
  logGroups: [],
  loadBalancers: [],
  targetGroups: [],
  autoScalingGroups: [],
  launchTemplates: [],
  parameters: [],
};

/** Always there while the stack is up, in either mode. */
const SHARED: StackResources = {
  ...NOTHING,
  buckets: ['demo-bucket'],
  roles: ['s3-photo-share-role'],
  profiles: ['s3-photo-share-instance-profile'],
  logGroups: ['/s3-photo-share/s3-photo-share'],
};

const SINGLE_INSTANCE: StackResources = {
  ...SHARED,
  instances: [{ state: 'running', group: '-' }],
  securityGroups: ['s3-photo-share-web'],
};

const LOAD_BALANCED: StackResources = {
  ...SHARED,
  instances: [
    { state: 'running', group: 's3-photo-share-asg' },
    { state: 'running', group: 's3-photo-share-asg' },
  ],
  securityGroups: ['s3-photo-share-app', 's3-photo-share-lb'],
  loadBalancers: ['s3-photo-share-lb'],
  targetGroups: ['s3-photo-share-tg'],
  autoScalingGroups: ['s3-photo-share-asg (2)'],
  launchTemplates: ['s3-photo-share-template'],
  parameters: ['/s3-photo-share/csrf-secret'],
};

function assertSucceeded(run: CliRun): void {
  assert.equal(run.code, 0, `the command failed:\n${run.output}\nIts last requests: ${run.requests.slice(-12).join(', ')}`);
}

/** For the commands long enough to meet the throttling: the SDK retried each throttled request, and the command converged. */
function assertSucceededThroughThrottling(run: CliRun): void {
  assertSucceeded(run);
  const throttled = [...run.requests.entries()].filter(([, request]) => request.endsWith(' (throttled)'));
  assert.ok(throttled.length >= 2, `only ${throttled.length} of ${run.requests.length} requests were throttled`);
  for (const [index, request] of throttled) {
    const operation = request.replace(' (throttled)', '');
    const retried = run.requests
      .slice(index + 1)
      .some((later) => later === operation || (later.startsWith(`${operation} (`) && later !== request));
    assert.ok(retried, `${request} was never sent again`);
  }
}

/** The requests of a run that created something and succeeded (a create answered "already exists" created nothing). */
function creations(run: CliRun): string[] {
  return run.requests.filter((request) => /:(Create\w+|RunInstances)$/.test(request));
}

// Nine CLI processes, four of them building the release (npm run build, npm pack): about a minute on two idle cores, but
// the whole sequence may take longer than the 180 s each test is given on a busy machine.
describe('the infra CLIs, run through npm against the account served in AWS wire protocols', { concurrency: 1, timeout: 600_000 }, () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.close();
  });

  test('when up runs on an empty account, then it creates the single-instance stack and prints the URL', async () => {
    const run = await world.run('infra:up', ...UP);

    assertSucceededThroughThrottling(run);
    assert.deepEqual(world.stackResources(), SINGLE_INSTANCE);
    assert.match(run.output, /^App URL: +http:\/\/198\.51\.100\.\d+\/$/m);
    assert.deepEqual(world.endpoint.signatureFailures, []);
  });

  test('when up runs again, then nothing is created twice and nothing changes', async () => {
    const before = world.account.snapshot();

    const run = await world.run('infra:up', ...UP);

    assertSucceededThroughThrottling(run);
    assert.deepEqual(creations(run), []);
    assert.deepEqual(world.account.snapshot(), before);
  });

  test('when up switches to --instances 2, then two instances serve behind a load balancer and the single instance is gone', async () => {
    const run = await world.run('infra:up', ...UP, '--instances', '2');

    assertSucceededThroughThrottling(run);
    assert.deepEqual(world.stackResources(), LOAD_BALANCED);
    assert.match(run.output, /^App URL: +http:\/\/s3-photo-share-lb-\w+\.eu-west-1\.elb\.amazonaws\.com\/$/m);
  });

  test('when up switches back to one instance, then the load-balanced resources are gone', async () => {
    const run = await world.run('infra:up', ...UP);

    assertSucceededThroughThrottling(run);
    assert.deepEqual(world.stackResources(), SINGLE_INSTANCE);
  });

  test('when attach runs for an instance started elsewhere, then it runs with the stack’s instance profile and IMDSv2 only', async () => {
    const instance = world.account.addInstance(REGION, { Tags: [{ Key: 'Name', Value: 'started-by-hand' }] });

    const run = await world.run('infra:attach', '--instance-id', instance.InstanceId, '--region', REGION, '--require-imdsv2');

    assertSucceeded(run);
    const associations = [...world.account.region(REGION).associations.values()].filter(
      (association) => association.InstanceId === instance.InstanceId,
    );
    assert.deepEqual(
      associations.map((association) => association.IamInstanceProfile.Arn),
      ['arn:aws:iam::123456789012:instance-profile/s3-photo-share-instance-profile'],
    );
    assert.equal(instance.MetadataOptions.HttpTokens, 'required');
    // The operator detaches it again before down (`aws ec2 disassociate-iam-instance-profile`), or down keeps the profile for it.
    for (const association of associations) world.account.region(REGION).associations.delete(association.AssociationId);
  });

  test('when logs runs, then it prints the log group’s recent events, oldest first', async () => {
    const logGroup = world.account.region(REGION).logGroups.get('/s3-photo-share/s3-photo-share');
    assert.ok(logGroup, 'up created the log group');
    // The account's time, which the command's clock starts at (wire-world.mjs).
    const now = world.endpoint.now();
    logGroup.events.push(
      { timestamp: now - 120_000, logStreamName: 'i-1/app', message: 'listening on :80' },
      { timestamp: now - 60_000, logStreamName: 'i-1/app', message: 'GET /readyz 200' },
      { timestamp: now - 30_000, logStreamName: 'i-1/setup', message: 'setup done' },
    );

    const run = await world.run('infra:logs', '--region', REGION, '--minutes', '5');

    assertSucceeded(run);
    const printed = run.output.split('\n').filter((line) => / i-1\//.test(line));
    assert.deepEqual(printed, [
      `${new Date(now - 120_000).toISOString()} i-1/app listening on :80`,
      `${new Date(now - 60_000).toISOString()} i-1/app GET /readyz 200`,
      `${new Date(now - 30_000).toISOString()} i-1/setup setup done`,
    ]);
  });

  const CI_ROLE = ['--repo', 'octo-org/s3-photo-share', '--repo-ids', '9919/1296269', '--region', REGION];

  test('when ci-role runs, then the deploy role trusts only the repository’s main branch and holds the operator policy', async () => {
    const run = await world.run('infra:ci-role', ...CI_ROLE, '--bucket', 'demo-bucket');

    assertSucceeded(run);
    const role = world.account.roles.get('s3-photo-share-github-deploy');
    assert.ok(role, run.output);
    assert.deepEqual([...role.inlinePolicies.keys()], ['s3-photo-share-operator']);
    assert.match(run.output, /^Deploy role ARN: arn:aws:iam::123456789012:role\/s3-photo-share-github-deploy$/m);
  });

  test('when ci-role --delete runs, then the deploy role is gone', async () => {
    assert.ok(world.account.roles.has('s3-photo-share-github-deploy'), 'ci-role created the role');
    // Later, not within the seconds in which IAM may not show the new role yet (GetRole would answer NoSuchEntity).
    world.account.runtime.clockMs += CONSISTENCY_MS;

    const run = await world.run('infra:ci-role', ...CI_ROLE, '--delete');

    assertSucceeded(run);
    assert.equal(world.account.roles.has('s3-photo-share-github-deploy'), false);
  });

  test('when down --delete-bucket runs, then nothing of the stack is left', async () => {
    const run = await world.run('infra:down', '--bucket', 'demo-bucket', '--region', REGION, '--delete-bucket');

    assertSucceededThroughThrottling(run);
    assert.deepEqual(world.stackResources(), NOTHING);
  });

  test('when down runs on an empty account, then it finds nothing to do and succeeds', async () => {
    const run = await world.run('infra:down', '--bucket', 'demo-bucket', '--region', REGION);

    assertSucceededThroughThrottling(run);
    assert.deepEqual(world.stackResources(), NOTHING);
    assert.deepEqual(creations(run), []);
  });
});

test('when a request is signed with a secret other than the one issued, then the endpoint refuses it as AWS does', async () => {
  const endpoint = await startWireEndpoint(new FakeAccount(), {
    secretOf: (accessKeyId) => (accessKeyId === 'ASIAWIRETEST' ? 'the issued secret' : undefined),
  });
  try {
    const sts = new STSClient({
      region: REGION,
      endpoint: endpoint.url,
      credentials: { accessKeyId: 'ASIAWIRETEST', secretAccessKey: 'another secret' },
      maxAttempts: 1,
    });

    await assert.rejects(sts.send(new GetCallerIdentityCommand({})), { name: 'SignatureDoesNotMatch' });
    assert.deepEqual(endpoint.signatureFailures, ['sts:GetCallerIdentity: the signature does not match']);
    assert.deepEqual(endpoint.requests, []);
  } finally {
    await endpoint.close();
  }
});
