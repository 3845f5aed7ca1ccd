// The JPEG segment walk of the full-size rebuild, on files built byte by byte: what it keeps, where it
// refuses, that its window onto the file never changes the answer, and that its cost is linear and small.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { streamPieces } from '../../src/photos/file-pieces.js';
import {
  MAX_APPLICATION_SEGMENTS,
  MAX_SCANS,
  planPixelOnlyJpeg,
  readPixelSegments,
  UnservableJpeg,
} from '../../src/photos/jpeg-rebuild.js';
import { insertBefore, jpegSegment, jpegUnits, noiseJpeg, progressiveJpeg, repeated } from '../support/jpeg-structure.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'jpeg-rebuild-test-'));
});
after(() => rm(dir, { recursive: true, force: true }));

let files = 0;
async function written(jpeg: Buffer): Promise<string> {
  const file = path.join(dir, `${files++}.jpg`);
  await writeFile(file, jpeg);
  return file;
}

/** The bytes of the pixel-only copy of `jpeg`. */
async function rebuilt(jpeg: Buffer, orientation = 1): Promise<Buffer> {
  const file = await written(jpeg);
  const plan = planPixelOnlyJpeg(await readPixelSegments(file), orientation);
  assert.ok(plan, 'colours the rebuild can vouch for');
  const bytes = await buffer(streamPieces(file, plan.pieces));
  assert.equal(bytes.length, plan.length);
  return bytes;
}

async function refusal(jpeg: Buffer): Promise<string> {
  const error = await readPixelSegments(await written(jpeg)).then(
    () => assert.fail('the walk accepted it'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof UnservableJpeg, String(error));
  return error.reason;
}

const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);
const DQT0 = jpegSegment(0xdb, Buffer.from([0, ...new Array(64).fill(1)]));
/** A progressive frame of 64 × 64 pixels, three components, each with quantisation table 0. */
const SOF2 = jpegSegment(0xc2, Buffer.from([8, 0, 64, 0, 64, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]));
const huffmanTable = (classAndId: number) => jpegSegment(0xc4, Buffer.from([classAndId, 1, ...new Array(15).fill(0), 0]));
const DHT_DC0 = huffmanTable(0x00);
const DHT_AC0 = huffmanTable(0x10);
/** The first DC scan of all three components: uses DC table 0. */
const DC_SCAN = jpegSegment(0xda, Buffer.from([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 0, 0x00]));
/** An AC scan of the first component (band 1–5): uses AC table 0. */
const AC_SCAN = jpegSegment(0xda, Buffer.from([1, 1, 0x00, 1, 5, 0x00]));
const DATA = Buffer.from([0x12, 0x34]);

const codes = (jpeg: Buffer) => jpegUnits(jpeg).map((unit) => unit.code);
const JFIF = 0xe0;

describe('when a camera-like JPEG is walked', () => {
  it('then SOI, a fresh JFIF, its tables, frame and scans are kept, and comments and APPn dropped', async () => {
    const photo = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c63' } })
      .withExif({ IFD0: { Make: 'LeakCam' } })
      .jpeg()
      .toBuffer();
    const withComment = insertBefore(photo, 0xdb, jpegSegment(0xfe, Buffer.from('where I was')));
    const copy = await rebuilt(withComment);
    assert.deepEqual(codes(copy), [0xd8, JFIF, 0xdb, 0xdb, 0xc0, 0xc4, 0xc4, 0xc4, 0xc4, 0xda, 0xd9]);
    assert.equal(copy.indexOf('LeakCam'), -1);
    assert.equal(copy.indexOf('where I was'), -1);
  });

  it('then an orientation is written as an Orientation-only EXIF after the JFIF', async () => {
    const copy = await rebuilt(await noiseJpeg(16, 16), 6);
    assert.deepEqual(codes(copy).slice(0, 3), [0xd8, JFIF, 0xe1]);
    assert.equal((await sharp(copy).metadata()).orientation, 6);
  });
});

