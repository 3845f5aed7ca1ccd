// Previous and next on the photo page: the store finds a photo's neighbours with one ListObjectsV2, the
// older one always and the newer one when the link carried a `from`, and the gallery's links carry it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { PHOTOS_PER_PAGE } from '../../src/photos/store.js';
import { seedPhotos } from '../support/seed.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
/** Newest first, as the gallery shows them. */
let newestFirst: string[];

before(async () => {
  testApp = await startTestApp();
  newestFirst = (await seedPhotos(testApp.store, PHOTOS_PER_PAGE * 2 + 3)).reverse();
});
after(() => testApp.close());

function relLink(html: string, rel: 'prev' | 'next'): string | undefined {
  return new RegExp(`<a href="([^"]+)" rel="${rel}"`).exec(html)?.[1]?.replaceAll('&amp;', '&');
}

describe('when a photo is opened from the first gallery page', () => {
  it('then its page links the newer and the older photo, and walking "Older" then "Newer" comes back', async () => {
    const gallery = await request(testApp.app).get('/').expect(200);
    const third = newestFirst[2]!;
    const href = new RegExp(`href="(/photos/${third}[^"]*)"`).exec(gallery.text)?.[1]?.replaceAll('&amp;', '&');
    assert.equal(href, `/photos/${third}?from=${newestFirst[0]}`);

    const page = await request(testApp.app).get(href!).expect(200);
    assert.equal(relLink(page.text, 'prev'), `/photos/${newestFirst[1]}?from=${newestFirst[0]}`);
    assert.equal(relLink(page.text, 'next'), `/photos/${newestFirst[3]}?from=${newestFirst[0]}`);

    const older = await request(testApp.app).get(relLink(page.text, 'next')!).expect(200);
    assert.equal(relLink(older.text, 'prev'), `/photos/${third}?from=${newestFirst[0]}`);
  });

  it('then the newest photo has no "Newer" link', async () => {
    const page = await request(testApp.app).get(`/photos/${newestFirst[0]}`).expect(200);
    assert.equal(relLink(page.text, 'prev'), undefined);
    assert.equal(relLink(page.text, 'next'), `/photos/${newestFirst[1]}?from=${newestFirst[0]}`);
  });
});

describe('when the visitor walks "Older" further than a gallery page', () => {
  it('then each page links the next older photo, and "Newer" walks back at least a gallery page of them', async () => {
    const walked = PHOTOS_PER_PAGE + 6;
    let href = `/photos/${newestFirst[0]}`;
    for (let i = 0; i < walked; i++) {
      assert.ok(href.startsWith(`/photos/${newestFirst[i]}`), `step ${i}: ${href}`);
      href = relLink((await request(testApp.app).get(href).expect(200)).text, 'next')!;
    }
    // Each link's `from` stays a gallery page behind the photo, so "Newer" can go that far back.
    for (let i = walked - 1; i >= walked - PHOTOS_PER_PAGE; i--) {
      const page = await request(testApp.app).get(href).expect(200);
      href = relLink(page.text, 'prev')!;
      assert.ok(href?.startsWith(`/photos/${newestFirst[i]}`), `back to ${i}: ${href}`);
    }
  });

  it('then the store finds both neighbours of a photo twenty places after the `from` of its link', async () => {
    const { newer, older } = await testApp.store.findNeighbours(newestFirst[30]!, newestFirst[10]);
    assert.deepEqual(newer, { id: newestFirst[29], from: newestFirst[10] });
    assert.deepEqual(older, { id: newestFirst[31], from: newestFirst[10] });
  });
});

describe('when a link carries a `from` that is not a newer photo id', () => {
  it('then it is ignored and only the older photo is linked', async () => {
    for (const from of ['not-an-id', newestFirst[9]!]) {
      const page = await request(testApp.app)
        .get(`/photos/${newestFirst[5]}?from=${encodeURIComponent(from)}`)
        .expect(200);
      assert.equal(relLink(page.text, 'prev'), undefined, `from=${from}`);
      assert.equal(relLink(page.text, 'next'), `/photos/${newestFirst[6]}?from=${newestFirst[5]}`);
    }
  });
});
