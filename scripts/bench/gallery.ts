// Figures 2 and 3: the gallery page. Its server time, on the newest page and deep into 10,000 photos,
// against one ListObjectsV2 of a page of keys (the least any listing can cost); and its weight in bytes
// against the originals of the photos it shows.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { imageTypeByExtension } from '../../src/photos/image-type.js';
import { newPhotoId } from '../../src/photos/photo-id.js';
import { objectKeys } from '../../src/photos/object-keys.js';
import { PHOTOS_PER_PAGE, type PhotoStore } from '../../src/photos/store.js';
import { createS3Client } from '../../src/storage/s3-client.js';
import { imageSources, olderPageLink, photoIdsLinked } from '../support/html.js';
import { seedThumbnail } from './photos.js';
import { verdict, type FigureResult } from './report.js';
import { benchConfig, startAppInProcess } from './servers.js';
import { formatSpread, inParallel, milliseconds, roundRatios, spread } from './stats.js';

export const GALLERY_BUCKET = 'bench-gallery';
const SEEDED_PHOTOS = 10_000;
const SEEDING_CONCURRENCY = 32;
/** Page 200 shows photos 4,777 to 4,800; it is asked for after the id of photo 4,776, as its "Older" link names it. */
const DEEP_PAGE = 200;
const ROUNDS = 15;
/** S3 returns at most this many keys per ListObjectsV2. */
const LIST_LIMIT = 1000;

export async function measureGallerySpeed(tempDir: string): Promise<FigureResult> {
  const config = benchConfig(GALLERY_BUCKET);
  const app = await startAppInProcess(config, { tempDir });
  const s3 = createS3Client(config);
  try {
    const seedingSeconds = await seedGallery(app.store, SEEDED_PHOTOS);
    const prefix = objectKeys(config.keyPrefix).thumbnailFolder;
    const listPage = (startAfter: string | undefined) =>
      s3.send(new ListObjectsV2Command({ Bucket: GALLERY_BUCKET, Prefix: prefix, MaxKeys: PHOTOS_PER_PAGE, StartAfter: startAfter }));
    const deepStartKey = await lastKeyBeforePage(s3, prefix, DEEP_PAGE);
    const deepToken = objectKeys(config.keyPrefix).idIn(prefix, deepStartKey) ?? '';
    await checkPagesFollowOn(app.baseUrl, deepToken);

    const samples = { appFirst: [] as number[], listFirst: [] as number[], appDeep: [] as number[], listDeep: [] as number[] };
    const measurements: [keyof typeof samples, () => Promise<unknown>][] = [
      ['appFirst', () => galleryHtml(app.baseUrl, '/')],
      ['listFirst', () => listPage(undefined)],
      ['appDeep', () => galleryHtml(app.baseUrl, `/?page=${encodeURIComponent(deepToken)}`)],
      ['listDeep', () => listPage(deepStartKey)],
    ];
    for (let round = -2; round < ROUNDS; round++) {
      for (const [name, measure] of measurements) {
        const started = process.hrtime.bigint();
        await measure();
        if (round >= 0) samples[name].push(milliseconds(started)); // the first two rounds warm up
      }
    }

    const firstRatio = roundRatios(samples.appFirst, samples.listFirst);
    const deepRatio = roundRatios(samples.appDeep, samples.listDeep);
    const ms = (name: keyof typeof samples) => formatSpread(spread(samples[name]), 1, ' ms');
    return {
      rows: [
        {
          figure: `Gallery first page (${SEEDED_PHOTOS.toLocaleString('en')} photos)`,
          app: ms('appFirst'),
          reference: `ListObjectsV2 ${ms('listFirst')}`,
          ratio: formatSpread(firstRatio, 2),
          budget: '≤ 2.00',
          verdict: verdict(firstRatio.median <= 2),
        },
        {
          figure: `Gallery page ${DEEP_PAGE} (after a photo id)`,
          app: ms('appDeep'),
          reference: `ListObjectsV2 ${ms('listDeep')}`,
          ratio: formatSpread(deepRatio, 2),
          budget: '≤ 2.00',
          verdict: verdict(deepRatio.median <= 2),
        },
      ],
      details: {
        seededPhotos: SEEDED_PHOTOS,
        seedingSeconds,
        deepPage: DEEP_PAGE,
        rounds: ROUNDS,
        milliseconds: Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, spread(values)])),
        ratios: { firstPage: firstRatio, deepPage: deepRatio },
      },
    };
  } finally {
    await app.close();
    s3.destroy();
  }
}

