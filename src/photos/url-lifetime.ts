// When presigned image links are signed and how long they live. A link stops working when the credentials that
// signed it expire, and getSignedUrl neither caps nor warns: the store asks this before it signs a page's links.
import type { S3Client } from '@aws-sdk/client-s3';

/** Below this remaining lifetime, credentials are refreshed before signing a URL, so the URL can live longer. */
const REFRESH_BEFORE_PRESIGN_MS = 15 * 60_000;
/** IMDS throttles, and keeps serving the same credentials until it rotates them: ask at most this often. */
const MIN_FORCED_REFRESH_INTERVAL_MS = 60_000;

/** What getSignedUrl is given: the moment the link is signed as of, and how many seconds it lives from then. */
export interface UrlValidity {
  signingDate: Date;
  expiresIn: number;
}

/**
 * Returns, for the next URLs to sign, their validity: the configured lifetime capped at what is left of the
 * credentials (refreshing them first when little is left).
 */
export function createUrlValidityPolicy(s3: S3Client, configuredSeconds: number, now: () => number = Date.now) {
  let lastForcedRefresh = -Infinity;
  return async function urlValidity(): Promise<UrlValidity> {
    let credentials = await s3.config.credentials();
    const remaining = () => (credentials.expiration ? credentials.expiration.getTime() - now() : Infinity);
    if (remaining() < REFRESH_BEFORE_PRESIGN_MS && now() - lastForcedRefresh >= MIN_FORCED_REFRESH_INTERVAL_MS) {
      lastForcedRefresh = now();
      credentials = await s3.config.credentials({ forceRefresh: true });
    }
    return { signingDate: new Date(now()), expiresIn: capUrlLifetime(configuredSeconds, remaining()) };
  };
}

export function capUrlLifetime(configuredSeconds: number, credentialsRemainingMs: number): number {
  return Math.max(1, Math.min(configuredSeconds, Math.floor(credentialsRemainingMs / 1000)));
}
