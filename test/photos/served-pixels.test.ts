// "Only pixels are served": uploads that hide a location where metadata parsers do not look, and the
// bytes the app then serves, checked for the planted values and for any container that is not pixels.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import { ATTACKS, findLeaks, MESSAGE_DELAYS, MESSAGE_LOOP, messageInDelays } from '../support/metadata-attacks.js';
import { imageSources } from '../../scripts/support/html.js';
import { download, fullSizeUrl, servedImageUrls } from '../support/pages.js';
import { openBrowser } from '../support/browser.js';
import { fixture, useTestApp } from '../support/test-app.js';

const testApp = useTestApp({ env: { UPLOADS_PER_HOUR: '1000' } });

async function uploadBytes(bytes: Buffer, filename: string): Promise<string> {
  const response = await (await openBrowser(testApp.app)).upload().set('Accept', 'application/json').attach('photos', bytes, filename);
  assert.equal(response.status, 201, `upload of ${filename}: ${JSON.stringify(response.body)}`);
  return response.body.photos[0].id;
}

describe('when an upload hides a location outside where metadata parsers look', () => {
  for (const attack of ATTACKS) {
    it(`then ${attack.name}: no image served carries it`, async () => {
      const planted = await attack.make();
      assert.notDeepEqual(findLeaks(planted), [], 'the attack file does carry the planted location (the check can see it)');

      const id = await uploadBytes(planted, attack.filename);
      const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
      const gallery = await request(testApp.app).get('/').expect(200);
      const thumbnailUrl = imageSources(gallery.text).find((url) => url.includes(id));
      assert.ok(thumbnailUrl, 'the gallery shows the photo');
      for (const url of [thumbnailUrl, ...(await servedImageUrls(testApp.app, page.text))]) {
        const served = await download(url);
        assert.deepEqual(findLeaks(served), [], `${new URL(url).pathname} is pixels only`);
        await sharp(served).metadata(); // and still an image
      }
      assert.ok(!page.text.includes('/originals/'), 'the upload itself is never linked');
    });
  }
});

describe('when a camera JPEG is uploaded', () => {
  it('then its full-size image has exactly the pixels of the upload (rebuilt, not re-encoded)', async () => {
    for (const name of ['landscape.jpg', 'phone-gps-rotated.jpg']) {
      const original = await fixture(name);
      const id = await uploadBytes(original, name);
      const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
      const fullSize = await download(await fullSizeUrl(testApp.app, page.text));
      const [before, after] = await Promise.all([sharp(original).raw().toBuffer(), sharp(fullSize).raw().toBuffer()]);
      assert.ok(before.equals(after), `${name}: the decoded pixels are identical`);
      assert.equal(
        (await sharp(fullSize).metadata()).orientation ?? 1,
        (await sharp(original).metadata()).orientation ?? 1,
        `${name}: orientation kept`,
      );
    }
  });

  it('then an arithmetic-coded JPEG (free-form coding tables, and no browser shows it) is refused with 415, saying why', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#36c' } })
      .jpeg()
      .toBuffer();
    const frame = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    const arithmetic = Buffer.from(jpeg);
    arithmetic[frame + 1] = 0xc9; // SOF9: the same frame, arithmetic-coded
    const before = await testApp.listAllKeys();
    const response = await (await openBrowser(testApp.app)).upload().attach('photos', arithmetic, 'arith.jpg');
    assert.equal(response.status, 415);
    assert.match(response.text, /is a JPEG coded in a way browsers do not show/);
    assert.deepEqual(await testApp.listAllKeys(), before);
  });

  it('then a JPEG whose structure cannot be vouched for is refused, not served as uploaded', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#36c' } })
      .jpeg()
      .toBuffer();
    // A hierarchical-process marker (DHP) the rebuild does not know: decoders skip it, the app refuses it.
    const unknown = Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xde, 0x00, 0x04, 0x00, 0x00]), jpeg.subarray(2)]);
    const before = await testApp.listAllKeys();
    const response = await (await openBrowser(testApp.app)).upload().attach('photos', unknown, 'odd.jpg');
    assert.equal(response.status, 415);
    assert.deepEqual(await testApp.listAllKeys(), before);
  });
});

describe('when an animation carries a message in its frame delays and loop count', () => {
  for (const format of ['gif', 'webp'] as const) {
    it(`then the served ${format.toUpperCase()} animates with one delay for every frame and loops forever`, async () => {
      const planted = await messageInDelays(format);
      const uploaded = await sharp(planted, { animated: true }).metadata();
      assert.equal(uploaded.pages, MESSAGE_DELAYS.length);
      assert.equal(uploaded.loop, MESSAGE_LOOP);

      const id = await uploadBytes(planted, `message.${format}`);
      const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
      const served = await sharp(await download(await fullSizeUrl(testApp.app, page.text)), { animated: true }).metadata();
      assert.equal(served.pages, MESSAGE_DELAYS.length, 'still animated, every frame kept');
      assert.equal(new Set(served.delay).size, 1, `one delay for all frames, got ${served.delay}`);
      assert.equal(served.loop, 0);
    });
  }
});
