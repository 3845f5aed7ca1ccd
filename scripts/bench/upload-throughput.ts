// Figure 1: how fast photos go from a browser into S3 through the app, against the same bytes sent
// straight to the emulator with PutObject (the floor) and through the multer-s3 endpoint tutorials show
// (the peer); with the app's image processing on, and replaced by a no-op to show its cost on its own.
import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { detectImageType } from '../../src/photos/image-type.js';
import { processImage, type ProcessedImage } from '../../src/photos/image-processing.js';
import { createS3Client } from '../../src/storage/s3-client.js';
import { openUploadForm, uploadPhoto, NO_FORM_PASS } from './http-client.js';
import type { BenchPhoto } from './photos.js';
import { verdict, type FigureResult } from './report.js';
import { benchConfig, startAppInProcess, startMulterS3Peer } from './servers.js';
import { formatSpread, inParallel, milliseconds, roundRatios, spread } from './stats.js';

export const UPLOAD_BUCKETS = {
  direct: 'bench-direct',
  peer: 'bench-peer',
  appWithoutImages: 'bench-app-no-images',
  app: 'bench-app',
} as const;
/** Rounds are interleaved (each route once per round), so a slow moment on the machine hits all routes alike. */
const ROUNDS = 8;
/** Two at a time, as a browser sending a multi-photo selection would on two connections. */
const CONCURRENT_UPLOADS = 2;

type Route = keyof typeof UPLOAD_BUCKETS;
type Send = (photo: BenchPhoto) => Promise<unknown>;

