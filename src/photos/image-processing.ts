// Makes the images the app serves from an upload's temporary file: a thumbnail, a display-size image, their
// sharper copies for 2× screens, and a full-size image, each written from pixels only, never from the uploaded
// bytes. One image at a time, with a memory limit per format worked out from the header before anything is
// decoded, and a time limit: what a decoder costs differs by format, bit depth and layout, and the demo host
// has 1 GiB of memory.
import sharp from 'sharp';
import { limitConcurrency } from '../concurrency.js';
import { releaseUnreachablePixels } from './pixel-memory.js';
import { ImageTooComplex, ImageTooLarge, UnreadableImage, UnsupportedJpegCoding } from './errors.js';
import type { PiecesPlan } from './file-pieces.js';
import type { ImageType } from './image-type.js';
import { type PixelSegments, planPixelOnlyJpeg, readPixelSegments, UnservableJpeg } from './jpeg-rebuild.js';
import { planPixelOnlyPng } from './png-chunks.js';
import { DISPLAY_SIZE, displaySize, largeThumbnailSize, LARGE_DISPLAY_SIZE, type VariantImage, variantsFor } from './image-variants.js';
import { type Size, thumbnailSize } from './thumbnail-size.js';

/**
 * The most pixels an image may have (all frames of an animation together), by format. Set from the
 * measured peak memory of the costliest step in the production server (`npm run bench`, "worst-case
 * decode"), with the header's own numbers: a baseline JPEG is decoded shrunk on load (to half its size
 * for the 2560 px copy of the largest) and its full-size copy is never decoded, but a progressive JPEG's
 * decoder holds two bytes per sample of the whole image; PNG holds the whole image when interlaced, at its
 * bit depth; WebP and GIF encoders and the AVIF decoder hold whole images several times over.
 */
export const MAX_PIXELS: Readonly<Record<string, number>> = {
  jpg: 64_000_000,
  png: 40_000_000,
  webp: 10_000_000, // 6 MP with transparency or animation (see decodeLimit)
  gif: 10_000_000, // quantising to a palette holds the whole image several times
  avif: 12_600_000, // 4096 × 3072: a 12-megapixel phone photo
};
const WEBP_WITH_ALPHA_MAX_PIXELS = 6_000_000;
/** Decoded bytes a progressive JPEG or a PNG may need held at once (samples × bytes per sample). */
const MAX_DECODED_BYTES = 160_000_000;
/** A legitimate photo takes well under a second per step here; a crafted one is stopped after this. */
export const STEP_TIME_LIMIT_SECONDS = 10;
/** One decoded image at a time, whatever the number of uploads (libvips already spreads one over the cores). */
const IMAGE_WORKERS = 1;

const WHITE = { r: 255, g: 255, b: 255 };
/** Animations are served with one frame delay for all frames (a value an uploader could otherwise write text in). */
const FRAME_DELAY_MS = { min: 20, max: 1000, step: 10 };

// libvips' operation cache would hold decoded images between requests; uploads never repeat.
sharp.cache(false);

/** The full-size image: a plan of the bytes to serve from a file (the upload, or its re-encoded copy). */
export interface FullSizeImage extends PiecesPlan {
  /** The file the plan's ranges are read from. */
  sourcePath: string;
  extension: string;
  mime: string;
}

export interface ProcessedImage {
  /** As people see it: after the EXIF orientation is applied. */
  width: number;
  height: number;
  /** More than 1 for an animation. */
  frames: number;
  thumbnail: Buffer;
  display: Buffer;
  /** The sharper copies worth making for this photo (see image-variants.ts). */
  variants: VariantImage[];
  fullSize: FullSizeImage;
}

export interface ImageSource {
  path: string;
  type: ImageType;
  /** The client's name for the file, for messages. */
  filename: string;
  /** Where a re-encoded full-size image may be written. */
  fullSizePath: string;
  /** Stops the work between steps (a step itself cannot be interrupted). */
  signal?: AbortSignal;
}

export type ProcessImage = (source: ImageSource) => Promise<ProcessedImage>;

