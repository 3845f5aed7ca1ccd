// Makes AWS service errors the way a real account does: AWS's wire-format error body, run through the real SDK client of that service, so the error's name, $fault and Code are whatever the SDK makes of it.
import { ACMClient, ListCertificatesCommand } from '@aws-sdk/client-acm';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
// The home of HttpResponse since @smithy/protocol-http was folded into @smithy/core (3.x); the clients depend on it.
import { HttpResponse } from '@smithy/core/transport';

export type AwsService = 'iam' | 'sts' | 'ec2' | 's3' | 'elbv2' | 'autoscaling' | 'ssm' | 'logs' | 'acm' | 'route53';

/** An error response exactly as AWS puts it on the wire. */
export interface WireError {
  service: AwsService;
  status: number;
  headers: Record<string, string>;
  /** Empty for a HEAD request: HTTP allows no body, so the SDK can only go by the status. */
  body: string;
  code: string;
  message: string;
}

type Protocol = 'query' | 'ec2' | 'json' | 'rest-xml-s3' | 'rest-xml-route53';

interface Sender {
  send: (command: never) => Promise<unknown>;
}

type ClientConfig = {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
  requestHandler: { handle: () => Promise<{ response: HttpResponse }> };
};

/** For each service: its protocol, a client, and a real command to send it (any one will do: the error is the same for all). */
const SERVICES: Record<AwsService, { protocol: Protocol; client: (config: ClientConfig) => Sender; command: () => object }> = {
  iam: { protocol: 'query', client: (config) => new IAMClient(config), command: () => new GetRoleCommand({ RoleName: 'role' }) },
  sts: { protocol: 'query', client: (config) => new STSClient(config), command: () => new GetCallerIdentityCommand({}) },
  elbv2: {
    protocol: 'query',
    client: (config) => new ElasticLoadBalancingV2Client(config),
    command: () => new DescribeLoadBalancersCommand({}),
  },
  autoscaling: {
    protocol: 'query',
    client: (config) => new AutoScalingClient(config),
    command: () => new DescribeAutoScalingGroupsCommand({}),
  },
  ec2: { protocol: 'ec2', client: (config) => new EC2Client(config), command: () => new DescribeInstancesCommand({}) },
  ssm: { protocol: 'json', client: (config) => new SSMClient(config), command: () => new GetParameterCommand({ Name: 'parameter' }) },
  logs: { protocol: 'json', client: (config) => new CloudWatchLogsClient(config), command: () => new DescribeLogGroupsCommand({}) },
  acm: { protocol: 'json', client: (config) => new ACMClient(config), command: () => new ListCertificatesCommand({}) },
  s3: {
    protocol: 'rest-xml-s3',
    client: (config) => new S3Client(config),
    command: () => new GetBucketTaggingCommand({ Bucket: 'bucket' }),
  },
  route53: {
    protocol: 'rest-xml-route53',
    client: (config) => new Route53Client(config),
    command: () => new GetHostedZoneCommand({ Id: 'Z0000000000000' }),
  },
};

/**
 * The HTTP status AWS sends with each code, where it is not 400 (the status of nearly every client error in the query and
 * JSON protocols). Each from the operation's "Errors" section or the service's "Common Errors" page of its API reference.
 */
