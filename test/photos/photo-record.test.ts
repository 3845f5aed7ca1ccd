// A photo's record as S3 metadata: written and read back the same, old records still read, unreadable ones refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../src/errors.js';
import { imageTypeByExtension } from '../../src/photos/image-type.js';
import { MAX_CAPTION_BYTES } from '../../src/photos/captions.js';
import { MAX_FILE_NAME_BYTES } from '../../src/photos/download-name.js';
import { newPhotoId, uploadedAt } from '../../src/photos/photo-id.js';
import { type NewPhotoRecord, recordFromMetadata, recordToMetadata } from '../../src/photos/photo-record.js';

const id = newPhotoId(new Date('2026-12-05T10:00:00Z'));
const newRecord: NewPhotoRecord = {
  id,
  caption: 'Café — 東京 🌅',
  width: 640,
  height: 480,
  frames: 1,
  originalBytes: 123_456,
  originalType: imageTypeByExtension('png')!,
  fullSizeExtension: 'png',
  ownerTag: 'owner-tag-value',
  variants: ['thumbnail-2x', 'display-2x'],
  fileName: 'Hafen am Abend.png',
};

describe('when every field of a record is at its largest', () => {
  it("then its metadata stays within S3's 2 KB of user metadata (the UTF-8 bytes of every key and value)", () => {
    const largest: NewPhotoRecord = {
      id,
      caption: '\u{1F305}'.repeat(MAX_CAPTION_BYTES / 4),
      width: 65_535,
      height: 65_535,
      frames: 999_999_999,
      originalBytes: 200 * 1024 * 1024,
      originalType: imageTypeByExtension('jpeg') ?? imageTypeByExtension('avif')!,
      fullSizeExtension: 'avif',
      ownerTag: 'f'.repeat(64), // an HMAC-SHA256 in hex
      variants: ['thumbnail-2x', 'display-2x'],
      fileName: `${'é'.repeat(200)}.jpg`,
    };
    const metadata = recordToMetadata(largest);
    assert.equal(Buffer.from(metadata.caption!, 'base64').length, MAX_CAPTION_BYTES);
    assert.equal(Buffer.from(metadata['file-name']!, 'base64').length, MAX_FILE_NAME_BYTES);
    const bytes = Object.entries(metadata).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
    assert.ok(bytes <= 2048, `${bytes} bytes of metadata`);
  });
});

describe('when a new record is written as metadata', () => {
  it('then every value is ASCII text, the caption base64 of its UTF-8', () => {
    assert.deepEqual(recordToMetadata(newRecord), {
      caption: Buffer.from('Café — 東京 🌅', 'utf8').toString('base64'),
      width: '640',
      height: '480',
      frames: '1',
      'original-bytes': '123456',
      'original-type': 'png',
      'full-size-type': 'png',
      'owner-tag': 'owner-tag-value',
      variants: 'thumbnail-2x display-2x',
      'file-name': Buffer.from('Hafen am Abend.png', 'utf8').toString('base64'),
    });
  });

  it('then it reads back as the same record, its time taken from its id', () => {
    assert.deepEqual(recordFromMetadata(id, recordToMetadata(newRecord)), { ...newRecord, uploadedAt: uploadedAt(id) });
  });
});

describe('when a record stored before full-size images is rewritten (a caption edited, say)', () => {
  it('then it still has no full-size type, and reads back without one', () => {
    const old = { ...newRecord, fullSizeExtension: undefined };
    const metadata = recordToMetadata(old);
    assert.equal('full-size-type' in metadata, false);
    assert.equal(recordFromMetadata(id, metadata).fullSizeExtension, undefined);
  });
});

describe('when metadata is read back', () => {
  it('then a record written before frames were counted has one frame, and one without a caption or owner has empty ones', () => {
    const { frames, caption, 'owner-tag': _owner, ...older } = recordToMetadata(newRecord);
    const record = recordFromMetadata(id, older);
    assert.deepEqual([record.frames, record.caption, record.ownerTag], [1, '', '']);
  });

  it('then a record written before sharper copies and file names has none of either', () => {
    const { variants, 'file-name': _name, ...older } = recordToMetadata(newRecord);
    const record = recordFromMetadata(id, older);
    assert.deepEqual([record.variants, record.fileName], [[], undefined]);
  });

  it('then a field this version does not know (a newer version adds to records so) is ignored', () => {
    assert.deepEqual(recordFromMetadata(id, { ...recordToMetadata(newRecord), 'record-version': '9', 'focus-point': '0.3 0.7' }), {
      ...newRecord,
      uploadedAt: uploadedAt(id),
    });
  });

  it('then a stored caption is cleaned again on the way out', () => {
    const metadata = { ...recordToMetadata(newRecord), caption: Buffer.from(' a\u0000b\u202E ', 'utf8').toString('base64') };
    assert.equal(recordFromMetadata(id, metadata).caption, 'ab\u202E\u202C');
  });

  for (const [what, change, missing] of [
    ['an original type the app does not accept', { 'original-type': 'svg' }, 'original-type'],
    ['no original type', { 'original-type': undefined }, 'original-type'],
    ['a full-size type that could reach outside its key', { 'full-size-type': '../x' }, 'full-size-type'],
    ['an upper-case full-size type', { 'full-size-type': 'JPG' }, 'full-size-type'],
    ['a copy the app never makes', { variants: 'thumbnail-2x ../original' }, 'variants'],
    ['a full-size type no version writes', { 'full-size-type': 'tiff' }, 'full-size-type'],
    ['no width', { width: undefined }, 'width'],
    ['a height that is no number', { height: 'tall' }, 'height'],
    ['a width of zero', { width: '0' }, 'width'],
    ['a height with a sign', { height: '+400' }, 'height'],
    ['a width in exponent form', { width: '6.4e2' }, 'width'],
    ['a width past a safe integer', { width: '9'.repeat(16) }, 'width'],
    ['no frames at all', { frames: '0' }, 'frames'],
    ['no original size', { 'original-bytes': undefined }, 'original-bytes'],
    ['an original size with spaces', { 'original-bytes': ' 123' }, 'original-bytes'],
    ['a caption longer than the form takes', { caption: Buffer.from('x'.repeat(2000)).toString('base64') }, 'caption'],
  ] as const) {
    it(`then ${what} is an unreadable record, named in the log and not on the page`, () => {
      const metadata = Object.fromEntries(
        Object.entries({ ...recordToMetadata(newRecord), ...change }).filter(([, value]) => value !== undefined),
      ) as Record<string, string>;
      assert.throws(
        () => recordFromMetadata(id, metadata),
        (error: unknown) =>
          error instanceof AppError &&
          error.title === 'Photo cannot be shown' &&
          error.kind === 'not-found' &&
          !error.message.includes(missing) &&
          String((error.cause as Error).message) === `photo ${id}: record has no valid ${missing}`,
      );
    });
  }
});
