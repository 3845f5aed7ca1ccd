// Per-client limits on the requests that cost S3 calls or storage, so one client cannot fill the bucket,
// empty it, or run up its bill. Uploads and deletions count only when they carry the browser's form token, so a
// forged POST from another site cannot use up its victim's allowance. Clients are told apart by clientKey (behind a
// proxy, the address the proxy saw: see TRUST_PROXY). Counts are kept in this process: with several instances, each counts on its own.
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { TooManyRequests } from '../errors.js';
import { formTokenWasAccepted } from './browser-session.js';
import { clientKey } from './client-key.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export interface RateLimitSettings {
  uploadsPerHour: number;
  deletesPerHour: number;
  pageViewsPerMinute: number;
}

export interface RateLimits {
  uploads: RequestHandler;
  deletes: RequestHandler;
  /** Caption edits: as many as deletions (DELETES_PER_HOUR), counted apart. */
  captionEdits: RequestHandler;
  /** Pages that read from S3 (gallery, photo, delete confirmation). */
  pageViews: RequestHandler;
}

function limitPer(windowMs: number, limit: number, what: string, { onlyWithFormToken = false } = {}): RequestHandler {
  return rateLimit({
    windowMs,
    limit,
    keyGenerator: clientKey,
    // Counted when it arrives, given back when it ends without having carried its browser's form token.
    ...(onlyWithFormToken ? { skipFailedRequests: true, requestWasSuccessful: (_req, res) => formTokenWasAccepted(res) } : {}),
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, res, next) => next(new TooManyRequests(what, Number(res.getHeader('Retry-After') ?? windowMs / 1000))),
  });
}

export function createRateLimits({ uploadsPerHour, deletesPerHour, pageViewsPerMinute }: RateLimitSettings): RateLimits {
  return {
    uploads: limitPer(HOUR_MS, uploadsPerHour, 'uploads', { onlyWithFormToken: true }),
    deletes: limitPer(HOUR_MS, deletesPerHour, 'deletions', { onlyWithFormToken: true }),
    captionEdits: limitPer(HOUR_MS, deletesPerHour, 'caption edits', { onlyWithFormToken: true }),
    pageViews: limitPer(MINUTE_MS, pageViewsPerMinute, 'page views'),
  };
}
