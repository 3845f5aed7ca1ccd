// "The download saves under the original file name": file names an attacker chooses (quotes, folders, line
// breaks, direction overrides, non-ASCII), sent in the multipart header's RFC 5987 form that carries any
// character, uploaded through real HTTP; then the viewer's Download link, fetched from the real S3 emulator,
// must answer exactly the Content-Disposition expected, and a name that can act only as a name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { downloadLink, fullSizeLink, imageSources } from '../../scripts/support/html.js';
import { attachmentDisposition, cleanFileName, MAX_FILE_NAME_BYTES } from '../../src/photos/download-name.js';
import { openBrowser, type Browser } from '../support/browser.js';
import { formWithExactFileNames } from '../support/hand-sent-upload.js';
import { rewriteRecord, seedPhotos } from '../support/seed.js';
import { fixture, useTestApp } from '../support/test-app.js';

let browser: Browser;
const testApp = useTestApp({ env: { UPLOADS_PER_HOUR: '1000', PAGE_VIEWS_PER_MINUTE: '1000' } }, async () => {
  browser = await openBrowser(testApp.app);
});

const RLO = '\u202E';

/** Uploads `bytes` under `fileName`, written as `filename*` (RFC 5987): every character arrives as sent. */
async function uploadAs(fileName: string, bytes: Buffer): Promise<string> {
  const { body, contentType } = formWithExactFileNames(browser.token, [{ name: fileName, bytes }]);
  const response = await browser.agent.post('/photos').set('Accept', 'application/json').set('Content-Type', contentType).send(body);
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.photos[0].id;
}

/** Opens the photo page, follows "Full-size image" to the viewer, and fetches its Download link over HTTP. */
async function downloadFrom(id: string): Promise<{ disposition: string; savedAs: string; bytes: number; shown: string }> {
  const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
  const viewerPath = fullSizeLink(page.text);
  assert.equal(viewerPath, `/photos/${id}/full`, 'the photo page links the viewer in the app, not S3');
  const viewer = await request(testApp.app).get(viewerPath).expect(200);
  const link = downloadLink(viewer.text);
  assert.ok(link, 'the viewer has a Download link');
  const response = await fetch(link);
  assert.equal(response.status, 200);
  const disposition = response.headers.get('content-disposition') ?? '';
  const encoded = /filename\*=UTF-8''([^;]*)$/.exec(disposition)?.[1];
  assert.ok(encoded, `an RFC 5987 name in ${disposition}`);
  return {
    disposition,
    savedAs: decodeURIComponent(encoded),
    bytes: (await response.arrayBuffer()).byteLength,
    shown: imageSources(viewer.text)[0]!,
  };
}

