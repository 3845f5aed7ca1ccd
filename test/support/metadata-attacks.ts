// Images that hide a location where metadata parsers do not look, and a check of served bytes that does
// not trust a parser either: it looks for the planted values themselves, and walks each format's
// containers against an allow-list of pixel-carrying ones.
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { iccProfileOf } from '../../src/photos/icc-profiles.js';

/** What every attack plants; none of it may appear in a served byte. */
export const PLANTED = {
  camera: 'LeakCam',
  latitudeText: '48.858370',
  longitudeText: '2.294481',
  xmpLatitude: '48,51.5022N',
} as const;

const GPS_EXIF = {
  IFD0: { Make: PLANTED.camera, ImageDescription: `at ${PLANTED.latitudeText}, ${PLANTED.longitudeText}` },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 30/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 40/1' },
};
const XMP_PACKET =
  `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
  `<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="${PLANTED.xmpLatitude}" exif:GPSLongitude="2,17.6689E"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;
const COORDINATES_COMMENT = `GPSLatitude ${PLANTED.latitudeText} GPSLongitude ${PLANTED.longitudeText}`;

function scene(width = 96, height = 64) {
  return sharp({ create: { width, height, channels: 3, background: '#3a6' } });
}

async function exifBlock(): Promise<Buffer> {
  // The APP1 body sharp writes for GPS_EXIF ("Exif\0\0" + TIFF), to plant elsewhere.
  const jpeg = await scene(8, 8).jpeg().withExif(GPS_EXIF).toBuffer();
  const at = jpeg.indexOf('Exif\0\0', 0, 'latin1');
  return jpeg.subarray(at, at + jpeg.readUInt16BE(at - 2) - 2);
}

export function jpegSegment(code: number, body: Buffer): Buffer {
  const header = Buffer.from([0xff, code, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}

/** Inserts `segment` right after SOI. */
export function afterSoi(jpeg: Buffer, segment: Buffer): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/** Inserts `segment` after the first scan of a progressive JPEG, before the next marker. */
export function betweenScans(jpeg: Buffer, segment: Buffer): Buffer {
  let at = 2;
  while (jpeg[at + 1] !== 0xda) at += 2 + jpeg.readUInt16BE(at + 2);
  at += 2 + jpeg.readUInt16BE(at + 2);
  while (!(jpeg[at] === 0xff && jpeg[at + 1] !== 0 && !(jpeg[at + 1]! >= 0xd0 && jpeg[at + 1]! <= 0xd7))) at++;
  return Buffer.concat([jpeg.subarray(0, at), segment, jpeg.subarray(at)]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** Inserts chunks right after IHDR. */
function withPngChunks(png: Buffer, ...chunks: Buffer[]): Buffer {
  const afterHeader = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, afterHeader), ...chunks, png.subarray(afterHeader)]);
}

/** Inserts GIF extension blocks right after the header, screen descriptor and global colour table. */
function withGifExtensions(gif: Buffer, ...blocks: Buffer[]): Buffer {
  const packed = gif[10]!;
  const afterColorTable = 13 + (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0);
  return Buffer.concat([gif.subarray(0, afterColorTable), ...blocks, gif.subarray(afterColorTable)]);
}

function gifSubBlocks(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += 255) {
    const piece = data.subarray(at, at + 255);
    parts.push(Buffer.from([piece.length]), piece);
  }
  return Buffer.concat([...parts, Buffer.from([0])]);
}

export interface Attack {
  name: string;
  filename: string;
  make: () => Promise<Buffer>;
}

