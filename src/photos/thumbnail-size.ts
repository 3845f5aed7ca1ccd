// A thumbnail's size: the photo's own shape, at most THUMBNAIL_HEIGHT high (the gallery lays photos out in
// rows of one height), never enlarged. Image processing makes it at this size and the pages announce it.

export const THUMBNAIL_HEIGHT = 320;
/** A panorama's thumbnail is at most this wide; a gallery row shows it no wider than the window anyway. */
const THUMBNAIL_MAX_WIDTH = 3 * THUMBNAIL_HEIGHT;

export interface Size {
  width: number;
  height: number;
}

/** The thumbnail for screens of `density` device pixels per CSS pixel (2: the sharper copy for 2× screens). */
export function thumbnailSize({ width, height }: Size, density = 1): Size {
  const scale = Math.min(1, (density * THUMBNAIL_HEIGHT) / height, (density * THUMBNAIL_MAX_WIDTH) / width);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}
