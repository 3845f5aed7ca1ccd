// Uploads through real HTTP and real multipart into the real S3 emulator, then reads back what the pages show.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import exifr from 'exifr';
import sharp from 'sharp';
import request from 'supertest';
import { useTestApp, fixture } from '../support/test-app.js';
import { openBrowser } from '../support/browser.js';
import { imageSources } from '../../scripts/support/html.js';
import { download, fullSizeUrl } from '../support/pages.js';

const testApp = useTestApp();

/** Uploads through the form endpoint and returns the new photo's id. */
async function upload(name: string, caption = ''): Promise<string> {
  const response = await (await openBrowser(testApp.app))
    .upload()
    .set('Accept', 'application/json')
    .field('caption', caption)
    .attach('photos', await fixture(name), name)
    .expect(201);
  return response.body.photos[0].id;
}

describe('when a photo is uploaded through the form', () => {
  // The full-size image keeps the upload's format, but AVIF (whose encoder costs too much memory) becomes JPEG.
  // The thumbnail keeps the photo's shape, at most 320 px high, never enlarged.
  for (const [name, format, width, height, fullSizeFormat, thumbnailWidth, thumbnailHeight] of [
    ['landscape.jpg', 'jpeg', 640, 480, 'jpeg', 427, 320],
    ['square.png', 'png', 256, 256, 'png', 256, 256],
    ['portrait.webp', 'webp', 300, 400, 'webp', 240, 320],
    ['tiny.gif', 'gif', 120, 90, 'gif', 120, 90],
    ['small.avif', 'avif', 160, 120, 'jpeg', 160, 120],
  ] as const) {
    it(`then a ${format} appears in the gallery and every image its pages show decodes`, async () => {
      const id = await upload(name);

      const gallery = await request(testApp.app).get('/').expect(200);
      assert.match(gallery.text, new RegExp(`href="/photos/${id}"`));
      const thumbnail = await sharp(await download(imageSources(gallery.text)[0]!)).metadata();
      assert.deepEqual(
        [thumbnail.format, thumbnail.width, thumbnail.height],
        ['webp', thumbnailWidth, thumbnailHeight],
        'the newest thumbnail decodes',
      );
      const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
      assert.match(page.text, new RegExp(`${width} × ${height} pixels`));

      for (const url of imageSources(page.text)) {
        const info = await sharp(await download(url)).metadata();
        assert.equal(info.format, 'jpeg', 'the display size is a JPEG');
        assert.equal(Math.max(info.width!, info.height!) <= 1600, true);
      }
      const fullSize = await sharp(await download(await fullSizeUrl(testApp.app, page.text))).metadata();
      assert.deepEqual(
        [fullSize.format, fullSize.width, fullSize.height],
        [fullSizeFormat, width, height],
        'the full-size image is the whole image',
      );
    });
  }

  it('then a non-ASCII caption round-trips exactly', async () => {
    const caption = 'Café au lait — 東京の朝 🌅 Ελληνικά';
    const id = await upload('landscape.jpg', caption);
    const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
    assert.ok(page.text.includes(`<h1 dir="auto">${caption}</h1>`));
  });

  it('then a caption with markup is shown as text, not HTML', async () => {
    const id = await upload('landscape.jpg', '<script>alert(1)</script>');
    const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
    assert.ok(page.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!page.text.includes('<script>alert(1)'));
  });

  it('then the browser form (no JavaScript) is redirected to the new photo', async () => {
    const response = await (await openBrowser(testApp.app))
      .upload()
      .attach('photos', await fixture('square.png'), 'square.png')
      .expect(303);
    assert.match(response.headers.location ?? '', /^\/photos\/\d{13}-[0-9a-f]{12}$/);
  });

  it('then several files in one upload become several photos', async () => {
    const response = await (await openBrowser(testApp.app))
      .upload()
      .set('Accept', 'application/json')
      .attach('photos', await fixture('landscape.jpg'), 'a.jpg')
      .attach('photos', await fixture('square.png'), 'b.png')
      .expect(201);
    assert.equal(response.body.photos.length, 2);
  });

  it('then the object keys come from the server, not the file name', async () => {
    await (await openBrowser(testApp.app))
      .upload()
      .attach('photos', await fixture('square.png'), '../../etc/passwd.png')
      .expect(303);
    const keys = await testApp.listAllKeys();
    assert.ok(
      keys.every((key) =>
        /^photos\/(thumbnails|display|originals|full|thumbnail-2x|display-2x)\/\d{13}-[0-9a-f]{12}\.(webp|jpg|png|gif|avif)$/.test(key),
      ),
      keys.join('\n'),
    );
  });
});

