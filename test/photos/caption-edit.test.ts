// Editing a caption after the upload, through the photo page's form, against the real emulator: only the
// uploader's browser, with its form token, may rewrite the record's caption; every other field, and every
// object, stays exactly as it was; each refusal is a clear 4xx that changes nothing.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, type HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import request from 'supertest';
import { EMULATOR_KEY_PAIR } from '../../scripts/emulators/s3.js';
import { decodeHtml, hiddenFormFields } from '../../scripts/support/html.js';
import { MAX_CAPTION_LENGTH } from '../../src/photos/captions.js';
import { openBrowser, type Browser } from '../support/browser.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { fixture, startTestApp, TEST_BUCKET, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let proxy: FaultProxy;
/** The test's own view of the bucket, straight to the emulator (not through the proxy). */
let s3: S3Client;
let uploader: Browser;
let photoId: string;

before(async () => {
  testApp = await startTestApp({
    appS3Endpoint: async (emulator) => {
      proxy = await startFaultProxy(emulator.port);
      return proxy.endpoint;
    },
  });
  s3 = new S3Client({ region: 'us-east-1', endpoint: testApp.emulator.endpoint, forcePathStyle: true, credentials: EMULATOR_KEY_PAIR });
});
after(async () => {
  s3.destroy();
  await testApp.close();
  await proxy.close();
});

beforeEach(async () => {
  proxy.setFault({ kind: 'none' });
  uploader = await openBrowser(testApp.app);
  photoId = await uploadAs(uploader, 'Sunset at the pier');
});

async function uploadAs(browser: Browser, caption: string): Promise<string> {
  const upload = await browser
    .upload()
    .set('Accept', 'application/json')
    .field('caption', caption)
    .attach('photos', await fixture('landscape.jpg'), 'landscape.jpg')
    .expect(201);
  return upload.body.photos[0].id as string;
}

const thumbnailKey = (id: string) => `photos/thumbnails/${id}.webp`;

function headRecord(id: string): Promise<HeadObjectCommandOutput> {
  return s3.send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: thumbnailKey(id) }));
}

async function thumbnailBytes(id: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: thumbnailKey(id) }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

/** Everything S3 holds of the photo: its keys, the record's headers and metadata, the thumbnail's bytes. */
async function storedPhoto(id: string) {
  const head = await headRecord(id);
  return {
    keys: (await testApp.listAllKeys()).filter((key) => key.includes(id)),
    metadata: head.Metadata,
    contentType: head.ContentType,
    cacheControl: head.CacheControl,
    contentLength: head.ContentLength,
    etag: head.ETag,
    thumbnail: await thumbnailBytes(id),
  };
}

/** The caption form's hidden fields, read from the photo page as the browser would send them. */
async function captionFormFields(browser: Browser, id: string): Promise<Record<string, string>> {
  const page = await browser.get(`/photos/${id}`).expect(200);
  const fields = hiddenFormFields(page.text, 'caption-form');
  assert.ok(fields._csrf, 'the photo page has the caption form, with its token');
  return fields;
}

function postCaption(browser: Browser, id: string, form: Record<string, string | string[]>) {
  return browser.agent.post(`/photos/${id}/caption`).type('form').send(form);
}

/** Runs `act` and checks it changed nothing at all: the same objects, the same record, byte for byte. */
async function assertChangesNothing(act: () => Promise<unknown>): Promise<void> {
  const before = await storedPhoto(photoId);
  const allKeys = await testApp.listAllKeys();
  await act();
  assert.deepEqual(await storedPhoto(photoId), before, 'the photo is stored exactly as it was');
  assert.deepEqual(await testApp.listAllKeys(), allKeys, 'the bucket holds the same objects');
}

