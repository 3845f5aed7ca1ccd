// Figure 5: how often the app asks the instance metadata service for credentials while it serves
// requests, with IMDSv2 as its only source (as on EC2). IMDS throttles, so the SDK must cache.
import path from 'node:path';
import { connectImdsToS3Emulator, startImdsEmulator } from '../emulators/imds.js';
import { startS3Emulator } from '../emulators/s3.js';
import { openUploadForm, uploadPhoto } from './http-client.js';
import type { BenchPhoto } from './photos.js';
import { verdict, type FigureResult } from './report.js';
import { benchConfig, emulatorEnvironment, startAppInProcess, useEnvironment } from './servers.js';
import { inParallel } from './stats.js';

const IMDS_BUCKET = 'bench-imds';
const APP_REQUESTS = 1_000;
const CONCURRENT_REQUESTS = 8;
const BUDGET = 3;

export async function measureCredentialCost(photo: BenchPhoto, workDir: string): Promise<FigureResult> {
  // Its own emulator, in this process: it must accept exactly the keys this IMDS issues.
  const s3Emulator = await startS3Emulator({ directory: path.join(workDir, 'imds-s3'), buckets: [IMDS_BUCKET] });
  const imds = await startImdsEmulator();
  connectImdsToS3Emulator(imds, s3Emulator);
  const savedEnvironment = process.env;
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...withoutKeys } = emulatorEnvironment(s3Emulator.endpoint);
  useEnvironment({ ...withoutKeys, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint, AWS_EC2_METADATA_V1_DISABLED: 'true' });
  const app = await startAppInProcess(benchConfig(IMDS_BUCKET), { tempDir: path.join(workDir, 'imds-uploads') });
  try {
    // Requests 1 and 2: the upload form, and one photo for the photo pages.
    const pass = await openUploadForm(app.baseUrl);
    const uploaded = (await uploadPhoto(app.baseUrl, photo, pass)) as { photos: { url: string }[] };
    const pages = ['/', '/readyz', uploaded.photos[0]!.url];
    const paths = Array.from({ length: APP_REQUESTS - 2 }, (_, index) => pages[index % pages.length]!);
    await inParallel(paths, CONCURRENT_REQUESTS, async (pagePath) => {
      const response = await fetch(new URL(pagePath, app.baseUrl));
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`GET ${pagePath} answered ${response.status} with IMDS credentials`);
    });
    const imdsRequests = imds.requests.length;
    return {
      rows: [
        {
          figure: `IMDS requests per ${APP_REQUESTS.toLocaleString('en')} app requests`,
          app: String(imdsRequests),
          reference: 'IMDSv2: 1 token + 2 credential GETs',
          ratio: `${((imdsRequests / APP_REQUESTS) * 1000).toFixed(1)} / 1,000`,
          budget: `≤ ${BUDGET}`,
          verdict: verdict(imdsRequests <= BUDGET),
        },
      ],
      details: {
        appRequests: APP_REQUESTS,
        mix: ['GET /upload form', 'POST /photos', ...pages.map((pagePath) => `GET ${pagePath}`)],
        imdsRequests: imds.requests.map((entry) => `${entry.method} ${entry.path} ${entry.status}`),
      },
    };
  } finally {
    await app.close();
    process.env = savedEnvironment;
    await Promise.all([imds.close(), s3Emulator.close()]);
  }
}
