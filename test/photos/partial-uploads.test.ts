// "One bad file among good ones": the good ones are stored, each bad one is named with its reason, and a refused
// file leaves nothing behind. Limits on the whole request still refuse the whole request.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import request from 'supertest';
import { type Browser, openBrowser } from '../support/browser.js';
import { formWithExactFileNames } from '../support/hand-sent-upload.js';
import { fixture, useTestApp } from '../support/test-app.js';

let browser: Browser;
// A file may be 1 MiB and an upload hold 3 files: the bytes of refused files read and thrown away are 3 MiB at most.
const testApp = useTestApp({ env: { MAX_UPLOAD_MB: '1', MAX_FILES_PER_UPLOAD: '3', UPLOADS_PER_HOUR: '1000' } }, async () => {
  browser = await openBrowser(testApp.app);
});

const NOT_AN_IMAGE = 'It is not a JPEG, PNG, WebP, GIF or AVIF image.';
const TEXT = Buffer.from('just some notes, not a photo\n'.repeat(20));

/**
 * Every object one stored photo has, by its id: exactly these and nothing else. A photo taller than a thumbnail
 * (320 px) also has a 2× thumbnail (landscape.jpg, 480 high; portrait.webp, 400), a smaller one none.
 */
function objectsOf(id: string, original: string, fullSize: string, { largeThumbnail }: { largeThumbnail: boolean }): string[] {
  return [
    `photos/display/${id}.jpg`,
    `photos/full/${id}.${fullSize}`,
    `photos/originals/${id}.${original}`,
    ...(largeThumbnail ? [`photos/thumbnail-2x/${id}.webp`] : []),
    `photos/thumbnails/${id}.webp`,
  ];
}

/** Runs `act` and returns the keys it added to the bucket; checks it removed no key and left no temporary file. */
async function keysAddedBy(act: () => Promise<unknown>): Promise<string[]> {
  const before = await testApp.listAllKeys();
  await act();
  const after = await testApp.listAllKeys();
  assert.deepEqual(
    before.filter((key) => !after.includes(key)),
    [],
    'no key was removed',
  );
  assert.deepEqual(await readdir(testApp.tempDir).catch(() => []), [], 'no temporary upload file is left');
  assert.deepEqual(await testApp.listIncompleteUploads(), [], 'no multipart upload is left');
  return after.filter((key) => !before.includes(key));
}

function uploadJson() {
  return browser.upload().set('Accept', 'application/json');
}