describe('when the uploader edits the caption through the form on the photo page', () => {
  it('then the page shows the new caption with a notice, and every other field of the record is unchanged', async () => {
    const storedBefore = await storedPhoto(photoId);
    const recordBefore = await testApp.store.findPhoto(photoId);
    const fields = await captionFormFields(uploader, photoId);

    await postCaption(uploader, photoId, { ...fields, caption: '  Pier at dusk, 8 pm  ' })
      .expect(303)
      .expect('Location', `/photos/${photoId}`);

    const page = (await uploader.get(`/photos/${photoId}`).expect(200)).text;
    assert.match(page, /<p class="notice" role="status">The caption was saved\.<\/p>/);
    assert.match(page, /<h1 dir="auto">Pier at dusk, 8 pm<\/h1>/);
    assert.doesNotMatch((await uploader.get(`/photos/${photoId}`).expect(200)).text, /The caption was saved/, 'the notice shows once');

    const storedAfter = await storedPhoto(photoId);
    assert.equal(Buffer.from(storedAfter.metadata!.caption!, 'base64').toString('utf8'), 'Pier at dusk, 8 pm');
    const { caption: _before, ...otherMetadataBefore } = storedBefore.metadata!;
    const { caption: _after, ...otherMetadataAfter } = storedAfter.metadata!;
    assert.deepEqual(otherMetadataAfter, otherMetadataBefore, 'width, height, frames, sizes, types and owner tag');
    assert.deepEqual(Object.keys(otherMetadataAfter).sort(), [
      'file-name',
      'frames',
      'full-size-type',
      'height',
      'original-bytes',
      'original-type',
      'owner-tag',
      'variants',
      'width',
    ]);
    assert.equal(storedAfter.contentType, 'image/webp');
    assert.equal(storedAfter.cacheControl, storedBefore.cacheControl);
    assert.equal(storedAfter.contentLength, storedBefore.contentLength);
    assert.equal(storedAfter.etag, storedBefore.etag, 'the same thumbnail content');
    assert.deepEqual(storedAfter.thumbnail, storedBefore.thumbnail);
    assert.deepEqual(storedAfter.keys, storedBefore.keys, 'every size of the photo is still there');

    const recordAfter = await testApp.store.findPhoto(photoId);
    assert.ok(recordBefore && recordAfter);
    for (const field of Object.keys(recordBefore) as (keyof typeof recordBefore)[]) {
      if (field === 'caption') continue;
      assert.deepEqual(recordAfter[field], recordBefore[field], `the record's ${field}`);
    }
    assert.equal(recordAfter.caption, 'Pier at dusk, 8 pm');
  });

  it('then an empty caption removes it: the record has no caption, and the page is untitled', async () => {
    const fields = await captionFormFields(uploader, photoId);
    await postCaption(uploader, photoId, { ...fields, caption: ' \t ' }).expect(303);
    assert.equal((await headRecord(photoId)).Metadata?.caption, undefined);
    const page = (await uploader.get(`/photos/${photoId}`).expect(200)).text;
    assert.match(page, /<p class="notice" role="status">The caption was removed\.<\/p>/);
    assert.match(page, /<h1 dir="auto">Untitled photo<\/h1>/);
    assert.equal((await testApp.store.findPhoto(photoId))?.caption, '');
  });

  it('then the gallery names the thumbnail by its new caption', async () => {
    const fields = await captionFormFields(uploader, photoId);
    await postCaption(uploader, photoId, { ...fields, caption: 'Renamed at the pier' }).expect(303);
    const gallery = (await request(testApp.app).get('/').expect(200)).text;
    assert.match(gallery, /Photo \d+: &#x2068;Renamed at the pier&#x2069;, uploaded/);
    assert.doesNotMatch(gallery, /Sunset at the pier/);
  });

  it('then markup in the caption is kept as text and escaped wherever it is shown', async () => {
    const fields = await captionFormFields(uploader, photoId);
    await postCaption(uploader, photoId, { ...fields, caption: '<img src=x onerror=alert(1)> & "quotes"' }).expect(303);
    const page = (await uploader.get(`/photos/${photoId}`).expect(200)).text;
    assert.ok(!page.includes('<img src=x'), 'no markup from the caption reaches the page');
    assert.match(page, /<h1 dir="auto">&lt;img src=x onerror=alert\(1\)&gt; &amp; &#34;quotes&#34;<\/h1>/);
    const gallery = (await request(testApp.app).get('/').expect(200)).text;
    assert.ok(!gallery.includes('<img src=x'));
  });

  it('then directional controls are balanced as at upload, so the caption cannot reach outside its isolate', async () => {
    const fields = await captionFormFields(uploader, photoId);
    await postCaption(uploader, photoId, { ...fields, caption: 'Hi\u2069\u202Eevil' }).expect(303);
    assert.equal((await testApp.store.findPhoto(photoId))?.caption, 'Hi\u202Eevil\u202C');
  });
});

describe('when the uploader came to the photo from a gallery page (?from=)', () => {
  const FROM = '1700000000000-0123456789ab';

  it("then the form posts that position and the edit comes back to it, so the page's neighbours stay the same", async () => {
    const page = (await uploader.get(`/photos/${photoId}?from=${FROM}`).expect(200)).text;
    const action = decodeHtml(/<form id="caption-form" action="([^"]*)"/.exec(page)?.[1] ?? '');
    assert.equal(action, `/photos/${photoId}/caption?from=${FROM}`);
    await uploader.agent
      .post(action)
      .type('form')
      .send({ ...hiddenFormFields(page, 'caption-form'), caption: 'Back where I was' })
      .expect(303)
      .expect('Location', `/photos/${photoId}?from=${FROM}`);
    assert.equal((await testApp.store.findPhoto(photoId))?.caption, 'Back where I was');
  });

  it('then a `from` that is not a photo id is dropped: the edit comes back to the bare photo page, never elsewhere', async () => {
    const fields = await captionFormFields(uploader, photoId);
    const hostile = [
      '//evil.example',
      'https://evil.example/',
      '/\\evil.example',
      '%0d%0aSet-Cookie:%20a=b',
      `${FROM}/../../evil`,
      `${FROM}%23frag`,
      `${FROM}&from=${FROM}`,
      `${FROM}0`,
      '',
    ];
    for (const from of hostile) {
      await uploader.agent
        .post(`/photos/${photoId}/caption?from=${from}`)
        .type('form')
        .send({ ...fields, caption: 'Still here' })
        .expect(303)
        .expect('Location', `/photos/${photoId}`);
      const page = (await uploader.get(`/photos/${photoId}?from=${from}`).expect(200)).text;
      assert.ok(page.includes(`<form id="caption-form" action="/photos/${photoId}/caption" method="post">`), from);
    }
  });
});

describe('when a caption is long', () => {
  it('then the photo page shows it as body text under a plain heading; up to 80 characters it is the heading', async () => {
    const fields = await captionFormFields(uploader, photoId);
    const long = `A long day at the pier: ${'waves and gulls, '.repeat(15)}`.trim();
    await postCaption(uploader, photoId, { ...fields, caption: long }).expect(303);
    const page = (await uploader.get(`/photos/${photoId}`).expect(200)).text;
    assert.match(page, /<h1 class="visually-hidden">Photo<\/h1>\s*<p class="caption" dir="auto">A long day at the pier: waves/);
    assert.equal(page.match(/<h1\b/g)?.length, 1, 'one heading');
    assert.ok(page.includes(`<title>&#x2068;${long}&#x2069; · `), 'the title still holds the whole caption');

    const heading = 'h'.repeat(80);
    await postCaption(uploader, photoId, { ...fields, caption: heading }).expect(303);
    const short = (await uploader.get(`/photos/${photoId}`).expect(200)).text;
    assert.match(short, new RegExp(`<h1 dir="auto">${heading}</h1>`));
    assert.doesNotMatch(short, /<p class="caption"/);
  });
});

describe('when a caption edit is attacked', () => {
  it('then a cross-site POST (no cookies, no token) is refused with 403 and changes nothing', async () => {
    await assertChangesNothing(async () => {
      const refused = await request(testApp.app)
        .post(`/photos/${photoId}/caption`)
        .set('Origin', 'https://evil.example')
        .type('form')
        .send({ caption: 'pwned' })
        .expect(403);
      assert.match(refused.text, /Form expired/);
      assert.doesNotMatch(String(refused.headers['set-cookie'] ?? ''), /browser_key/, 'no browser key is handed out');
    });
  });

  it("then the uploader's own browser without the token, or with a forged one, is refused with 403", async () => {
    await assertChangesNothing(async () => {
      assert.match((await postCaption(uploader, photoId, { caption: 'pwned' }).expect(403)).text, /Form expired/);
      assert.match((await postCaption(uploader, photoId, { _csrf: 'forged', caption: 'pwned' }).expect(403)).text, /Form expired/);
    });
  });

  it("then another visitor's browser, with its own valid token, is refused with 403 and sees no form", async () => {
    const stranger = await openBrowser(testApp.app);
    const page = (await stranger.get(`/photos/${photoId}`).expect(200)).text;
    assert.deepEqual(hiddenFormFields(page, 'caption-form'), {}, 'no caption form for a stranger');
    assert.match(page, /Only the browser that uploaded this photo can change its caption or delete it\./);
    await assertChangesNothing(async () => {
      const refused = await postCaption(stranger, photoId, { _csrf: stranger.token, caption: 'pwned' }).expect(403);
      assert.match(refused.text, /Not your photo/);
      assert.match(refused.text, /Only the browser that uploaded this photo can change or delete it\./);
    });
  });

  it('then a photo id that does not exist, or is malformed, is a 404 saying so', async () => {
    await assertChangesNothing(async () => {
      for (const id of ['8000000000000-aaaaaaaaaaaa', 'not-a-photo', '..%2Fdisplay%2Fx', `${photoId}x`]) {
        const refused = await postCaption(uploader, id, { _csrf: uploader.token, caption: 'x' }).expect(404);
        assert.match(refused.text, /Photo not found/, id);
      }
    });
  });

  it(`then a caption over ${MAX_CAPTION_LENGTH} characters, however long, is a 400 saying so`, async () => {
    await assertChangesNothing(async () => {
      for (const caption of ['é'.repeat(MAX_CAPTION_LENGTH + 1), '😀'.repeat(MAX_CAPTION_LENGTH + 1)]) {
        const refused = await postCaption(uploader, photoId, { _csrf: uploader.token, caption }).expect(400);
        assert.match(refused.text, /Caption too long/);
        assert.match(refused.text, /The caption is longer than 280 characters\./);
      }
      // Too big to read at all: its characters are not counted, so the answer gives the limit in words.
      const refused = await postCaption(uploader, photoId, { _csrf: uploader.token, caption: 'a'.repeat(100_000) }).expect(400);
      assert.match(
        refused.text,
        /The caption is too long to store: a caption may have up to 280 characters, fewer when they are emoji or letters with marks\./,
      );
    });
    // Exactly the limit, in the widest characters, fits.
    await postCaption(uploader, photoId, { _csrf: uploader.token, caption: '😀'.repeat(MAX_CAPTION_LENGTH) }).expect(303);
    assert.equal((await testApp.store.findPhoto(photoId))?.caption, '😀'.repeat(MAX_CAPTION_LENGTH));
  });

  it('then a caption is counted as the reader sees it: an emoji family or a letter with its marks is one character', async () => {
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}'; // 7 code points, 25 UTF-8 bytes
    const markedLetter = 'a\u0332\u0333'; // a with a double low line under it: 3 code points, 5 bytes
    const flag = '\u{1F1EB}\u{1F1F7}'; // two regional indicators, 8 bytes
    // 315, 600 and 380 code points; 1,125, 1,000 and 1,160 bytes.
    for (const caption of [family.repeat(45), markedLetter.repeat(200), `${flag.repeat(100)}${'e\u0301'.repeat(180)}`]) {
      await postCaption(uploader, photoId, { _csrf: uploader.token, caption }).expect(303);
      assert.equal((await testApp.store.findPhoto(photoId))?.caption, caption.normalize('NFC'));
    }
    await postCaption(uploader, photoId, { _csrf: uploader.token, caption: markedLetter.repeat(80) }).expect(303);
    assert.match(
      (await uploader.get(`/photos/${photoId}`).expect(200)).text,
      /<h1 dir="auto">(a\u0332\u0333){80}<\/h1>/,
      '80 characters are a heading',
    );
  });

  it('then a caption whose characters take more room than S3 keeps is a 400 that says how many of them fit', async () => {
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}';
    const heavyLetter = 'a\u0332\u0333\u0334\u0335\u0336'; // 11 bytes
    const cases = [
      [family.repeat(100), 'only its first 48 of its 100 characters fit'],
      [family.repeat(49), 'only its first 48 of its 49 characters fit'],
      [heavyLetter.repeat(120), 'only its first 109 of its 120 characters fit'],
    ] as const;
    await assertChangesNothing(async () => {
      for (const [caption, fitting] of cases) {
        const refused = await postCaption(uploader, photoId, { _csrf: uploader.token, caption })
          .set('Accept', 'application/json')
          .expect(400);
        assert.equal(refused.body.error.title, 'Caption too long');
        assert.equal(
          refused.body.error.message,
          `The caption is too long to store: emoji and letters with marks take the room of several plain letters, so ${fitting}. Nothing was stored.`,
        );
      }
    });
    // 48 families are 1,200 bytes: they fit.
    await postCaption(uploader, photoId, { _csrf: uploader.token, caption: family.repeat(48) }).expect(303);
    assert.equal((await testApp.store.findPhoto(photoId))?.caption, family.repeat(48));
  });

  it('then two caption fields (not from the form) are a 400, not one of them kept silently', async () => {
    await assertChangesNothing(async () => {
      const refused = await postCaption(uploader, photoId, { _csrf: uploader.token, caption: ['one', 'two'] }).expect(400);
      assert.match(refused.text, /Caption not readable/);
    });
  });

  it('then a photo deleted (in another tab) after its page was opened is a 404, and nothing comes back', async () => {
    const fields = await captionFormFields(uploader, photoId);
    await uploader.delete(photoId).expect(303);
    const refused = await postCaption(uploader, photoId, { ...fields, caption: 'too late' }).expect(404);
    assert.match(refused.text, /Photo not found/);
    assert.deepEqual(
      (await testApp.listAllKeys()).filter((key) => key.includes(photoId)),
      [],
    );
  });

  it('then a photo deleted between the record being read and rewritten is a 404, and its record does not come back', async () => {
    const fields = await captionFormFields(uploader, photoId);
    // Hold the rewrite (a copy of the record onto itself) until the photo is deleted, then let it through.
    let deleted!: Promise<unknown>;
    proxy.setFault({
      kind: 'hold-matching',
      pattern: /^x-amz-copy-source:/im,
      onHold: (release) => {
        deleted = uploader.delete(photoId).expect(303).then(release);
      },
    });
    const refused = await postCaption(uploader, photoId, { ...fields, caption: 'too late' }).expect(404);
    await deleted;
    assert.match(refused.text, /Photo not found/);
    assert.deepEqual(
      (await testApp.listAllKeys()).filter((key) => key.includes(photoId)),
      [],
    );
  });
});

