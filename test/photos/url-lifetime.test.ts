// Presigned image links against an injected clock: the same link for a whole signing window (so the browser's
// cache serves it), a new one after, never past the credentials' expiry, never one that dies before the page is used.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { createLogger } from '../../src/logging.js';
import { imageTypeByExtension } from '../../src/photos/image-type.js';
import { newPhotoId } from '../../src/photos/photo-id.js';
import { createPhotoStore, type PhotoRecord } from '../../src/photos/store.js';
import { createUrlValidityPolicy } from '../../src/photos/url-lifetime.js';

const CONFIGURED_SECONDS = 900;
/** What a page needs of its links: two thirds of the configured lifetime (a window is the other third). */
const MINIMUM_MS = 600_000;
const WINDOW_MS = 300_000;
/** A window boundary: a whole multiple of 5 minutes since the epoch. */
const T0 = Date.parse('2026-12-05T12:00:00Z');

const record: PhotoRecord = {
  id: newPhotoId(new Date(T0 - 86_400_000)),
  caption: '',
  uploadedAt: new Date(T0 - 86_400_000),
  width: 300,
  height: 400,
  frames: 1,
  originalBytes: 1,
  originalType: imageTypeByExtension('jpg')!,
  fullSizeExtension: 'jpg',
  ownerTag: '',
  variants: [],
  fileName: undefined,
};

/** A store whose links are signed by the real SDK, as of an injected clock, with credentials that expire at `expiration`. */
function storeWithClock(expiration?: Date) {
  const clock = { now: T0 };
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: async () => ({ accessKeyId: 'ASIATESTKEY000000001', secretAccessKey: 'test-secret', sessionToken: 'token', expiration }),
  });
  const store = createPhotoStore(s3, {
    bucket: 'photos',
    keyPrefix: '',
    timeoutMs: 5_000,
    urlValidity: createUrlValidityPolicy(s3, CONFIGURED_SECONDS, () => clock.now),
    logger: createLogger('silent'),
  });
  /** The photo page's three links, signed at `at`. */
  async function linksAt(at: number): Promise<string[]> {
    clock.now = at;
    return Object.values(await store.presignPhotoUrls(record));
  }
  return { linksAt };
}

/** When a presigned link stops working: X-Amz-Date plus X-Amz-Expires. */
function expiryOf(link: string): number {
  const query = new URL(link).searchParams;
  const [, y, mo, d, h, mi, s] = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(query.get('X-Amz-Date') ?? '')!;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + Number(query.get('X-Amz-Expires')) * 1000;
}

describe('presigned image links against a clock', () => {
  it('when a page is loaded twice within one signing window, then its links are the same, so the browser reuses its images', async () => {
    const { linksAt } = storeWithClock();
    assert.deepEqual(await linksAt(T0 + 1_000), await linksAt(T0 + WINDOW_MS - 1));
  });

  it('when the next window has begun, then the links are new', async () => {
    const { linksAt } = storeWithClock();
    const before = await linksAt(T0 + WINDOW_MS - 1);
    const after = await linksAt(T0 + WINDOW_MS);
    assert.notDeepEqual(after, before);
    assert.equal(new URL(after[0]!).searchParams.get('X-Amz-Date'), '20261205T120500Z');
  });

  it('when a page is loaded at any moment, then each link lives at least the minimum and never past the configured lifetime', async () => {
    const { linksAt } = storeWithClock();
    for (let at = T0; at < T0 + 3 * WINDOW_MS; at += 23_003) {
      for (const link of await linksAt(at)) {
        const left = expiryOf(link) - at;
        assert.ok(left >= MINIMUM_MS && left <= CONFIGURED_SECONDS * 1000, `at +${(at - T0) / 1000} s, a link lives ${left / 1000} s`);
      }
    }
  });

  it('when the credentials expire sooner than the configured lifetime, then no link outlives them, and links still repeat within a window', async () => {
    const expiration = new Date(T0 + 400_500);
    const { linksAt } = storeWithClock(expiration);
    const first = await linksAt(T0 + 2_000);
    assert.deepEqual(await linksAt(T0 + 250_000), first);
    for (const link of first) {
      assert.ok(expiryOf(link) <= expiration.getTime(), 'not past the credentials');
      assert.ok(expiryOf(link) > expiration.getTime() - 1_000, 'as long as the credentials allow, to the second');
    }
  });

  it('when the credentials expire at any moment, then a link ends with them or lives the minimum, and is never already dead', async () => {
    for (let expiresAt = T0 + 1_500; expiresAt < T0 + 2 * CONFIGURED_SECONDS * 1000; expiresAt += 97_007) {
      const { linksAt } = storeWithClock(new Date(expiresAt));
      for (let at = T0; at < Math.min(T0 + WINDOW_MS, expiresAt - 1_000); at += 29_017) {
        for (const link of await linksAt(at)) {
          const where = `signed at +${(at - T0) / 1000} s, credentials expiring at +${(expiresAt - T0) / 1000} s`;
          assert.ok(expiryOf(link) <= expiresAt, `${where}: not past the credentials`);
          const left = expiryOf(link) - at;
          assert.ok(left >= Math.min(MINIMUM_MS, expiresAt - at - 1_000) && left > 0, `${where}: lives ${left / 1000} s`);
        }
      }
    }
  });

  it('when the credentials have already expired (the SDK keeps using them a little), then the link is not one that is already dead', async () => {
    const { linksAt } = storeWithClock(new Date(T0 + 100_000));
    for (const link of await linksAt(T0 + 250_000)) assert.ok(expiryOf(link) > T0 + 250_000);
  });
});
