// Per-client limits on the expensive and destructive requests, so one client cannot fill the bucket or
// empty it. Counts are kept in this process: with several instances, each counts on its own.
import { rateLimit } from 'express-rate-limit';
import type { RequestHandler } from 'express';
import { HttpError } from './errors.js';

const HOUR_MS = 3600_000;

function limitPerHour(limit: number, what: string): RequestHandler {
  return rateLimit({
    windowMs: HOUR_MS,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, res, next) => {
      const retryAfterMinutes = Math.ceil(Number(res.getHeader('Retry-After') ?? 3600) / 60);
      next(new HttpError(429, 'Too many requests', `This address has made more than ${limit} ${what} within an hour.`, `Wait about ${retryAfterMinutes} minutes and try again.`));
    },
  });
}

export function createRateLimits({ uploadsPerHour, deletesPerHour }: { uploadsPerHour: number; deletesPerHour: number }) {
  return {
    uploads: limitPerHour(uploadsPerHour, 'uploads'),
    deletes: limitPerHour(deletesPerHour, 'deletions'),
  };
}