export const processImage: ProcessImage = limitConcurrency(IMAGE_WORKERS, async (source: ImageSource): Promise<ProcessedImage> => {
  const { path, type, filename, signal } = source;
  signal?.throwIfAborted();
  // A JPEG's structure is checked (its scans and metadata segments counted) before any decoder reads it.
  const jpegSegments = type.extension === 'jpg' ? await readJpegSegments(source) : undefined;
  const header = await sharp(path, { animated: true })
    .metadata()
    .catch((error: unknown) => {
      throw new UnreadableImage(filename, type.label, error);
    });
  const width = header.width ?? 0;
  const frameHeight = header.pageHeight ?? header.height ?? 0;
  const frames = header.pages ?? 1;
  const limit = decodeLimit(type, header);
  if (width * frameHeight * frames > limit.maxPixels)
    throw new ImageTooLarge(filename, limit.label, width, frameHeight, frames, limit.maxPixels);
  const orientation = header.orientation ?? 1;
  // Orientations 5–8 turn the image by 90°: people see it with width and height swapped.
  const turned = orientation >= 5;
  const limits = { limitInputPixels: limit.maxPixels };

  const upright = { width: turned ? frameHeight : width, height: turned ? width : frameHeight };

  try {
    const { thumbnail, display, variants } = await makeSmallerCopies(path, limits, upright, signal);
    // The copies' pixels are unreachable now: freed before the full-size step decodes the whole image again.
    await releaseUnreachablePixels();
    signal?.throwIfAborted();
    // A JPEG's full-size copy is rebuilt from its own pixels unless its colours need converting (then re-encoded).
    const jpegPlan = jpegSegments && planPixelOnlyJpeg(jpegSegments, orientation);
    const fullSize = jpegPlan
      ? { ...jpegPlan, sourcePath: path, extension: 'jpg', mime: 'image/jpeg' }
      : await reencodeFullSize(source, header, limits, orientation);
    return { ...upright, frames, thumbnail, display, variants, fullSize };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof Error && /^timeout/i.test(error.message)) throw new ImageTooComplex(filename, error);
    throw new UnreadableImage(filename, type.label, error);
  }
});

/**
 * The thumbnail, the display image and the sharper copies worth making, from the first frame, upright, alpha kept,
 * decoded once for all of them: at the 2560 px copy's size when the photo is large enough for one, else at display
 * size. The display image and both thumbnails are made from display-size pixels, shrunk from the larger ones (JPEG
 * and WebP decode straight to the smaller size). Its own function so that its pixels are unreachable once it returns.
 */
async function makeSmallerCopies(
  path: string,
  limits: sharp.SharpOptions,
  upright: Size,
  signal: AbortSignal | undefined,
): Promise<Pick<ProcessedImage, 'thumbnail' | 'display' | 'variants'>> {
  const wanted = variantsFor(upright);
  const large = wanted.includes('display-2x') ? await decodeLargeDisplay(path, limits) : undefined;
  const base = large
    ? await sharp(large.data, rawOf(large.info))
        .resize(DISPLAY_SIZE, DISPLAY_SIZE, { fit: 'inside', withoutEnlargement: true })
        .timeout({ seconds: STEP_TIME_LIMIT_SECONDS })
        .raw()
        .toBuffer({ resolveWithObject: true })
    : await decodeUpright(path, limits, DISPLAY_SIZE);
  // Sized from the photo's own width and height, as the pages announce it ('fill': a resize's rounding differs
  // by a pixel at most).
  const { width: largeWidth, height: largeHeight } = displaySize(upright, LARGE_DISPLAY_SIZE);
  const largeDisplay = large && (await displayJpeg(sharp(large.data, rawOf(large.info)).resize(largeWidth, largeHeight, { fit: 'fill' })));
  signal?.throwIfAborted();
  const raw = rawOf(base.info);
  const display = await displayJpeg(sharp(base.data, raw));
  const makeThumbnail = (size: Size) =>
    sharp(base.data, raw)
      .resize(size.width, size.height, { fit: 'fill' })
      .webp({ quality: 70 })
      .timeout({ seconds: STEP_TIME_LIMIT_SECONDS })
      .toBuffer();
  const thumbnail = await makeThumbnail(thumbnailSize(upright));
  const variants: VariantImage[] = [];
  if (wanted.includes('thumbnail-2x')) variants.push({ variant: 'thumbnail-2x', bytes: await makeThumbnail(largeThumbnailSize(upright)) });
  if (largeDisplay) variants.push({ variant: 'display-2x', bytes: largeDisplay });
  return { thumbnail, display, variants };
}