/** sharp returns a block as stored in the file: "Exif\0\0" before the TIFF structure that exifr reads. */
const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');

describe('when a phone photo with GPS and a rotation is uploaded', () => {
  it('then it is shown upright and nothing served carries its metadata', async () => {
    const id = await upload('phone-gps-rotated.jpg');
    const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
    assert.match(page.text, /300 × 400 pixels/);

    const served = [...imageSources(page.text), await fullSizeUrl(testApp.app, page.text)];
    assert.equal(served.length, 2);
    for (const url of served) {
      const image = await download(url);
      // exifr cannot open WebP ("Unknown file format"), so the EXIF block comes from sharp, which reads every
      // served format; exifr then parses the block itself, and a block it cannot parse fails the test.
      const { exif: exifBlock, autoOrient } = await sharp(image).metadata();
      const exif = exifBlock ? await exifr.parse(exifBlock.subarray(EXIF_HEADER.length), { gps: true, tiff: true }) : undefined;
      if (exifBlock) assert.deepEqual(exifBlock.subarray(0, EXIF_HEADER.length), EXIF_HEADER, `${url}: an EXIF block`);
      assert.equal(exif?.latitude, undefined, `${url} has no GPS`);
      assert.equal(exif?.Make, undefined, `${url} has no camera metadata`);
      // Upright as a browser shows it: turned by its pixels, or by the one EXIF tag kept, Orientation.
      assert.ok(autoOrient.height > autoOrient.width, 'served upright (portrait)');
    }
    // The original, with its GPS, is kept in the bucket but never linked.
    assert.ok(!page.text.includes('/originals/'));
  });
});

describe('when an image with transparent pixels is uploaded', () => {
  it('then the thumbnail keeps them transparent and the display image (a JPEG) shows them white, not black', async () => {
    // Left half fully transparent, right half opaque red.
    const width = 400;
    const height = 300;
    const pixels = Buffer.alloc(width * height * 4);
    for (let y = 0; y < height; y++) for (let x = width / 2; x < width; x++) pixels.set([220, 30, 30, 255], (y * width + x) * 4);
    for (const [format, bytes] of [
      [
        'PNG',
        await sharp(pixels, { raw: { width, height, channels: 4 } })
          .png()
          .toBuffer(),
      ],
      [
        'GIF',
        await sharp(pixels, { raw: { width, height, channels: 4 } })
          .gif()
          .toBuffer(),
      ],
    ] as const) {
      const browser = await openBrowser(testApp.app);
      const id = (
        await browser.upload().set('Accept', 'application/json').attach('photos', bytes, `clear.${format.toLowerCase()}`).expect(201)
      ).body.photos[0].id;
      const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
      const gallery = await request(testApp.app).get('/').expect(200);
      const thumbnail = await download(imageSources(gallery.text).find((url) => url.includes(id))!);
      const thumbnailPixel = await sharp(thumbnail).ensureAlpha().extract({ left: 2, top: 2, width: 1, height: 1 }).raw().toBuffer();
      assert.equal(thumbnailPixel[3], 0, `${format}: the thumbnail's transparent corner stays transparent`);
      const display = await download(imageSources(page.text)[0]!);
      const displayPixel = await sharp(display).extract({ left: 2, top: 2, width: 1, height: 1 }).raw().toBuffer();
      assert.ok(
        [...displayPixel.subarray(0, 3)].every((channel) => channel > 240),
        `${format}: the display image is white where the photo is transparent (got ${[...displayPixel]})`,
      );
    }
  });
});
