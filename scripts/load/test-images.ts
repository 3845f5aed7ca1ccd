// Makes the images the load run uploads: real files of every common type, each with content no other
// upload has (random noise). The app serves pixels, not the uploaded bytes: JPEG and PNG come back with
// the same pixels, WebP and GIF re-encoded at the same size.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { UploadFile } from './browser-session.js';

const FORMATS = [
  { mime: 'image/jpeg', extension: 'jpg', encode: (image: sharp.Sharp) => image.jpeg({ quality: 80 }) },
  { mime: 'image/png', extension: 'png', encode: (image: sharp.Sharp) => image.png() },
  { mime: 'image/webp', extension: 'webp', encode: (image: sharp.Sharp) => image.webp({ quality: 80 }) },
  // Quantising noise to a palette is slow: few colours and little effort keep the load generator light.
  { mime: 'image/gif', extension: 'gif', encode: (image: sharp.Sharp) => image.gif({ colours: 16, effort: 1, dither: 0 }) },
] as const;

/** Captions in several scripts, with characters EJS escapes, to check they come back as sent. */
const CAPTIONS = ['Café au lait', 'Закат над морем', '富士山の朝焼け', 'שקיעה בים', 'L\'été "chaud" & <sunny>', 'Ελιές 🫒 & 🍞'];

export function testCaption(sequence: number): string {
  return `${CAPTIONS[sequence % CAPTIONS.length]} #${sequence}`;
}

export async function makeTestImage(sequence: number): Promise<UploadFile> {
  const format = FORMATS[sequence % FORMATS.length]!;
  // Mostly small, like phone thumbnails, sometimes a few hundred KB.
  const width = 48 + Math.floor(Math.random() * (sequence % 5 === 0 ? 900 : 300));
  const height = 48 + Math.floor(Math.random() * 300);
  const noise = sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
  const bytes = await format.encode(noise).toBuffer();
  return { bytes, mime: format.mime, filename: `load-${sequence}.${format.extension}` };
}

/** What must survive the round trip: the size, and for lossless formats every pixel. */
export interface PixelSummary {
  width: number;
  height: number;
  /** SHA-256 of the decoded pixels, for JPEG and PNG (whose full-size image keeps them exactly); else undefined. */
  pixelDigest: string | undefined;
}

export async function summarizePixels(bytes: Buffer | Uint8Array, lossless: boolean): Promise<PixelSummary> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, pixelDigest: lossless ? createHash('sha256').update(data).digest('hex') : undefined };
}

export function keepsPixelsExactly(filename: string): boolean {
  return /\.(jpg|png)$/.test(filename);
}