export const ATTACKS: Attack[] = [
  {
    name: 'a JPEG with a GPS-tagged JPEG appended after its end marker (multi-picture style)',
    filename: 'mpo.jpg',
    make: async () => Buffer.concat([await scene().jpeg().toBuffer(), await scene(32, 32).jpeg().withExif(GPS_EXIF).toBuffer()]),
  },
  {
    name: 'a JPEG with EXIF and a second GPS-tagged JPEG appended',
    filename: 'mpo-exif.jpg',
    make: async () =>
      Buffer.concat([
        await scene().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
        await scene(32, 32).jpeg().withExif(GPS_EXIF).toBuffer(),
      ]),
  },
  {
    name: 'a progressive JPEG with an EXIF segment between its scans',
    filename: 'progressive.jpg',
    make: async () => betweenScans(await scene().jpeg({ progressive: true }).toBuffer(), jpegSegment(0xe1, await exifBlock())),
  },
  {
    name: 'a JPEG whose only GPS is XMP in APP1',
    filename: 'xmp.jpg',
    make: async () =>
      afterSoi(await scene().jpeg().toBuffer(), jpegSegment(0xe1, Buffer.from(`http://ns.adobe.com/xap/1.0/\0${XMP_PACKET}`, 'utf8'))),
  },
  {
    name: 'a JPEG with coordinates in a comment and an unknown APP segment',
    filename: 'comment.jpg',
    make: async () =>
      afterSoi(
        await scene().jpeg().toBuffer(),
        Buffer.concat([jpegSegment(0xfe, Buffer.from(COORDINATES_COMMENT)), jpegSegment(0xe9, Buffer.from(COORDINATES_COMMENT))]),
      ),
  },
  {
    name: 'a JPEG with a JFIF APP0 carrying an extension with hidden text',
    filename: 'jfxx.jpg',
    make: async () =>
      afterSoi(
        await scene().jpeg().toBuffer(),
        jpegSegment(0xe0, Buffer.concat([Buffer.from('JFXX\0\x13', 'latin1'), Buffer.from(COORDINATES_COMMENT)])),
      ),
  },
  {
    name: 'a JPEG with quantisation and Huffman tables no scan uses, holding text',
    filename: 'tables.jpg',
    make: async () => {
      const text = Buffer.from(COORDINATES_COMMENT.padEnd(64, ' ').slice(0, 64));
      const unusedQuantization = jpegSegment(0xdb, Buffer.concat([Buffer.from([0x03]), text]));
      const counts = Buffer.alloc(16);
      counts[7] = text.length;
      const unusedHuffman = jpegSegment(0xc4, Buffer.concat([Buffer.from([0x13]), counts, text]));
      return afterSoi(await scene().jpeg().toBuffer(), Buffer.concat([unusedQuantization, unusedHuffman]));
    },
  },
  {
    name: 'a PNG whose pixel density spells coordinates',
    filename: 'density.png',
    make: async () => {
      const density = Buffer.alloc(9);
      density.writeUInt32BE(48_858_370, 0);
      density.writeUInt32BE(2_294_481, 4);
      density[8] = 1;
      return withPngChunks(await scene().png().toBuffer(), pngChunk('pHYs', density));
    },
  },
  {
    name: 'a PNG with an eXIf chunk',
    filename: 'exif.png',
    make: async () => scene().png().withExif(GPS_EXIF).toBuffer(),
  },
  {
    name: 'a PNG with a zTXt "Raw profile type exif" chunk (ImageMagick\'s format)',
    filename: 'raw-profile.png',
    make: async () => {
      const hex = (await exifBlock()).toString('hex');
      const text = `\nexif\n${String(hex.length / 2).padStart(8)}\n${hex.replace(/(.{72})/g, '$1\n')}\n`;
      return withPngChunks(
        await scene().png().toBuffer(),
        pngChunk('zTXt', Buffer.concat([Buffer.from('Raw profile type exif\0\0', 'latin1'), deflateSync(text)])),
      );
    },
  },
  {
    name: 'a PNG with coordinates in tEXt and XMP in iTXt',
    filename: 'text.png',
    make: async () =>
      withPngChunks(
        await scene().png().toBuffer(),
        pngChunk('tEXt', Buffer.from(`Comment\0${COORDINATES_COMMENT}`, 'latin1')),
        pngChunk('iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), Buffer.from(XMP_PACKET)])),
      ),
  },
  {
    name: 'a GIF with an XMP application extension and a comment extension',
    filename: 'xmp.gif',
    make: async () =>
      withGifExtensions(
        await scene().gif().toBuffer(),
        Buffer.concat([Buffer.from([0x21, 0xff, 11]), Buffer.from('XMP DataXMP', 'latin1'), gifSubBlocks(Buffer.from(XMP_PACKET))]),
        Buffer.concat([Buffer.from([0x21, 0xfe]), gifSubBlocks(Buffer.from(COORDINATES_COMMENT))]),
      ),
  },
  {
    name: 'a WebP with EXIF and XMP chunks',
    filename: 'exif.webp',
    make: async () => scene().webp().withExif(GPS_EXIF).withXmp(XMP_PACKET).toBuffer(),
  },
  {
    name: 'an AVIF with an Exif item',
    filename: 'exif.avif',
    make: async () => scene().avif({ effort: 0 }).withExif(GPS_EXIF).toBuffer(),
  },
];

/** Byte patterns of the planted values, in every form they were written. */
function plantedPatterns(): [string, Buffer][] {
  const rationals = (order: 'BE' | 'LE') => {
    const bytes = Buffer.alloc(24);
    for (const [index, value] of [48, 1, 51, 1, 30, 1].entries()) {
      if (order === 'BE') bytes.writeUInt32BE(value, index * 4);
      else bytes.writeUInt32LE(value, index * 4);
    }
    return bytes;
  };
  return [
    ...Object.values(PLANTED).map((text): [string, Buffer] => [text, Buffer.from(text)]),
    ['GPSLatitude', Buffer.from('GPSLatitude')],
    ['hex EXIF', Buffer.from('457869660000')],
    ['GPS rationals (big-endian)', rationals('BE')],
    ['GPS rationals (little-endian)', rationals('LE')],
    ['planted pixel density', Buffer.from([0x02, 0xe9, 0x85, 0x02])],
  ];
}

/**
 * What in `image` is not pixels: planted values found anywhere in its bytes, and containers outside
 * its format's allow-list. Empty when the image is clean.
 */
export function findLeaks(image: Buffer): string[] {
  const leaks = plantedPatterns()
    .filter(([, pattern]) => image.includes(pattern))
    .map(([name]) => `contains ${name}`);
  return [...leaks, ...disallowedContainers(image)];
}

function disallowedContainers(image: Buffer): string[] {
  if (image[0] === 0xff && image[1] === 0xd8) return jpegContainers(image);
  if (image.toString('latin1', 1, 4) === 'PNG') return pngContainers(image);
  if (image.toString('latin1', 0, 4) === 'RIFF') return webpContainers(image);
  if (image.toString('latin1', 0, 3) === 'GIF') return gifContainers(image);
  return [`an unexpected format (${image.subarray(0, 12).toString('hex')})`];
}

function jpegContainers(jpeg: Buffer): string[] {
  const found: string[] = [];
  let at = 2;
  while (at < jpeg.length) {
    if (jpeg[at] !== 0xff) return [...found, `bytes outside any segment at ${at}`];
    const code = jpeg[at + 1]!;
    if (code === 0xff) {
      at++;
      continue;
    }
    if (code === 0xd9) return at + 2 < jpeg.length ? [...found, `${jpeg.length - at - 2} bytes after EOI`] : found;
    const length = jpeg.readUInt16BE(at + 2);
    const body = jpeg.subarray(at + 4, at + 2 + length);
    const isJfif = code === 0xe0 && body.toString('latin1', 0, 5) === 'JFIF\0' && length === 16;
    const isOrientationOnly = code === 0xe1 && body.toString('latin1', 0, 6) === 'Exif\0\0' && length <= 40;
    const isAdobe = code === 0xee && body.toString('latin1', 0, 5) === 'Adobe' && length === 14;
    const isAppProfile = code === 0xe2 && body.toString('latin1', 0, 14) === 'ICC_PROFILE\0\x01\x01' && isAppsOwnProfile(body.subarray(14));
    if (code >= 0xe0 && code <= 0xef && !isJfif && !isOrientationOnly && !isAdobe && !isAppProfile) found.push(`APP${code - 0xe0} segment`);
    if (code === 0xfe) found.push('COM segment');
    at += 2 + length;
    if (code === 0xda) {
      while (at < jpeg.length - 1 && !(jpeg[at] === 0xff && jpeg[at + 1] !== 0 && !(jpeg[at + 1]! >= 0xd0 && jpeg[at + 1]! <= 0xd7))) at++;
    }
  }
  return [...found, 'no EOI'];
}

/** One of the ICC profiles the app writes itself, byte for byte. */
function isAppsOwnProfile(profile: Buffer): boolean {
  return (['sRGB', 'Display P3', 'Adobe RGB (1998)'] as const).some((space) => iccProfileOf(space).equals(profile));
}

function pngContainers(png: Buffer): string[] {
  const allowed = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND']);
  const found: string[] = [];
  for (let at = 8; at < png.length; ) {
    const type = png.toString('latin1', at + 4, at + 8);
    if (!allowed.has(type)) found.push(`${type} chunk`);
    at += 12 + png.readUInt32BE(at);
  }
  return found;
}

function webpContainers(webp: Buffer): string[] {
  const allowed = new Set(['VP8 ', 'VP8L', 'VP8X', 'ALPH', 'ANIM', 'ANMF']);
  const found: string[] = [];
  for (let at = 12; at < webp.length; ) {
    const type = webp.toString('latin1', at, at + 4);
    if (!allowed.has(type)) found.push(`${type} chunk`);
    const length = webp.readUInt32LE(at + 4);
    at += 8 + length + (length & 1);
  }
  return found;
}

function gifContainers(gif: Buffer): string[] {
  const found: string[] = [];
  const skipSubBlocks = (from: number) => {
    let at = from;
    while (gif[at] !== 0 && at < gif.length) at += 1 + gif[at]!;
    return at + 1;
  };
  const packed = gif[10]!;
  let at = 13 + (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0);
  while (at < gif.length) {
    const block = gif[at]!;
    if (block === 0x3b) return at + 1 < gif.length ? [...found, 'bytes after the trailer'] : found;
    if (block === 0x21) {
      const label = gif[at + 1]!;
      if (label === 0xff) {
        const application = gif.toString('latin1', at + 3, at + 14);
        if (application !== 'NETSCAPE2.0') found.push(`application extension ${application}`);
      } else if (label !== 0xf9) {
        found.push(`extension 0x${label.toString(16)}`);
      }
      at = skipSubBlocks(at + 2);
    } else if (block === 0x2c) {
      const localPacked = gif[at + 9]!;
      at += 10 + (localPacked & 0x80 ? 3 * 2 ** ((localPacked & 7) + 1) : 0) + 1; // descriptor, colour table, LZW size
      at = skipSubBlocks(at);
    } else {
      return [...found, `unknown block 0x${block.toString(16)}`];
    }
  }
  return [...found, 'no trailer'];
}

/** Frame delays (ms) that spell a message (ASCII codes × 10), with a loop count chosen the same way. */
export const MESSAGE_DELAYS = [...'GPS 48.8584N'].map((character) => character.charCodeAt(0) * 10);
export const MESSAGE_LOOP = 4885;

/** An animation in `format` whose frame delays and loop count carry a message, not timing. */
export async function messageInDelays(format: 'gif' | 'webp'): Promise<Buffer> {
  const frames = await Promise.all(
    MESSAGE_DELAYS.map((_, index) =>
      sharp({ create: { width: 48, height: 32, channels: 4, background: { r: (index * 20) % 255, g: 120, b: 200, alpha: 1 } } })
        .png()
        .toBuffer(),
    ),
  );
  return sharp(frames, { join: { animated: true } })
    .toFormat(format, { delay: MESSAGE_DELAYS, loop: MESSAGE_LOOP })
    .toBuffer();
}

/**
 * A progressive JPEG with hundreds of scans that decode to nothing (end-of-band runs): tiny, but each
 * scan makes a decoder pass over the whole image. 3 + 3 × 63 × (1 + refinements) scans.
 */
export function manyScansJpeg(width: number, height: number, refinements: number): Buffer {
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8]), jpegSegment(0xdb, Buffer.from([0, ...new Array(64).fill(1)]))];
  const frame = [8, height >> 8, height & 255, width >> 8, width & 255, 3];
  for (let component = 1; component <= 3; component++) frame.push(component, 0x11, 0);
  parts.push(jpegSegment(0xc2, Buffer.from(frame)));
  const dcCounts = new Array(16).fill(0);
  dcCounts[0] = 1;
  parts.push(jpegSegment(0xc4, Buffer.from([0x00, ...dcCounts, 0])));
  const acCounts = new Array(16).fill(0);
  acCounts[3] = 15;
  parts.push(jpegSegment(0xc4, Buffer.from([0x10, ...acCounts, ...Array.from({ length: 15 }, (_, run) => run << 4)])));
  parts.push(
    jpegSegment(0xda, Buffer.from([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 0, 0x00])),
    bits(Array.from({ length: blocks * 3 }, () => [0, 1] as const)),
  );
  const endOfBands: [number, number][] = [];
  for (let left = blocks; left > 0; ) {
    const run = Math.min(left, 32767);
    const magnitude = 31 - Math.clz32(run);
    endOfBands.push([magnitude, 4]);
    if (magnitude) endOfBands.push([run - (1 << magnitude), magnitude]);
    left -= run;
  }
  const emptyBand = bits(endOfBands);
  for (let component = 1; component <= 3; component++) {
    for (let coefficient = 1; coefficient < 64; coefficient++) {
      const passes: [number, number][] = [[0, refinements]];
      for (let high = refinements; high > 0; high--) passes.push([high, high - 1]);
      for (const [high, low] of passes)
        parts.push(jpegSegment(0xda, Buffer.from([1, component, 0x00, coefficient, coefficient, (high << 4) | low])), emptyBand);
    }
  }
  parts.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

/** Packs (value, bit count) pairs into entropy-coded bytes, stuffing 0xFF and padding with ones. */
function bits(values: readonly (readonly [number, number])[]): Buffer {
  const bytes: number[] = [];
  let accumulator = 0;
  let count = 0;
  const put = (value: number, length: number) => {
    for (let bit = length - 1; bit >= 0; bit--) {
      accumulator = (accumulator << 1) | ((value >> bit) & 1);
      if (++count === 8) {
        bytes.push(accumulator);
        if (accumulator === 0xff) bytes.push(0);
        accumulator = 0;
        count = 0;
      }
    }
  };
  for (const [value, length] of values) put(value, length);
  if (count > 0) put((1 << (8 - count)) - 1, 8 - count);
  return Buffer.from(bytes);
}
