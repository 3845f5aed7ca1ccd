// Where each part of a photo lives in the bucket. Every key is under the configured prefix and named by
// the photo's id, which the server generates (never a filename). Change the layout here, and only here.
import type { ImageType } from './image-type.js';
import { IMAGE_VARIANTS, type ImageVariant } from './image-variants.js';

/**
 * The folders of one photo's parts. The thumbnail is the photo's record: the gallery lists its folder. Each
 * sharper copy has a folder named after it (they are parts too: the orphan sweep checks them).
 */
export const PART_FOLDERS = ['originals', 'display', 'full', 'thumbnail-2x', 'display-2x'] as const satisfies readonly string[];
export type PartFolder = (typeof PART_FOLDERS)[number];

export interface ObjectKeys {
  /** The folder the gallery lists: one thumbnail per photo, carrying its metadata. */
  thumbnailFolder: string;
  folder(name: PartFolder): string;
  thumbnail(id: string): string;
  /** The display-size image (a JPEG). */
  display(id: string): string;
  /** The upload as it was received: kept, never linked (it may carry metadata). */
  original(id: string, type: ImageType): string;
  /** The full-size image that is served: pixels only. */
  fullSize(id: string, extension: string): string;
  /** A sharper copy of the thumbnail or the display image (see image-variants.ts). */
  variant(id: string, variant: ImageVariant): string;
  /** Every key a photo may have, for deletion: its sharper copies whether or not it has them. */
  allOf(id: string, originalType: ImageType, fullSizeExtension: string): string[];
  /** The photo id in a key of `folder`, or undefined. */
  idIn(folder: string, key: string): string | undefined;
}

export function objectKeys(prefix: string): ObjectKeys {
  const keys: ObjectKeys = {
    thumbnailFolder: `${prefix}thumbnails/`,
    folder: (name) => `${prefix}${name}/`,
    thumbnail: (id) => `${prefix}thumbnails/${id}.webp`,
    display: (id) => `${prefix}display/${id}.jpg`,
    original: (id, type) => `${prefix}originals/${id}.${type.extension}`,
    fullSize: (id, extension) => `${prefix}full/${id}.${extension}`,
    variant: (id, variant) => `${prefix}${variant}/${id}.${IMAGE_VARIANTS[variant].extension}`,
    allOf: (id, originalType, fullSizeExtension) => [
      keys.original(id, originalType),
      keys.display(id),
      keys.fullSize(id, fullSizeExtension),
      ...(Object.keys(IMAGE_VARIANTS) as ImageVariant[]).map((variant) => keys.variant(id, variant)),
      keys.thumbnail(id),
    ],
    idIn: (folder, key) => (key.startsWith(folder) ? key.slice(folder.length).replace(/\.[a-z]+$/, '') : undefined),
  };
  return keys;
}
