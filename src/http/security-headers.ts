// Security headers (helmet) with a strict Content-Security-Policy: scripts and styles only from the
// app's own files, images only from the app and the bucket's endpoint, no framing.
import helmet from 'helmet';
import type { RequestHandler } from 'express';
import type { Config } from '../config.js';

/** Where presigned image URLs point: the S3 endpoint the SDK signs for, virtual-hosted or path-style. */
function imageOrigins(config: Pick<Config, 'bucket' | 'region' | 'endpointUrl'>): string[] {
  if (config.endpointUrl) return [new URL(config.endpointUrl).origin];
  return [`https://${config.bucket}.s3.${config.region}.amazonaws.com`, `https://s3.${config.region}.amazonaws.com`];
}

export function securityHeaders(config: Pick<Config, 'bucket' | 'region' | 'endpointUrl'>): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", ...imageOrigins(config)],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
        // No upgrade-insecure-requests: the demo and the local emulator are plain HTTP.
      },
    },
    // Presigned image URLs are on another origin; sending them our page address would leak photo ids.
    referrerPolicy: { policy: 'same-origin' },
  });
}