type DecodedPixels = { data: Buffer; info: sharp.OutputInfo };

/** The upload's first frame, upright, fitted in a square of side `box` (never enlarged), as raw pixels. */
function decodeUpright(path: string, limits: sharp.SharpOptions, box: number): Promise<DecodedPixels> {
  return sharp(path, limits)
    .rotate()
    .resize(box, box, { fit: 'inside', withoutEnlargement: true })
    .timeout({ seconds: STEP_TIME_LIMIT_SECONDS })
    .raw()
    .toBuffer({ resolveWithObject: true });
}

/**
 * The pixels of the 2560 px copy, from which every smaller copy is made: one decode of the upload, whatever its
 * format (a second one, for the smaller copies, would hold the whole image again where a decoder does). Undefined
 * when libjpeg fails at this scale and not at display size (a frame wider than its data decodes at 1/8 scale
 * without a warning): the photo is then stored without the copy, as one too small for it would be.
 */
async function decodeLargeDisplay(path: string, limits: sharp.SharpOptions): Promise<DecodedPixels | undefined> {
  try {
    return await decodeUpright(path, limits, LARGE_DISPLAY_SIZE);
  } catch (error) {
    if (error instanceof Error && /^timeout/i.test(error.message)) throw error;
    return undefined;
  }
}

function rawOf(info: sharp.OutputInfo): sharp.SharpOptions {
  return { raw: { width: info.width, height: info.height, channels: info.channels } };
}

/**
 * A display image: JPEG, not WebP (WebP encoding took two thirds of an upload's CPU time). JPEG has no
 * transparency: it is flattened onto white (not the black a transparent pixel would otherwise become).
 */
function displayJpeg(image: sharp.Sharp): Promise<Buffer> {
  return image.flatten({ background: WHITE }).jpeg({ quality: 82 }).timeout({ seconds: STEP_TIME_LIMIT_SECONDS }).toBuffer();
}

/** The pixel limit for this image, from what its header says about how its decoder will hold it. */
function decodeLimit(type: ImageType, header: sharp.Metadata): { maxPixels: number; label: string } {
  const channels = header.channels ?? 4;
  const bytesPerSample = header.depth === 'ushort' || (header.bitsPerSample ?? 8) > 8 ? 2 : 1;
  const formatLimit = MAX_PIXELS[type.extension] ?? 0;
  if (type.extension === 'jpg' && header.isProgressive) {
    // Every DCT coefficient (two bytes) of every component, for the whole image.
    return {
      maxPixels: Math.min(formatLimit, Math.floor(MAX_DECODED_BYTES / (channels * 2))),
      label: `progressive ${channels === 4 ? 'CMYK ' : ''}JPEG`,
    };
  }
  if (type.extension === 'png') {
    const maxPixels = Math.min(formatLimit, Math.floor(MAX_DECODED_BYTES / (channels * bytesPerSample)));
    return {
      maxPixels,
      label: `${bytesPerSample === 2 ? '16-bit ' : ''}PNG${channels === 4 || channels === 2 ? ' with transparency' : ''}`,
    };
  }
  if (type.extension === 'avif' && bytesPerSample === 2) return { maxPixels: Math.floor(formatLimit / 2), label: 'high bit depth AVIF' };
  // The WebP decoder and encoder hold an alpha plane, and every frame of an animation, besides the colours.
  if (type.extension === 'webp' && (header.hasAlpha || (header.pages ?? 1) > 1))
    return { maxPixels: WEBP_WITH_ALPHA_MAX_PIXELS, label: 'WebP with transparency or animation' };
  return { maxPixels: formatLimit, label: type.label };
}

