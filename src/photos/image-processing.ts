// Makes the images the app serves (thumbnail, display size, and a metadata-free full-size copy when
// needed) from an upload's temporary file, one upload at a time so memory stays bounded.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { HttpError } from '../http/errors.js';
import type { ImageType } from './image-type.js';
import { stripJpegFileMetadata } from './jpeg-metadata.js';
import type { ImageBody, PhotoVariants } from './store.js';
import { limitConcurrency } from '../concurrency.js';

/** Refused before decoding: a small file can declare a huge canvas (a decompression bomb). */
const MAX_IMAGE_PIXELS = 64_000_000;
/**
 * Decoding needs whole images in memory, so images are processed one at a time, whatever the number of
 * uploads (libvips already spreads each image over the cores). Two at a time took 16 concurrent 20 MiB
 * uploads past 256 MiB of memory on a 2-core machine; see `npm run bench`.
 */
const IMAGE_WORKERS = 1;

const THUMBNAIL_SIZE = 320;
const DISPLAY_SIZE = 1600;
const SHARP_FORMAT: Record<string, keyof sharp.FormatEnum> = { jpg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', avif: 'avif' };

// libvips' operation cache would hold decoded images between requests; uploads never repeat.
sharp.cache(false);

export interface ProcessedImage {
  width: number;
  height: number;
  variants: PhotoVariants;
}

export const processImage = limitConcurrency(IMAGE_WORKERS, async (path: string, type: ImageType): Promise<ProcessedImage> => {
  const metadata = await sharp(path).metadata().catch((error: Error) => {
    throw unreadable(type, error);
  });
  const { width = 0, height = 0 } = metadata;
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new HttpError(
      413,
      'Image too large',
      `The image is ${width} × ${height} pixels; the limit is ${MAX_IMAGE_PIXELS / 1_000_000} megapixels.`,
      'Resize it before uploading.',
    );
  }
  // Orientations 5–8 are rotated by 90°: the image people see is the stored one turned on its side.
  const turned = (metadata.orientation ?? 1) >= 5;
  const hasMetadataToRemove = Boolean(metadata.exif || metadata.xmp || metadata.iptc || (metadata.orientation ?? 1) !== 1);
  // One variant after the other, each from as small a source as will do, so one job holds one decoded
  // image at a time: the display size is decoded with JPEG shrink-on-load, the thumbnail comes from it.
  // sharp writes no metadata unless asked, and rotate() applies the EXIF orientation first.
  try {
    const display = await sharp(path, { limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .resize(DISPLAY_SIZE, DISPLAY_SIZE, { fit: 'inside', withoutEnlargement: true })
      // JPEG, not WebP, for the display size: WebP encoding took two thirds of an upload's CPU time.
      .jpeg({ quality: 82 })
      .toBuffer();
    const thumbnail = await sharp(display).resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'cover' }).webp({ quality: 70 }).toBuffer();
    const cleanCopy = hasMetadataToRemove ? await fullSizeWithoutMetadata(path, type, metadata.orientation ?? 1) : undefined;
    return { width: turned ? height : width, height: turned ? width : height, variants: { thumbnail, display, cleanCopy } };
  } catch (error) {
    throw unreadable(type, error as Error);
  }
});

/**
 * The full-size image without its metadata. A JPEG (what cameras and phones make) keeps every image byte
 * and its orientation tag (see jpeg-metadata.ts); anything else is re-encoded upright by sharp, read
 * sequentially so a large image is not held whole in memory.
 */
async function fullSizeWithoutMetadata(path: string, type: ImageType, orientation: number): Promise<ImageBody> {
  if (type.extension === 'jpg') {
    const stripped = await stripJpegFileMetadata(path, orientation);
    if (stripped) {
      // The new header, then the image data streamed from the upload's temporary file: nothing held whole.
      const { size } = await stat(path);
      return {
        length: stripped.header.length + size - stripped.imageDataOffset,
        open: () => Readable.from(concatStreams(stripped.header, createReadStream(path, { start: stripped.imageDataOffset }))),
      };
    }
  }
  const image = sharp(path, { limitInputPixels: MAX_IMAGE_PIXELS, sequentialRead: true }).rotate();
  const reencoded = await (type.extension === 'jpg'
    ? image.jpeg({ quality: 92, optimiseCoding: false }).toBuffer() // optimised tables would hold every coefficient in memory
    : image.toFormat(SHARP_FORMAT[type.extension]!, { quality: 92 }).toBuffer());
  return { length: reencoded.length, open: () => Readable.from([reencoded]) };
}

async function* concatStreams(head: Buffer, rest: Readable): AsyncGenerator<Buffer> {
  yield head;
  yield* rest;
}

function unreadable(type: ImageType, cause: Error): HttpError {
  const error = new HttpError(
    415,
    'Not a readable image',
    `The file starts like a ${type.label} image but could not be decoded (${cause.message.split('\n')[0]}).`,
    'The file may be damaged or incomplete: try exporting it again.',
  );
  error.cause = cause;
  return error;
}
