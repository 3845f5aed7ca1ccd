// `node --openssl-legacy-provider --import tsx scripts/bench/decode-only.ts`: only the benchmark's
// worst-case decode figure (5/6), and the time of a 12-megapixel camera JPEG's upload, against the
// production build as its own process: what a change to image processing must not make worse.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { measureWorstCaseDecode, DECODE_BUCKET } from './decode-memory.js';
import { openUploadForm, uploadPhoto } from './http-client.js';
import { cameraPhotos } from './photos.js';
import { emulatorEnvironment, projectRoot, spawnAppProcess, startEmulatorProcess, useEnvironment } from './servers.js';
import { milliseconds } from './stats.js';

const UPLOAD_ROUNDS = 7;
const photosDir = path.join(projectRoot, '.bench', 'photos');
const [camera] = await cameraPhotos(photosDir, 1);
const workDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-decode-'));
const emulator = await startEmulatorProcess(path.join(workDir, 's3'), [DECODE_BUCKET, 'bench-camera']);
useEnvironment(emulatorEnvironment(emulator.baseUrl));
try {
  const decode = await measureWorstCaseDecode(photosDir, emulator.baseUrl);
  console.log(JSON.stringify(decode, null, 2));
  const app = await spawnAppProcess({ ...emulatorEnvironment(emulator.baseUrl), S3_BUCKET: 'bench-camera' });
  try {
    const pass = await openUploadForm(app.baseUrl);
    const seconds: number[] = [];
    for (let round = 0; round < UPLOAD_ROUNDS; round++) {
      const started = process.hrtime.bigint();
      await uploadPhoto(app.baseUrl, camera!, pass);
      seconds.push(milliseconds(started) / 1000);
    }
    const sorted = [...seconds].sort((a, b) => a - b);
    console.log(
      `12 MP JPEG upload (${camera!.bytes.length} bytes): median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} s; all ${seconds.map((s) => s.toFixed(3)).join(' ')}`,
    );
  } finally {
    await app.close();
  }
} finally {
  await emulator.close();
  await rm(workDir, { recursive: true, force: true });
}
