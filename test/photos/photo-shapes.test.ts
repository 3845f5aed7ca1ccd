// What showing the gallery costs in S3 calls: one listing per page, and one record lookup per photo only the
// first time a process shows it; and the memory of shapes stays within its bound.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { EMULATOR_KEY_PAIR } from '../../scripts/emulators/s3.js';
import { rememberedShapes } from '../../src/photos/photo-shapes.js';
import { createPhotoStore } from '../../src/photos/store.js';
import { createUrlValidityPolicy } from '../../src/photos/url-lifetime.js';
import { seedPhotos } from '../support/seed.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
before(async () => {
  testApp = await startTestApp();
});
after(() => testApp.close());

/** A second app process's store (nothing remembered yet), with every S3 command it sends noted by name. */
function freshStoreCountingCalls() {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: testApp.emulator.endpoint,
    forcePathStyle: true,
    credentials: EMULATOR_KEY_PAIR,
  });
  const calls: string[] = [];
  s3.middlewareStack.add(
    (next, context) => (args) => {
      calls.push((context.commandName as string).replace(/Command$/, ''));
      return next(args);
    },
    // Presigning a link runs the stack up to signing only: a command counts once it is sent.
    { step: 'deserialize' },
  );
  const store = createPhotoStore(s3, {
    bucket: testApp.config.bucket,
    keyPrefix: testApp.config.keyPrefix,
    timeoutMs: 10_000,
    urlValidity: createUrlValidityPolicy(s3, 900),
  });
  return { store, calls, close: () => s3.destroy() };
}

describe('when a process shows a gallery page of photos it has not shown before', () => {
  it("then it lists once and reads each photo's record once; the next view of the page only lists", async () => {
    const seeded = await seedPhotos(testApp.store, 3);
    const { store, calls, close } = freshStoreCountingCalls();
    try {
      const first = await store.listPhotoPage(undefined);
      assert.deepEqual(
        first.photos.map((photo) => [photo.id, photo.width, photo.height, photo.animated]),
        [...seeded].reverse().map((id) => [id, 300, 400, false]),
      );
      assert.deepEqual(calls.sort(), ['HeadObject', 'HeadObject', 'HeadObject', 'ListObjectsV2']);

      calls.length = 0;
      await store.listPhotoPage(undefined);
      assert.deepEqual(calls, ['ListObjectsV2']);
    } finally {
      close();
    }
  });
});

describe('when more shapes are remembered than the bound', () => {
  it('then the least recently used one is forgotten', () => {
    const shapes = rememberedShapes(2);
    shapes.remember('a', { width: 4, height: 3, frames: 1, variants: [] });
    shapes.remember('b', { width: 3, height: 4, frames: 2, variants: ['thumbnail-2x'] });
    assert.deepEqual(shapes.recall('a'), { width: 4, height: 3, animated: false, largeThumbnail: false });
    shapes.remember('c', { width: 1, height: 1, frames: 1, variants: [] });
    assert.equal(shapes.recall('b'), undefined, 'b was used least recently');
    assert.deepEqual(shapes.recall('a'), { width: 4, height: 3, animated: false, largeThumbnail: false });
    assert.deepEqual(shapes.recall('c'), { width: 1, height: 1, animated: false, largeThumbnail: false });
  });
});
