// The sharper copies a photo may have for 2× screens (a thumbnail twice as high, a display image of up to
// 2560 px), which of them a photo has, and the `srcset` that offers them. Never enlarged: a copy that would
// be no larger than the one below it is neither made nor listed, and a photo stored before copies were made
// has none (its record says which it has).
import { thumbnailSize, type Size } from './thumbnail-size.js';

/** The display image fits in a square of this side… */
export const DISPLAY_SIZE = 1600;
/** …and its sharper copy in one of this side. */
export const LARGE_DISPLAY_SIZE = 2560;

/** Each copy's format: the same as the image it sharpens. */
export const IMAGE_VARIANTS = {
  'thumbnail-2x': { extension: 'webp', mime: 'image/webp' },
  'display-2x': { extension: 'jpg', mime: 'image/jpeg' },
} as const;
export type ImageVariant = keyof typeof IMAGE_VARIANTS;

export function isImageVariant(name: string): name is ImageVariant {
  return Object.hasOwn(IMAGE_VARIANTS, name);
}

/** The size of the image that fits in a square of side `box`, never enlarged. */
export function displaySize({ width, height }: Size, box = DISPLAY_SIZE): Size {
  const scale = Math.min(1, box / width, box / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * The 2× thumbnail: made from the display-size pixels the 1× thumbnail comes from (no second decode), so a
 * panorama's is at most DISPLAY_SIZE wide.
 */
export function largeThumbnailSize(size: Size): Size {
  return thumbnailSize(displaySize(size), 2);
}

/** The copies worth making for a photo of this size (as people see it, upright). */
export function variantsFor(size: Size): ImageVariant[] {
  const variants: ImageVariant[] = [];
  if (isLarger(largeThumbnailSize(size), thumbnailSize(size))) variants.push('thumbnail-2x');
  if (isLarger(displaySize(size, LARGE_DISPLAY_SIZE), displaySize(size))) variants.push('display-2x');
  return variants;
}

function isLarger(size: Size, than: Size): boolean {
  return size.width > than.width || size.height > than.height;
}

/** A sharper copy, made: what image processing hands the photo writer to store. */
export interface VariantImage {
  variant: ImageVariant;
  bytes: Buffer;
}

/** One image a `srcset` offers, and its width in pixels (a `w` descriptor). */
export interface ImageCandidate {
  url: string;
  width: number;
}

/** The `srcset` attribute's value, smallest first. */
export function srcset(candidates: ImageCandidate[]): string {
  return candidates.map((candidate) => `${candidate.url} ${candidate.width}w`).join(', ');
}
