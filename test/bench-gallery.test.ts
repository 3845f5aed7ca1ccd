// `npm run bench` seeds its gallery as the app stores photos: the gallery it measures is one the app can show.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { seedGallery } from '../scripts/bench/gallery.js';
import { imageSources, olderPageLink } from '../scripts/support/html.js';
import { PHOTOS_PER_PAGE } from '../src/photos/store.js';
import { useTestApp } from './support/test-app.js';

describe('when the benchmark seeds its gallery', () => {
  const testApp = useTestApp();

  // The bench wrote bare thumbnails; since the gallery reads each record's shape, its first page answered 500
  // ("Photo damaged": no original-type) and `npm run bench` stopped at its second figure on every run.
  it('then the app shows a full first page of the seeded photos, and an Older link', async () => {
    await seedGallery(testApp.store, PHOTOS_PER_PAGE + 1);
    const gallery = await request(testApp.app).get('/');
    assert.equal(gallery.status, 200, gallery.text.slice(0, 300));
    assert.equal(imageSources(gallery.text).length, PHOTOS_PER_PAGE);
    assert.ok(olderPageLink(gallery.text), 'an Older link to the last seeded photo');
  });
});
