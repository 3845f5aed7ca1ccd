// Figure 5: the app's peak memory for the worst requests within its limits: ten small images in one upload,
// each just under the limit of its kind of decoder, one request per kind (every accepted format), against
// the production server as its own process. The demo host has 1 GiB; the app must stay under half of it.
import { MAX_PIXELS } from '../../src/photos/image-processing.js';
import { openUploadForm, uploadPhoto } from './http-client.js';
import { worstCaseImages } from './photos.js';
import { verdict, type FigureResult } from './report.js';
import { emulatorEnvironment, spawnAppProcess } from './servers.js';
import { memoryOf } from './memory.js';
import { milliseconds } from './stats.js';

export const DECODE_BUCKET = 'bench-decode';
const FILES_PER_UPLOAD = 10;
const BUDGET_MIB = 512;
const MIB = 1024 * 1024;

export async function measureWorstCaseDecode(photosDir: string, emulatorEndpoint: string): Promise<FigureResult> {
  const images = await worstCaseImages(photosDir);
  const app = await spawnAppProcess({
    ...emulatorEnvironment(emulatorEndpoint),
    S3_BUCKET: DECODE_BUCKET,
    MAX_FILES_PER_UPLOAD: String(FILES_PER_UPLOAD),
  });
  try {
    const pass = await openUploadForm(app.baseUrl);
    const idleMiB = memoryOf(app.pid).rss / MIB;
    const perFormat: { file: string; fileBytes: number; seconds: number; peakMiBSoFar: number }[] = [];
    for (const image of images) {
      const started = process.hrtime.bigint();
      await uploadPhoto(app.baseUrl, image, pass, FILES_PER_UPLOAD);
      perFormat.push({
        file: image.name,
        fileBytes: image.bytes.length,
        seconds: milliseconds(started) / 1000,
        peakMiBSoFar: memoryOf(app.pid).peak / MIB,
      });
    }
    const peakMiB = memoryOf(app.pid).peak / MIB;
    // The peak so far only grows: the first upload that reached the final peak is the one that set it.
    const worst = perFormat.reduce((a, b) => (b.peakMiBSoFar > a.peakMiBSoFar ? b : a));
    return {
      rows: [
        {
          figure: `Peak RSS, worst-case decode (${FILES_PER_UPLOAD} images at a decoder's limit per upload, ${images.length} kinds)`,
          app: `${peakMiB.toFixed(0)} MiB`,
          reference: `idle ${idleMiB.toFixed(0)} MiB; files ${Math.round(images.reduce((sum, image) => sum + image.bytes.length, 0) / 1024)} KiB each set`,
          ratio: `peak reached at ${worst.file}`,
          budget: `≤ ${BUDGET_MIB} MiB`,
          verdict: verdict(peakMiB <= BUDGET_MIB),
        },
      ],
      details: { filesPerUpload: FILES_PER_UPLOAD, idleRssMiB: idleMiB, peakRssMiB: peakMiB, maxPixels: MAX_PIXELS, perFormat },
    };
  } finally {
    await app.close();
  }
}
