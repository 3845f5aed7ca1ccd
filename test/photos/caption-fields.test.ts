// The upload form's caption fields as a script might send them: bracketed names (`caption[x]`), which the form never
// sends, are refused; an empty per-file caption means "the caption for all", as the upload script's own form means it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Browser, openBrowser } from '../support/browser.js';
import { fixture, startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let browser: Browser;
before(async () => {
  testApp = await startTestApp({ env: { MAX_FILES_PER_UPLOAD: '3', UPLOADS_PER_HOUR: '1000' } });
  browser = await openBrowser(testApp.app);
});
after(() => testApp.close());

async function storedCaptions(body: { photos: { id: string }[] }): Promise<string[]> {
  return Promise.all(body.photos.map(async ({ id }) => (await testApp.store.findPhoto(id))!.caption));
}

function uploadJson() {
  return browser.upload().set('Accept', 'application/json');
}

/** Two photos and one more form field, `field`, answered in JSON. */
async function uploadTwoPhotosWith(field: string) {
  return uploadJson()
    .attach('photos', await fixture('square.png'), 'a.png')
    .attach('photos', await fixture('tiny.gif'), 'b.gif')
    .field(field, 'Harbour at dusk');
}

describe('when a caption field is sent with a bracketed name', () => {
  for (const field of ['caption[x]', 'caption[x][y]', 'caption-1[x]', 'caption-2[note]']) {
    it(`then ${field} refuses the upload in words, and nothing is stored`, async () => {
      await testApp.assertStoresNothing(async () => {
        const response = await uploadTwoPhotosWith(field);
        assert.equal(response.status, 400);
        assert.equal(response.body.error.title, 'Caption not readable', field);
        assert.equal(
          response.body.error.message,
          `The form's field "${field.replace(/\[.*$/, '')}" was sent in parts (with [brackets] in its name): a caption is one text field. Nothing was stored.`,
        );
      });
    });
  }

  // multer reads these as a list, as it reads one field sent twice: refused as a form no page sends.
  for (const field of ['caption[]', 'caption[0]', 'caption-2[]']) {
    it(`then ${field} refuses the upload as malformed, and nothing is stored`, async () => {
      await testApp.assertStoresNothing(async () => {
        const response = await uploadTwoPhotosWith(field);
        assert.equal(response.status, 400);
        assert.equal(response.body.error.title, 'Malformed upload', field);
      });
    });
  }

  it('then a bracketed field that is no caption is ignored, as any field the form does not have', async () => {
    const response = await uploadJson()
      .field('caption', 'For all')
      .field('note[x]', 'ignored')
      .field('note', 'ignored too')
      .attach('photos', await fixture('square.png'), 'a.png')
      .expect(201);
    assert.deepEqual(await storedCaptions(response.body), ['For all']);
  });
});

describe("when a file's own caption is sent empty", () => {
  it('then that file takes the caption for all, as when its field is left out', async () => {
    const response = await uploadJson()
      .field('caption', 'For all')
      .field('caption-1', 'First')
      .field('caption-2', '')
      .field('caption-3', ' \t\u0000 ')
      .attach('photos', await fixture('square.png'), 'a.png')
      .attach('photos', await fixture('tiny.gif'), 'b.gif')
      .attach('photos', await fixture('portrait.webp'), 'c.webp')
      .expect(201);
    assert.deepEqual(await storedCaptions(response.body), ['First', 'For all', 'For all']);
  });
});
