// "The full-size copy of a JPEG shows the upload's colours": uploads that declare their colour transform
// and profile in each way libjpeg reads them, and the served full-size copy decoded beside the upload.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import { openBrowser } from '../support/browser.js';
import {
  ADOBE_RGB_1998,
  APP0,
  APP14,
  adobeSegment,
  colourfulScene,
  embeddedProfile,
  handMadeProfile,
  iccChunk,
  iccSegments,
  jfifSegment,
  REENCODE_TOLERANCE,
  renderingDifferences,
  SRGB_COLORANTS,
  srgbToLinear,
  withComponentIds,
  withoutSegments,
  withSegments,
} from '../support/jpeg-colour.js';
import { betweenScans, jpegSegment } from '../support/metadata-attacks.js';
import { download, fullSizeUrl } from '../support/pages.js';
import { iccProfileOf, type ColourSpaceName } from '../../src/photos/icc-profiles.js';
import { useTestApp } from '../support/test-app.js';

const testApp = useTestApp({ env: { UPLOADS_PER_HOUR: '1000' } });

async function fullSizeOf(upload: Buffer, filename: string): Promise<Buffer> {
  const response = await (await openBrowser(testApp.app)).upload().set('Accept', 'application/json').attach('photos', upload, filename);
  assert.equal(response.status, 201, `upload of ${filename}: ${JSON.stringify(response.body)}`);
  const page = await request(testApp.app).get(`/photos/${response.body.photos[0].id}`).expect(200);
  return download(await fullSizeUrl(testApp.app, page.text));
}

async function largestDifference(upload: Buffer, served: Buffer, options: sharp.SharpOptions = {}): Promise<number> {
  return (await renderingDifferences(upload, served, options)).largest;
}

const R = 0x52;
const G = 0x47;
const B = 0x42;
const ycbcr = () => colourfulScene().jpeg({ chromaSubsampling: '4:4:4' }).toBuffer();
const cmyk = () => colourfulScene().toColourspace('cmyk').jpeg().toBuffer(); // sharp writes Adobe transform 0

describe('when a JPEG declares its colour transform in any way libjpeg reads', () => {
  const encodings: { name: string; make: () => Promise<Buffer> }[] = [
    { name: 'YCbCr, from component ids 1, 2, 3 alone', make: ycbcr },
    { name: 'YCbCr, from a JFIF segment', make: async () => withSegments(await ycbcr(), jfifSegment()) },
    {
      name: 'YCbCr, from JFIF beside an Adobe segment saying RGB (JFIF wins)',
      make: async () => withSegments(await ycbcr(), jfifSegment(), adobeSegment(0)),
    },
    { name: "RGB, from component ids 'R', 'G', 'B'", make: async () => withComponentIds(await ycbcr(), [R, G, B]) },
    {
      name: "RGB, from component ids 'R', 'G', 'B', progressive",
      make: async () =>
        withComponentIds(await colourfulScene().jpeg({ progressive: true, chromaSubsampling: '4:4:4' }).toBuffer(), [R, G, B]),
    },
    {
      name: "RGB, from ids 'R', 'G', 'B' beside a JFIF segment of 13 bytes (libjpeg needs 14 to count it)",
      make: async () => withSegments(withComponentIds(await ycbcr(), [R, G, B]), jpegSegment(APP0, jfifSegment().subarray(4, 17))),
    },
    {
      name: 'YCbCr, from ids 1, 2, 3 beside an Adobe segment of 11 bytes saying RGB (libjpeg needs 12 to count it)',
      make: async () => withSegments(await ycbcr(), jpegSegment(APP14, adobeSegment(0).subarray(4, 15))),
    },
    { name: 'RGB, from Adobe transform 0', make: async () => withSegments(await ycbcr(), adobeSegment(0)) },
    { name: 'YCbCr, from Adobe transform 1', make: async () => withSegments(await ycbcr(), adobeSegment(1)) },
    {
      name: 'RGB, from two Adobe segments of which the last says 0',
      make: async () => withSegments(await ycbcr(), adobeSegment(1), adobeSegment(0)),
    },
    {
      name: "YCbCr, from two Adobe segments of which the last says 1, over ids 'R', 'G', 'B'",
      make: async () => withSegments(withComponentIds(await ycbcr(), [R, G, B]), adobeSegment(0), adobeSegment(1)),
    },
    { name: 'CMYK, from Adobe transform 0', make: cmyk },
    { name: 'CMYK, from four components and no Adobe segment', make: async () => withoutSegments(await cmyk(), APP14) },
    { name: 'YCCK, from Adobe transform 2', make: async () => withSegments(withoutSegments(await cmyk(), APP14), adobeSegment(2)) },
    { name: 'greyscale', make: () => colourfulScene().toColourspace('b-w').jpeg().toBuffer() },
    {
      name: 'YCbCr, progressive, with an Adobe segment saying RGB after its first scan (read too late to count)',
      make: async () => betweenScans(await colourfulScene().jpeg({ progressive: true }).toBuffer(), adobeSegment(0)),
    },
  ];
  for (const encoding of encodings) {
    it(`then the full-size copy of ${encoding.name} decodes to exactly the upload's pixels`, async () => {
      const upload = await encoding.make();
      const served = await fullSizeOf(upload, 'colours.jpg');
      assert.equal(await largestDifference(upload, served), 0);
    });
  }

  it('then Adobe transform 2 on three components (which libjpeg warns about) is refused, as sharp refuses it', async () => {
    const upload = withSegments(await ycbcr(), adobeSegment(2));
    const before = await testApp.listAllKeys();
    const response = await (await openBrowser(testApp.app)).upload().attach('photos', upload, 'odd.jpg');
    assert.equal(response.status, 415);
    assert.deepEqual(await testApp.listAllKeys(), before);
  });
});

