// Remembers each photo's shape (width, height, frames), which never changes once its record is written, and its
// caption, so the gallery reads a photo's record from S3 about once per process and caption lifetime rather
// than on every page view.

/** What the gallery needs of a record to lay a photo out before it loads, to mark an animation and to name it. */
export interface PhotoShape {
  width: number;
  height: number;
  animated: boolean;
  /** Part of the thumbnail's accessible name; '' when the photo has none. */
  caption: string;
  /** Whether it has a 2× thumbnail (image-variants.ts). */
  largeThumbnail: boolean;
}

/** About 100 bytes each, up to 700 with a long caption: 14 MB at most, for the most recently shown photos. */
export const REMEMBERED_SHAPES = 20_000;
/**
 * A caption can be edited through another instance, which cannot tell this one: after this long, a remembered
 * caption is read again, so no gallery names a photo by an old caption for longer.
 */
export const CAPTION_LIFETIME_MS = 10 * 60_000;

export interface RememberedShapes {
  recall(id: string): PhotoShape | undefined;
  remember(id: string, record: { width: number; height: number; frames: number; caption: string; variants: readonly string[] }): void;
  /** The caption was edited here (store.replaceCaption): the next gallery view reads the record again. */
  forget(id: string): void;
}

export function rememberedShapes(limit = REMEMBERED_SHAPES, now: () => number = Date.now): RememberedShapes {
  // A Map keeps insertion order: re-inserting on each use keeps the least recently used first, to forget first.
  const shapes = new Map<string, { shape: PhotoShape; readAt: number }>();
  return {
    recall(id) {
      const remembered = shapes.get(id);
      shapes.delete(id);
      if (!remembered || now() - remembered.readAt >= CAPTION_LIFETIME_MS) return undefined;
      shapes.set(id, remembered);
      return remembered.shape;
    },
    remember(id, { width, height, frames, caption, variants }) {
      shapes.delete(id);
      const shape = { width, height, animated: frames > 1, caption, largeThumbnail: variants.includes('thumbnail-2x') };
      shapes.set(id, { shape, readAt: now() });
      if (shapes.size > limit) shapes.delete(shapes.keys().next().value!);
    },
    forget(id) {
      shapes.delete(id);
    },
  };
}
