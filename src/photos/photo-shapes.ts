// Remembers each photo's shape (width, height, frames), which never changes once its record is written, and its
// caption, so the gallery reads a photo's record from S3 once per process rather than on every page view.

/** What the gallery needs of a record to lay a photo out before it loads, to mark an animation and to name it. */
export interface PhotoShape {
  width: number;
  height: number;
  animated: boolean;
  /** Part of the thumbnail's accessible name; '' when the photo has none. */
  caption: string;
}

/** About 100 bytes each: a few MB at most, for the shapes of the most recently shown photos. */
export const REMEMBERED_SHAPES = 20_000;

export interface RememberedShapes {
  recall(id: string): PhotoShape | undefined;
  remember(id: string, record: { width: number; height: number; frames: number; caption: string }): void;
  /** A caption can change (store.replaceCaption): the next gallery view reads the record again. */
  forget(id: string): void;
}

export function rememberedShapes(limit = REMEMBERED_SHAPES): RememberedShapes {
  // A Map keeps insertion order: re-inserting on each use keeps the least recently used first, to forget first.
  const shapes = new Map<string, PhotoShape>();
  return {
    recall(id) {
      const shape = shapes.get(id);
      if (shape) {
        shapes.delete(id);
        shapes.set(id, shape);
      }
      return shape;
    },
    remember(id, { width, height, frames, caption }) {
      shapes.delete(id);
      shapes.set(id, { width, height, animated: frames > 1, caption });
      if (shapes.size > limit) shapes.delete(shapes.keys().next().value!);
    },
    forget(id) {
      shapes.delete(id);
    },
  };
}
