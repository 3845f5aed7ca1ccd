// Liveness and readiness for load balancers and the deploy script: /healthz says the process answers,
// /readyz says the bucket is reachable with the app's credentials, or why not (the SDK's messages name
// the cause without secrets).
import { type RequestHandler, Router } from 'express';
import { shareAnswer } from '../concurrency.js';
import type { PhotoStore } from '../photos/store.js';
import { describeStorageFailure, type CredentialChainTrace } from '../storage/credentials.js';

const READINESS_TIMEOUT_MS = 5_000;

export function createHealthRoutes(
  store: Pick<PhotoStore, 'checkBucket'>,
  credentialTrace: CredentialChainTrace,
  /** /readyz lists the bucket: it is limited per client like the pages that do. */
  rateLimit: RequestHandler,
): Router {
  const router = Router();
  // Probes that arrive while one check runs share its answer: S3 is asked once at a time, however many ask.
  const checkBucket = shareAnswer(() => withTimeout(store.checkBucket(), READINESS_TIMEOUT_MS), { keepMs: 0 });

  router.get('/healthz', function reportAlive(_req, res) {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', rateLimit, async function reportReady(req, res) {
    try {
      await checkBucket();
      res.json({ status: 'ready', bucket: 'reachable' });
    } catch (error) {
      req.log.warn({ err: error }, 'not ready');
      res.status(503).json({ status: 'not ready', reason: describeStorageFailure(error, credentialTrace) });
    }
  });

  return router;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from S3 within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