describe('when the same JPEG is laid out differently in the file', () => {
  // The walk reads a window of the file at a time: no layout may change what it keeps.
  const WINDOW = 256 * 1024;
  /** A progressive photo whose scans are spread over several windows. */
  let photo: Buffer;
  let expected: Buffer;
  before(async () => {
    photo = await noiseJpeg(800, 600, { progressive: true, quality: 100 });
    assert.ok(photo.length > WINDOW, 'its scans cross window boundaries');
    expected = await rebuilt(photo);
  });

  it('then fill bytes before any marker, in runs that end on, before or after a window boundary, change nothing', async () => {
    for (const run of [1, 2, WINDOW - 5, WINDOW - 4, WINDOW - 3, WINDOW, WINDOW + 1, 3 * WINDOW + 7]) {
      const fill = Buffer.alloc(run, 0xff);
      for (const code of [0xdb, 0xc2, 0xc4, 0xda, 0xd9])
        assert.ok((await rebuilt(insertBefore(photo, code, fill))).equals(expected), `${run} fill bytes before 0x${code.toString(16)}`);
    }
  });

  it('then comments of every length, pushing segments and scans across window boundaries, change nothing', async () => {
    for (const length of [0, 1, 2, 3, 1000, 65_533])
      for (const copies of [1, 3, 4, 5]) {
        const comments = repeated(jpegSegment(0xfe, Buffer.alloc(length, 0x41)), copies);
        assert.ok((await rebuilt(insertBefore(photo, 0xdb, comments))).equals(expected), `${copies} × ${length}-byte comments`);
      }
  });

  it('then entropy-coded data with a stuffed 0xFF or a restart marker on every window boundary is kept whole', async () => {
    // Every other byte is 0xFF: whichever the parity of the layout, some window ends between 0xFF and the byte after it.
    for (const second of [0x00, 0xd0])
      for (const shift of [0, 1, 2, 3]) {
        const scan = Buffer.concat([DC_SCAN, repeated(Buffer.from([0xff, second]), WINDOW + 11)]);
        const jpeg = Buffer.concat([SOI, jpegSegment(0xfe, Buffer.alloc(shift)), DQT0, SOF2, DHT_DC0, scan, EOI]);
        const copy = await rebuilt(jpeg);
        assert.ok(
          copy.subarray(copy.length - 2 - scan.length).equals(Buffer.concat([scan, EOI])),
          `0xFF 0x${second.toString(16)}, shift ${shift}`,
        );
      }
  });
});

describe('when tables are defined, redefined and used', () => {
  it('then a table no scan uses is dropped, and each used one is kept as a segment of its own before its scan', async () => {
    const both = jpegSegment(0xc4, Buffer.concat([DHT_DC0.subarray(4), DHT_AC0.subarray(4)]));
    const unused = huffmanTable(0x13);
    const copy = await rebuilt(Buffer.concat([SOI, DQT0, SOF2, both, unused, DC_SCAN, DATA, EOI]));
    assert.ok(copy.equals(Buffer.concat([SOI, copy.subarray(2, 20), DQT0, SOF2, DHT_DC0, DC_SCAN, DATA, EOI])));
  });

  it('then of a run of redefinitions that no scan used in between, only the last is kept', async () => {
    const first = huffmanTable(0x10);
    const last = jpegSegment(0xc4, Buffer.from([0x10, 0, 1, ...new Array(14).fill(0), 0x01]));
    const copy = await rebuilt(Buffer.concat([SOI, DQT0, SOF2, DHT_DC0, DC_SCAN, DATA, first, first, first, last, AC_SCAN, DATA, EOI]));
    assert.ok(copy.subarray(20).equals(Buffer.concat([DQT0, SOF2, DHT_DC0, DC_SCAN, DATA, last, AC_SCAN, DATA, EOI])));
  });

  it('then a table used by one scan and redefined for the next is kept in both versions', async () => {
    const other = jpegSegment(0xc4, Buffer.from([0x10, 0, 1, ...new Array(14).fill(0), 0x01]));
    const second = jpegSegment(0xda, Buffer.from([1, 1, 0x00, 6, 63, 0x00]));
    const jpeg = Buffer.concat([SOI, DQT0, SOF2, DHT_DC0, DHT_AC0, DC_SCAN, DATA, AC_SCAN, DATA, other, second, DATA, EOI]);
    const copy = await rebuilt(jpeg);
    assert.ok(copy.subarray(20).equals(jpeg.subarray(2)));
  });

  it('then of restart intervals defined between two scans, the last is kept (a flood of them costs nothing)', async () => {
    const restart = (interval: number) => jpegSegment(0xdd, Buffer.from([0, interval]));
    const jpeg = Buffer.concat([SOI, DQT0, SOF2, DHT_DC0, DHT_AC0, restart(1), restart(2), restart(3), DC_SCAN, DATA]);
    const copy = await rebuilt(Buffer.concat([jpeg, restart(4), AC_SCAN, DATA, EOI]));
    assert.ok(
      copy.subarray(20).equals(Buffer.concat([DQT0, SOF2, DHT_DC0, DHT_AC0, restart(3), DC_SCAN, DATA, restart(4), AC_SCAN, DATA, EOI])),
    );
  });
});

