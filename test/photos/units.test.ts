// The small pure parts of the photo feature: ids, type sniffing, captions, paging links, the worker limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { balanceDirectionalControls, cleanCaption, decodeCaption, encodeCaption } from '../../src/photos/captions.js';
import { limitConcurrency } from '../../src/concurrency.js';
import { detectImageType } from '../../src/photos/image-type.js';
import { newerPageLink, newestPageLink, olderPageLink, readPagePosition } from '../../src/photos/pagination.js';
import { isPhotoId, newPhotoId, uploadedAt } from '../../src/photos/photo-id.js';
import { fixture } from '../support/test-app.js';

describe('photo ids', () => {
  it('when two photos are uploaded, then the newer id sorts first', () => {
    const older = newPhotoId(new Date('2026-01-01T00:00:00Z'));
    const newer = newPhotoId(new Date('2026-01-01T00:00:01Z'));
    assert.ok(newer < older);
  });

  it('when an id is read back, then it gives the upload time', () => {
    const when = new Date('2026-11-28T10:20:30.456Z');
    const id = newPhotoId(when);
    assert.ok(isPhotoId(id));
    assert.equal(uploadedAt(id).toISOString(), when.toISOString());
  });

  it('when a string is not an id, then it is refused', () => {
    for (const value of ['', '../x', '8204147854717-D594299F7947', '8204147854717-d594299f7947.jpg']) assert.equal(isPhotoId(value), false);
  });
});

describe('image type sniffing', () => {
  it('when real image files are read, then their type comes from their bytes', async () => {
    assert.equal(detectImageType(await fixture('landscape.jpg'))?.label, 'JPEG');
    assert.equal(detectImageType(await fixture('square.png'))?.label, 'PNG');
    assert.equal(detectImageType(await fixture('portrait.webp'))?.label, 'WebP');
    assert.equal(detectImageType(await fixture('tiny.gif'))?.label, 'GIF');
    assert.equal(detectImageType(await fixture('small.avif'))?.label, 'AVIF');
  });

  it('when the bytes are not an accepted image, then there is no type', () => {
    for (const text of ['<svg xmlns="http://www.w3.org/2000/svg"/>', '<!doctype html>', 'GIF', '', '\u0000\u0000\u0000\u0018ftypheic']) {
      assert.equal(detectImageType(Buffer.from(text, 'latin1')), undefined, JSON.stringify(text));
    }
  });
});

describe('captions', () => {
  it('when a caption in any script is encoded, then it decodes to the same text and the header value is ASCII', () => {
    const caption = 'Zoë 東京 🌸 עברית';
    const encoded = encodeCaption(caption);
    assert.match(encoded, /^[A-Za-z0-9+/=]*$/);
    assert.equal(decodeCaption(encoded), caption);
  });

  it('when a caption is typed in decomposed form, then it is stored composed and trimmed', () => {
    assert.equal(cleanCaption('  Zoe\u0308 '), 'Zoë');
    assert.equal(cleanCaption(['a', 'b']), '');
    assert.equal(cleanCaption('one\r\nline\tonly\u0085here'), 'one line only here', 'line breaks and tabs become spaces');
    assert.equal(cleanCaption('one\u2028line\u2029only'), 'one line only', 'Unicode line and paragraph separators too');
    assert.equal(cleanCaption('no\u0000nul\u001bescape\u007fdel\u009bcsi'), 'nonulescapedelcsi', 'other control characters go');
    assert.equal(
      cleanCaption('\u202Ebidi\u2066 stays'),
      '\u202Ebidi\u2066 stays\u2069\u202C',
      'bidi controls are text a right-to-left writer may need: kept, and closed',
    );
  });
});

