// Records the app cannot read (written by a newer or older version during a rolling deploy, by hand, or damaged):
// the gallery shows every other photo, the record's own page is a 404, and the log names its key once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { encodeCaption, MAX_CAPTION_LENGTH } from '../../src/photos/captions.js';
import { storeCountingCalls } from '../support/counting-store.js';
import { rewriteRecord, seedPhotos } from '../support/seed.js';
import { startTestApp, type TestApp, logLineCollector } from '../support/test-app.js';

/** A record as this version writes it for the seeded photos (seed.ts), for each case to change one field of. */
const READABLE: Record<string, string> = {
  caption: encodeCaption('seeded'),
  width: '300',
  height: '400',
  frames: '1',
  'original-bytes': '1000',
  'original-type': 'jpg',
  'full-size-type': 'jpg',
  'owner-tag': '',
  variants: '',
};

const DAMAGE: [what: string, change: Record<string, string | undefined>][] = [
  ['a copy a newer version makes (unknown variant name)', { variants: 'thumbnail-2x thumbnail-3x' }],
  ['no width', { width: undefined }],
  ['no height', { height: undefined }],
  ['a width that is no number', { width: 'wide' }],
  ['a height of zero', { height: '0' }],
  ['a negative width', { width: '-300' }],
  ['a fractional height', { height: '400.5' }],
  ['a width in exponent form', { width: '3e2' }],
  ['a width hundreds of digits long', { width: '9'.repeat(400) }],
  ['a frame count that is no number', { frames: 'many' }],
  ['no original size', { 'original-bytes': undefined }],
  ['an original size that is no number', { 'original-bytes': 'big' }],
  ['a caption far over the limit', { caption: encodeCaption('x'.repeat(MAX_CAPTION_LENGTH * 8)) }],
  ['a full-size type no version writes', { 'full-size-type': 'tiff' }],
  ['an original type no version accepts', { 'original-type': 'bmp' }],
];

const { lines: logLines, destination: logDestination } = logLineCollector();
let testApp: TestApp;
/** Newest first: [readable, damaged × DAMAGE.length, readable]. */
let newestFirst: string[];
const damaged = new Map<string, string>();

before(async () => {
  testApp = await startTestApp({
    logDestination,
  });
  // Seeded by another instance's store: this app has remembered nothing of them, as after a deploy.
  const otherInstance = storeCountingCalls(testApp);
  try {
    newestFirst = (await seedPhotos(otherInstance.store, DAMAGE.length + 2)).reverse();
  } finally {
    otherInstance.close();
  }
  for (const [index, [what, change]] of DAMAGE.entries()) {
    const id = newestFirst[index + 1]!;
    const metadata = Object.fromEntries(
      Object.entries({ ...READABLE, ...change }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    await rewriteRecord(testApp, id, metadata);
    damaged.set(id, what);
  }
});
after(() => testApp.close());

function galleryPhotoIds(html: string): string[] {
  return [...html.matchAll(/href="\/photos\/(\d{13}-[0-9a-f]{12})[^"]*"/g)].map((match) => match[1]!);
}

describe('when a gallery page holds records this version cannot read', () => {
  it('then the page shows every readable photo and leaves each unreadable one out', async () => {
    const page = await request(testApp.app).get('/').expect(200);
    assert.deepEqual(new Set(galleryPhotoIds(page.text)), new Set([newestFirst[0], newestFirst.at(-1)]));
  });

  it('then a warning names each unreadable record by its key, once however often the page is shown, and never its contents', async () => {
    await request(testApp.app).get('/').expect(200);
    await request(testApp.app).get('/').expect(200);
    const warnings = logLines
      .map((line) => JSON.parse(line) as { level: number; key?: string; msg: string })
      .filter((entry) => entry.level === 40);
    const keys = warnings.map((entry) => entry.key);
    assert.deepEqual([...keys].sort(), [...damaged.keys()].map((id) => `${testApp.config.keyPrefix}thumbnails/${id}.webp`).sort());
    for (const line of logLines) assert.doesNotMatch(line, /thumbnail-3x|tiff|9999999999|wide|many/, line);
  });
});

describe('when the page of a photo whose record this version cannot read is opened', () => {
  it('then each answers a 404 page that says the photo cannot be shown, for every kind of damage', async () => {
    for (const [id, what] of damaged) {
      for (const path of [`/photos/${id}`, `/photos/${id}/full`]) {
        const response = await request(testApp.app).get(path);
        assert.equal(response.status, 404, `${what}: GET ${path} answered ${response.status}`);
        assert.match(response.text, /cannot be shown/, what);
        assert.doesNotMatch(response.text, /<img/, what);
      }
      const json = await request(testApp.app).get(`/photos/${id}`).set('Accept', 'application/json').expect(404);
      assert.equal(json.body.error.title, 'Photo cannot be shown', what);
    }
  });
});
