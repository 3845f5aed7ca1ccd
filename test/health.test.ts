// Liveness, readiness and storage outages: with S3 gone the app answers 503 quickly, stores nothing,
// and recovers by itself when S3 is back.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import request from 'supertest';
import { fixture, startTestApp, useTestApp } from './support/test-app.js';
import { openBrowser } from './support/browser.js';

const testApp = useTestApp();

describe('when S3 is reachable', () => {
  it('then /healthz and /readyz answer 200 JSON', async () => {
    assert.deepEqual((await request(testApp.app).get('/healthz').expect(200)).body, { status: 'ok' });
    assert.equal((await request(testApp.app).get('/readyz').expect(200)).body.status, 'ready');
  });
});

describe('when S3 goes away and comes back', () => {
  it('then pages and uploads get a clear 503, readiness says why, and all recovers without a restart', async () => {
    // A visitor opened the gallery while S3 was up, and submits the form after it went away.
    const browser = await openBrowser(testApp.app);
    await testApp.stopS3();

    const started = Date.now();
    const readiness = await request(testApp.app).get('/readyz').expect(503);
    assert.equal(readiness.body.status, 'not ready');
    assert.match(readiness.body.reason, /ECONNREFUSED|connect/i);
    assert.equal(readiness.headers['content-type']?.startsWith('application/json'), true);

    const gallery = await request(testApp.app).get('/').expect(503);
    assert.match(gallery.text, /Storage unavailable/);
    assert.equal(gallery.headers['retry-after'], '30');

    await browser
      .upload()
      .attach('photos', await fixture('landscape.jpg'), 'a.jpg')
      .expect(503);
    assert.deepEqual(await readdir(testApp.tempDir).catch(() => []), [], 'no temporary file left');
    assert.ok(Date.now() - started < 10_000, 'answers come quickly, not after long hangs');

    // Same folder, same port: the app's S3 client reconnects on its own.
    await testApp.restartS3();
    await request(testApp.app).get('/readyz').expect(200);
    await browser
      .upload()
      .attach('photos', await fixture('landscape.jpg'), 'a.jpg')
      .expect(303);
    assert.deepEqual(
      (await testApp.listAllKeys()).map((key) => key.split('/').at(-2)).sort(),
      ['display', 'full', 'originals', 'thumbnail-2x', 'thumbnails'],
      'the upload after recovery is whole: thumbnail and its 2× copy (480 px high), display, full size, original',
    );
  });
});

describe('when one client floods /readyz and /about', () => {
  it('then probes that arrive together share one S3 call, and past the per-client page limit they get 429 without one', async () => {
    const limited = await startTestApp({ env: { PAGE_VIEWS_PER_MINUTE: '30' } });
    const listings: string[] = [];
    limited.s3.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'ListObjectsV2Command') listings.push(context.commandName);
        return next(args);
      },
      { step: 'initialize', name: 'countListingsForTest' },
    );
    try {
      const together = await Promise.all(Array.from({ length: 20 }, () => request(limited.app).get('/readyz')));
      assert.deepEqual(new Set(together.map((response) => response.status)), new Set([200]));
      assert.ok(listings.length <= 2, `${listings.length} S3 listings for 20 probes at once`);

      const statuses: number[] = [];
      for (let index = 0; index < 12; index++) statuses.push((await request(limited.app).get('/about')).status);
      assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200));
      assert.deepEqual(statuses.slice(10), [429, 429], '30 a minute, /readyz and /about counted together');
      const listingsBefore = listings.length;
      assert.equal((await request(limited.app).get('/readyz')).status, 429);
      assert.equal(listings.length, listingsBefore, 'a refused probe asks S3 nothing');
    } finally {
      await limited.close();
    }
  });
});
