// "Who am I?": STS GetCallerIdentity with the app's own credentials shows the account and the assumed
// role's ARN, which is the proof that the instance role (and nothing else) is in use.
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../config.js';

export type CallerIdentity = { account: string; arn: string } | { unavailable: string };

export function createIdentityLookup(config: Pick<Config, 'region' | 'endpointUrl'>, s3: S3Client) {
  // Against an emulator there is no STS to ask; real STS would be a network call to AWS.
  if (config.endpointUrl) {
    return async (): Promise<CallerIdentity> => ({ unavailable: 'not available against a local S3 endpoint (there is no STS to ask)' });
  }
  // The S3 client's credential provider is shared, not a second default chain: one set of IMDS calls.
  const sts = new STSClient({
    region: config.region,
    credentials: s3.config.credentials,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, socketTimeout: 3_000 }),
    maxAttempts: 1,
  });
  return async function lookUpCallerIdentity(): Promise<CallerIdentity> {
    try {
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      return { account: identity.Account ?? '?', arn: identity.Arn ?? '?' };
    } catch (error) {
      return { unavailable: `STS did not answer (${(error as Error).name})` };
    }
  };
}

/**
 * The role and session named in an assumed-role ARN (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
 * For an instance role the session name is the instance id: every request in CloudTrail names the
 * instance that made it, which long-term keys never tell.
 */
export function assumedRoleSession(arn: string): { roleName: string; sessionName: string } | undefined {
  const match = /^arn:aws[\w-]*:sts::\d{12}:assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  return match ? { roleName: match[1]!, sessionName: match[2]! } : undefined;
}
