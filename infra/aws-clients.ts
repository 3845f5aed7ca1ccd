// Builds the AWS SDK clients the infra commands use, with no credentials option: the operator's default provider chain decides.
import { ACMClient } from '@aws-sdk/client-acm';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { retryWithBackoff, seconds, type Runtime } from './step.js';

export interface AwsClients {
  s3: S3Client;
  iam: IAMClient;
  ec2: EC2Client;
  ssm: SSMClient;
  sts: STSClient;
  logs: CloudWatchLogsClient;
  elbv2: ElasticLoadBalancingV2Client;
  autoscaling: AutoScalingClient;
  acm: ACMClient;
  route53: Route53Client;
}

/** What every command needs: clients for the stack's region, a clock and a log. */
export interface AwsDeps extends Runtime {
  aws: AwsClients;
}

export function createAwsClients(region: string): AwsClients {
  return {
    s3: new S3Client({ region }),
    // IAM is global, but the SDK still needs a region to pick its endpoint and sign requests.
    iam: new IAMClient({ region }),
    ec2: new EC2Client({ region }),
    ssm: new SSMClient({ region }),
    sts: new STSClient({ region }),
    logs: new CloudWatchLogsClient({ region }),
    elbv2: new ElasticLoadBalancingV2Client({ region }),
    autoscaling: new AutoScalingClient({ region }),
    // ACM certificates are regional: the load balancer can only use one from its own region.
    acm: new ACMClient({ region }),
    // Route 53 is global, like IAM.
    route53: new Route53Client({ region }),
  };
}

/**
 * The one place that compares AWS errors, by the name SDK v3 gives them, which is not always the wire code: an error the
 * service's model declares is named after its exception shape (ELBv2 LoadBalancerNotFound → LoadBalancerNotFoundException,
 * Auto Scaling ResourceInUse → ResourceInUseFault, IAM NoSuchEntity → NoSuchEntityException), and only an undeclared one
 * (every EC2 error, Auto Scaling's ValidationError) keeps its wire code. infra/test/aws-error-names.test.ts proves each name
 * compared in infra/ against the real client.
 */
export function isAwsError(error: unknown, ...names: string[]): error is Error {
  return error instanceof Error && names.includes(error.name);
}

/**
 * Whether AWS refused the request itself (a 4xx answer: the SDK's $fault "client"), whatever code it gave. Only for a refusal
 * AWS documents without naming its code, where comparing one guessed name would make the code hang on a guess.
 */
export function isClientRefusal(error: unknown): error is Error {
  return error instanceof Error && (error as { $fault?: unknown }).$fault === 'client';
}

/** Runs a request and turns the named "does not exist" errors into undefined; every other error (AccessDenied included) is thrown. */
export async function unlessMissing<T>(request: Promise<T>, ...missingErrorNames: string[]): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (isAwsError(error, ...missingErrorNames)) return undefined;
    throw error;
  }
}

/**
 * How long a command waits for a resource it has just created to show in the reads and writes that name it: AWS is
 * eventually consistent (EC2 API Reference, "Eventual consistency in the Amazon EC2 API"; IAM User Guide, "Changes that I
 * make are not always immediately visible"), and AWS's own guidance is to retry with backoff.
 */
export const NEW_RESOURCE_VISIBILITY_BUDGET_MS = 60_000;

/**
 * Sends a request about a resource the command has just created, retrying with backoff while AWS still answers that the
 * resource does not exist (`missingErrorNames`); after the budget the error is thrown. Only for resources this run made or
 * found a moment ago: a resource that is really missing costs the whole budget.
 */
export function retryUntilVisible<T>(
  runtime: Runtime,
  what: string,
  request: () => Promise<T>,
  ...missingErrorNames: string[]
): Promise<T> {
  return retryWithBackoff(
    request,
    {
      isRetryable: (error) => isAwsError(error, ...missingErrorNames),
      describeWait: (delayMs, waitedMs) =>
        `AWS does not show ${what} yet (it was just created; AWS is eventually consistent): retrying in ${seconds(delayMs)} (waited ${seconds(waitedMs)} of up to ${seconds(NEW_RESOURCE_VISIBILITY_BUDGET_MS)})`,
      firstDelayMs: 1_000,
      maxDelayMs: 8_000,
      budgetMs: NEW_RESOURCE_VISIBILITY_BUDGET_MS,
    },
    runtime,
  );
}