describe('when a script uploads good files with bad ones', () => {
  it('then a good JPEG and a text file: the JPEG is stored, the text file named with its reason', async () => {
    let body: { photos: { id: string; url: string; file: string }[]; refused: unknown[] } | undefined;
    const added = await keysAddedBy(async () => {
      const response = await uploadJson()
        .attach('photos', await fixture('landscape.jpg'), 'good.jpg')
        .attach('photos', TEXT, 'notes.txt')
        .expect(201);
      body = response.body;
    });
    const id = body!.photos[0]!.id;
    assert.deepEqual(body, {
      photos: [{ id, url: `/photos/${id}`, file: 'good.jpg', position: 1 }],
      refused: [{ file: 'notes.txt', reason: NOT_AN_IMAGE, position: 2 }],
    });
    assert.deepEqual(added, objectsOf(id, 'jpg', 'jpg', { largeThumbnail: true }), 'S3 holds exactly the good photo');
  });

  it('then a good PNG after a truncated JPEG: the PNG is stored, the JPEG named as not decodable', async () => {
    const jpeg = await fixture('landscape.jpg');
    let body: { photos: { id: string; url: string; file: string }[]; refused: unknown[] } | undefined;
    const added = await keysAddedBy(async () => {
      body = (
        await uploadJson()
          .attach('photos', jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'cut.jpg')
          .attach('photos', await fixture('square.png'), 'square.png')
          .expect(201)
      ).body;
    });
    const id = body!.photos[0]!.id;
    assert.deepEqual(body, {
      photos: [{ id, url: `/photos/${id}`, file: 'square.png', position: 2 }],
      refused: [{ file: 'cut.jpg', reason: 'It starts like a JPEG image but could not be decoded.', position: 1 }],
    });
    assert.deepEqual(added, objectsOf(id, 'png', 'png', { largeThumbnail: false }), 'S3 holds exactly the good photo');
  });

  it('then a file over the size limit among good ones is skipped, and the good ones after it are stored', async () => {
    const oversize = Buffer.concat([(await fixture('landscape.jpg')).subarray(0, 4), randomBytes(1.5 * 1024 * 1024)]);
    let body: { photos: { id: string; file: string }[]; refused: unknown[] } | undefined;
    const added = await keysAddedBy(async () => {
      body = (
        await uploadJson()
          .attach('photos', await fixture('tiny.gif'), 'a.gif')
          .attach('photos', oversize, 'huge.jpg')
          .attach('photos', await fixture('portrait.webp'), 'b.webp')
          .expect(201)
      ).body;
    });
    assert.deepEqual(
      body!.photos.map((photo) => photo.file),
      ['a.gif', 'b.webp'],
    );
    assert.deepEqual(body!.refused, [{ file: 'huge.jpg', reason: 'It is larger than the limit of 1 MB per file.', position: 2 }]);
    const [gif, webp] = body!.photos.map((photo) => photo.id);
    assert.deepEqual(
      added,
      [...objectsOf(gif!, 'gif', 'gif', { largeThumbnail: false }), ...objectsOf(webp!, 'webp', 'webp', { largeThumbnail: true })].sort(),
      'S3 holds exactly the good photos',
    );
    assert.equal(testApp.uploadBudget.bytesInProgress(), 0, 'every byte given back');
  });

  it('then when every file is bad, nothing is stored: the first file’s error status, and every file named with its reason', async () => {
    const jpeg = await fixture('landscape.jpg');
    await testApp.assertStoresNothing(async () => {
      const response = await uploadJson()
        .attach('photos', TEXT, 'notes.txt')
        .attach('photos', jpeg.subarray(0, 100), 'cut.jpg')
        .attach('photos', Buffer.alloc(0), 'empty.png')
        .expect(415);
      assert.deepEqual(response.body.refused, [
        { file: 'notes.txt', reason: NOT_AN_IMAGE, position: 1 },
        { file: 'cut.jpg', reason: 'It starts like a JPEG image but could not be decoded.', position: 2 },
        { file: 'empty.png', reason: 'It is empty (0 bytes).', position: 3 },
      ]);
      assert.equal(response.body.error.status, 415);
      assert.equal(response.body.error.title, 'No photo stored');
      assert.equal(response.body.error.message, 'None of the 3 files could be stored. Nothing was stored.');
    });
  });

  it('then one bad file alone gets its own error, as before, and the list of one', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await uploadJson().attach('photos', TEXT, 'notes.jpg').expect(415);
      assert.equal(response.body.error.title, 'Not an accepted image');
      assert.equal(response.body.error.message, '"notes.jpg" is not a JPEG, PNG, WebP, GIF or AVIF image. Nothing was stored.');
      assert.deepEqual(response.body.refused, [{ file: 'notes.jpg', reason: NOT_AN_IMAGE, position: 1 }]);
    });
  });

  // Every pasted image is "image.png": only a file's place tells the client which one was refused.
  it('then two files of one name, the first refused: each is told apart by its place in the request', async () => {
    const response = await uploadJson()
      .attach('photos', TEXT, 'image.png')
      .attach('photos', await fixture('square.png'), 'image.png')
      .expect(201);
    const id = response.body.photos[0]!.id;
    assert.deepEqual(response.body, {
      photos: [{ id, url: `/photos/${id}`, file: 'image.png', position: 2 }],
      refused: [{ file: 'image.png', reason: NOT_AN_IMAGE, position: 1 }],
    });
  });

  it('then a file name is given back exactly as chosen, markup and directional controls included', async () => {
    const name = '<img src=x onerror=alert(1)>\u202Etxt.jpg';
    const response = await uploadJson()
      .attach('photos', await fixture('square.png'), 'good.png')
      .attach('photos', TEXT, name)
      .expect(201);
    assert.deepEqual(response.body.refused, [{ file: name, reason: NOT_AN_IMAGE, position: 2 }]);
  });
});

