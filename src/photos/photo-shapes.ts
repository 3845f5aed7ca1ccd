// Remembers each photo's shape (width, height, frames), which never changes once its record is written, so the
// gallery reads a photo's record from S3 once per process rather than on every page view.

/** What the gallery needs of a record to lay a photo out before it loads, and to mark an animation. */
export interface PhotoShape {
  width: number;
  height: number;
  animated: boolean;
  /** Whether it has a 2× thumbnail (image-variants.ts). */
  largeThumbnail: boolean;
}

/** About 100 bytes each: a few MB at most, for the shapes of the most recently shown photos. */
export const REMEMBERED_SHAPES = 20_000;

export interface RememberedShapes {
  recall(id: string): PhotoShape | undefined;
  remember(id: string, record: { width: number; height: number; frames: number; variants: readonly string[] }): void;
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
    remember(id, { width, height, frames, variants }) {
      shapes.delete(id);
      shapes.set(id, { width, height, animated: frames > 1, largeThumbnail: variants.includes('thumbnail-2x') });
      if (shapes.size > limit) shapes.delete(shapes.keys().next().value!);
    },
  };
}
