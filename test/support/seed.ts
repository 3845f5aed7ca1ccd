// Photos put straight into the bucket through the store (no upload, no image processing), for tests of
// paging and neighbours that need many of them quickly, drawn scenes for the browser's measurements, and records
// rewritten as an earlier version of the app wrote them.
import { CopyObjectCommand, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { EMULATOR_KEY_PAIR } from '../../scripts/emulators/s3.js';
import { imageTypeByExtension } from '../../src/photos/image-type.js';
import { newPhotoId } from '../../src/photos/photo-id.js';
import type { PhotoStore } from '../../src/photos/store.js';
import { thumbnailSize } from '../../src/photos/thumbnail-size.js';
import { fixture, type TestApp } from './test-app.js';

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

/** Width × height of the scenes seedScenes draws, newest first: landscape, portraits, wide, square, panorama. */
const SCENE_SHAPES = [
  [1600, 1200],
  [1080, 1350],
  [1200, 1600],
  [1920, 1080],
  [1400, 1400],
  [2400, 800],
];

/**
 * Stores `count` photos of drawn landscapes (sky, sun, hills) in several shapes and colours, an hour apart
 * up to `newest`, each with a thumbnail of its own shape and size: a gallery that looks like one, for
 * screenshots and for measuring what a visit downloads. Returns their ids, oldest first.
 */
export async function seedScenes(store: PhotoStore, count: number, newest: Date): Promise<string[]> {
  const jpeg = imageTypeByExtension('jpg')!;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const [width, height] = SCENE_SHAPES[(count - 1 - i) % SCENE_SHAPES.length]!;
    const hue = (i * 47) % 360;
    const scene = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
        <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
          <stop offset="0" stop-color="hsl(${hue} 70% 45%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360} 85% 78%)"/>
        </linearGradient></defs>
        <rect width="100%" height="100%" fill="url(#sky)"/>
        <circle cx="${width * (0.2 + ((i * 0.13) % 0.6))}" cy="${height * 0.35}" r="${Math.min(width, height) * 0.09}" fill="hsl(45 100% 85%)"/>
        <path d="M0 ${height * 0.7} Q ${width * 0.3} ${height * 0.5} ${width * 0.55} ${height * 0.68} T ${width} ${height * 0.62} V ${height} H 0 Z" fill="hsl(${(hue + 180) % 360} 35% 30%)"/>
        <path d="M0 ${height * 0.85} Q ${width * 0.4} ${height * 0.72} ${width} ${height * 0.88} V ${height} H 0 Z" fill="hsl(${(hue + 200) % 360} 40% 18%)"/>
      </svg>`,
    );
    const size = thumbnailSize({ width, height });
    const [display, thumbnail] = await Promise.all([
      sharp(scene).resize(800).jpeg().toBuffer(),
      sharp(scene).resize(size.width, size.height).webp().toBuffer(),
    ]);
    const id = newPhotoId(new Date(newest.getTime() - (count - 1 - i) * 3_600_000));
    await store.savePhotoParts(id, {
      original: { body: { bytes: display }, type: jpeg },
      display,
      variants: [],
      fullSize: { body: { bytes: display }, extension: 'jpg', mime: 'image/jpeg' },
    });
    await store.saveRecord(
      {
        id,
        caption: `scene ${i}`,
        width,
        height,
        frames: 1,
        originalBytes: display.length,
        originalType: jpeg,
        fullSizeExtension: 'jpg',
        ownerTag: '',
        variants: [],
        fileName: undefined,
      },
      thumbnail,
    );
    ids.push(id);
  }
  return ids;
}

/** Rewrites photo `id`'s record (its thumbnail's metadata) to `metadata` alone, as an earlier version wrote it. */
export async function rewriteRecord(testApp: TestApp, id: string, metadata: Record<string, string>): Promise<void> {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: testApp.emulator.endpoint,
    forcePathStyle: true,
    credentials: EMULATOR_KEY_PAIR,
  });
  const key = `${testApp.config.keyPrefix}thumbnails/${id}.webp`;
  try {
    await s3.send(
      new CopyObjectCommand({
        Bucket: testApp.config.bucket,
        Key: key,
        CopySource: `${testApp.config.bucket}/${key}`,
        MetadataDirective: 'REPLACE',
        ContentType: 'image/webp',
        Metadata: metadata,
      }),
    );
  } finally {
    s3.destroy();
  }
}
