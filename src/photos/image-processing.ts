// Makes the images the app serves from an upload's temporary file: a thumbnail, a display-size image and a
// full-size image, each written from pixels only, never from the uploaded bytes. One image at a time,
// with a pixel limit per format read from the header before anything is decoded, and a time limit: what
// a decoder costs differs by format, and the demo host has 1 GiB of memory.
import sharp from 'sharp';
import { limitConcurrency } from '../concurrency.js';
import { ImageTooLarge, ImageTooSlow, UnreadableImage } from './errors.js';
import type { ImageType } from './image-type.js';
import { planPixelOnlyJpeg, type JpegPiece } from './jpeg-rebuild.js';

/**
 * Pixels per image (all frames of an animation together), by format. Set from the measured peak memory of
 * the costliest step, in the production server (`npm run bench`, "worst-case decode"): a baseline JPEG is
 * decoded at 1/8 scale for the display size and its full-size copy is never decoded, but a progressive
 * JPEG's decoder holds every coefficient of the image; PNG is encoded line by line; WebP and GIF encoders
 * and the AVIF decoder hold whole images, the AVIF decoder several copies.
 */
export const MAX_PIXELS: Readonly<Record<string, number>> = {
  jpg: 64_000_000,
  'jpg-progressive': 32_000_000,
  png: 40_000_000,
  webp: 16_000_000,
  gif: 10_000_000, // quantising to a palette holds the whole image several times
  avif: 12_600_000, // 4096 × 3072: a 12-megapixel phone photo, with a margin under the 512 MiB budget
};
/** A legitimate photo takes well under a second per step here; a crafted one is stopped after this. */
const STEP_TIME_LIMIT_SECONDS = 10;
/** One decoded image at a time, whatever the number of uploads (libvips already spreads one over the cores). */
const IMAGE_WORKERS = 1;

const THUMBNAIL_SIZE = 320;
const DISPLAY_SIZE = 1600;
const WHITE = { r: 255, g: 255, b: 255 };

// libvips' operation cache would hold decoded images between requests; uploads never repeat.
sharp.cache(false);

/** The full-size image: a plan of byte ranges (JPEG) or a re-encoded file. */
export type FullSizeImage =
  | { kind: 'jpeg-rebuild'; pieces: JpegPiece[]; length: number }
  | { kind: 'file'; path: string; length: number; extension: string; mime: string };

export interface ProcessedImage {
  /** As people see it: after the EXIF orientation is applied. */
  width: number;
  height: number;
  thumbnail: Buffer;
  display: Buffer;
  fullSize: FullSizeImage;
}

export interface ImageSource {
  path: string;
  type: ImageType;
  /** The client's name for the file, for messages. */
  filename: string;
  /** Where a re-encoded full-size image may be written. */
  fullSizePath: string;
}

export type ProcessImage = (source: ImageSource) => Promise<ProcessedImage>;

export const processImage: ProcessImage = limitConcurrency(IMAGE_WORKERS, async (source: ImageSource): Promise<ProcessedImage> => {
  const { path, type, filename } = source;
  const header = await sharp(path, { animated: true }).metadata().catch((error: unknown) => {
    throw new UnreadableImage(filename, type.label, error);
  });
  const limitKey = type.extension === 'jpg' && header.isProgressive ? 'jpg-progressive' : type.extension;
  const maxPixels = MAX_PIXELS[limitKey] ?? 0;
  const width = header.width ?? 0;
  const frameHeight = header.pageHeight ?? header.height ?? 0;
  const frames = header.pages ?? 1;
  if (width * frameHeight * frames > maxPixels) {
    throw new ImageTooLarge(filename, limitKey === 'jpg-progressive' ? 'progressive JPEG' : type.label, width, frameHeight, frames, maxPixels);
  }
  const orientation = header.orientation ?? 1;
  // Orientations 5–8 turn the image by 90°: people see it with width and height swapped.
  const turned = orientation >= 5;
  const limits = { limitInputPixels: maxPixels };

  try {
    // The first frame, upright, at display size, alpha kept: both smaller images are made from it, so
    // the upload is decoded once for them (JPEG and WebP decode straight to the smaller size).
    const base = await sharp(path, limits)
      .rotate()
      .resize(DISPLAY_SIZE, DISPLAY_SIZE, { fit: 'inside', withoutEnlargement: true })
      .timeout({ seconds: STEP_TIME_LIMIT_SECONDS })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = { raw: { width: base.info.width, height: base.info.height, channels: base.info.channels } };
    // JPEG, not WebP, for the display size: WebP encoding took two thirds of an upload's CPU time. JPEG has
    // no transparency: it is flattened onto white (not the black a transparent pixel would otherwise become).
    const display = await sharp(base.data, raw).flatten({ background: WHITE }).jpeg({ quality: 82 }).toBuffer();
    const thumbnail = await sharp(base.data, raw)
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'cover', withoutEnlargement: true })
      .webp({ quality: 70 })
      .toBuffer();
    const fullSize = await makeFullSize(source, orientation, frames, limits);
    return { width: turned ? frameHeight : width, height: turned ? width : frameHeight, thumbnail, display, fullSize };
  } catch (error) {
    if (error instanceof Error && /^timeout/i.test(error.message)) throw new ImageTooSlow(filename, error);
    if (error instanceof UnreadableImage) throw error;
    throw new UnreadableImage(filename, type.label, error);
  }
});

/**
 * The full-size image, written from pixels only. A JPEG (what cameras and phones make) is rebuilt from its
 * image segments without decoding (jpeg-rebuild.ts). Other formats are re-encoded, read sequentially
 * where the format allows: PNG, GIF and WebP keep their format (transparency, animation); AVIF becomes a
 * JPEG, because the AVIF encoder needs several times the memory of the whole image and seconds per photo.
 */
async function makeFullSize({ path, type, filename, fullSizePath }: ImageSource, orientation: number, frames: number, limits: sharp.SharpOptions): Promise<FullSizeImage> {
  if (type.extension === 'jpg') {
    const plan = await planPixelOnlyJpeg(path, orientation);
    if (!plan) throw new UnreadableImage(filename, type.label, new Error('JPEG structure not recognised by the pixel-only rebuild'));
    return { kind: 'jpeg-rebuild', ...plan };
  }
  const animated = frames > 1;
  // sharp writes no metadata unless asked to; rotate() applies the EXIF orientation (animations have none).
  let image = sharp(path, { ...limits, sequentialRead: true, animated }).timeout({ seconds: STEP_TIME_LIMIT_SECONDS });
  if (!animated) image = image.rotate();
  const [extension, mime, encoded] =
    type.extension === 'png'
      ? (['png', 'image/png', image.png({ compressionLevel: 6 })] as const)
      : type.extension === 'gif'
        ? (['gif', 'image/gif', image.gif()] as const)
        : type.extension === 'webp'
          ? (['webp', 'image/webp', image.webp({ quality: 90 })] as const)
          : (['jpg', 'image/jpeg', image.flatten({ background: WHITE }).jpeg({ quality: 92, optimiseCoding: false })] as const);
  const { size } = await encoded.toFile(fullSizePath);
  return { kind: 'file', path: fullSizePath, length: size, extension, mime };
}
