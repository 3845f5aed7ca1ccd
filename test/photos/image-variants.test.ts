// "Sharp on every screen": uploads through real HTTP into the real S3 emulator, then the gallery's and the photo
// page's srcset read back, each candidate downloaded and decoded: a 2× copy only where it is larger than the
// image below it, its announced width its real one, removed with its photo, and none for a photo stored before.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import { imageSources, srcsetSources } from '../../scripts/support/html.js';
import { firstRowLength } from '../../src/photos/gallery-first-row.js';
import { variantsFor } from '../../src/photos/image-variants.js';
import { openBrowser, type Browser } from '../support/browser.js';
import { download } from '../support/pages.js';
import { seedPhotos } from '../support/seed.js';
import { useTestApp } from '../support/test-app.js';

let browser: Browser;
const testApp = useTestApp({ env: { UPLOADS_PER_HOUR: '1000', PAGE_VIEWS_PER_MINUTE: '1000' } }, async () => {
  browser = await openBrowser(testApp.app);
});

/** A JPEG of this size with some detail (a flat image would compress to nothing). */
function photo(width: number, height: number): Promise<Buffer> {
  const stripes = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#4a7"/><circle cx="${width / 2}" cy="${height / 2}" r="${height / 3}" fill="#a47"/></svg>`);
  return sharp(stripes).jpeg({ quality: 80 }).toBuffer();
}

async function upload(bytes: Buffer, name: string): Promise<string> {
  const response = await browser.upload().set('Accept', 'application/json').attach('photos', bytes, name);
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.photos[0].id;
}

/** The `<img>` tag of the photo's tile in the gallery. */
async function galleryImage(id: string): Promise<string> {
  const gallery = await request(testApp.app).get('/').expect(200);
  const tile = new RegExp(`<a href="/photos/${id}[^"]*">\\s*(<img [^>]*>)`).exec(gallery.text)?.[1];
  assert.ok(tile, `the gallery shows ${id}`);
  return tile;
}

/** Each srcset candidate of the tag, downloaded: its announced width and its real size. */
async function candidates(imgTag: string): Promise<{ announced: number; width: number; height: number; format: string }[]> {
  const srcset = /srcset="([^"]+)"/.exec(imgTag)?.[1];
  if (!srcset) return [];
  const widths = srcset.split(/,\s+/).map((candidate) => Number(/ (\d+)w$/.exec(candidate)?.[1]));
  return Promise.all(
    srcsetSources(imgTag).map(async (url, index) => {
      const info = await sharp(await download(url)).metadata();
      return { announced: widths[index]!, width: info.width!, height: info.height!, format: info.format! };
    }),
  );
}

describe('when a 3000 × 2000 photo is uploaded', () => {
  let id: string;
  before(async () => {
    id = await upload(await photo(3000, 2000), 'big.jpg');
  });

  it('then the gallery offers its 320 px high thumbnail and a 640 px high one for 2× screens, each as wide as announced', async () => {
    assert.deepEqual(await candidates(await galleryImage(id)), [
      { announced: 480, width: 480, height: 320, format: 'webp' },
      { announced: 960, width: 960, height: 640, format: 'webp' },
    ]);
  });

  it('then the photo page offers the 1600 px display image and a 2560 px copy, each as wide as announced', async () => {
    const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
    const image = /<img [^>]*>/.exec(page.text)![0];
    assert.deepEqual(await candidates(image), [
      { announced: 1600, width: 1600, height: 1067, format: 'jpeg' },
      { announced: 2560, width: 2560, height: 1707, format: 'jpeg' },
    ]);
    assert.match(image, / width="2560" height="1707"/, 'the page may show it as large as its largest image');
  });

  it('then deleting it removes its 2× copies with it', async () => {
    const keysOf = async () => (await testApp.listAllKeys()).filter((key) => key.includes(id));
    assert.deepEqual((await keysOf()).map((key) => key.split('/')[1]).sort(), [
      'display',
      'display-2x',
      'full',
      'originals',
      'thumbnail-2x',
      'thumbnails',
    ]);
    await browser.delete(id).expect(303);
    assert.deepEqual(await keysOf(), []);
  });
});

describe('when photos too small for a sharper copy are uploaded', () => {
  it('then a 640 × 480 photo has a 2× thumbnail (480 px high, its own height) but no larger display image', async () => {
    const id = await upload(await photo(640, 480), 'small.jpg');
    assert.deepEqual(await candidates(await galleryImage(id)), [
      { announced: 427, width: 427, height: 320, format: 'webp' },
      { announced: 640, width: 640, height: 480, format: 'webp' },
    ]);
    const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
    assert.doesNotMatch(page.text, /srcset=/, 'one display image: no srcset');
    assert.deepEqual(
      (await testApp.listAllKeys()).filter((key) => key.includes(id) && key.includes('-2x/')),
      [`photos/thumbnail-2x/${id}.webp`],
    );
  });

  it('then a 400 × 300 photo, whose thumbnail is already the whole photo, has none, and its pages offer no srcset', async () => {
    const id = await upload(await photo(400, 300), 'tiny.jpg');
    assert.doesNotMatch(await galleryImage(id), /srcset=/);
    assert.doesNotMatch((await request(testApp.app).get(`/photos/${id}`).expect(200)).text, /srcset=/);
    assert.deepEqual(
      (await testApp.listAllKeys()).filter((key) => key.includes(id) && key.includes('-2x/')),
      [],
    );
  });

  it('then a panorama keeps its shape in every copy, its 2× thumbnail no wider than the display image it is made from', async () => {
    const id = await upload(await photo(6000, 1000), 'panorama.jpg');
    assert.deepEqual(await candidates(await galleryImage(id)), [
      { announced: 960, width: 960, height: 160, format: 'webp' },
      { announced: 1600, width: 1600, height: 267, format: 'webp' },
    ]);
  });
});

