// Bad uploads: each gets a clear 4xx, and the bucket and the temp folder are left exactly as they were.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import { openBrowser, type Browser } from '../support/browser.js';
import { seedPhotos } from '../support/seed.js';
import { CAPTION_FIELD_BYTES } from '../../src/photos/captions.js';
import { fixture, useTestApp } from '../support/test-app.js';

let browser: Browser;
const testApp = useTestApp({ env: { MAX_UPLOAD_MB: '6', MAX_FILES_PER_UPLOAD: '3' } }, async () => {
  browser = await openBrowser(testApp.app);
});

const [PDF, LRO, RLO] = ['\u202C', '\u202D', '\u202E'];
const [RLI, PDI] = ['\u2067', '\u2069'];

/** The photo page shows its caption in the title, the heading and the image's alt text: exactly `shown` in each. */
function assertCaptionShownAs(page: string, shown: string): void {
  assert.equal(/<title>&#x2068;(.*)&#x2069; · /s.exec(page)?.[1], shown, 'the title');
  assert.equal(/<h1 dir="auto">(.*)<\/h1>/s.exec(page)?.[1], shown, 'the heading');
  assert.ok(page.includes(`alt="${shown}"`), 'the alt text');
}

/** A multipart upload written by hand (the form's token first), for parts no form or client library would send. */
function postParts(parts: { name: string; body: Buffer; filename?: string }[]) {
  const boundary = 'hand-written-form';
  const part = (name: string, body: Buffer, filename?: string) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n\r\n`),
      body,
      Buffer.from('\r\n'),
    ]);
  return browser.agent
    .post('/photos')
    .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
    .set('Accept', 'application/json')
    .send(
      Buffer.concat([
        part('_csrf', Buffer.from(browser.token)),
        ...parts.map(({ name, body, filename }) => part(name, body, filename)),
        Buffer.from(`--${boundary}--\r\n`),
      ]),
    );
}

function postFile(body: Buffer, filename: string, contentType = 'image/jpeg') {
  return browser.upload().attach('photos', body, { filename, contentType });
}

describe('when the upload is not an accepted image', () => {
  const cases: [string, () => Promise<Buffer>, string][] = [
    ['a text file named .jpg', async () => Buffer.from('just some text, not a photo\n'.repeat(20)), 'notes.jpg'],
    ['an HTML page', async () => Buffer.from('<!doctype html><html><script>alert(1)</script></html>'), 'page.jpg'],
    ['an SVG image', async () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'drawing.svg'],
    ['a PDF', async () => Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n'), 'photo.png'],
  ];
  for (const [what, makeBody, filename] of cases) {
    it(`then ${what} gets 415 naming the accepted types`, async () => {
      await testApp.assertStoresNothing(async () => {
        const response = await postFile(await makeBody(), filename).expect(415);
        assert.match(response.text, /Not an accepted image/);
        assert.match(response.text, /is not a JPEG, PNG, WebP, GIF or AVIF image/);
      });
    });
  }

  it('then a file name in any script is quoted as it was sent (browsers send UTF-8)', async () => {
    for (const filename of ['Фото отпуска.jpg', '写真.png', 'café.gif', 'صورة.webp']) {
      const response = await postFile(Buffer.from('not an image at all'), filename).set('Accept', 'application/json').expect(415);
      assert.ok(response.body.error.message.startsWith(`"${filename}" is not`), response.body.error.message);
    }
  });

  it('then a truncated JPEG gets 415 saying it could not be decoded', async () => {
    const photo = await fixture('landscape.jpg');
    await testApp.assertStoresNothing(async () => {
      const response = await postFile(photo.subarray(0, Math.floor(photo.length / 2)), 'cut.jpg').expect(415);
      assert.match(response.text, /could not be decoded/);
    });
  });

  it('then a zero-byte file gets 400', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await postFile(Buffer.alloc(0), 'empty.jpg').expect(400);
      assert.match(response.text, /is empty/);
    });
  });
  // One bad file among good ones: test/photos/partial-uploads.test.ts.
});

describe('when the upload is too large', () => {
  it('then a file over the size limit gets 413 stating the limit, and its partial copy is removed', async () => {
    // 7 MiB: 6 MiB have been written to the temporary file when the limit is hit.
    const oversize = Buffer.concat([(await fixture('landscape.jpg')).subarray(0, 4), randomBytes(7 * 1024 * 1024)]);
    await testApp.assertStoresNothing(async () => {
      const response = await postFile(oversize, 'huge.jpg').expect(413);
      assert.match(response.text, /larger than the limit of 6 MB/);
    });
  });

  it('then more files than allowed get 413', async () => {
    const photo = await fixture('square.png');
    await testApp.assertStoresNothing(async () => {
      let upload = browser.upload();
      for (let i = 0; i < 4; i++) upload = upload.attach('photos', photo, `p${i}.png`);
      const response = await upload.expect(413);
      assert.match(response.text, /at most 3 files/);
    });
  });

  it('then an image over the pixel limit is refused before it is decoded', async () => {
    const bomb = await sharp({ create: { width: 10_000, height: 7_000, channels: 3, background: '#fff' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    await testApp.assertStoresNothing(async () => {
      const response = await postFile(bomb, 'bomb.png').expect(413);
      assert.match(response.text, /&#34;bomb.png&#34; is 10000 × 7000 pixels; the limit for a PNG image is 40 megapixels/);
    });
  });
});

describe('when the form itself is wrong', () => {
  it('then an upload with no file gets 400', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await browser.upload().field('caption', 'hello').expect(400);
      assert.match(response.text, /No photo chosen/);
    });
  });

  it('then a form that is not multipart gets 400', async () => {
    await browser.agent.post('/photos').type('form').send({ _csrf: browser.token, caption: 'hi' }).expect(400);
  });

  it('then two caption fields get 400 and store nothing, rather than one caption kept silently', async () => {
    await testApp.assertStoresNothing(async () => {
      await browser
        .upload()
        .field('caption', 'one')
        .field('caption', 'two')
        .attach('photos', await fixture('square.png'), 'p.png')
        .expect(400);
    });
  });

  it("then a caption's control characters are dropped, and its unclosed right-to-left override stays inside the page title", async () => {
    const uploaded = await browser
      .upload()
      .field('caption', 'abc\u202Edef\u0000ghi\nj')
      .attach('photos', await fixture('square.png'), 'p.png')
      .expect(303);
    const page = (await browser.agent.get(String(uploaded.headers.location)).expect(200)).text;
    assert.ok(!page.includes('\u0000'), 'no NUL in the page');
    assert.match(page, /<title>&#x2068;abc\u202Edefghi j\u202C&#x2069; · /);
    assert.match(page, /<h1 dir="auto">abc\u202Edefghi j\u202C<\/h1>/);
  });

  it("then a caption that closes the title's isolate early cannot reverse the app's name: wherever it is shown, it is balanced", async () => {
    // Its PDI would end the title's FSI … PDI, and its RLO would then reverse "· S3 Photo Share" in the tab.
    const uploaded = await browser
      .upload()
      .field('caption', `Hi${PDI}${RLO}!won kcilc`)
      .attach('photos', await fixture('square.png'), 'p.png')
      .expect(303);
    const photoPath = String(uploaded.headers.location);
    assertCaptionShownAs((await browser.agent.get(photoPath).expect(200)).text, `Hi${RLO}!won kcilc${PDF}`);
    const confirm = (await browser.agent.get(`${photoPath}/delete`).expect(200)).text;
    assert.ok(confirm.includes(`alt="Hi${RLO}!won kcilc${PDF}"`), "the thumbnail's alt text on the delete page");
    assert.ok(confirm.includes(`<p class="caption" dir="auto">Hi${RLO}!won kcilc${PDF}</p>`), 'the caption on the delete page');
  });

  it('then a caption stored before captions were balanced is shown balanced', async () => {
    const [id] = await seedPhotos(testApp.store, 1);
    const record = (await testApp.store.findPhoto(id!))!;
    await testApp.store.saveRecord(
      { ...record, fullSizeExtension: 'jpg', caption: `Hi${PDI}${LRO}${RLI}x${PDF}\u2029y` },
      await fixture('portrait.webp'),
    );
    assertCaptionShownAs((await request(testApp.app).get(`/photos/${id}`).expect(200)).text, `Hi${LRO}${RLI}x y${PDI}${PDF}`);
  });

  it('then a caption over 280 characters gets 400 and stores nothing', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await browser
        .upload()
        .attach('photos', await fixture('square.png'), 'p.png')
        .field('caption', 'é'.repeat(281))
        .expect(400);
      assert.match(response.text, /Caption too long/);
    });
  });

  it('then a file part with no filename (curl -F "photos=<file", without the @) gets 400 saying so, whatever its size', async () => {
    const png = await fixture('square.png');
    for (const bytes of [Buffer.from('short'), Buffer.alloc(CAPTION_FIELD_BYTES + 1, 0x41), png]) {
      await testApp.assertStoresNothing(async () => {
        const response = await postParts([{ name: 'photos', body: bytes }]).expect(400);
        assert.equal(response.body.error.title, 'File without a name', `${bytes.length} bytes`);
        assert.match(response.body.error.hint, /photos=@/);
      });
    }
    // Beside a real file too: the form is refused rather than half of it kept.
    await testApp.assertStoresNothing(async () => {
      const response = await postParts([
        { name: 'photos', body: png, filename: 'p.png' },
        { name: 'photos', body: png },
      ]).expect(400);
      assert.equal(response.body.error.title, 'File without a name');
    });
  });

  it('then a text field too long for any field of the form, other than the caption, is not called a caption', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await postParts([
        { name: 'notes', body: Buffer.alloc(CAPTION_FIELD_BYTES + 1, 0x41) },
        { name: 'photos', body: await fixture('square.png'), filename: 'p.png' },
      ]).expect(400);
      assert.equal(response.body.error.title, 'Malformed upload');
    });
  });

  it('then a file in an unexpected field gets 400', async () => {
    await testApp.assertStoresNothing(async () => {
      await browser
        .upload()
        .attach('avatar', await fixture('square.png'), 'p.png')
        .expect(400);
    });
  });

  it('then a broken multipart body gets 400', async () => {
    const token = browser.token;
    await browser.agent
      .post('/photos')
      .set('Content-Type', 'multipart/form-data; boundary=XYZ')
      .send(
        `--XYZ\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n--XYZ\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n\r\nabc`,
      )
      .expect(400);
  });

  it('then a script asking for JSON gets the error as JSON', async () => {
    const response = await postFile(Buffer.from('plain text'), 'a.jpg').set('Accept', 'application/json').expect(415);
    assert.equal(response.body.error.status, 415);
    assert.match(response.body.error.hint, /Accepted types/);
  });

  it('then error pages show no stack trace', async () => {
    const response = await postFile(Buffer.from('plain text'), 'a.jpg').expect(415);
    assert.doesNotMatch(response.text, /at .*\.(ts|js):\d+/);
  });
});
