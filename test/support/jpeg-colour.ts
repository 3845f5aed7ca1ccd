// JPEGs that declare their colours in each way libjpeg reads (JFIF, Adobe APP14, component ids, ICC
// profiles), made by patching the headers of a small JPEG, and ICC profiles built by hand from published
// numbers, independently of the app's own.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { afterSoi, jpegSegment } from './metadata-attacks.js';

export const APP0 = 0xe0;
export const APP2 = 0xe2;
export const APP14 = 0xee;

/** A smooth, colourful scene from raw pixels: every channel varies, so a misread colour transform shows. */
export function colourfulScene(width = 64, height = 48): sharp.Sharp {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = 3 * (y * width + x);
      pixels[at] = Math.round((255 * x) / (width - 1));
      pixels[at + 1] = Math.round((255 * y) / (height - 1));
      pixels[at + 2] = Math.round(255 - (200 * (x + y)) / (width + height));
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

export const jfifSegment = (): Buffer =>
  jpegSegment(APP0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]));

export const adobeSegment = (transform: number): Buffer =>
  jpegSegment(APP14, Buffer.from([0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, transform]));

/** Inserts segments right after SOI, in order. */
export function withSegments(jpeg: Buffer, ...segments: Buffer[]): Buffer {
  return segments.reduceRight((file, segment) => afterSoi(file, segment), jpeg);
}

/** The JPEG without its APPn segments of code `code` (sharp writes APP14 for CMYK). */
export function withoutSegments(jpeg: Buffer, code: number): Buffer {
  return rewriteHeaders(jpeg, (marker, segment) => (marker === code ? undefined : segment));
}

/** The JPEG with its components renamed (frame header and every scan header), e.g. to 'R','G','B'. */
export function withComponentIds(jpeg: Buffer, ids: number[]): Buffer {
  return rewriteHeaders(jpeg, (marker, segment) => {
    const copy = Buffer.from(segment);
    if (marker >= 0xc0 && marker <= 0xc2) for (let index = 0; index < copy[9]!; index++) copy[10 + 3 * index] = ids[index]!;
    if (marker === 0xda) for (let index = 0; index < copy[4]!; index++) copy[5 + 2 * index] = ids[copy[5 + 2 * index]! - 1]!;
    return copy;
  });
}

/** Walks a JPEG sharp wrote (no fill bytes), letting `change` replace or drop each marker segment. */
function rewriteHeaders(jpeg: Buffer, change: (marker: number, segment: Buffer) => Buffer | undefined): Buffer {
  const parts: Buffer[] = [jpeg.subarray(0, 2)];
  let at = 2;
  while (at < jpeg.length) {
    const marker = jpeg[at + 1]!;
    if (marker === 0xd9) {
      parts.push(jpeg.subarray(at));
      break;
    }
    let end = at + 2 + jpeg.readUInt16BE(at + 2);
    const changed = change(marker, jpeg.subarray(at, end));
    if (changed) parts.push(changed);
    if (marker === 0xda) {
      const dataStart = end;
      while (!(jpeg[end] === 0xff && jpeg[end + 1] !== 0 && !(jpeg[end + 1]! >= 0xd0 && jpeg[end + 1]! <= 0xd7))) end++;
      parts.push(jpeg.subarray(dataStart, end));
    }
    at = end;
  }
  return Buffer.concat(parts);
}

/** The APP2 segments that carry `profile`, in chunks of at most `chunkBytes`, numbered as the ICC spec says. */
export function iccSegments(profile: Buffer, chunkBytes = 65_519 - 14): Buffer[] {
  const count = Math.ceil(profile.length / chunkBytes);
  return Array.from({ length: count }, (_, index) =>
    iccChunk(index + 1, count, profile.subarray(index * chunkBytes, (index + 1) * chunkBytes)),
  );
}

export function iccChunk(sequence: number, count: number, data: Buffer): Buffer {
  return jpegSegment(APP2, Buffer.concat([Buffer.from('ICC_PROFILE\0', 'latin1'), Buffer.from([sequence, count]), data]));
}

/** The concatenated ICC profile carried in a JPEG's APP2 segments, or undefined if it has none. */
export function embeddedProfile(jpeg: Buffer): Buffer | undefined {
  const chunks: Buffer[] = [];
  rewriteHeaders(jpeg, (marker, segment) => {
    if (marker === APP2 && segment.toString('latin1', 4, 16) === 'ICC_PROFILE\0') chunks[segment[16]! - 1] = segment.subarray(18);
    return segment;
  });
  return chunks.length > 0 ? Buffer.concat(chunks) : undefined;
}

/** D50-adapted colorants (columns R, G, B as XYZ), as published. */
export type Colorants = [[number, number, number], [number, number, number], [number, number, number]];

/**
 * Adobe RGB (1998): the colorants Adobe publishes adapted to D50 (Adobe RGB (1998) Color Image Encoding,
 * version 2005-05) and its gamma of 563/256.
 */
export const ADOBE_RGB_1998 = {
  colorants: [
    [0.6097559, 0.3111242, 0.0194811],
    [0.2052401, 0.625656, 0.0608902],
    [0.149224, 0.0632197, 0.7448387],
  ] as Colorants,
  gamma: 563 / 256,
};

