// `npm run bench`: measures the app against the floor it cannot beat (the same SDK talking straight to
// the same S3 emulator) and against the multer-s3 peer, in one run, as ratios; prints the table, writes it
// with every sample to .bench/results.json, and without the samples to docs/performance-results.json and
// docs/performance.md (committed). A missed budget is reported, not fatal: this is a measurement.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { commitResults } from './bench/committed-results.js';
import { measureCredentialCost } from './bench/credential-cost.js';
import { GALLERY_BUCKET, measureGallerySpeed, measureGalleryWeight } from './bench/gallery.js';
import { DECODE_BUCKET, measureWorstCaseDecode } from './bench/decode-memory.js';
import { measureMemory, MEMORY_BUCKET } from './bench/memory.js';
import { cameraPhotos, largePhoto } from './bench/photos.js';
import { formatTable, type FigureResult } from './bench/report.js';
import { emulatorEnvironment, projectRoot, startEmulatorProcess, useEnvironment } from './bench/servers.js';
import { measureUploadThroughput, UPLOAD_BUCKETS } from './bench/upload-throughput.js';

/** Photos per upload round; the rounds also give the weight figure its full page of 24 real photos. */
const PHOTOS_PER_ROUND = 5;

const benchDir = path.join(projectRoot, '.bench');
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const progress = (message: string) => console.error(`[bench ${elapsed().padStart(5)}] ${message}`);

progress('making photos (cached in .bench/photos)…');
const photos = await cameraPhotos(path.join(benchDir, 'photos'), PHOTOS_PER_ROUND);
const large = await largePhoto(path.join(benchDir, 'photos'));

const workDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-bench-'));
const emulator = await startEmulatorProcess(path.join(workDir, 's3'), [
  ...Object.values(UPLOAD_BUCKETS),
  GALLERY_BUCKET,
  MEMORY_BUCKET,
  DECODE_BUCKET,
]);
useEnvironment(emulatorEnvironment(emulator.baseUrl));
const tempDir = path.join(workDir, 'uploads');

const figures: Record<string, FigureResult> = {};
try {
  progress(`S3 emulator at ${emulator.baseUrl} (its own process); 1/6 upload throughput…`);
  figures.uploadThroughput = await measureUploadThroughput(photos, tempDir);
  progress('2/6 gallery speed (seeding 10,000 photos)…');
  figures.gallerySpeed = await measureGallerySpeed(tempDir);
  progress('3/6 gallery weight…');
  figures.galleryWeight = await measureGalleryWeight(UPLOAD_BUCKETS.app, tempDir);
  progress('4/6 memory (the app as its own process)…');
  figures.memory = await measureMemory(large, emulator.baseUrl);
  progress("5/6 worst-case decode memory (images at each format's pixel limit)…");
  figures.decodeMemory = await measureWorstCaseDecode(path.join(benchDir, 'photos'), emulator.baseUrl);
  progress('6/6 credential cost (IMDSv2 emulator)…');
  figures.credentialCost = await measureCredentialCost(photos[0]!, workDir);
} finally {
  await emulator.close();
  await rm(workDir, { recursive: true, force: true });
}

const rows = Object.values(figures).flatMap((figure) => figure.rows);
const misses = rows.filter((row) => row.verdict === 'MISS');
const results = {
  date: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  },
  durationSeconds: (Date.now() - started) / 1000,
  rows,
  figures: Object.fromEntries(Object.entries(figures).map(([name, figure]) => [name, figure.details])),
};
await mkdir(benchDir, { recursive: true });
await writeFile(path.join(benchDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
await commitResults(projectRoot, { date: results.date, machine: results.machine, rows });

console.log(`\n${formatTable(rows)}\n`);
console.log('Medians over rounds, with (min–max); ratios are per round, app over reference.');
console.log(`Ran in ${elapsed()} on ${results.machine.cpus} CPUs, Node ${process.version}. Results: .bench/results.json`);
console.log('The table is also in docs/performance-results.json and docs/performance.md: commit them with what changed.');
if (misses.length > 0) console.log(`\nMISS: ${misses.length} budget line(s) not met: ${misses.map((row) => row.figure).join('; ')}`);