describe('when a JPEG has more of something than a photo needs', () => {
  it(`then ${MAX_SCANS} scans are kept, and one more is refused`, async () => {
    assert.equal(codes(await rebuilt(progressiveJpeg(MAX_SCANS))).filter((code) => code === 0xda).length, MAX_SCANS);
    assert.equal(await refusal(progressiveJpeg(MAX_SCANS + 1)), 'too-many-scans');
  });

  it(`then ${MAX_APPLICATION_SEGMENTS} application segments are dropped, and one more is refused`, async () => {
    const app = (count: number) =>
      insertBefore(progressiveJpeg(2), 0xdb, repeated(jpegSegment(0xed, Buffer.from('Photoshop 3.0\0')), count));
    assert.deepEqual(codes(await rebuilt(app(MAX_APPLICATION_SEGMENTS))), codes(await rebuilt(progressiveJpeg(2))));
    assert.equal(await refusal(app(MAX_APPLICATION_SEGMENTS + 1)), 'too-many-segments');
  });

  it('then any number of comments are dropped', async () => {
    const comments = insertBefore(progressiveJpeg(2), 0xda, repeated(jpegSegment(0xfe, Buffer.alloc(0)), 100_000));
    assert.ok((await rebuilt(comments)).equals(await rebuilt(progressiveJpeg(2))));
  });
});

describe('when a file is not a JPEG the rebuild can vouch for', () => {
  const valid = Buffer.concat([SOI, DQT0, SOF2, DHT_DC0, DC_SCAN, DATA, EOI]);
  const cases: [string, Buffer, string][] = [
    ['no SOI', valid.subarray(2), 'structure'],
    ['cut before EOI', valid.subarray(0, valid.length - 2), 'structure'],
    ['cut inside a segment', valid.subarray(0, 10), 'structure'],
    ['cut inside a length field', Buffer.concat([SOI, Buffer.from([0xff, 0xdb, 0x00])]), 'structure'],
    ['cut after a marker code', Buffer.concat([SOI, Buffer.from([0xff, 0xdb])]), 'structure'],
    ['ending in fill bytes', Buffer.concat([SOI, DQT0, Buffer.alloc(10, 0xff)]), 'structure'],
    [
      'ending in a 0xFF inside entropy-coded data',
      Buffer.concat([SOI, DQT0, SOF2, DHT_DC0, DC_SCAN, DATA, Buffer.from([0xff])]),
      'structure',
    ],
    ['a byte that is no marker between segments', Buffer.concat([SOI, Buffer.from([0x00]), DQT0]), 'structure'],
    ['a length shorter than its own field', Buffer.concat([SOI, Buffer.from([0xff, 0xfe, 0x00, 0x01]), valid.subarray(2)]), 'structure'],
    ['a segment longer than the file', Buffer.concat([SOI, Buffer.from([0xff, 0xfe, 0xff, 0xff]), valid.subarray(2)]), 'structure'],
    ['EOI before any scan', Buffer.concat([SOI, DQT0, SOF2, EOI]), 'structure'],
    ['a scan before the frame', Buffer.concat([SOI, DQT0, DHT_DC0, DC_SCAN, DATA, SOF2, EOI]), 'structure'],
    ['two frames', Buffer.concat([SOI, DQT0, SOF2, SOF2, DHT_DC0, DC_SCAN, DATA, EOI]), 'structure'],
    ['a restart marker outside entropy-coded data', Buffer.concat([SOI, Buffer.from([0xff, 0xd0]), valid.subarray(2)]), 'structure'],
    ['an unknown marker (DHP)', Buffer.concat([SOI, jpegSegment(0xde, Buffer.alloc(2)), valid.subarray(2)]), 'structure'],
    ['arithmetic coding (SOF9)', Buffer.concat([SOI, DQT0, Buffer.from([0xff, 0xc9]), SOF2.subarray(2), EOI]), 'unsupported-coding'],
  ];
  for (const [what, jpeg, reason] of cases)
    it(`then ${what} is refused (${reason})`, async () => assert.equal(await refusal(jpeg), reason));
});

describe('when the walk runs against its deadline', () => {
  it('then an aborted signal stops it with its reason', async () => {
    const file = await written(insertBefore(progressiveJpeg(2), 0xdb, Buffer.alloc(4 * 1024 * 1024, 0xff)));
    const reason = new Error('deadline');
    await assert.rejects(readPixelSegments(file, AbortSignal.abort(reason)), reason);
  });

  it('then 25 MB of the costliest structure takes well under a second of CPU', async () => {
    const padding = (unit: Buffer) => repeated(unit, Math.floor((25 * 1024 * 1024) / 64 / unit.length));
    for (const unit of [Buffer.from([0xff]), jpegSegment(0xfe, Buffer.alloc(0)), Buffer.from([0xff, 0xff, 0xfe, 0x00, 0x02]), DHT_AC0]) {
      const padded = padding(unit);
      const file = await written(progressiveJpeg(MAX_SCANS, () => padded));
      const cpuBefore = process.cpuUsage();
      await readPixelSegments(file);
      const cpu = process.cpuUsage(cpuBefore);
      assert.ok(cpu.user + cpu.system < 700_000, `${unit.toString('hex')}: ${(cpu.user + cpu.system) / 1000} ms`);
    }
  });
});