const STATUS: Record<string, number> = {
  // IAM API Reference, e.g. GetRole and CreateRole "Errors": NoSuchEntity 404, EntityAlreadyExists 409, DeleteConflict 409,
  // LimitExceeded 409, ServiceFailure 500.
  'iam:NoSuchEntity': 404,
  'iam:EntityAlreadyExists': 409,
  'iam:DeleteConflict': 409,
  'iam:LimitExceeded': 409,
  'iam:ServiceFailure': 500,
  // AccessDeniedException (and the query services' AccessDenied): 403 in the current "Common Errors" pages (e.g. IAM Access
  // Analyzer's); older copies of that page, still served for some services, say 400. Give a status to test either.
  'iam:AccessDenied': 403,
  'sts:AccessDenied': 403,
  'elbv2:AccessDenied': 403,
  'autoscaling:AccessDenied': 403,
  'ssm:AccessDeniedException': 403,
  'logs:AccessDeniedException': 403,
  'acm:AccessDeniedException': 403,
  // Amazon EC2 API Reference, "Error codes for the Amazon EC2 API": client errors carry a 400-series status (400, but 403 for
  // UnauthorizedOperation and 503 for RequestLimitExceeded, as EC2 sends them), server errors a 500-series one.
  'ec2:UnauthorizedOperation': 403,
  'ec2:RequestLimitExceeded': 503,
  'ec2:InsufficientInstanceCapacity': 500,
  'ec2:InternalError': 500,
  // Amazon S3 API Reference, "Error responses" (List of error codes).
  's3:NoSuchBucket': 404,
  's3:NoSuchTagSet': 404,
  's3:NoSuchKey': 404,
  's3:NotFound': 404,
  's3:AccessDenied': 403,
  's3:Forbidden': 403,
  's3:PermanentRedirect': 301,
  's3:MovedPermanently': 301,
  's3:BucketAlreadyExists': 409,
  's3:BucketAlreadyOwnedByYou': 409,
  's3:BucketNotEmpty': 409,
  's3:OperationAborted': 409,
  's3:SlowDown': 503,
  's3:InternalError': 500,
  // Route 53 API Reference, e.g. GetHostedZone and ListResourceRecordSets "Errors": NoSuchHostedZone 404.
  'route53:NoSuchHostedZone': 404,
  'route53:NoSuchChange': 404,
  // Each service's "Common Errors" page: InternalFailure 500, ServiceUnavailable 503.
  'iam:InternalFailure': 500,
  'elbv2:InternalFailure': 500,
  'autoscaling:InternalFailure': 500,
  'iam:ServiceUnavailable': 503,
  'elbv2:ServiceUnavailable': 503,
  'autoscaling:ServiceUnavailable': 503,
  // SSM API Reference, every operation's "Errors": InternalServerError 500.
  'ssm:InternalServerError': 500,
};

const wireErrors = new WeakMap<object, WireError>();

/** The very bytes AWS would have sent for an error made by awsError, so an HTTP endpoint can answer with them. */
export function wireErrorOf(error: unknown): WireError | undefined {
  return typeof error === 'object' && error !== null ? wireErrors.get(error) : undefined;
}

export interface AwsErrorOptions {
  /** The HTTP status, when not the one AWS documents for the code. */
  status?: number;
  /** The real command to send instead of the service's default one, e.g. an S3 HeadBucketCommand (whose errors have no body). */
  command?: object;
}

/** The error the real SDK client of the service throws when AWS answers with this code and message. */
export async function awsError(service: AwsService, code: string, message: string, options: AwsErrorOptions = {}): Promise<Error> {
  const { protocol, client, command } = SERVICES[service];
  const request = options.command ?? command();
  const status = options.status ?? STATUS[`${service}:${code}`] ?? 400;
  const isHead = request.constructor.name.startsWith('Head');
  const wire: WireError = { service, status, code, message, ...wireFormat(protocol, status, code, message) };
  if (isHead) wire.body = '';
  const answer = async () => ({
    response: new HttpResponse({ statusCode: wire.status, headers: { ...wire.headers }, body: Buffer.from(wire.body) }),
  });
  const sender = client({
    region: 'eu-west-1',
    // Never sent anywhere (the request handler answers locally), but the client signs before it sends.
    credentials: { accessKeyId: 'stub-key-id', secretAccessKey: 'stub-secret' },
    // One attempt: the error itself is wanted, not the SDK's retries of it (the wire endpoint lets the SDK retry for real).
    maxAttempts: 1,
    requestHandler: { handle: answer },
  });
  try {
    await sender.send(request as never);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    wireErrors.set(error, wire);
    return error;
  }
  throw new Error(`The ${service} client accepted the error answer ${code} (${status}) as a success`);
}

function wireFormat(protocol: Protocol, status: number, code: string, message: string): Pick<WireError, 'headers' | 'body'> {
  const requestId = 'c0ffee00-0000-4000-8000-000000000000';
  const type = status >= 500 ? 'Receiver' : 'Sender';
  switch (protocol) {
    case 'query':
      return {
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: `<ErrorResponse><Error><Type>${type}</Type><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    case 'ec2':
      return {
        headers: { 'content-type': 'text/xml;charset=UTF-8' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
      };
    case 'json':
      return {
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId },
        body: JSON.stringify({ __type: code, message }),
      };
    case 'rest-xml-s3':
      return {
        headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'C0FFEE0000000000', 'x-amz-id-2': 'aG9zdC1pZA==' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message><RequestId>C0FFEE0000000000</RequestId><HostId>aG9zdC1pZA==</HostId></Error>`,
      };
    case 'rest-xml-route53':
      return {
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>${type}</Type><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
  }
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * An error the account model answers with, named by its wire code as AWS's API reference lists it. The model's dispatch
 * turns it into the SDK's own error (awsError) for the service that was called, so the model never names an error itself.
 */
export class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AwsFault';
  }
}
