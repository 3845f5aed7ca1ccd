// How the upload script matches an upload's JSON answer to the files it sent (public/upload-answer.js), run as the
// gallery page loads it: by place in the request, and by name in order from an instance that sends no places.
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/test-app.js';

type Entry = { file: string; position?: number };
type Match = (names: string[], photos: Entry[], refused: Entry[]) => { photos: number[]; refused: number[] };

let testApp: TestApp;
let matchUploadAnswer: Match;
before(async () => {
  testApp = await startTestApp();
  const script = await request(testApp.app).get('/static/upload-answer.js').expect(200);
  const window: { matchUploadAnswer?: Match } = {};
  vm.runInNewContext(script.text, { window });
  // Its arrays are the script's realm's: copied into this one, so that they compare as arrays here.
  matchUploadAnswer = (...args) => structuredClone(window.matchUploadAnswer!(...args));
});
after(() => testApp.close());

describe('when a page with the upload form is served', () => {
  for (const path of ['/', '/upload']) {
    it(`then ${path} loads the matching script before the upload script`, async () => {
      const page = (await request(testApp.app).get(path).expect(200)).text;
      const scripts = [...page.matchAll(/<script src="\/static\/(upload[^"]*)" defer><\/script>/g)].map((match) => match[1]);
      assert.deepEqual(scripts, ['upload-answer.js', 'upload.js']);
    });
  }
});

describe("when the answer numbers its entries (this version's server)", () => {
  it('then each entry marks the file at its place, whatever the names: the refused first image.png stays refused', () => {
    const names = ['image.png', 'image.png', 'cat.jpg'];
    const matched = matchUploadAnswer(
      names,
      [
        { file: 'image.png', position: 2 },
        { file: 'cat.jpg', position: 3 },
      ],
      [{ file: 'image.png', position: 1 }],
    );
    assert.deepEqual(matched, { photos: [1, 2], refused: [0] });
  });

  it('then a place outside the batch, or one already taken, marks no file', () => {
    const matched = matchUploadAnswer(['a.jpg', 'b.jpg'], [{ file: 'a.jpg', position: 3 }], [{ file: 'b.jpg', position: 0 }]);
    assert.deepEqual(matched, { photos: [-1], refused: [-1] });
  });
});

describe('when the answer comes from an older instance that sends no places (a rolling deploy)', () => {
  it('then each entry marks the first file of its name not yet marked, in the order sent', () => {
    const names = ['a.jpg', 'b.png', 'a.jpg', 'c.gif'];
    const matched = matchUploadAnswer(names, [{ file: 'a.jpg' }, { file: 'a.jpg' }, { file: 'c.gif' }], [{ file: 'b.png' }]);
    assert.deepEqual(matched, { photos: [0, 2, 3], refused: [1] });
  });

  it('then an entry whose name no file has left marks none (a stored photo sent again beats a file dropped unsent)', () => {
    const matched = matchUploadAnswer(['a.jpg'], [{ file: 'a.jpg' }, { file: 'a.jpg' }], [{ file: 'other.png' }]);
    assert.deepEqual(matched, { photos: [0, -1], refused: [-1] });
  });

  it('then entries with places and without, in one answer, never mark one file twice', () => {
    const matched = matchUploadAnswer(['x.jpg', 'x.jpg'], [{ file: 'x.jpg' }], [{ file: 'x.jpg', position: 1 }]);
    assert.deepEqual(matched, { photos: [1], refused: [0] });
  });
});
