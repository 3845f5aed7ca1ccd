// Attacks on the README's promises that are not about metadata: photos of one browser linked together,
// library messages and paths in error pages, unbounded input reaching S3, pixel caps per format.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import request from 'supertest';
import { composeApp } from '../../src/compose.js';
import { createLogger } from '../../src/logging.js';
import { openBrowser } from '../support/browser.js';
import { manyScansJpeg } from '../support/metadata-attacks.js';
import { fixture, startTestApp, type TestApp } from '../support/test-app.js';
import { formToken, imageSources } from '../../scripts/support/html.js';

let testApp: TestApp;
/** S3 requests the app sent, by command name. */
const sentToS3: string[] = [];
before(async () => {
  testApp = await startTestApp({
    env: { UPLOADS_PER_HOUR: '1000', PAGE_VIEWS_PER_MINUTE: '1000', CSRF_SECRET: 'a-shared-secret-for-two-instances-0123456789' },
  });
  testApp.s3.middlewareStack.add(
    (next, context) => (args) => {
      sentToS3.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'countRequestsForTest' },
  );
});
after(() => testApp.close());

async function uploadAs(browser: Awaited<ReturnType<typeof openBrowser>>, name: string): Promise<string> {
  const response = await browser
    .upload()
    .set('Accept', 'application/json')
    .attach('photos', await fixture(name), name)
    .expect(201);
  return response.body.photos[0].id;
}

describe('when one browser uploads several photos', () => {
  it('then nothing served lets anyone group them, and that browser can still delete each from another instance', async () => {
    const browser = await openBrowser(testApp.app);
    const ids = [await uploadAs(browser, 'square.png'), await uploadAs(browser, 'landscape.jpg')];
    // What anyone can read: the headers of every image the gallery and photo pages link.
    const headersOf = async (id: string) => {
      const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
      const gallery = await request(testApp.app).get('/').expect(200);
      const urls = [...imageSources(page.text), ...imageSources(gallery.text).filter((url) => url.includes(id))];
      const values = new Set<string>();
      for (const url of urls) {
        const response = await fetch(url);
        for (const [name, value] of response.headers) if (name.startsWith('x-amz-meta-')) values.add(`${name}=${value}`);
      }
      return values;
    };
    const [first, second] = await Promise.all(ids.map(headersOf));
    // A caption, a format and a frame count describe the image, and are as common to any two strangers' photos.
    const shared = [...first!].filter((value) => second!.has(value) && !/^x-amz-meta-(caption|full-size-type|frames)=/.test(value));
    assert.deepEqual(shared, [], 'no metadata value is common to two photos of one browser');

    // A second instance of the app (same bucket, same CSRF secret, no shared memory) honours the same browser.
    const other = composeApp(testApp.config, { logger: createLogger('silent') });
    try {
      const otherAgent = request.agent(other.app);
      const cookies = browser.agent.jar.getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false });
      otherAgent.jar.setCookies(cookies.map((cookie) => `${cookie.name}=${cookie.value}`));
      const confirm = await otherAgent.get(`/photos/${ids[0]}/delete`).expect(200);
      const token = formToken(confirm.text)!;
      await otherAgent.post(`/photos/${ids[0]}/delete`).type('form').send({ _csrf: token }).expect(303);
      await request(testApp.app).get(`/photos/${ids[0]}`).expect(404);
    } finally {
      other.s3.destroy();
    }
  });
});

describe('when an image cannot be decoded', () => {
  const corrupt: [string, () => Promise<Buffer>][] = [
    [
      'an AVIF cut in half',
      async () => {
        const avif = await fixture('small.avif');
        return avif.subarray(0, Math.floor(avif.length / 2));
      },
    ],
    [
      'a PNG with a broken data chunk',
      async () => {
        const png = await fixture('square.png');
        return Buffer.concat([png.subarray(0, 60), Buffer.alloc(200, 0x41), png.subarray(260)]);
      },
    ],
    ['a WebP cut short', async () => (await fixture('portrait.webp')).subarray(0, 300)],
    [
      'a GIF with garbage after its header',
      async () => Buffer.concat([(await fixture('tiny.gif')).subarray(0, 20), Buffer.alloc(500, 0x7f)]),
    ],
  ];
  for (const [what, make] of corrupt) {
    it(`then ${what} gets a 415 in the user's words, with no path or library message`, async () => {
      const browser = await openBrowser(testApp.app);
      const response = await browser
        .upload()
        .attach('photos', await make(), 'broken.img')
        .expect(415);
      const message = /<main[^>]*>([\s\S]*)<\/main>/.exec(response.text)?.[1] ?? response.text;
      assert.match(message, /could not be decoded/);
      assert.doesNotMatch(
        message,
        new RegExp(`${testApp.tempDir}|/tmp/|vips|heif|seek|sharp|libpng|gifload|webpload|pngload|Error:|\\bat [\\w.]+ \\(`, 'i'),
      );
    });
  }
});

