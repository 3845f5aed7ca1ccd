// Proves that every AWS error name infra/ compares is the name the real SDK client gives the wire error it stands for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { awsError, wireErrorOf, type AwsService } from './aws-errors.js';

const INFRA = join(import.meta.dirname, '..');
const NOT_INFRA_CODE = [join(INFRA, 'test'), join(INFRA, 'node_modules')];
const SERVICES: AwsService[] = ['iam', 'sts', 'ec2', 's3', 'elbv2', 'autoscaling', 'ssm', 'logs', 'acm', 'route53'];

/** The name infra/ compares → where that name comes from: the service, AWS's wire code, and the API reference page that lists it. */
const ERROR_NAMES: Record<string, { service: AwsService; code: string; page: string }[]> = {
  LoadBalancerNotFoundException: [
    { service: 'elbv2', code: 'LoadBalancerNotFound', page: 'Elastic Load Balancing API Reference (v2), DescribeLoadBalancers, Errors' },
  ],
  TargetGroupNotFoundException: [
    { service: 'elbv2', code: 'TargetGroupNotFound', page: 'Elastic Load Balancing API Reference (v2), DescribeTargetGroups, Errors' },
  ],
  ResourceInUseException: [
    { service: 'elbv2', code: 'ResourceInUse', page: 'Elastic Load Balancing API Reference (v2), DeleteTargetGroup, Errors' },
  ],
  ResourceInUseFault: [
    { service: 'autoscaling', code: 'ResourceInUse', page: 'Amazon EC2 Auto Scaling API Reference, DeleteAutoScalingGroup, Errors' },
  ],
  ScalingActivityInProgressFault: [
    {
      service: 'autoscaling',
      code: 'ScalingActivityInProgress',
      page: 'Amazon EC2 Auto Scaling API Reference, DeleteAutoScalingGroup, Errors',
    },
  ],
  InstanceRefreshInProgressFault: [
    {
      service: 'autoscaling',
      code: 'InstanceRefreshInProgress',
      page: 'Amazon EC2 Auto Scaling API Reference, StartInstanceRefresh, Errors',
    },
  ],
  NoSuchEntityException: [
    { service: 'iam', code: 'NoSuchEntity', page: 'IAM API Reference, GetRole, GetInstanceProfile and GetOpenIDConnectProvider, Errors' },
  ],
  EntityAlreadyExistsException: [
    { service: 'iam', code: 'EntityAlreadyExists', page: 'IAM API Reference, CreateRole and CreateInstanceProfile, Errors' },
  ],
  NoSuchBucket: [{ service: 's3', code: 'NoSuchBucket', page: 'Amazon S3 API Reference, Error responses (list of error codes)' }],
  NoSuchTagSet: [{ service: 's3', code: 'NoSuchTagSet', page: 'Amazon S3 API Reference, Error responses (list of error codes)' }],
  PermanentRedirect: [{ service: 's3', code: 'PermanentRedirect', page: 'Amazon S3 API Reference, Error responses (list of error codes)' }],
  AccessDenied: [{ service: 's3', code: 'AccessDenied', page: 'Amazon S3 API Reference, Error responses (list of error codes)' }],
  BucketAlreadyExists: [{ service: 's3', code: 'BucketAlreadyExists', page: 'Amazon S3 API Reference, CreateBucket, Errors' }],
  DependencyViolation: [
    { service: 'ec2', code: 'DependencyViolation', page: 'Amazon EC2 API Reference, Error codes for the Amazon EC2 API' },
  ],
  InvalidParameterValue: [
    { service: 'ec2', code: 'InvalidParameterValue', page: 'Amazon EC2 API Reference, Error codes for the Amazon EC2 API' },
  ],
  'InvalidInstanceID.NotFound': [
    { service: 'ec2', code: 'InvalidInstanceID.NotFound', page: 'Amazon EC2 API Reference, Error codes for the Amazon EC2 API' },
  ],
  'InvalidLaunchTemplateName.AlreadyExistsException': [
    {
      service: 'ec2',
      code: 'InvalidLaunchTemplateName.AlreadyExistsException',
      page: 'Amazon EC2 API Reference, Error codes for the Amazon EC2 API',
    },
  ],
  ResourceNotFoundException: [
    { service: 'logs', code: 'ResourceNotFoundException', page: 'Amazon CloudWatch Logs API Reference, ListTagsForResource, Errors' },
    { service: 'acm', code: 'ResourceNotFoundException', page: 'AWS Certificate Manager API Reference, DescribeCertificate, Errors' },
  ],
  ResourceAlreadyExistsException: [
    { service: 'logs', code: 'ResourceAlreadyExistsException', page: 'Amazon CloudWatch Logs API Reference, CreateLogGroup, Errors' },
  ],
  InvalidResourceId: [
    { service: 'ssm', code: 'InvalidResourceId', page: 'AWS Systems Manager API Reference, ListTagsForResource, Errors' },
  ],
  ParameterAlreadyExists: [
    { service: 'ssm', code: 'ParameterAlreadyExists', page: 'AWS Systems Manager API Reference, PutParameter, Errors' },
  ],
  ValidationError: [
    {
      service: 'autoscaling',
      code: 'ValidationError',
      page: 'Amazon EC2 Auto Scaling API Reference, Common Errors (and CreateAutoScalingGroup for a profile not yet propagated)',
    },
  ],
  'InvalidGroup.NotFound': [
    { service: 'ec2', code: 'InvalidGroup.NotFound', page: 'Amazon EC2 API Reference, Error codes for the Amazon EC2 API' },
  ],
  NoSuchHostedZone: [{ service: 'route53', code: 'NoSuchHostedZone', page: 'Amazon Route 53 API Reference, GetHostedZone, Errors' }],
};

