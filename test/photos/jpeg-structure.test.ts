// Attacks on the one image step through a JPEG's structure alone: legal fill bytes, floods of tiny segments,
// the most scans allowed. Each must be answered in little CPU time (the image step serves one upload at a
// time, so its cost is everyone's wait), and what is served must have the upload's pixels.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import { processImage } from '../../src/photos/image-processing.js';
import { openBrowser } from '../support/browser.js';
import { insertBefore, jpegSegment, noiseJpeg, progressiveJpeg, repeated } from '../support/jpeg-structure.js';
import { download, fullSizeUrl } from '../support/pages.js';
import { fixture, startTestApp, useTestApp } from '../support/test-app.js';

/** The CPU time (user and system, every thread of this process: the app, its decoder and the emulator) an upload may take. */
const CPU_SECONDS_PER_UPLOAD = 2;
/** The largest upload the app takes by default (MAX_UPLOAD_MB=25), less room for the photo itself. */
const ATTACK_BYTES = 25 * 1024 * 1024 - 64 * 1024;

const testApp = useTestApp({ env: { UPLOADS_PER_HOUR: '1000' } });

/** Uploads `jpeg`, and returns the answer and the CPU time spent until it came. */
async function timedUpload(jpeg: Buffer, filename: string) {
  const browser = await openBrowser(testApp.app);
  const cpuBefore = process.cpuUsage();
  const response = await browser.upload().set('Accept', 'application/json').attach('photos', jpeg, filename);
  const cpu = process.cpuUsage(cpuBefore);
  return { response, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** The full-size image served for an uploaded photo, decoded, beside the upload decoded by the same decoder. */
async function assertServedAsUploaded(photoId: string, upload: Buffer): Promise<void> {
  const page = await request(testApp.app).get(`/photos/${photoId}`).expect(200);
  const served = await download(await fullSizeUrl(testApp.app, page.text));
  assert.ok(served.length < 64 * 1024, `the structure is not served (${served.length} bytes)`);
  const [uploaded, rebuilt] = await Promise.all([sharp(upload).raw().toBuffer(), sharp(served).raw().toBuffer()]);
  assert.ok(uploaded.equals(rebuilt), 'the served pixels are those of the upload');
}

describe('when a photo has 1 MB of fill bytes (0xFF) before a marker, which decoders skip', () => {
  it('then it is stored in a fraction of the CPU budget, and its full-size image has its pixels', async (t) => {
    const photo = insertBefore(await noiseJpeg(64, 48), 0xdb, Buffer.alloc(1024 * 1024, 0xff));
    const { response, cpuSeconds } = await timedUpload(photo, 'filled.jpg');
    t.diagnostic(`${cpuSeconds.toFixed(2)} s of CPU`);
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.ok(cpuSeconds < CPU_SECONDS_PER_UPLOAD / 2, `took ${cpuSeconds.toFixed(2)} s of CPU`);
    await assertServedAsUploaded(response.body.photos[0].id, photo);
  });
});

describe('when a photo has 1 MB of 5-byte comment segments', () => {
  it('then it is stored in a fraction of the CPU budget, and its full-size image has its pixels', async (t) => {
    const photo = insertBefore(await noiseJpeg(64, 48), 0xdb, repeated(jpegSegment(0xfe, Buffer.from('x')), Math.floor((1024 * 1024) / 5)));
    const { response, cpuSeconds } = await timedUpload(photo, 'comments.jpg');
    t.diagnostic(`${cpuSeconds.toFixed(2)} s of CPU`);
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.ok(cpuSeconds < CPU_SECONDS_PER_UPLOAD / 2, `took ${cpuSeconds.toFixed(2)} s of CPU`);
    await assertServedAsUploaded(response.body.photos[0].id, photo);
  });
});

describe('when a 25 MB JPEG of the most scans allowed is padded with the structure that costs most to walk', () => {
  // Each pads the 64 scans evenly, up to the upload limit, with something every decoder must read past.
  const paddings: [string, Buffer][] = [
    ['fill bytes', Buffer.from([0xff])],
    ['empty comment segments', jpegSegment(0xfe, Buffer.alloc(0))],
    ['fill bytes each before an empty comment', Buffer.from([0xff, 0xff, 0xfe, 0x00, 0x02])],
    ['restart interval definitions', jpegSegment(0xdd, Buffer.from([0, 0]))],
    // The tables every scan uses, redefined as they are (the pixels stay the same).
    ['redefinitions of the Huffman table in use', jpegSegment(0xc4, Buffer.from([0x10, 1, ...new Array(15).fill(0), 0x00]))],
    ['redefinitions of the quantisation table in use', jpegSegment(0xdb, Buffer.from([0, ...new Array(64).fill(1)]))],
  ];
  for (const [what, unit] of paddings) {
    it(`then with ${what} it is answered within ${CPU_SECONDS_PER_UPLOAD} s of CPU, and served with the upload's pixels`, async (t) => {
      const copies = Math.floor(ATTACK_BYTES / 64 / unit.length);
      const padding = repeated(unit, copies);
      const photo = progressiveJpeg(64, () => padding);
      const { response, cpuSeconds } = await timedUpload(photo, 'padded.jpg');
      t.diagnostic(`${cpuSeconds.toFixed(2)} s of CPU`);
      assert.equal(response.status, 201, JSON.stringify(response.body));
      assert.ok(cpuSeconds < CPU_SECONDS_PER_UPLOAD, `took ${cpuSeconds.toFixed(2)} s of CPU`);
      await assertServedAsUploaded(response.body.photos[0].id, photo);
    });
  }

  it(`then with entropy-coded data of stuffed 0xFF bytes past what the scans decode, it is refused with 415 within ${CPU_SECONDS_PER_UPLOAD} s of CPU`, async (t) => {
    const padding = repeated(Buffer.from([0xff, 0x00]), Math.floor(ATTACK_BYTES / 64 / 2));
    const photo = progressiveJpeg(64, () => padding);
    await testApp.assertStoresNothing(async () => {
      const { response, cpuSeconds } = await timedUpload(photo, 'stuffed.jpg');
      t.diagnostic(`${cpuSeconds.toFixed(2)} s of CPU`);
      assert.equal(response.status, 415, JSON.stringify(response.body));
      assert.ok(cpuSeconds < CPU_SECONDS_PER_UPLOAD, `took ${cpuSeconds.toFixed(2)} s of CPU`);
    });
  });

  it(`then with millions of tiny application segments (each one held by the decoder's metadata reader) it is refused with 413 within ${CPU_SECONDS_PER_UPLOAD} s of CPU, before any decoder reads it`, async (t) => {
    // Before the first scan, where the decoder reads the header.
    const unit = jpegSegment(0xed, Buffer.from('Photoshop 3.0\0', 'latin1'));
    const photo = insertBefore(progressiveJpeg(64), 0xdb, repeated(unit, Math.floor(ATTACK_BYTES / unit.length)));
    await testApp.assertStoresNothing(async () => {
      const rssBefore = process.memoryUsage().rss;
      const { response, cpuSeconds } = await timedUpload(photo, 'segments.jpg');
      t.diagnostic(`${cpuSeconds.toFixed(2)} s of CPU`);
      assert.equal(response.status, 413);
      assert.equal(response.body.error.message, '"segments.jpg" would take too long to process. Nothing was stored.');
      assert.ok(cpuSeconds < CPU_SECONDS_PER_UPLOAD, `took ${cpuSeconds.toFixed(2)} s of CPU`);
      // The decoder's metadata reader holds ~100 bytes per segment: hundreds of MiB for this file.
      assert.ok(process.memoryUsage().rss - rssBefore < 150 * 1024 * 1024, 'no decoder held the segments');
    });
  });
});

describe('when another visitor uploads a small photo while the worst structure is in the image step', () => {
  it(`then theirs is answered within ${CPU_SECONDS_PER_UPLOAD} s of CPU of the attack's step starting`, async (t) => {
    // The real image step, with word of when each one starts: the small upload is sent once the attack's has.
    let attackStarted!: () => void;
    const attackInStep = new Promise<void>((resolve) => (attackStarted = resolve));
    const queued = await startTestApp({
      env: { UPLOADS_PER_HOUR: '1000' },
      processImage: (source) => {
        if (source.filename === 'padded.jpg') attackStarted();
        return processImage(source);
      },
    });
    try {
      const padding = repeated(Buffer.from([0xff, 0xff, 0xfe, 0x00, 0x02]), Math.floor(ATTACK_BYTES / 64 / 5));
      const attack = (await openBrowser(queued.app))
        .upload()
        .set('Accept', 'application/json')
        .attach(
          'photos',
          progressiveJpeg(64, () => padding),
          'padded.jpg',
        );
      const attackAnswered = attack.then((response) => response.status);
      await attackInStep;
      const cpuBefore = process.cpuUsage();
      const small = await (await openBrowser(queued.app))
        .upload()
        .set('Accept', 'application/json')
        .attach('photos', await fixture('landscape.jpg'), 'small.jpg');
      const cpu = process.cpuUsage(cpuBefore);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      t.diagnostic(`${cpuSeconds.toFixed(2)} s of CPU`);
      assert.equal(small.status, 201);
      assert.ok(cpuSeconds < CPU_SECONDS_PER_UPLOAD, `the small upload was answered after ${cpuSeconds.toFixed(2)} s of CPU`);
      assert.equal(await attackAnswered, 201);
    } finally {
      await queued.close();
    }
  });
});