/** Bytes a browser loads for one gallery page (HTML and every image), against the originals of the photos shown. */
export async function measureGalleryWeight(bucket: string, tempDir: string): Promise<FigureResult> {
  const app = await startAppInProcess(benchConfig(bucket), { tempDir });
  try {
    const html = await galleryHtml(app.baseUrl, '/');
    const imageUrls = imageSources(html);
    const photoIds = photoIdsLinked(html);
    if (photoIds.length < PHOTOS_PER_PAGE)
      throw new Error(`the gallery shows ${photoIds.length} photos; the weight figure needs a full page of ${PHOTOS_PER_PAGE}`);
    const imageBytes = await Promise.all(imageUrls.map((url) => downloadedBytes(new URL(url, app.baseUrl))));
    const records = await Promise.all(photoIds.map((id) => app.store.findPhoto(id)));
    const originalBytes = records.reduce((sum, record) => sum + (record?.originalBytes ?? 0), 0);

    const pageBytes = Buffer.byteLength(html) + imageBytes.reduce((sum, bytes) => sum + bytes, 0);
    const share = pageBytes / originalBytes;
    return {
      rows: [
        {
          figure: `Gallery weight (HTML + ${imageUrls.length} images)`,
          app: `${(pageBytes / 1e3).toFixed(0)} kB`,
          reference: `${photoIds.length} originals ${(originalBytes / 1e6).toFixed(1)} MB`,
          ratio: `${(share * 100).toFixed(2)} %`,
          budget: '≤ 3 %',
          verdict: verdict(share <= 0.03),
        },
      ],
      details: {
        htmlBytes: Buffer.byteLength(html),
        imageBytes,
        originalBytes,
        share,
      },
    };
  } finally {
    await app.close();
  }
}

/**
 * Writes the records (thumbnails with their metadata) of `count` photos, one a minute apart, newest first, through
 * the store as an upload writes them: the gallery reads each record's shape, so a bare thumbnail is a damaged photo.
 * Returns the seconds it took.
 */
export async function seedGallery(store: PhotoStore, count: number): Promise<number> {
  const thumbnail = await seedThumbnail();
  const { width, height } = await sharp(thumbnail).metadata();
  const jpeg = imageTypeByExtension('jpg')!;
  const started = process.hrtime.bigint();
  const now = Date.now();
  const ids = Array.from({ length: count }, (_, index) => newPhotoId(new Date(now - index * 60_000)));
  await inParallel(ids, SEEDING_CONCURRENCY, async (id) => {
    const record = { id, caption: '', width, height, frames: 1, originalBytes: thumbnail.length, originalType: jpeg };
    await store.saveRecord({ ...record, fullSizeExtension: 'jpg', ownerTag: '', variants: [], fileName: undefined }, thumbnail);
  });
  return milliseconds(started) / 1000;
}

/** The last key of page `page - 1`: the gallery's "Older" link to page `page` names its photo id, and S3 lists after it. */
async function lastKeyBeforePage(s3: S3Client, prefix: string, page: number): Promise<string> {
  let keysToSkip = (page - 1) * PHOTOS_PER_PAGE;
  let token: string | undefined;
  let lastKey: string | undefined;
  while (keysToSkip > 0) {
    const listing = await s3.send(
      new ListObjectsV2Command({
        Bucket: GALLERY_BUCKET,
        Prefix: prefix,
        MaxKeys: Math.min(LIST_LIMIT, keysToSkip),
        ContinuationToken: token,
      }),
    );
    keysToSkip -= listing.KeyCount ?? 0;
    lastKey = listing.Contents?.at(-1)?.Key;
    token = listing.NextContinuationToken;
    if (!token) throw new Error(`the bucket has fewer than ${page} pages`);
  }
  if (!lastKey) throw new Error('the listing named no key');
  return lastKey;
}

/** The gallery's own "Older" link leads on from the first page, and the deep page is a full page. */
async function checkPagesFollowOn(baseUrl: string, deepToken: string): Promise<void> {
  const first = await galleryHtml(baseUrl, '/');
  const older = olderPageLink(first);
  if (!older) throw new Error('the first gallery page has no "Older" link');
  const second = await galleryHtml(baseUrl, older);
  const deep = await galleryHtml(baseUrl, `/?page=${encodeURIComponent(deepToken)}`);
  for (const [name, html] of [
    ['first', first],
    ['second', second],
    [`${DEEP_PAGE}th`, deep],
  ] as const) {
    const shown = imageSources(html).length;
    if (shown !== PHOTOS_PER_PAGE) throw new Error(`the ${name} gallery page shows ${shown} photos, not ${PHOTOS_PER_PAGE}`);
  }
}

async function galleryHtml(baseUrl: string, pathAndQuery: string): Promise<string> {
  const response = await fetch(new URL(pathAndQuery, baseUrl));
  const html = await response.text();
  if (!response.ok) throw new Error(`GET ${pathAndQuery.slice(0, 80)} answered ${response.status}`);
  return html;
}

async function downloadedBytes(url: URL): Promise<number> {
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  if (!response.ok) throw new Error(`GET ${url.pathname} answered ${response.status}`);
  return body.byteLength;
}