/** The functions of aws-clients.ts that take AWS error names, and the position of the first name among their arguments. */
const NAME_TAKERS: Record<string, number> = { isAwsError: 1, unlessMissing: 1, retryUntilVisible: 3 };

interface Comparison {
  name: string;
  /** Where: file:line. */
  at: string;
  /** The services whose calls the comparison can be about: those sent in the nearest enclosing code that sends any. */
  services: Set<AwsService>;
}

/** infra/'s own code: its tests (this file among them) and installed packages compare error names of their own. */
function infraSources(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return NOT_INFRA_CODE.includes(path) ? [] : infraSources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function servicesSentIn(text: string): Set<AwsService> {
  const sent = new Set<AwsService>();
  for (const match of text.matchAll(/\b(\w+)\.send\(/g)) if (SERVICES.includes(match[1] as AwsService)) sent.add(match[1] as AwsService);
  return sent;
}

/** Every name passed to isAwsError or unlessMissing in infra/, with the services it may be about; a name that is not a literal fails. */
function comparedNames(): Comparison[] {
  const comparisons: Comparison[] = [];
  // aws-clients.ts defines the two: unlessMissing hands its names on to isAwsError.
  for (const path of infraSources(INFRA).filter((file) => !file.endsWith('aws-clients.ts'))) {
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text in NAME_TAKERS) {
        const at = `${relative(INFRA, path)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
        let context: ts.Node = node;
        let services = servicesSentIn(node.getText());
        while (services.size === 0 && context.parent && !ts.isSourceFile(context.parent)) {
          context = context.parent;
          services = servicesSentIn(context.getText());
        }
        // A predicate that sends nothing itself (isProfilePropagationError) serves callers elsewhere: any service may be meant.
        if (services.size === 0) services = new Set(SERVICES);
        for (const argument of node.arguments.slice(NAME_TAKERS[node.expression.text])) {
          assert.ok(ts.isStringLiteral(argument), `${at}: compare AWS errors by a literal name, so this test can check it`);
          comparisons.push({ name: argument.text, at, services });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return comparisons;
}

test('when infra/ compares an AWS error, then the name is a literal in the table, for a service the code calls there', () => {
  const comparisons = comparedNames();
  assert.ok(comparisons.length >= 30, `found only ${comparisons.length} comparisons`);
  for (const { name, at, services } of comparisons) {
    const rows = ERROR_NAMES[name];
    assert.ok(rows, `${at}: ${name} has no row in ERROR_NAMES (service, wire code, API reference page)`);
    assert.ok(
      rows.some((row) => services.has(row.service)),
      `${at}: ${name} is listed for ${rows.map((row) => row.service).join(', ')}, but the code there calls ${[...services].join(', ')}`,
    );
  }
  const compared = new Set(comparisons.map((comparison) => comparison.name));
  assert.deepEqual(
    Object.keys(ERROR_NAMES).filter((name) => !compared.has(name)),
    [],
    'rows for names infra/ no longer compares',
  );
});

test('when aws-clients.ts takes AWS error names, then only through the functions this test reads the calls of', () => {
  const path = join(INFRA, 'aws-clients.ts');
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const takers = source.statements
    .filter(ts.isFunctionDeclaration)
    .filter((declaration) =>
      declaration.parameters.some((parameter) => parameter.dotDotDotToken && parameter.type?.getText() === 'string[]'),
    )
    .map((declaration) => declaration.name?.text);
  assert.deepEqual(takers.sort(), Object.keys(NAME_TAKERS).sort());
});

test('when AWS answers each wire code in the table, then the real SDK client of that service names the error exactly as infra/ compares it', async () => {
  for (const [name, rows] of Object.entries(ERROR_NAMES)) {
    for (const { service, code, page } of rows) {
      const error = await awsError(service, code, `${code} from the wire`);
      assert.equal(error.name, name, `${service} ${code} (${page})`);
      assert.equal(error.message, `${code} from the wire`);
    }
  }
});

test('when infra/ reads an error, then only through isAwsError: no other code looks at an error name or code', () => {
  for (const path of infraSources(INFRA)) {
    if (path.endsWith('aws-clients.ts')) continue;
    const text = readFileSync(path, 'utf8');
    assert.doesNotMatch(text, /\berror\??\.(name|Code|code|\$fault|\$metadata)\b/, relative(INFRA, path));
  }
});

test('when S3 answers a HEAD request with an error, then there is no body and the SDK names the error by the status alone', async () => {
  const head = (status: number) =>
    awsError('s3', status === 404 ? 'NoSuchBucket' : 'AccessDenied', 'ignored', {
      status,
      command: new HeadBucketCommand({ Bucket: 'b' }),
    });
  const missing = await head(404);
  const denied = await head(403);
  const elsewhere = await head(301);

  assert.deepEqual(
    [missing, denied, elsewhere].map((error) => [error.name, wireErrorOf(error)?.body]),
    [
      ['NotFound', ''],
      ['Unknown', ''],
      ['Unknown', ''],
    ],
  );
});

test('when an error is made, then wireErrorOf gives the status, headers and body the SDK read, for an HTTP endpoint to send', async () => {
  const error = await awsError('elbv2', 'LoadBalancerNotFound', 'One or more load balancers not found');

  assert.deepEqual(wireErrorOf(error), {
    service: 'elbv2',
    status: 400,
    code: 'LoadBalancerNotFound',
    message: 'One or more load balancers not found',
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': 'c0ffee00-0000-4000-8000-000000000000' },
    body: '<ErrorResponse><Error><Type>Sender</Type><Code>LoadBalancerNotFound</Code><Message>One or more load balancers not found</Message></Error><RequestId>c0ffee00-0000-4000-8000-000000000000</RequestId></ErrorResponse>',
  });
  assert.equal((error as Error & { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode, 400);
  assert.equal(wireErrorOf(new Error('not from the wire')), undefined);
});
