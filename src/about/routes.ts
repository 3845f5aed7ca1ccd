// /about, "How this app gets its credentials": what the default chain found, when it expires, and who AWS
// says the app is. Shows masked key ids only: never a secret, a session token or a full key.
import type { S3Client } from '@aws-sdk/client-s3';
import { Router } from 'express';
import type { Config } from '../config.js';
import type { RateLimits } from '../http/rate-limits.js';
import {
  CREDENTIAL_CHAIN,
  CREDENTIAL_SOURCE_LABELS,
  describeStorageFailure,
  summarizeCredentials,
  type CredentialChainTrace,
} from '../storage/credentials.js';
import { assumedRoleSession, type CallerIdentity } from './identity.js';
import type { InstanceProfile } from './instance-profile.js';

export interface AboutDeps {
  config: Config;
  /** /about asks S3, STS and IMDS: it is limited per client like the pages that read S3. */
  rateLimits: Pick<RateLimits, 'pageViews'>;
  s3: S3Client;
  credentialTrace: CredentialChainTrace;
  lookUpCallerIdentity: () => Promise<CallerIdentity>;
  /** Asked only when the credentials came from IMDS (see compose.ts). */
  lookUpInstanceProfile: () => Promise<InstanceProfile>;
}

export function createAboutRoutes({
  config,
  rateLimits,
  s3,
  credentialTrace,
  lookUpCallerIdentity,
  lookUpInstanceProfile,
}: AboutDeps): Router {
  const router = Router();

  router.get('/about', rateLimits.pageViews, async function showCredentials(_req, res) {
    const [credentials, identity] = await Promise.all([
      summarizeCredentials(s3, credentialTrace).catch((error: unknown) => ({ failure: describeStorageFailure(error, credentialTrace) })),
      lookUpCallerIdentity(),
    ]);
    const fromImds = 'source' in credentials && credentials.source === 'instance-metadata';
    res.render('about', {
      credentials,
      chain: CREDENTIAL_CHAIN,
      sourceLabels: CREDENTIAL_SOURCE_LABELS,
      instanceProfile: fromImds ? await lookUpInstanceProfile() : undefined,
      identity,
      assumedRole: 'arn' in identity ? assumedRoleSession(identity.arn) : undefined,
      now: new Date(),
      settings: {
        region: config.region,
        bucket: config.bucket,
        keyPrefix: config.keyPrefix,
        endpoint: config.endpointUrl ?? `AWS S3 (${config.region})`,
        imdsEndpoint: config.imdsEndpoint ?? 'http://169.254.169.254 (the link-local address on every EC2 instance)',
        imdsV1FallbackDisabled: config.imdsV1FallbackDisabled,
        presignedUrlTtlSeconds: config.presignedUrlTtlSeconds,
        // Set only where a proxy (a load balancer, nginx) is in front: then more instances may answer in turn.
        behindProxy: config.trustProxyHops > 0,
      },
    });
  });

  return router;
}