describe('when several edits of one caption arrive at once', () => {
  it('then each is answered, the record is whole and holds one of them, and nothing else changed', async () => {
    const fields = await captionFormFields(uploader, photoId);
    const before = await storedPhoto(photoId);
    // Different lengths: interleaved writes of one file would leave a record that mixes two of them.
    const captions = Array.from({ length: 40 }, (_, i) => `Edit ${i}: ${'x'.repeat(1 + ((i * 37) % 250))}`);
    await Promise.all(captions.map((caption) => postCaption(uploader, photoId, { ...fields, caption }).expect(303)));
    const after = await storedPhoto(photoId);
    const saved = (await testApp.store.findPhoto(photoId))?.caption;
    assert.ok(saved !== undefined && captions.includes(saved), `the record holds one whole caption, not ${JSON.stringify(saved)}`);
    const { caption: _a, ...metadataBefore } = before.metadata!;
    const { caption: _b, ...metadataAfter } = after.metadata!;
    assert.deepEqual({ ...after, metadata: metadataAfter }, { ...before, metadata: metadataBefore });
  });

  it('then an edit racing a deletion leaves the photo either whole or entirely gone, never a record without its images', async () => {
    const fields = await captionFormFields(uploader, photoId);
    const [edit] = await Promise.all([
      postCaption(uploader, photoId, { ...fields, caption: 'racing' }),
      uploader.delete(photoId).expect(303),
    ]);
    assert.ok([303, 404].includes(edit.status), `the edit answered ${edit.status}`);
    assert.deepEqual(
      (await testApp.listAllKeys()).filter((key) => key.includes(photoId)),
      [],
    );
  });
});
