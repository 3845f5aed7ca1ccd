// The offline IAM simulator the policy tests share: one decision for a principal, an action and a resource, with the policies in play.
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT_ID } from './fake-aws.js';

export const ROLE_SESSION = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/s3-photo-share-role/i-0123456789abcdef0`;
export const OPERATOR = `arn:aws:iam::${ACCOUNT_ID}:user/operator`;
export const BUCKET_ARN = 'arn:aws:s3:::demo-bucket';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/s3-photo-share-role`;
export const LOG_GROUP_ARN = `arn:aws:logs:eu-west-1:${ACCOUNT_ID}:log-group:/s3-photo-share/s3-photo-share`;

export interface Request {
  principal: string;
  action: string;
  resource: string;
  identityPolicy?: object;
  resourcePolicy?: object;
  permissionsBoundary?: object;
  context?: Record<string, string | string[]>;
}

export async function decide({
  principal,
  action,
  resource,
  identityPolicy,
  resourcePolicy,
  permissionsBoundary,
  context = {},
}: Request): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal,
      action,
      resource: { resource, accountId: ACCOUNT_ID },
      contextVariables: { 'aws:SecureTransport': 'true', ...context },
    },
    identityPolicies: identityPolicy ? [{ name: 'policy', policy: identityPolicy }] : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
    permissionBoundaryPolicies: permissionsBoundary ? [{ name: 'boundary', policy: permissionsBoundary }] : undefined,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`Simulation rejected: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

export const PARAMETER_ARN = `arn:aws:ssm:eu-west-1:${ACCOUNT_ID}:parameter/s3-photo-share/csrf-secret`;
export const STACK_ROLE = ROLE_ARN;

export function allowAll(action: string) {
  return { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] };
}
