// What showing the gallery costs in S3 calls: one listing per page, and one record lookup per photo only the
// first time a process shows it; and the memory of shapes stays within its bound.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CAPTION_LIFETIME_MS, rememberedShapes } from '../../src/photos/photo-shapes.js';
import { storeCountingCalls } from '../support/counting-store.js';
import { seedPhotos } from '../support/seed.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
before(async () => {
  testApp = await startTestApp();
});
after(() => testApp.close());

describe('when a process shows a gallery page of photos it has not shown before', () => {
  it("then it lists once and reads each photo's record once; the next view of the page only lists", async () => {
    const seeded = await seedPhotos(testApp.store, 3);
    const { store, calls, close } = storeCountingCalls(testApp);
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
    shapes.remember('a', { width: 4, height: 3, frames: 1, caption: 'A', variants: [] });
    shapes.remember('b', { width: 3, height: 4, frames: 2, caption: '', variants: ['thumbnail-2x'] });
    assert.deepEqual(shapes.recall('a'), { width: 4, height: 3, animated: false, caption: 'A', largeThumbnail: false });
    shapes.remember('c', { width: 1, height: 1, frames: 1, caption: 'C', variants: ['thumbnail-2x'] });
    assert.equal(shapes.recall('b'), undefined, 'b was used least recently');
    assert.deepEqual(shapes.recall('a'), { width: 4, height: 3, animated: false, caption: 'A', largeThumbnail: false });
    assert.deepEqual(shapes.recall('c'), { width: 1, height: 1, animated: false, caption: 'C', largeThumbnail: true });
  });
});

describe('when a remembered caption is as old as its lifetime', () => {
  it('then it is not recalled, so the record (its caption maybe edited through another instance) is read again', () => {
    let time = 1_000_000;
    const shapes = rememberedShapes(10, () => time);
    shapes.remember('a', { width: 4, height: 3, frames: 1, caption: 'Before', variants: [] });
    time += CAPTION_LIFETIME_MS - 1;
    assert.deepEqual(shapes.recall('a'), { width: 4, height: 3, animated: false, caption: 'Before', largeThumbnail: false });
    time += 1;
    assert.equal(shapes.recall('a'), undefined);
  });

  it('then an edit in this process is seen at once: the photo is forgotten', () => {
    const shapes = rememberedShapes(10, () => 0);
    shapes.remember('a', { width: 4, height: 3, frames: 1, caption: 'Before', variants: [] });
    shapes.forget('a');
    assert.equal(shapes.recall('a'), undefined);
  });
});