describe('when a request carries input longer than the app issues', () => {
  it('then a page token longer than S3 issues is a 400 and never reaches S3', async () => {
    sentToS3.length = 0;
    const response = await request(testApp.app)
      .get(`/?page=${'A'.repeat(7000)}`)
      .expect(400);
    assert.match(response.text, /Page link not valid/);
    assert.deepEqual(sentToS3, [], 'no S3 request');
  });

  it('then a page token with characters S3 never uses is a 400 and never reaches S3', async () => {
    sentToS3.length = 0;
    await request(testApp.app)
      .get(`/?page=${encodeURIComponent('<script>')}`)
      .expect(400);
    assert.deepEqual(sentToS3, []);
  });

  it('then a long trail of earlier pages is cut, and the page still works', async () => {
    // Node refuses request lines over 16 KB itself; within that, one entry is too long for a token.
    const query = [...Array.from({ length: 12 }, () => `back=${'B'.repeat(300)}`), `back=${'C'.repeat(1100)}`].join('&');
    const response = await request(testApp.app).get(`/?${query}`).expect(200);
    assert.ok(response.text.length < 200_000);
  });
});

describe('when an image declares more pixels than its format may decode within the memory budget', () => {
  // Each is a small file whose header asks for more than its kind of decoder may hold (a decompression bomb).
  const blank = (width: number, height: number, channels: 3 | 4 = 3) =>
    sharp({ create: { width, height, channels, background: channels === 4 ? { r: 255, g: 255, b: 255, alpha: 0.5 } : '#fff' } });
  const cases: [string, string, string, () => Promise<Buffer>][] = [
    ['progressive JPEG', '26.7', 'jpg', () => blank(6000, 6000).jpeg({ progressive: true }).toBuffer()],
    ['progressive CMYK JPEG', '20', 'jpg', () => blank(5000, 5000).toColourspace('cmyk').jpeg({ progressive: true }).toBuffer()],
    ['16-bit PNG with transparency', '20', 'png', () => blank(5000, 5000, 4).toColourspace('rgb16').png().toBuffer()],
    ['AVIF', '12.6', 'avif', () => blank(4100, 4000).avif({ effort: 0, quality: 1 }).toBuffer()],
    ['WebP', '10', 'webp', () => blank(4100, 4000).webp({ effort: 0, quality: 1 }).toBuffer()],
    ['WebP with transparency or animation', '6', 'webp', () => blank(2600, 2600, 4).webp({ effort: 0, quality: 1 }).toBuffer()],
    ['GIF', '10', 'gif', () => blank(4100, 4000).gif().toBuffer()],
  ];
  for (const [kind, megapixels, extension, make] of cases) {
    it(`then a ${kind} over ${megapixels} megapixels is refused with 413 before it is decoded`, async () => {
      const browser = await openBrowser(testApp.app);
      const keysBefore = await testApp.listAllKeys();
      const response = await browser
        .upload()
        .attach('photos', await make(), `bomb.${extension}`)
        .expect(413);
      assert.match(response.text, new RegExp(`the limit for a ${kind} image is ${megapixels.replace('.', '\\.')} megapixels`));
      assert.deepEqual(await testApp.listAllKeys(), keysBefore);
    });
  }
});

describe('when a JPEG is built to keep the decoder busy (hundreds of empty scans)', () => {
  it('then it is refused with 413 before it is decoded, and stores nothing', async () => {
    const bomb = manyScansJpeg(1024, 1024, 1);
    const browser = await openBrowser(testApp.app);
    await testApp.assertStoresNothing(async () => {
      const response = await browser.upload().attach('photos', bomb, 'scans.jpg').expect(413);
      assert.match(response.text, /Image too complex/);
      assert.match(response.text, /&#34;scans.jpg&#34; would take too long to process/);
    });
  });
});

describe('when one client reads pages faster than anyone browses', () => {
  it('then it gets a 429 page, and another client is not affected', async () => {
    const limited = await startTestApp({ env: { PAGE_VIEWS_PER_MINUTE: '3' } });
    try {
      for (let i = 0; i < 3; i++) await request(limited.app).get('/').expect(200);
      const refused = await request(limited.app).get('/').expect(429);
      assert.match(refused.text, /too many page views/);
      await request(limited.app).get('/').set('X-Forwarded-For', '198.51.100.7').expect(429); // not trusted without TRUST_PROXY
      await request(limited.app).get('/healthz').expect(200);
      // The S3 listing was not sent for the refused requests.
      const listed = await limited.s3.send(new ListObjectsV2Command({ Bucket: limited.config.bucket, MaxKeys: 1 }));
      assert.ok(listed);
    } finally {
      await limited.close();
    }
  });
});

describe('when one client behind a trusted proxy reads pages from many addresses of its network', () => {
  it('then an IPv6 /64, however spelled, has one allowance, as has an IPv4 address with its IPv6-mapped form; the next /64 has its own', async () => {
    const limited = await startTestApp({ env: { TRUST_PROXY: '1', PAGE_VIEWS_PER_MINUTE: '3' } });
    try {
      const pageFrom = (address: string) => request(limited.app).get('/').set('X-Forwarded-For', address);
      for (const address of ['2001:db8::1', '2001:DB8:0:0::2', '2001:0db8:0000:0000:ffff:ffff:ffff:ffff'])
        await pageFrom(address).expect(200);
      await pageFrom('2001:db8::3').expect(429);
      await pageFrom('2001:db8:0:1::1').expect(200);
      for (const address of ['198.51.100.7', '::ffff:198.51.100.7', '::ffff:c633:6407']) await pageFrom(address).expect(200);
      await pageFrom('198.51.100.7').expect(429);
    } finally {
      await limited.close();
    }
  });
});