/** sRGB's D50-adapted colorants (IEC 61966-2-1 primaries, Bradford-adapted, as in the ICC's sRGB profiles). */
export const SRGB_COLORANTS: Colorants = [
  [0.4360747, 0.2225045, 0.0139322],
  [0.3850649, 0.7168786, 0.0971045],
  [0.1430804, 0.0606169, 0.7141733],
];

/** IEC 61966-2-1's sRGB curve, from encoded value to linear light. */
export const srgbToLinear = (encoded: number): number => (encoded <= 0.04045 ? encoded / 12.92 : ((encoded + 0.055) / 1.055) ** 2.4);

/**
 * A version 2 matrix/TRC RGB display profile, written the way older tools write them (a `desc` text, a
 * `curv` per channel: a gamma, or a curve sampled at 1024 points, a D50 white point), with any extra tags given.
 */
export function handMadeProfile(options: {
  description: string;
  colorants: Colorants;
  gamma: number | ((encoded: number) => number);
  extraTags?: { signature: string; data: Buffer }[];
}): Buffer {
  const xyz = ([x, y, z]: [number, number, number]) => {
    const data = Buffer.alloc(20);
    data.write('XYZ ', 0, 'latin1');
    writeFixed(data, [x, y, z], 8);
    return data;
  };
  const { gamma } = options;
  const samples =
    typeof gamma === 'number'
      ? [Math.round(gamma * 256)]
      : Array.from({ length: 1024 }, (_, index) => Math.round(gamma(index / 1023) * 65535));
  const curve = Buffer.alloc(12 + 2 * samples.length);
  curve.write('curv', 0, 'latin1');
  curve.writeUInt32BE(samples.length, 8);
  for (const [index, sample] of samples.entries()) curve.writeUInt16BE(sample, 12 + 2 * index);
  const text = Buffer.from(options.description, 'latin1');
  const description = Buffer.alloc(12 + text.length + 1 + 12 + 67);
  description.write('desc', 0, 'latin1');
  description.writeUInt32BE(text.length + 1, 8);
  text.copy(description, 12);
  const tags: { signature: string; data: Buffer }[] = [
    { signature: 'desc', data: description },
    { signature: 'wtpt', data: xyz([0.9642, 1, 0.8249]) },
    { signature: 'rXYZ', data: xyz(options.colorants[0]) },
    { signature: 'gXYZ', data: xyz(options.colorants[1]) },
    { signature: 'bXYZ', data: xyz(options.colorants[2]) },
    { signature: 'rTRC', data: curve },
    { signature: 'gTRC', data: curve },
    { signature: 'bTRC', data: curve },
    ...(options.extraTags ?? []),
  ];
  const table = Buffer.alloc(4 + 12 * tags.length);
  table.writeUInt32BE(tags.length, 0);
  const bodies: Buffer[] = [];
  let offset = 128 + table.length;
  tags.forEach((tag, index) => {
    table.write(tag.signature, 4 + 12 * index, 'latin1');
    table.writeUInt32BE(offset, 8 + 12 * index);
    table.writeUInt32BE(tag.data.length, 12 + 12 * index);
    const padded = Buffer.alloc(Math.ceil(tag.data.length / 4) * 4);
    tag.data.copy(padded);
    bodies.push(padded);
    offset += padded.length;
  });
  const header = Buffer.alloc(128);
  header.writeUInt32BE(offset, 0);
  header.writeUInt32BE(0x02100000, 8);
  header.write('mntrRGB XYZ ', 12, 'latin1');
  header.write('acsp', 36, 'latin1');
  writeFixed(header, [0.9642, 1, 0.8249], 68);
  return Buffer.concat([header, table, ...bodies]);
}

function writeFixed(target: Buffer, values: number[], at: number): void {
  for (const [index, value] of values.entries()) target.writeInt32BE(Math.round(value * 65536), at + 4 * index);
}

/**
 * After a re-encode at quality 92 this smooth scene differs from the upload by about 1 on average and up to
 * 13 at its sharpest colour edges; a dropped or misread profile differs by 10 on average and over 100 at most.
 */
export const REENCODE_TOLERANCE = { mean: 2, largest: 16 };

/** libjpeg's decode (through sharp, as the display image is made), with any profile applied: what people see. */
function rendering(jpeg: Buffer, options: sharp.SharpOptions = {}) {
  return sharp(jpeg, options).raw().toBuffer({ resolveWithObject: true });
}

/** How far apart two renderings (of the same size and channels) are: the largest and the mean difference of a channel. */
export async function renderingDifferences(
  upload: Buffer,
  served: Buffer,
  options: sharp.SharpOptions = {},
): Promise<{ largest: number; mean: number }> {
  const [expected, actual] = await Promise.all([rendering(upload, options), rendering(served, options)]);
  assert.deepEqual(actual.info, expected.info, 'same size and channels');
  let largest = 0;
  let sum = 0;
  for (let index = 0; index < expected.data.length; index++) {
    const difference = Math.abs(expected.data[index]! - actual.data[index]!);
    largest = Math.max(largest, difference);
    sum += difference;
  }
  return { largest, mean: sum / expected.data.length };
}
