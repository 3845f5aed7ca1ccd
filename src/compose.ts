// The composition root: builds every part of the app from a validated config, once. server.ts, the dev
// script and the tests all wire the app here, so they run what production runs.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createIdentityLookup } from './about/identity.js';
import { createInstanceProfileLookup } from './about/instance-profile.js';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { shareAnswer } from './concurrency.js';
import { createBrowserSession } from './http/browser-session.js';
import { createRateLimits } from './http/rate-limits.js';
import { processImage as makeImages, type ProcessImage } from './photos/image-processing.js';
import { createOrphanSweep } from './photos/orphan-sweep.js';
import { createPhotoStore } from './photos/store.js';
import { createUploadBudget } from './photos/upload-budget.js';
import { createUploadReceiver } from './photos/upload/receiver.js';
import { createUrlValidityPolicy } from './photos/url-lifetime.js';
import { traceCredentialChain } from './storage/credentials.js';
import { createS3Client } from './storage/s3-client.js';

export interface ComposeOptions {
  logger: Logger;
  /** Replaces image processing (the benchmark measures the upload path without it). */
  processImage?: ProcessImage;
  /** The clock image links are signed by (a browser test sets it, so that its visits fall in one signing window). */
  now?: () => number;
}

export function composeApp(config: Config, { logger, processImage = makeImages, now = Date.now }: ComposeOptions) {
  const credentialTrace = traceCredentialChain(logger);
  // Created once and reused: every client has its own credential cache, and IMDS throttles.
  const s3 = createS3Client(config, credentialTrace.sdkLogger);
  const store = createPhotoStore(s3, {
    bucket: config.bucket,
    keyPrefix: config.keyPrefix,
    timeoutMs: config.s3TimeoutSeconds * 1000,
    urlValidity: createUrlValidityPolicy(s3, config.presignedUrlTtlSeconds, now),
    logger,
  });
  if (!config.csrfSecret)
    logger.info(
      'CSRF_SECRET is not set: form tokens are signed with a random secret for this process (set it when running several instances)',
    );
  const session = createBrowserSession({ csrfSecret: config.csrfSecret ?? randomBytes(32).toString('hex') });
  const uploadBudget = createUploadBudget({
    perClientBytes: config.uploadBytesInProgressPerClient,
    totalBytes: config.uploadBytesInProgressTotal,
  });
  const uploads = createUploadReceiver({
    store,
    limits: config,
    budget: uploadBudget,
    tempDir: config.uploadTempDir,
    logger,
    processImage,
    checkFormToken: session.requireFormToken,
    ownerTag: session.ownerTag,
  });
  const orphanSweep = createOrphanSweep({
    store,
    tempDir: config.uploadTempDir,
    logger,
    minAgeMs: config.orphanMinAgeSeconds * 1000,
    intervalMs: config.orphanSweepIntervalSeconds * 1000,
  });
  const app = createApp({
    config,
    logger,
    store,
    uploads,
    session,
    rateLimits: createRateLimits(config),
    s3,
    credentialTrace,
    // Who the app is and which instance answers change rarely: a flood of /about costs STS and IMDS one call a minute.
    lookUpCallerIdentity: shareAnswer(createIdentityLookup(config, s3), { keepMs: ABOUT_LOOKUP_KEEP_MS, keep: isKnown }),
    lookUpInstanceProfile: shareAnswer(createInstanceProfileLookup(config.imdsEndpoint), { keepMs: ABOUT_LOOKUP_KEEP_MS, keep: isKnown }),
  });
  return { app, s3, store, uploads, uploadBudget, orphanSweep, credentialTrace };
}

const ABOUT_LOOKUP_KEEP_MS = 60_000;

/** An answer worth keeping: a look-up that failed says `unavailable`, and is asked again next time. */
function isKnown(answer: object): boolean {
  return !('unavailable' in answer);
}