describe('when a whole-request limit is passed along with a bad file', () => {
  it('then more files than allowed still refuse the whole upload', async () => {
    await testApp.assertStoresNothing(async () => {
      let upload = uploadJson().attach('photos', TEXT, 'notes.txt');
      for (let i = 0; i < 3; i++) upload = upload.attach('photos', await fixture('square.png'), `p${i}.png`);
      const response = await upload.expect(413);
      assert.equal(response.body.error.title, 'Too many files');
      assert.equal(response.body.refused, undefined);
    });
  });

  it('then refused files past what a whole form may carry (3 MiB read and thrown away) end the upload with 413', async () => {
    const oversize = Buffer.concat([(await fixture('landscape.jpg')).subarray(0, 4), randomBytes(5 * 1024 * 1024)]);
    await testApp.assertStoresNothing(async () => {
      const response = await uploadJson()
        .attach('photos', await fixture('square.png'), 'good.png')
        .attach('photos', oversize, 'huge.jpg')
        .expect(413);
      assert.equal(response.body.error.title, 'Upload too large');
      assert.equal(
        response.body.error.message,
        "The upload's files that could not be stored carry more than 3 MB in all. Nothing was stored.",
      );
      assert.equal(response.body.refused, undefined);
    });
  });

  it('then a forged upload (no form token) with a bad file is refused whole, naming no file', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await browser.agent
        .post('/photos')
        .set('Accept', 'application/json')
        .attach('photos', TEXT, 'notes.txt')
        .attach('photos', await fixture('square.png'), 'good.png')
        .expect(403);
      assert.equal(response.body.refused, undefined);
    });
  });
});

describe('when the form is sent without JavaScript', () => {
  const markup = '<img src=x onerror=alert(1)>';
  const hostile = `${markup}\u202E\u2066${'x'.repeat(300)}.txt`;
  const shown = `&lt;img src=x onerror=alert(1)&gt;${'x'.repeat(80 - markup.length)}…`;

  it('then some stored and some refused: a page names each refused file (escaped, without controls, bounded) and links each photo', async () => {
    let page = '';
    const added = await keysAddedBy(async () => {
      const response = await browser
        .upload()
        .attach('photos', await fixture('square.png'), 'good.png')
        .attach('photos', TEXT, hostile)
        .expect(303);
      page = (
        await browser
          .get(response.headers.location!)
          .expect(200)
          .expect('Content-Type', /text\/html/)
      ).text;
    });
    const id = added[0]!.slice('photos/display/'.length, -'.jpg'.length);
    assert.deepEqual(added, objectsOf(id, 'png', 'png', { largeThumbnail: false }));
    assert.ok(page.includes(`<a href="/photos/${id}">good.png</a>`), 'the stored photo is linked');
    assert.ok(page.includes(`<li><span class="file-name" dir="auto">${shown}</span>: ${NOT_AN_IMAGE}</li>`), page);
    assert.ok(!page.includes('<img src=x'), 'no markup from the name');
    assert.ok(!/[\u202A-\u202E\u2066-\u2069]/.test(page.replace(/&#x206[89];/g, '')), 'no directional control from the name');
  });

  /** A no-JS upload of a good PNG and a text file: the results page's address. */
  async function uploadGoodAndBad(as: Browser, badName = 'notes.txt'): Promise<string> {
    const response = await as
      .upload()
      .attach('photos', await fixture('square.png'), 'good.png')
      .attach('photos', TEXT, badName)
      .expect(303);
    const location = response.headers.location!;
    assert.match(location, /^\/uploaded\?results=[A-Za-z0-9_-]+$/);
    return location;
  }

  it('then the results are a page of their own (Post/Redirect/Get): reloading it shows the same and stores nothing', async () => {
    const location = await uploadGoodAndBad(browser);
    const first = await browser.get(location).expect(200).expect('Cache-Control', 'no-store');
    assert.match(first.text, /<h1>Some files were not stored<\/h1>/);
    assert.ok(first.text.includes(`<li><span class="file-name" dir="auto">notes.txt</span>: ${NOT_AN_IMAGE}</li>`));
    await testApp.assertStoresNothing(async () => {
      for (let reload = 0; reload < 3; reload++) assert.equal((await browser.get(location).expect(200)).text, first.text);
    });
  });

  it('then the address holds no file name in the clear, and another browser cannot read it', async () => {
    const location = await uploadGoodAndBad(browser, 'holiday-secret-plans.txt');
    assert.ok(!Buffer.from(location.split('=')[1]!, 'base64url').toString('latin1').includes('holiday'), 'the name is not in the address');
    const stranger = await openBrowser(testApp.app);
    for (const asked of [stranger.get(location), request(testApp.app).get(location)]) {
      const refused = await asked.expect(400).expect('Cache-Control', 'no-store');
      assert.match(refused.text, /<h1>Upload results not found <span class="status">\(400\)<\/span><\/h1>/);
      assert.ok(!refused.text.includes('holiday'));
      assert.equal(refused.headers['set-cookie'], undefined);
    }
  });

  it('then a forged or altered results address is refused in words, as JSON too', async () => {
    const location = await uploadGoodAndBad(browser);
    const token = location.split('=')[1]!;
    const flipped = `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`;
    const forged = Buffer.from(JSON.stringify({ photos: [], refused: [{ file: 'x', reason: '<b>pwned</b>' }] })).toString('base64url');
    for (const query of [
      flipped,
      token.slice(0, -4),
      `${token}AAAA`,
      forged,
      '',
      'not base64!',
      `${token}&results=${token}`,
      'A'.repeat(10_000),
    ]) {
      const refused = await browser.get(`/uploaded?results=${query}`).set('Accept', 'application/json').expect(400);
      assert.deepEqual(refused.body, {
        error: {
          status: 400,
          title: 'Upload results not found',
          message: 'This results page was not made for this browser, or its address was changed.',
          hint: 'The photos that were stored are in the gallery.',
        },
      });
    }
    await browser.get('/uploaded').expect(400);
  });

  it('then every file refused: the error page names each one, escaped and bounded', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await browser.upload().attach('photos', TEXT, hostile).attach('photos', TEXT, 'b.txt').expect(415);
      assert.ok(response.text.includes(`<li><span class="file-name" dir="auto">${shown}</span>: ${NOT_AN_IMAGE}</li>`), response.text);
      assert.ok(response.text.includes(`<li><span class="file-name" dir="auto">b.txt</span>: ${NOT_AN_IMAGE}</li>`));
      assert.ok(!response.text.includes('<img src=x'));
    });
  });

  it('then all stored: the form is still redirected, as before', async () => {
    const response = await browser
      .upload()
      .attach('photos', await fixture('square.png'), 'a.png')
      .expect(303);
    assert.match(response.headers.location ?? '', /^\/photos\/\d{13}-[0-9a-f]{12}$/);
  });
});

