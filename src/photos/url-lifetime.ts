// When presigned image links are signed and how long they live. A link signed anew on each page load is a new
// address, which the browser downloads again: links are signed as of the start of a window of time, so an image
// keeps one link for the whole window and the browser's cache serves it. A link also stops working when the
// credentials that signed it expire, and getSignedUrl neither caps nor warns: the store asks this before signing.
import type { S3Client } from '@aws-sdk/client-s3';

/** Below this remaining lifetime, credentials are refreshed before signing a URL, so the URL can live longer. */
const REFRESH_BEFORE_PRESIGN_MS = 15 * 60_000;
/** IMDS throttles, and keeps serving the same credentials until it rotates them: ask at most this often. */
const MIN_FORCED_REFRESH_INTERVAL_MS = 60_000;

/**
 * Links are signed as of the start of a window this fraction of the configured lifetime: one signed late in its
 * window has lost up to a third of that lifetime, and still lives the other two thirds (what a page needs).
 */
const WINDOWS_PER_LIFETIME = 3;

/** What getSignedUrl is given: the moment the link is signed as of, and how many seconds it lives from then. */
export interface UrlValidity {
  signingDate: Date;
  expiresIn: number;
}

/**
 * Returns, for the next URLs to sign, their validity (see urlValidityAt), with the credentials refreshed first
 * when little is left of them.
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
    return urlValidityAt(now(), configuredSeconds, credentials.expiration?.getTime() ?? Infinity);
  };
}

/**
 * Signed as of the start of the current window, for the configured lifetime, but never past the credentials'
 * expiry: the same link all window long. Signed as of now instead when the windowed link would die before the
 * page can use it (credentials about to expire, or already expired and still used by the SDK for a while).
 */
export function urlValidityAt(nowMs: number, configuredSeconds: number, credentialsExpireAtMs: number): UrlValidity {
  const windowMs = Math.floor(configuredSeconds / WINDOWS_PER_LIFETIME) * 1000;
  const windowStart = Math.floor(nowMs / windowMs) * windowMs;
  const expiresIn = Math.min(configuredSeconds, Math.floor((credentialsExpireAtMs - windowStart) / 1000));
  const leftMs = windowStart + expiresIn * 1000 - nowMs;
  // The credentials may end sooner than the minimum; the signature counts whole seconds, so one may be lost.
  const neededMs = Math.max(1000, Math.min(configuredSeconds * 1000 - windowMs, credentialsExpireAtMs - nowMs - 1000));
  if (leftMs >= neededMs) return { signingDate: new Date(windowStart), expiresIn };
  return { signingDate: new Date(nowMs), expiresIn: capUrlLifetime(configuredSeconds, credentialsExpireAtMs - nowMs) };
}

export function capUrlLifetime(configuredSeconds: number, credentialsRemainingMs: number): number {
  return Math.max(1, Math.min(configuredSeconds, Math.floor(credentialsRemainingMs / 1000)));
}
