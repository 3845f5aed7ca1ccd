// Wires the app's parts from a validated config: the one place that says which S3 client, store, uploads
// and limits the app runs with. server.ts and the tests both use it.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { createIdentityLookup } from './about/identity.js';
import { createApp } from './app.js';
import { createBrowserSession } from './http/browser-session.js';
import type { Config } from './config.js';
import { createPhotoStore } from './photos/store.js';
import { createUploadReceiver, type UploadReceiverOptions } from './photos/upload.js';
import { createUrlLifetimePolicy, traceCredentialChain } from './storage/credentials.js';
import { createS3Client } from './storage/s3-client.js';

export interface ComposeOptions {
  logger: Logger;
  /** Where uploads are copied while their thumbnails are made. */
  tempDir?: string;
  /** Replaces image processing (the benchmark measures the upload path without it). */
  processImage?: UploadReceiverOptions['processImage'];
}

export function composeApp(config: Config, { logger, tempDir = path.join(os.tmpdir(), 's3-photo-share-uploads'), processImage }: ComposeOptions) {
  const credentialTrace = traceCredentialChain(logger);
  // Created once and reused: every client has its own credential cache, and IMDS throttles.
  const s3 = createS3Client(config, credentialTrace.sdkLogger);
  const store = createPhotoStore(s3, {
    bucket: config.bucket,
    keyPrefix: config.keyPrefix,
    urlLifetimeSeconds: createUrlLifetimePolicy(s3, config.presignedUrlTtlSeconds),
  });
  if (!config.csrfSecret) logger.info('CSRF_SECRET is not set: CSRF tokens are signed with a random secret for this process (set it when running several instances)');
  const session = createBrowserSession({ csrfSecret: config.csrfSecret ?? randomBytes(32).toString('hex') });
  const uploads = createUploadReceiver({ store, logger, tempDir, limits: config, processImage, authorizeUpload: session.requireCsrfToken });
  const app = createApp({
    config,
    store,
    uploads,
    session,
    logger,
    about: { config, s3, credentialTrace, lookUpCallerIdentity: createIdentityLookup(config, s3) },
  });
  return { app, s3, store, uploads, credentialTrace };
}
