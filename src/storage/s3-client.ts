// Builds the app's one S3 client. Credentials come only from the SDK's default provider chain:
// on EC2 that is the instance role, served by the instance metadata service (IMDSv2).
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Logger as SdkLogger } from '@smithy/types';
import type { Config } from '../config.js';

/** Attempts at each S3 request, the first included (the SDK's default, said once for the store's own retries). */
export const S3_MAX_ATTEMPTS = 3;

/** `sdkLogger` receives the SDK's own log, including the credential chain's trace (see credentials.ts). */
export function createS3Client(config: Pick<Config, 'region' | 'endpointUrl' | 's3TimeoutSeconds'>, sdkLogger?: SdkLogger): S3Client {
  const usesEmulator = config.endpointUrl !== undefined;
  return new S3Client({
    region: config.region,
    logger: sdkLogger,
    endpoint: config.endpointUrl,
    // Emulators and MinIO serve buckets as paths (/bucket/key), not as host names.
    forcePathStyle: usesEmulator,
    // Emulators reject the CRC32 checksums and aws-chunked bodies the SDK sends by default; AWS keeps the defaults.
    ...(usesEmulator && {
      requestChecksumCalculation: 'WHEN_REQUIRED' as const,
      responseChecksumValidation: 'WHEN_REQUIRED' as const,
    }),
    // Without timeouts a storage outage would hang requests instead of answering 503. The request
    // timeout is for a stalled socket (no bytes moving), so large uploads are not cut short by it.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, socketTimeout: config.s3TimeoutSeconds * 1000 }),
    maxAttempts: S3_MAX_ATTEMPTS,
  });
}