/** A photo wider than the 2560 px copy, with shapes and a gradient to compare downscaled pixels on. */
function widePhoto(width: number, height: number): Promise<Buffer> {
  const scene = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g"><stop offset="0" stop-color="#135"/><stop offset="1" stop-color="#fc3"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/><circle cx="${width / 3}" cy="${height / 2}" r="${height / 3}" fill="#c24"/>
    <rect x="${(width * 2) / 3}" y="${height / 4}" width="${width / 5}" height="${height / 2}" fill="#2a6"/></svg>`);
  return sharp(scene).png().toBuffer();
}

/** Mean absolute difference per sample of two images scaled to the same small size, flattened on white. */
async function meanDifference(a: Buffer, b: Buffer): Promise<number> {
  const small = (bytes: Buffer) =>
    sharp(bytes).flatten({ background: '#fff' }).resize(96, 64, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const [pixelsA, pixelsB] = await Promise.all([small(a), small(b)]);
  let sum = 0;
  for (let index = 0; index < pixelsA.length; index++) sum += Math.abs(pixelsA[index]! - pixelsB[index]!);
  return sum / pixelsA.length;
}

describe('when a photo wider than 2560 px comes in any accepted format', () => {
  const formats: [name: string, encode: (image: sharp.Sharp) => sharp.Sharp][] = [
    ['baseline.jpg', (image) => image.jpeg({ quality: 90 })],
    ['progressive.jpg', (image) => image.jpeg({ quality: 90, progressive: true })],
    ['big.png', (image) => image.png()],
    ['transparent.png', (image) => image.ensureAlpha(0.6).png()],
    ['lossy.webp', (image) => image.webp({ quality: 90 })],
    ['big.gif', (image) => image.gif()],
    ['big.avif', (image) => image.avif({ quality: 70, effort: 0 })],
  ];
  for (const [name, encode] of formats) {
    it(`then ${name} gets a display-2x copy no wider than 2560 px, with its pixels, that the photo page offers`, async () => {
      const uploaded = await encode(sharp(await widePhoto(2700, 1800))).toBuffer();
      const id = await upload(uploaded, name);
      assert.deepEqual((await testApp.listAllKeys()).filter((key) => key.includes(id) && key.includes('-2x/')).sort(), [
        `photos/display-2x/${id}.jpg`,
        `photos/thumbnail-2x/${id}.webp`,
      ]);
      const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
      const image = /<img [^>]*>/.exec(page.text)![0];
      assert.deepEqual(await candidates(image), [
        { announced: 1600, width: 1600, height: 1067, format: 'jpeg' },
        { announced: 2560, width: 2560, height: 1707, format: 'jpeg' },
      ]);
      const largeUrl = srcsetSources(image)[1]!;
      assert.match(largeUrl, /display-2x/);
      const difference = await meanDifference(await download(largeUrl), uploaded);
      assert.ok(difference < 4, `${name}: the 2560 px copy differs from the upload by ${difference.toFixed(2)} per sample`);
    });
  }
});

describe('when a photo was stored before sharper copies were made', () => {
  it('then its tile and page have no srcset, and every image they show decodes', async () => {
    const [id] = await seedPhotos(testApp.store, 1);
    const tile = await galleryImage(id!);
    assert.doesNotMatch(tile, /srcset=/);
    const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
    assert.doesNotMatch(page.text, /srcset=/);
    for (const url of [...imageSources(tile), ...imageSources(page.text)]) await sharp(await download(url)).metadata();
  });
});

describe('when a record names a sharper copy the app does not know', () => {
  it('then the photo page is a 404 that says it cannot be shown, not a link to a key that was never written', async () => {
    const [id] = await seedPhotos(testApp.store, 1);
    const record = (await testApp.store.findPhoto(id!))!;
    await testApp.store.saveRecord({ ...record, fullSizeExtension: 'jpg', variants: ['display-4x' as never] }, await photo(10, 10));
    const page = await request(testApp.app).get(`/photos/${id}`).expect(404);
    assert.match(page.text, /Photo cannot be shown/);
  });
});

describe('which copies are made', () => {
  it('then each is made only when larger than the image below it', () => {
    assert.deepEqual(variantsFor({ width: 4032, height: 3024 }), ['thumbnail-2x', 'display-2x']);
    assert.deepEqual(variantsFor({ width: 1601, height: 900 }), ['thumbnail-2x', 'display-2x']);
    assert.deepEqual(variantsFor({ width: 1600, height: 900 }), ['thumbnail-2x']);
    assert.deepEqual(variantsFor({ width: 900, height: 321 }), ['thumbnail-2x']);
    assert.deepEqual(variantsFor({ width: 900, height: 320 }), []);
    assert.deepEqual(variantsFor({ width: 961, height: 100 }), ['thumbnail-2x']);
    assert.deepEqual(variantsFor({ width: 960, height: 100 }), []);
  });
});

describe('which gallery photos load at once', () => {
  it('then those of the first row on a 1920 px window, the one that may not fit included', () => {
    const landscape = { width: 4, height: 3 };
    // 341 px per 4:3 tile at 256 px high, and 8 px gaps: five fill 1737 px, the sixth reaches 2086 px.
    assert.equal(firstRowLength(Array(24).fill(landscape)), 6);
    assert.equal(firstRowLength([{ width: 8, height: 1 }, landscape]), 1);
    assert.equal(firstRowLength([landscape, landscape]), 2);
  });
});