// A line or paragraph separator is no control character (Unicode files them as separators), yet the paragraph
// separator ends every isolate around it, as a caption's would: shown names lose both, as captions do.
describe('when file names carry line and paragraph separators', () => {
  it('then the results page shows each as a space, for the stored file and the refused one', async () => {
    const { body, contentType } = formWithExactFileNames(browser.token, [
      { name: 'harbour\u2029at dusk.png', bytes: await fixture('square.png') },
      { name: 'notes\u2028for\u2029me.txt', bytes: TEXT },
    ]);
    const location = (await browser.agent.post('/photos').set('Content-Type', contentType).send(body).expect(303)).headers.location!;
    const page = (await browser.get(location).expect(200)).text;
    assert.match(page, /<a href="\/photos\/[^"]+">harbour at dusk\.png<\/a>/);
    assert.ok(page.includes(`<li><span class="file-name" dir="auto">notes for me.txt</span>: ${NOT_AN_IMAGE}</li>`), page);
    assert.doesNotMatch(page, /[\u2028\u2029]/);
  });
});

describe('when an upload without JavaScript refuses many files with long names', () => {
  const manyFiles = useTestApp({ env: { MAX_FILES_PER_UPLOAD: '50', UPLOADS_PER_HOUR: '1000' } });

  it('then the results address stays within 4,096 characters, and the page says how many more files it cannot list', async () => {
    const visitor = await openBrowser(manyFiles.app);
    let upload = visitor.upload().attach('photos', await fixture('square.png'), 'good.png');
    // Names no compression can shorten: 80 random CJK characters each, 240 bytes.
    const names = Array.from(
      { length: 49 },
      () => `${String.fromCodePoint(...[...randomBytes(80)].map((byte) => 0x4e00 + byte * 64))}.txt`,
    );
    for (const name of names) upload = upload.attach('photos', TEXT, name);
    const location = (await upload.expect(303)).headers.location!;
    assert.ok(location.length <= 4096, `${location.length} characters`);
    const page = (await visitor.get(location).expect(200)).text;
    const listed = names.filter((name) => page.includes(`${name.slice(0, 80)}…`) || page.includes(name));
    assert.ok(listed.length > 0 && listed.length < names.length, `${listed.length} listed`);
    assert.deepEqual(listed, names.slice(0, listed.length), 'the first files are listed, in order');
    assert.ok(page.includes(`<p class="more-files">And ${names.length - listed.length} more files were not stored.</p>`), page);
  });
});