describe('directional controls in a caption', () => {
  const [LRE, RLE, PDF, LRO, RLO] = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E'];
  const [LRI, RLI, FSI, PDI] = ['\u2066', '\u2067', '\u2068', '\u2069'];

  /** Every closer closes the innermost thing open, and nothing is left open: the text cannot reach outside itself. */
  function isBalanced(text: string): boolean {
    const open: ('embedding' | 'isolate')[] = [];
    for (const char of text) {
      if ([LRE, RLE, LRO, RLO].includes(char)) open.push('embedding');
      else if ([LRI, RLI, FSI].includes(char)) open.push('isolate');
      else if (char === PDF && open.pop() !== 'embedding') return false;
      else if (char === PDI && open.pop() !== 'isolate') return false;
    }
    return open.length === 0;
  }
  const withoutControls = (text: string) => text.replace(/[\u202A-\u202E\u2066-\u2069]/g, '');

  it("when a caption closes the title's isolate and then overrides, then its closer is dropped and its override closed", () => {
    assert.equal(balanceDirectionalControls(`evil${PDI}${RLO}eman ppa`), `evil${RLO}eman ppa${PDF}`);
  });

  it('when closers come in the wrong order or inside an isolate, then they follow the Unicode bidi rules', () => {
    // A PDI closes the embeddings still open inside its isolate.
    assert.equal(balanceDirectionalControls(`a${RLI}b${RLE}c${PDI}d`), `a${RLI}b${RLE}c${PDF}${PDI}d`);
    // A PDF cannot close an embedding opened outside its isolate.
    assert.equal(balanceDirectionalControls(`${RLE}a${LRI}b${PDF}c${PDI}d${PDF}e`), `${RLE}a${LRI}bc${PDI}d${PDF}e`);
    assert.equal(balanceDirectionalControls(`${PDF}${PDI}a${LRO}b${FSI}`), `a${LRO}b${FSI}${PDI}${PDF}`);
  });

  it('when a writer isolates a phrase properly, then the caption is kept exactly', () => {
    const caption = `مرحبا ${LRI}Hello, world${PDI}! ${RLE}שלום${PDF}`;
    assert.equal(balanceDirectionalControls(caption), caption);
  });

  it('when any mix of text and controls is balanced, then it cannot reach outside itself, and its text is kept', () => {
    const characters = fc.constantFrom('a', 'ب', ' ', LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI);
    fc.assert(
      fc.property(fc.array(characters, { maxLength: 40 }), (chars) => {
        const text = chars.join('');
        const balanced = balanceDirectionalControls(text);
        assert.ok(isBalanced(balanced), JSON.stringify(balanced));
        assert.equal(withoutControls(balanced), withoutControls(text));
        assert.equal(balanceDirectionalControls(balanced), balanced, 'balanced text is kept as it is');
      }),
      { seed: 19, numRuns: 5000 },
    );
  });

  it('when a stored caption was never cleaned (an older record), then it is cleaned and balanced when read', () => {
    assert.equal(decodeCaption(encodeCaption(`x${PDI}${RLO}y\u2029z\u0000`)), `x${RLO}y z${PDF}`);
  });
});

describe('gallery paging links', () => {
  it('when walking older then newer, then the links lead back to where they came from', () => {
    const first = readPagePosition({});
    const second = readPagePosition(Object.fromEntries(new URL(olderPageLink(first, 'T2'), 'http://x').searchParams));
    assert.deepEqual(second, { token: 'T2', trail: [''] });
    const thirdLink = new URL(olderPageLink(second, 'T3'), 'http://x');
    const third = readPagePosition({ page: thirdLink.searchParams.get('page'), back: thirdLink.searchParams.getAll('back') });
    assert.deepEqual(third, { token: 'T3', trail: ['', 'T2'] });
    assert.equal(newerPageLink(third), '/?page=T2&back=');
    assert.equal(newerPageLink(second), '/');
    assert.equal(newerPageLink(first), undefined);
  });

  it('when the trail is longer than kept, then "Newer" walks back as far as it reaches, and then only "Newest" is offered, never a "Newer" that skips pages', () => {
    let position = readPagePosition({ page: 'T40', back: ['', ...Array.from({ length: 39 }, (_, i) => `T${i + 1}`)] });
    assert.equal(position.trail.length, 30);
    const visited: string[] = [];
    for (let link = newerPageLink(position); link; link = newerPageLink(position)) {
      const url = new URL(link, 'http://x');
      position = readPagePosition({ page: url.searchParams.get('page') ?? undefined, back: url.searchParams.getAll('back') });
      visited.push(position.token ?? 'first');
      assert.equal(newestPageLink(position), position.trail.length === 0 ? '/' : undefined);
    }
    assert.deepEqual(
      visited,
      Array.from({ length: 30 }, (_, i) => `T${39 - i}`),
      'each page once, back to the oldest the trail kept',
    );
    assert.equal(newestPageLink(position), '/');
    assert.equal(newestPageLink(readPagePosition({})), undefined, 'none on the newest page');
    assert.equal(newestPageLink(readPagePosition({ page: 'T2', back: [''] })), undefined, '"Newer" already leads there');
  });

  it('when the query is hostile, then a nested trail is ignored and a repeated page is kept whole, to fail the photo-id check', () => {
    assert.deepEqual(readPagePosition({ page: ['a', 'b'], back: { nested: 'x' } }), { token: 'a,b', trail: [] });
  });
});

describe('the image worker limit', () => {
  it('when more tasks arrive than workers, then no more than the limit run at once and all finish', async () => {
    // Each task waits until the test lets it finish, so what runs at once is decided by the limit alone.
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const task = limitConcurrency(2, async (n: number) => {
      started.push(n);
      await new Promise<void>((resolve) => finish.push(resolve));
      return n * 2;
    });
    const all = Promise.all(Array.from({ length: 9 }, (_, i) => task(i)));
    await Promise.resolve();
    assert.deepEqual(started, [0, 1], 'two start, the rest wait');
    for (let done = 0; done < 9; done++) {
      finish.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(started.length - (done + 1) <= 2, 'never more than two running');
    }
    assert.deepEqual(await all, [0, 2, 4, 6, 8, 10, 12, 14, 16]);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8], 'in order of arrival');
  });
});