/** sharp's built-in profiles: the Compact ICC Profiles (CC0), an independent source for sRGB and Display P3. */
async function taggedWith(profile: 'srgb' | 'p3', jpeg: sharp.Sharp = colourfulScene()): Promise<Buffer> {
  return jpeg.withIccProfile(profile).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer();
}

/** The scene converted into the colour space of a profile file sharp can read, with that profile embedded. */
function convertedTo(profile: Buffer): Promise<Buffer> {
  return withProfileFile(profile, (file) => colourfulScene().withIccProfile(file).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer());
}

/** sharp takes a profile other than its own as a file. */
async function withProfileFile(profile: Buffer, use: (file: string) => Promise<Buffer>): Promise<Buffer> {
  const directory = await mkdtemp(path.join(tmpdir(), 'icc-'));
  try {
    const file = path.join(directory, 'profile.icc');
    await writeFile(file, profile);
    return await use(file);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const adobeRgbProfile = () => handMadeProfile({ description: 'Adobe RGB (1998)', ...ADOBE_RGB_1998 });
/** sRGB's primaries with a gamma of 1.8: a space the app does not know, and visibly different from sRGB. */
const oddProfile = () => handMadeProfile({ description: 'Odd RGB', colorants: SRGB_COLORANTS, gamma: 1.8 });
const PLANTED = 'LeakCam 48.858370 2.294481';

/**
 * Between two profiles of one space, renderings of the same pixels differ by up to 2 in the darkest channel
 * of saturated colours: sharp's Display P3 profile puts blue's Z 0.001 from the published primaries.
 */
const SAME_SPACE_TOLERANCE = 2;

describe('when a JPEG carries a colour profile', () => {
  const kept: { name: string; space: ColourSpaceName; make: () => Promise<Buffer> }[] = [
    { name: 'Display P3 (as iPhones take)', space: 'Display P3', make: () => taggedWith('p3') },
    { name: 'sRGB', space: 'sRGB', make: () => taggedWith('srgb') },
    {
      name: 'Adobe RGB (1998), a version 2 profile made from Adobe’s published numbers',
      space: 'Adobe RGB (1998)',
      make: async () => convertedTo(adobeRgbProfile()),
    },
    {
      name: 'Display P3 over RGB-coded components (Adobe transform 0)',
      space: 'Display P3',
      make: async () => withSegments(await taggedWith('p3'), adobeSegment(0)),
    },
    {
      name: 'sRGB, a version 2 profile with sampled curves and text planted in its description and copyright',
      space: 'sRGB',
      make: async () => {
        const planted = handMadeProfile({
          description: PLANTED,
          colorants: SRGB_COLORANTS,
          gamma: srgbToLinear,
          extraTags: [{ signature: 'cprt', data: Buffer.from(`text\0\0\0\0${PLANTED}\0`, 'latin1') }],
        });
        return withSegments(await colourfulScene().jpeg().toBuffer(), ...iccSegments(planted));
      },
    },
  ];
  for (const profile of kept) {
    it(`then a ${profile.name} photo keeps its coded pixels, with the app's own ${profile.space} profile`, async () => {
      const upload = await profile.make();
      const served = await fullSizeOf(upload, 'profiled.jpg');
      assert.deepEqual(embeddedProfile(served), iccProfileOf(profile.space), `the app's ${profile.space} profile, not the upload's`);
      assert.ok(!served.includes(PLANTED, 0, 'latin1'), 'none of the planted text is served');
      assert.equal(await largestDifference(upload, served, { ignoreIcc: true }), 0, 'the same coded pixels (not re-encoded)');
      const colourManaged = await largestDifference(upload, served);
      assert.ok(
        colourManaged <= SAME_SPACE_TOLERANCE,
        `the same colours once each is colour-managed to sRGB (differed by ${colourManaged})`,
      );
    });
  }

  const converted: { name: string; make: () => Promise<Buffer> }[] = [
    { name: 'a profile the app does not recognise (sRGB primaries, gamma 1.8)', make: () => convertedTo(oddProfile()) },
    { name: 'a CMYK profile', make: () => colourfulScene().withIccProfile('cmyk').jpeg().toBuffer() },
    {
      name: 'a 3 MB profile in 48 segments',
      make: async () => {
        const huge = Buffer.concat([await sharpProfile('p3'), Buffer.from(PLANTED.repeat(120_000), 'latin1')]);
        huge.writeUInt32BE(huge.length, 0);
        return withSegments(await taggedWith('p3'), ...iccSegments(huge));
      },
    },
    {
      name: 'a Display P3 profile split into chunks whose counts disagree',
      make: async () => {
        const profile = await sharpProfile('p3');
        const jpeg = await colourfulScene().jpeg().toBuffer();
        return withSegments(jpeg, iccChunk(1, 2, profile.subarray(0, 200)), iccChunk(2, 3, profile.subarray(200)));
      },
    },
    {
      name: 'a profile of sRGB but for red, 0.01 away in X',
      make: async () => {
        const [red, green, blue] = SRGB_COLORANTS;
        const nearlySrgb = handMadeProfile({
          description: 'sRGB',
          colorants: [[red[0] + 0.01, red[1], red[2]], green, blue],
          gamma: srgbToLinear,
        });
        return withSegments(await colourfulScene().jpeg().toBuffer(), ...iccSegments(nearlySrgb));
      },
    },
    {
      name: 'an sRGB profile with a lookup table (A2B0), which decoders prefer to its matrix',
      make: async () => {
        const lookupTable = { signature: 'A2B0', data: Buffer.concat([Buffer.from('mAB \0\0\0\0', 'latin1'), Buffer.alloc(24)]) };
        const profile = handMadeProfile({ description: 'sRGB', colorants: SRGB_COLORANTS, gamma: srgbToLinear, extraTags: [lookupTable] });
        return withSegments(await colourfulScene().jpeg().toBuffer(), ...iccSegments(profile));
      },
    },
    {
      name: 'a Display P3 profile whose tag table points past its end',
      make: async () => {
        const profile = Buffer.from(await sharpProfile('p3'));
        profile.writeUInt32BE(0x7fff_0000, 128 + 4 + 4); // the first tag's offset
        return withSegments(await colourfulScene().jpeg().toBuffer(), ...iccSegments(profile));
      },
    },
  ];
  it('then a converted photo keeps its orientation, and shows upright as the upload does', async () => {
    const upload = await withProfileFile(oddProfile(), (file) =>
      colourfulScene().withMetadata({ orientation: 6 }).withIccProfile(file).jpeg().toBuffer(),
    );
    assert.equal((await sharp(upload).metadata()).orientation, 6);
    assert.deepEqual(embeddedProfile(upload), oddProfile(), 'the upload carries the odd profile');
    const served = await fullSizeOf(upload, 'turned.jpg');
    assert.equal(embeddedProfile(served), undefined, 'converted');
    assert.equal((await sharp(served).metadata()).orientation, 6);
    const [expected, actual] = await Promise.all([upload, served].map((jpeg) => sharp(jpeg).rotate().jpeg({ quality: 100 }).toBuffer()));
    const { largest, mean } = await renderingDifferences(expected!, actual!);
    assert.ok(mean <= REENCODE_TOLERANCE.mean && largest <= REENCODE_TOLERANCE.largest, `upright alike (${mean.toFixed(2)}, ${largest})`);
  });

  it('then a profile after the first scan of a progressive JPEG (which libvips and browsers never read) is not kept', async () => {
    const upload = betweenScans(await colourfulScene().jpeg({ progressive: true }).toBuffer(), iccSegments(await sharpProfile('p3'))[0]!);
    const served = await fullSizeOf(upload, 'late-profile.jpg');
    assert.equal(embeddedProfile(served), undefined);
    assert.equal(await largestDifference(upload, served), 0, 'rebuilt, with the colours the upload shows');
  });

  for (const profile of converted) {
    it(`then a photo with ${profile.name} is served converted to sRGB, without the profile`, async () => {
      const upload = await profile.make();
      const served = await fullSizeOf(upload, 'converted.jpg');
      assert.equal(embeddedProfile(served), undefined, 'no profile rides along');
      assert.ok(!served.includes(PLANTED, 0, 'latin1'));
      const metadata = await sharp(served).metadata();
      assert.deepEqual([metadata.space, metadata.channels], ['srgb', 3], 'sRGB');
      const { largest, mean } = await renderingDifferences(upload, served);
      assert.ok(
        mean <= REENCODE_TOLERANCE.mean && largest <= REENCODE_TOLERANCE.largest,
        `rendered as the upload (differed by ${mean.toFixed(2)} on average, ${largest} at most)`,
      );
    });
  }
});

async function sharpProfile(name: 'srgb' | 'p3'): Promise<Buffer> {
  const icc = (await sharp(await taggedWith(name)).metadata()).icc;
  assert.ok(icc);
  return icc;
}
