// Each file of an upload may have its own caption: `caption-<n>` for the n-th file (from 1, refused files counted),
// over the form's `caption`; checked as any caption is, and a bad one refuses the upload naming its file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Browser, openBrowser } from '../support/browser.js';
import { CAPTION_FIELD_BYTES } from '../../src/photos/captions.js';
import { fixture, useTestApp } from '../support/test-app.js';

let browser: Browser;
const testApp = useTestApp({ env: { MAX_FILES_PER_UPLOAD: '3', UPLOADS_PER_HOUR: '1000' } }, async () => {
  browser = await openBrowser(testApp.app);
});

/** The captions stored for the photos of a JSON upload answer, in its order. */
async function storedCaptions(body: { photos: { id: string }[] }): Promise<string[]> {
  return Promise.all(body.photos.map(async ({ id }) => (await testApp.store.findPhoto(id))!.caption));
}

function uploadJson() {
  return browser.upload().set('Accept', 'application/json');
}

describe('when files of one upload have their own captions', () => {
  it("then each file's caption-<n> is its caption, and the others take the form's caption", async () => {
    const response = await uploadJson()
      .field('caption', 'For all')
      .attach('photos', await fixture('square.png'), 'a.png')
      .attach('photos', await fixture('tiny.gif'), 'b.gif')
      .attach('photos', await fixture('portrait.webp'), 'c.webp')
      .field('caption-2', 'Only the GIF')
      .expect(201);
    assert.deepEqual(await storedCaptions(response.body), ['For all', 'Only the GIF', 'For all']);
  });

  it('then without a caption for all, a file without its own has none', async () => {
    const response = await uploadJson()
      .field('caption-1', 'First')
      .attach('photos', await fixture('square.png'), 'a.png')
      .attach('photos', await fixture('tiny.gif'), 'b.gif')
      .expect(201);
    assert.deepEqual(await storedCaptions(response.body), ['First', '']);
  });

  it('then n counts the refused files too: the caption stays with its own file', async () => {
    const response = await uploadJson()
      .attach('photos', Buffer.from('not an image at all, just text'), 'notes.txt')
      .attach('photos', await fixture('square.png'), 'a.png')
      .field('caption-1', 'For the text file')
      .field('caption-2', 'For the PNG')
      .expect(201);
    assert.deepEqual(await storedCaptions(response.body), ['For the PNG']);
  });

  it('then a per-file caption is cleaned as any caption: control characters dropped, directional controls balanced', async () => {
    const response = await uploadJson()
      .attach('photos', await fixture('square.png'), 'a.png')
      .field('caption-1', ' a\u0000b\u202Ec\n ')
      .expect(201);
    assert.deepEqual(await storedCaptions(response.body), ['ab\u202Ec\u202C']);
  });
});

describe('when a per-file caption is wrong', () => {
  it('then one over 280 characters refuses the upload, naming its file', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await uploadJson()
        .attach('photos', await fixture('square.png'), 'a.png')
        .attach('photos', await fixture('tiny.gif'), 'b.gif')
        .field('caption-2', 'é'.repeat(281))
        .expect(400);
      assert.equal(response.body.error.title, 'Caption too long');
      assert.equal(response.body.error.message, 'The caption for "b.gif" is longer than 280 characters. Nothing was stored.');
    });
  });

  it('then one of few characters that take more room than S3 keeps refuses the upload, naming its file and what fits', async () => {
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}';
    await testApp.assertStoresNothing(async () => {
      const response = await uploadJson()
        .attach('photos', await fixture('square.png'), 'a.png')
        .field('caption-1', family.repeat(60))
        .expect(400);
      assert.equal(
        response.body.error.message,
        'The caption for "a.png" is too long to store: emoji and letters with marks take the room of several plain letters, so only its first 48 of its 60 characters fit. Nothing was stored.',
      );
    });
  });

  it('then 45 emoji families (315 code points) are 45 characters, and kept', async () => {
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}';
    const response = await uploadJson()
      .attach('photos', await fixture('square.png'), 'a.png')
      .field('caption', family.repeat(45))
      .expect(201);
    assert.deepEqual(await storedCaptions(response.body), [family.repeat(45)]);
  });

  it('then one past the field size limit refuses the upload, naming its file', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await uploadJson()
        .attach('photos', await fixture('square.png'), 'a.png')
        .field('caption-1', 'x'.repeat(CAPTION_FIELD_BYTES + 1))
        .expect(400);
      assert.equal(
        response.body.error.message,
        'The caption for "a.png" is too long to store: a caption may have up to 280 characters, fewer when they are emoji or letters with marks. Nothing was stored.',
      );
    });
  });

  // The upload script sends the captions before the files (public/upload.js), so when the field limit ends the form
  // no file name has arrived yet: the refusal names the file by its place, never as the caption for all.
  it('then one past the field size limit, sent before the files as the upload form sends them, names its file by its place', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await uploadJson()
        .field('caption', 'For all')
        .field('caption-2', 'x'.repeat(CAPTION_FIELD_BYTES + 1))
        .attach('photos', await fixture('square.png'), 'a.png')
        .attach('photos', await fixture('tiny.gif'), 'b.gif')
        .expect(400);
      assert.equal(
        response.body.error.message,
        'The caption for file 2 of the upload is too long to store: a caption may have up to 280 characters, fewer when they are emoji or letters with marks. Nothing was stored.',
      );
    });
  });

  it('then a caption for a file the form does not have refuses the upload', async () => {
    for (const field of ['caption-3', 'caption-0', 'caption-01', 'caption-x']) {
      await testApp.assertStoresNothing(async () => {
        const response = await uploadJson()
          .attach('photos', await fixture('square.png'), 'a.png')
          .attach('photos', await fixture('tiny.gif'), 'b.gif')
          .field(field, 'Which one?')
          .expect(400);
        assert.equal(response.body.error.title, 'Caption for no file', field);
        assert.equal(
          response.body.error.message,
          `The form's field "${field}" is a caption for no file of the upload (it has 2). Nothing was stored.`,
        );
      });
    }
  });

  it('then two captions for one file refuse the upload, rather than one kept silently', async () => {
    await testApp.assertStoresNothing(async () => {
      const response = await uploadJson()
        .attach('photos', await fixture('square.png'), 'a.png')
        .field('caption-1', 'one')
        .field('caption-1', 'two')
        .expect(400);
      assert.equal(response.body.error.title, 'Malformed upload');
    });
  });
});