describe('when a photo uploaded under a hostile file name is downloaded from the full-size viewer', () => {
  const cases = [
    { sent: '"quoted" name.jpg', savedAs: 'quoted name.jpg' },
    { sent: '../../etc/passwd.jpg', savedAs: 'passwd.jpg' },
    { sent: '..\\..\\Windows\\evil.jpg', savedAs: 'evil.jpg' },
    { sent: 'holiday\r\nSet-Cookie: stolen=1\r\n.jpg', savedAs: 'holidaySet-Cookie stolen=1.jpg' },
    { sent: 'Фото з відпустки 東京 🌅.jpg', savedAs: 'Фото з відпустки 東京 🌅.jpg' },
    { sent: `invoice${RLO}gpj.exe`, savedAs: 'invoicegpj.jpg' },
    { sent: '100% "real"; filename=x.jpg', savedAs: '100% real; filename=x.jpg' },
    { sent: '.hidden.jpg', savedAs: 'hidden.jpg' },
  ];
  for (const { sent, savedAs } of cases) {
    it(`then ${JSON.stringify(sent)} is saved as ${JSON.stringify(savedAs)}, in an ASCII header with an exact UTF-8 name`, async () => {
      const id = await uploadAs(sent, await fixture('landscape.jpg'));
      const download = await downloadFrom(id);
      assert.equal(download.savedAs, savedAs);
      assert.equal(download.disposition, attachmentDisposition(savedAs));
      assert.match(download.disposition, /^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9!#$&+.^_`|~%-]*$/);
      assert.ok(download.bytes > 0);
      assert.ok(!download.shown.includes('response-content-disposition'), 'the image shown is not itself an attachment');
    });
  }

  it('then a name of nothing but quotes, line breaks and overrides falls back to the photo id', async () => {
    const id = await uploadAs(`"\r\n${RLO}"/.jpg`, await fixture('landscape.jpg'));
    assert.equal((await downloadFrom(id)).savedAs, `${id}.jpg`);
  });

  it("then an AVIF is saved with the served file's extension, a JPEG", async () => {
    const id = await uploadAs('camera.avif', await fixture('small.avif'));
    assert.equal((await downloadFrom(id)).savedAs, 'camera.jpg');
  });

  it('then a 300-character name is kept within its bound, whole characters and extension kept', async () => {
    const id = await uploadAs(`${'é'.repeat(299)}.jpg`, await fixture('landscape.jpg'));
    const { savedAs } = await downloadFrom(id);
    assert.equal(savedAs, `${'é'.repeat((MAX_FILE_NAME_BYTES - 4) / 2)}.jpg`);
  });
});

describe('when a photo stored before file names were kept is downloaded', () => {
  it('then it is saved as its id', async () => {
    const [id] = await seedPhotos(testApp.store, 1);
    assert.equal((await downloadFrom(id!)).savedAs, `${id}.jpg`);
  });
});

describe('when a file name is cleaned', () => {
  it('then cleaning a clean name changes nothing', () => {
    for (const raw of ['a/b\\c".jpg', `x${RLO}y.png`, `${'ü'.repeat(200)}.jpeg`, ' . spaced . ', 'plain.gif']) {
      const clean = cleanFileName(raw);
      assert.equal(cleanFileName(clean), clean, JSON.stringify(raw));
      assert.ok(Buffer.byteLength(clean) <= MAX_FILE_NAME_BYTES);
    }
  });
});

describe('when the full-size viewer shows a photo stored before full-size images were made from pixels', () => {
  it('then it shows the display image at its own size, not the photo size it cannot reach', async () => {
    const [id] = await seedPhotos(testApp.store, 1);
    // The record as an earlier version wrote it: no full-size type, a photo larger than its 1600 px display image.
    await rewriteRecord(testApp, id, { caption: '', width: '4000', height: '3000', 'original-bytes': '1', 'original-type': 'jpg' });
    const viewer = await request(testApp.app).get(`/photos/${id}/full`).expect(200);
    assert.match(viewer.text, /<img src="[^"]*\/display\/[^"]*" alt="[^"]*" width="1600" height="1200">/);
    assert.match(viewer.text, /data-zoom-width="1600"/);
  });
});

// Cleaning trims spaces and dots from both ends of a name. A trailing-run pattern tried from every position of a
// long run in the middle costs time quadratic in its length, on the event loop: names near the 16 KB a multipart
// header may hold, ten to an upload, stalled every other visitor for seconds.
describe('when the uploaded file names are long runs of spaces and dots', () => {
  it('then cleaning them never holds the event loop: ten in one upload, each as long as a part header allows', async (t) => {
    const photo = await fixture('square.png');
    let upload = browser.upload().set('Accept', 'application/json');
    for (let index = 0; index < 10; index++) upload = upload.attach('photos', photo, `a${' .'.repeat(7_500)}${index}.png`);
    let longestStall = 0;
    let last = performance.now();
    const ticks = setInterval(() => {
      const now = performance.now();
      longestStall = Math.max(longestStall, now - last);
      last = now;
    }, 5);
    try {
      const response = await upload;
      assert.equal(response.status, 201, JSON.stringify(response.body).slice(0, 300));
    } finally {
      clearInterval(ticks);
    }
    t.diagnostic(`longest stall: ${Math.round(longestStall)} ms`);
    assert.ok(longestStall < 1_500, `the event loop was held for ${Math.round(longestStall)} ms at once`);
  });
});