/** The segments of a JPEG that carry its pixels, read under the step time limit (see jpeg-rebuild.ts). */
async function readJpegSegments({ path, type, filename, signal }: ImageSource): Promise<PixelSegments> {
  const deadline = AbortSignal.timeout(STEP_TIME_LIMIT_SECONDS * 1000);
  try {
    return await readPixelSegments(path, signal ? AbortSignal.any([deadline, signal]) : deadline);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (deadline.aborted) throw new ImageTooComplex(filename, error);
    if (error instanceof UnservableJpeg && (error.reason === 'too-many-scans' || error.reason === 'too-many-segments'))
      throw new ImageTooComplex(filename, error);
    if (error instanceof UnservableJpeg && error.reason === 'unsupported-coding') throw new UnsupportedJpegCoding(filename);
    throw new UnreadableImage(filename, type.label, error);
  }
}

/**
 * The full-size image, re-encoded and read sequentially where the format allows: PNG, GIF and WebP keep
 * their format (transparency, animation, with one frame delay for all frames); AVIF becomes a JPEG,
 * because the AVIF encoder needs several times the memory of the whole image and seconds per photo. A
 * JPEG is rebuilt from its own pixels (see jpeg-rebuild.ts) unless its colours must be converted: then
 * it is converted to sRGB as the display image is.
 */
async function reencodeFullSize(
  { path, type, fullSizePath }: ImageSource,
  header: sharp.Metadata,
  limits: sharp.SharpOptions,
  orientation: number,
): Promise<FullSizeImage> {
  if (type.extension === 'jpg') {
    // Not turned upright, which would hold the whole image in memory (a JPEG may have 64 megapixels): the
    // rebuild of the converted file writes the orientation, and keeps nothing else the encoder wrote.
    // Full chroma (4:4:4): with 4:2:0, saturated edges of a converted camera photo moved by over 200 levels.
    await sharp(path, { ...limits, sequentialRead: true })
      .timeout({ seconds: STEP_TIME_LIMIT_SECONDS })
      .jpeg({ quality: 92, optimiseCoding: false, chromaSubsampling: '4:4:4' })
      .toFile(fullSizePath);
    const plan = planPixelOnlyJpeg(await readPixelSegments(fullSizePath), orientation);
    if (!plan) throw new Error('the JPEG converted to sRGB still declares colours the rebuild cannot vouch for');
    return { ...plan, sourcePath: fullSizePath, extension: 'jpg', mime: 'image/jpeg' };
  }
  const animated = (header.pages ?? 1) > 1;
  // sharp writes no metadata unless asked to; rotate() applies the EXIF orientation (animations have none).
  let image = sharp(path, { ...limits, sequentialRead: true, animated }).timeout({ seconds: STEP_TIME_LIMIT_SECONDS });
  if (!animated) image = image.rotate();
  const animation = { delay: uniformFrameDelay(header.delay), loop: 0 };
  const file = (extension: string, mime: string, size: number) => ({
    pieces: [{ start: 0, end: size }],
    length: size,
    sourcePath: fullSizePath,
    extension,
    mime,
  });
  if (type.extension === 'png') {
    await image.png({ compressionLevel: 6 }).toFile(fullSizePath);
    // The encoder adds chunks of its own (pHYs copies the upload's density): only pixel chunks are served.
    return { ...(await planPixelOnlyPng(fullSizePath)), sourcePath: fullSizePath, extension: 'png', mime: 'image/png' };
  }
  // reuse: false: the palette is made from the pixels, never copied from the upload (whose unused entries can hold text).
  if (type.extension === 'gif')
    return file('gif', 'image/gif', (await image.gif({ reuse: false, ...(animated ? animation : {}) }).toFile(fullSizePath)).size);
  if (type.extension === 'webp')
    return file('webp', 'image/webp', (await image.webp({ quality: 90, ...(animated ? animation : {}) }).toFile(fullSizePath)).size);
  const jpeg = await image.flatten({ background: WHITE }).jpeg({ quality: 92, optimiseCoding: false }).toFile(fullSizePath);
  return file('jpg', 'image/jpeg', jpeg.size);
}

/** The animation's mean frame delay, rounded and bounded: the timing people see, and nothing an uploader could write in it. */
export function uniformFrameDelay(delays: number[] | undefined): number {
  const mean = delays && delays.length > 0 ? delays.reduce((sum, delay) => sum + delay, 0) / delays.length : 100;
  const rounded = Math.round(mean / FRAME_DELAY_MS.step) * FRAME_DELAY_MS.step;
  return Math.min(FRAME_DELAY_MS.max, Math.max(FRAME_DELAY_MS.min, rounded));
}
