// How many of the gallery's first photos fill its first row on the widest common screen: those are loaded at
// once (loading="eager"), the rest when they come near the window (loading="lazy"), so the first photos a
// visitor sees never wait for the lazy loader. On a narrower screen the first row holds fewer: the extra
// eager photos are in the rows just below it, in view soon after.

/** A 1920 px window, less the page's padding (styles.css: main). */
const WIDEST_ROW_PX = 1888;
/** The tallest gallery row (styles.css: .grid --row-height, 16rem), which holds the fewest photos per row. */
const ROW_HEIGHT_PX = 256;
/** Between tiles (styles.css: .grid gap). */
const GAP_PX = 8;

/** The number of photos, in order, until one no longer fits the first row (that one included: it may still fit). */
export function firstRowLength(photos: readonly { width: number; height: number }[]): number {
  let rowWidth = 0;
  for (const [index, photo] of photos.entries()) {
    rowWidth += (photo.width / photo.height) * ROW_HEIGHT_PX + (index > 0 ? GAP_PX : 0);
    if (rowWidth >= WIDEST_ROW_PX) return index + 1;
  }
  return photos.length;
}