export async function measureUploadThroughput(photos: BenchPhoto[], tempDir: string): Promise<FigureResult> {
  const direct = createS3Client(benchConfig(UPLOAD_BUCKETS.direct));
  const peer = await startMulterS3Peer(benchConfig(UPLOAD_BUCKETS.peer));
  const placeholder = await placeholderImages(photos[0]!);
  const appWithoutImages = await startAppInProcess(benchConfig(UPLOAD_BUCKETS.appWithoutImages), {
    tempDir,
    processImage: async () => placeholder,
  });
  const app = await startAppInProcess(benchConfig(UPLOAD_BUCKETS.app), { tempDir });
  try {
    const [passWithoutImages, pass] = await Promise.all([openUploadForm(appWithoutImages.baseUrl), openUploadForm(app.baseUrl)]);
    const send: Record<Route, Send> = {
      direct: (photo) =>
        direct.send(
          new PutObjectCommand({
            Bucket: UPLOAD_BUCKETS.direct,
            Key: `photos/originals/${randomUUID()}.jpg`,
            Body: photo.bytes,
            ContentType: 'image/jpeg',
          }),
        ),
      peer: (photo) => uploadPhoto(peer.baseUrl, photo, NO_FORM_PASS),
      appWithoutImages: (photo) => uploadPhoto(appWithoutImages.baseUrl, photo, passWithoutImages),
      app: (photo) => uploadPhoto(app.baseUrl, photo, pass),
    };
    const routes = Object.keys(send) as Route[];
    const totalMegabytes = photos.reduce((sum, photo) => sum + photo.bytes.length, 0) / 1e6;

    // Warm-up: connections, JIT, libvips; not counted.
    for (const route of routes) await send[route](photos[0]!);

    const throughput: Record<Route, number[]> = { direct: [], peer: [], appWithoutImages: [], app: [] };
    const latencies: Record<Route, number[]> = { direct: [], peer: [], appWithoutImages: [], app: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with a different route, so none is always first or last.
      for (const route of [...routes.slice(round % routes.length), ...routes.slice(0, round % routes.length)]) {
        const started = process.hrtime.bigint();
        await inParallel(photos, CONCURRENT_UPLOADS, async (photo) => {
          const sent = process.hrtime.bigint();
          await send[route](photo);
          latencies[route].push(milliseconds(sent));
        });
        throughput[route].push(totalMegabytes / (milliseconds(started) / 1000));
      }
    }

    const sharpMilliseconds = await timeImageProcessingAlone(photos);
    const withoutImagesVsDirect = roundRatios(throughput.appWithoutImages, throughput.direct);
    const withoutImagesVsPeer = roundRatios(throughput.appWithoutImages, throughput.peer);
    const withImagesVsDirect = roundRatios(throughput.app, throughput.direct);
    const withImagesVsPeer = roundRatios(throughput.app, throughput.peer);
    const mbps = (route: Route) => formatSpread(spread(throughput[route]), 1, ' MB/s');
    const label = `${photos.length} × ${(totalMegabytes / photos.length).toFixed(1)} MB, ${CONCURRENT_UPLOADS} at a time`;
    return {
      rows: [
        {
          figure: `Upload, no image processing (${label})`,
          app: mbps('appWithoutImages'),
          reference: `direct PutObject ${mbps('direct')}`,
          ratio: formatSpread(withoutImagesVsDirect, 2),
          budget: '≥ 0.90',
          verdict: verdict(withoutImagesVsDirect.median >= 0.9),
        },
        {
          figure: 'Upload, no image processing',
          app: mbps('appWithoutImages'),
          reference: `multer-s3 peer ${mbps('peer')}`,
          ratio: formatSpread(withoutImagesVsPeer, 2),
          budget: '≥ 1.00',
          verdict: verdict(withoutImagesVsPeer.median >= 1),
        },
        {
          figure: 'Upload with thumbnails',
          app: mbps('app'),
          reference: `direct PutObject ${mbps('direct')}`,
          ratio: formatSpread(withImagesVsDirect, 2),
          budget: '≥ 0.50',
          verdict: verdict(withImagesVsDirect.median >= 0.5),
        },
        {
          figure: 'Upload with thumbnails',
          app: mbps('app'),
          reference: `multer-s3 peer ${mbps('peer')}`,
          ratio: formatSpread(withImagesVsPeer, 2),
          budget: '(shown)',
          verdict: 'info',
        },
      ],
      details: {
        photos: photos.map((photo) => ({ name: photo.name, bytes: photo.bytes.length })),
        rounds: ROUNDS,
        concurrentUploads: CONCURRENT_UPLOADS,
        throughputMBps: Object.fromEntries(routes.map((route) => [route, spread(throughput[route])])),
        requestMilliseconds: Object.fromEntries(routes.map((route) => [route, spread(latencies[route])])),
        ratios: { withoutImagesVsDirect, withoutImagesVsPeer, withImagesVsDirect, withImagesVsPeer },
        imageProcessingAloneMilliseconds: spread(sharpMilliseconds),
      },
    };
  } finally {
    await Promise.all([peer.close(), appWithoutImages.close(), app.close()]);
    direct.destroy();
  }
}

/** Stands in for image processing: tiny real images, so the app still writes every object of a photo. */
async function placeholderImages(photo: BenchPhoto): Promise<ProcessedImage> {
  const tiny = await sharp(photo.bytes).resize(8, 8).webp().toBuffer();
  const tinyJpeg = await sharp(photo.bytes).resize(8, 8).jpeg().toBuffer();
  return {
    width: 8,
    height: 8,
    frames: 1,
    thumbnail: tiny,
    display: tinyJpeg,
    variants: [],
    fullSize: { pieces: [tinyJpeg], length: tinyJpeg.length, sourcePath: photo.path, extension: 'jpg', mime: 'image/jpeg' },
  };
}

/** The app's image processing on each photo, one at a time with nothing else running: its cost per photo. */
async function timeImageProcessingAlone(photos: BenchPhoto[]): Promise<number[]> {
  const samples: number[] = [];
  for (const photo of photos) {
    const started = process.hrtime.bigint();
    await processImage({
      path: photo.path,
      type: detectImageType(photo.bytes)!,
      filename: 'bench.jpg',
      fullSizePath: `${photo.path}.full`,
    });
    samples.push(milliseconds(started));
  }
  return samples;
}
