// Previous and next on the photo page: the store finds a photo's neighbours with one ListObjectsV2 when the link
// carried a `from` (the gallery's links carry it), and from a bare link with a few more, each counted here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { MAX_NEWER_LISTINGS } from '../../src/photos/neighbours.js';
import { PHOTOS_PER_PAGE } from '../../src/photos/store.js';
import { storeCountingCalls } from '../support/counting-store.js';
import { seedPhotos, seedPhotosAt } from '../support/seed.js';
import { useTestApp } from '../support/test-app.js';

/** Newest first, as the gallery shows them. */
let newestFirst: string[];
const testApp = useTestApp(undefined, async () => {
  newestFirst = (await seedPhotos(testApp.store, PHOTOS_PER_PAGE * 2 + 3)).reverse();
});

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
  it('then it is ignored, as on a bare link: both neighbours are linked', async () => {
    for (const from of ['not-an-id', newestFirst[9]!]) {
      const page = await request(testApp.app)
        .get(`/photos/${newestFirst[5]}?from=${encodeURIComponent(from)}`)
        .expect(200);
      assert.ok(relLink(page.text, 'prev')?.startsWith(`/photos/${newestFirst[4]}`), `from=${from}`);
      assert.equal(relLink(page.text, 'next'), `/photos/${newestFirst[6]}?from=${newestFirst[5]}`);
    }
  });
});

describe('when a photo is opened from a bare link (shared, bookmarked), its photos a minute apart', () => {
  it('then its page links the newer photo too: one more listing among the newest photos, two further back', async () => {
    const { store, calls, close } = storeCountingCalls(testApp);
    try {
      for (const [index, listings] of [
        [0, 2],
        [5, 2],
        [40, 3],
      ] as const) {
        calls.length = 0;
        const { newer, older } = await store.findNeighbours(newestFirst[index]!);
        assert.equal(newer?.id, newestFirst[index - 1], `newer than ${index}`);
        assert.equal(older?.id, newestFirst[index + 1], `older than ${index}`);
        assert.deepEqual(calls, Array(listings).fill('ListObjectsV2'), `the photo ${index} from the newest`);
      }
    } finally {
      close();
    }
    const page = await request(testApp.app).get(`/photos/${newestFirst[40]}`).expect(200);
    const newerHref = relLink(page.text, 'prev');
    assert.ok(newerHref?.startsWith(`/photos/${newestFirst[39]}`), newerHref);
    // The newer photo's page, reached that way, walks on towards the newest.
    const newerPage = await request(testApp.app).get(newerHref!).expect(200);
    assert.ok(relLink(newerPage.text, 'prev')?.startsWith(`/photos/${newestFirst[38]}`));
  });
});

describe('when a photo is opened from a bare link after a burst of uploads a second apart', () => {
  it('then the newer photo is still found, halving the span until a listing holds it', async () => {
    const burst = await seedPhotosAt(
      testApp.store,
      Array.from({ length: PHOTOS_PER_PAGE * 2 }, (_, i) => new Date(Date.UTC(2025, 5, 1, 12) + i * 1_000)),
    );
    const { store, calls, close } = storeCountingCalls(testApp);
    try {
      // Oldest first: the fifth has 43 photos less than a minute newer than it.
      const { newer } = await store.findNeighbours(burst[4]!);
      assert.equal(newer?.id, burst[5]);
      // The older photo's listing; then from the newest, a minute after (43 newer: too many), 30 s (30), 15 s (15).
      assert.deepEqual(calls, Array(5).fill('ListObjectsV2'));
    } finally {
      close();
    }
  });
});

describe('when more photos than a listing holds share the millisecond of the one opened from a bare link', () => {
  it('then the search for its newer photo stops after the bound on listings, and the page still has "Older"', async () => {
    const moment = new Date(Date.UTC(2024, 2, 3, 4, 5, 6, 7));
    // Newest first, as listed: the one before the last has more photos of its millisecond before it than a listing holds.
    const crowd = (await seedPhotosAt(testApp.store, Array(PHOTOS_PER_PAGE + 4).fill(moment))).sort();
    const last = crowd.at(-2)!;
    const { store, calls, close } = storeCountingCalls(testApp);
    try {
      const { newer, older } = await store.findNeighbours(last);
      assert.equal(newer, undefined);
      assert.ok(older, 'the older photo is known');
      assert.deepEqual(calls, Array(1 + MAX_NEWER_LISTINGS).fill('ListObjectsV2'));
    } finally {
      close();
    }
  });
});

// A gallery page's links carry the photo the page starts after as their `from`; the first photo of the page finds
// its newer neighbour there. Deleted meanwhile (by its owner, from another tab), that photo no longer says where
// the newer one is: the page must look for it as a bare link's does, not drop "Newer".
describe('when the photo a link names as its `from` has been deleted since', () => {
  it('then the photo still links its newer photo, found as from a bare link', async () => {
    const start = Date.UTC(2022, 0, 1, 12);
    // Oldest first: C, B, A, D, a minute apart; B is the first photo of a gallery page that starts after A.
    const [, b, a, d] = await seedPhotosAt(
      testApp.store,
      [0, 1, 2, 3].map((minutes) => new Date(start + minutes * 60_000)),
    );
    await testApp.store.deletePhoto((await testApp.store.findPhoto(a!))!);
    const page = await request(testApp.app).get(`/photos/${b}?from=${a}`).expect(200);
    const newerHref = relLink(page.text, 'prev');
    assert.ok(newerHref?.startsWith(`/photos/${d}`), `"Newer" leads to the photo newer than it: ${newerHref}`);
  });
});
