// Lossless metadata removal from JPEGs: GPS and camera data go, every image byte and the orientation stay.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import exifr from 'exifr';
import sharp from 'sharp';
import { stripJpegMetadata } from '../../src/photos/jpeg-metadata.js';
import { fixture } from '../support/test-app.js';

describe('stripping a phone photo', () => {
  it('when it has GPS, camera data and orientation 6, then only the orientation is left and the pixels are the same', async () => {
    const original = await fixture('phone-gps-rotated.jpg');
    const stripped = stripJpegMetadata(original, 6);
    assert.ok(stripped);
    const exif = await exifr.parse(stripped, { gps: true, tiff: true, xmp: true, iptc: true });
    assert.deepEqual(Object.keys(exif ?? {}), ['Orientation']);
    const [before, after] = await Promise.all([sharp(original).raw().toBuffer(), sharp(stripped).raw().toBuffer()]);
    assert.ok(before.equals(after), 'the decoded pixels are identical');
    assert.ok(stripped.length < original.length);
  });

  it('when its orientation is normal, then no EXIF is written at all', async () => {
    const stripped = stripJpegMetadata(await fixture('phone-gps-rotated.jpg'), 1);
    assert.equal(await exifr.parse(stripped!, { gps: true, tiff: true }).catch(() => undefined), undefined);
  });
});

describe('input that is not a well-formed JPEG', () => {
  it('when the bytes are not a JPEG or are cut inside a segment, then it declines (the caller re-encodes)', async () => {
    const jpeg = await fixture('landscape.jpg');
    assert.equal(stripJpegMetadata(await fixture('square.png'), 1), undefined);
    assert.equal(stripJpegMetadata(jpeg.subarray(0, 10), 1), undefined);
    assert.equal(stripJpegMetadata(Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff]), 1), undefined);
  });
});
