// Photos put straight into the bucket through the store (no upload, no image processing), for tests of
// paging and neighbours that need many of them quickly.
import { imageTypeByExtension } from '../../src/photos/image-type.js';
import { newPhotoId } from '../../src/photos/photo-id.js';
import type { PhotoStore } from '../../src/photos/store.js';
import { fixture } from './test-app.js';

/** Stores `count` photos one minute apart from 2026-01-01, captioned "seeded N"; returns their ids, oldest first. */
export function seedPhotos(store: PhotoStore, count: number): Promise<string[]> {
  return seedPhotosAt(
    store,
    Array.from({ length: count }, (_, i) => new Date(Date.UTC(2026, 0, 1) + i * 60_000)),
  );
}

/** Stores one photo uploaded at each moment, captioned "seeded N"; returns their ids in the moments' order. */
export async function seedPhotosAt(store: PhotoStore, moments: Date[]): Promise<string[]> {
  const image = await fixture('portrait.webp');
  const jpeg = imageTypeByExtension('jpg')!;
  const ids: string[] = [];
  for (const [i, moment] of moments.entries()) {
    const id = newPhotoId(moment);
    await store.savePhotoParts(id, {
      original: { body: { bytes: image }, type: jpeg },
      display: image,
      variants: [],
      fullSize: { body: { bytes: image }, extension: 'jpg', mime: 'image/jpeg' },
    });
    await store.saveRecord(
      {
        id,
        caption: `seeded ${i}`,
        width: 300,
        height: 400,
        frames: 1,
        originalBytes: image.length,
        originalType: jpeg,
        fullSizeExtension: 'jpg',
        ownerTag: '',
        variants: [],
        fileName: undefined,
      },
      image,
    );
    ids.push(id);
  }
  return ids;
}
