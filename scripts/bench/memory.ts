// Figure 4: the app's memory under 16 concurrent 20 MiB uploads with thumbnails, from 16 visitors, read from
// the kernel's account of the app's own process (VmRSS now, VmHWM its peak), against its idle size just before.
import { readFileSync } from 'node:fs';
import { openUploadForm, uploadPhoto } from './http-client.js';
import type { BenchPhoto } from './photos.js';
import { verdict, type FigureResult } from './report.js';
import { emulatorEnvironment, spawnAppProcess } from './servers.js';
import { milliseconds, spread } from './stats.js';

export const MEMORY_BUCKET = 'bench-memory';
const CONCURRENT_UPLOADS = 16;
const BUDGET_MIB = 256;
const SAMPLE_EVERY_MS = 20;
const MIB = 1024 * 1024;

export async function measureMemory(largePhoto: BenchPhoto, emulatorEndpoint: string): Promise<FigureResult> {
  // Sixteen visitors, each at an address of its own, as the app sees them behind the load balancer: one address
  // may have only one upload's photos waiting for their images, so sixteen uploads from one would be refused.
  const app = await spawnAppProcess({ ...emulatorEnvironment(emulatorEndpoint), S3_BUCKET: MEMORY_BUCKET, TRUST_PROXY: '1' });
  try {
    // The gallery once, so the idle size is that of an app that has rendered its page.
    await openUploadForm(app.baseUrl);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const idle = memoryOf(app.pid);

    const samples: { atMs: number; rssMiB: number }[] = [];
    const started = process.hrtime.bigint();
    const sampler = setInterval(
      () => samples.push({ atMs: Math.round(milliseconds(started)), rssMiB: memoryOf(app.pid).rss / MIB }),
      SAMPLE_EVERY_MS,
    );
    const uploadMilliseconds: number[] = [];
    try {
      await Promise.all(
        Array.from({ length: CONCURRENT_UPLOADS }, async (_, visitor) => {
          const pass = await openUploadForm(app.baseUrl, { forwardedFor: `198.51.100.${visitor + 1}` });
          const sent = process.hrtime.bigint();
          await uploadPhoto(app.baseUrl, largePhoto, pass);
          uploadMilliseconds.push(milliseconds(sent));
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    const after = memoryOf(app.pid);
    const peakMiB = Math.max(after.peak, ...samples.map((sample) => sample.rssMiB * MIB)) / MIB;
    const fileMiB = largePhoto.bytes.length / MIB;
    return {
      rows: [
        {
          figure: `Peak RSS, ${CONCURRENT_UPLOADS} concurrent ${fileMiB.toFixed(0)} MiB uploads`,
          app: `${peakMiB.toFixed(0)} MiB`,
          reference: `idle ${(idle.rss / MIB).toFixed(0)} MiB; files ${(CONCURRENT_UPLOADS * fileMiB).toFixed(0)} MiB`,
          ratio: `${(peakMiB / (idle.rss / MIB)).toFixed(2)} × idle`,
          budget: `≤ ${BUDGET_MIB} MiB`,
          verdict: verdict(peakMiB <= BUDGET_MIB),
        },
      ],
      details: {
        concurrentUploads: CONCURRENT_UPLOADS,
        fileBytes: largePhoto.bytes.length,
        idleRssMiB: idle.rss / MIB,
        peakRssMiB: peakMiB,
        rssAfterMiB: after.rss / MIB,
        uploadMilliseconds: spread(uploadMilliseconds),
        // One sample in ten keeps the JSON readable and still shows the shape.
        rssTimeline: samples.filter((_, index) => index % 10 === 0),
      },
    };
  } finally {
    await app.close();
  }
}

/**
 * Resident set now and its high-water mark, in bytes, from /proc (Linux). Read synchronously: an async
 * read waits for a libuv thread, and while 16 uploads are being sent those samples would arrive late.
 */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kibibytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kibibytes('VmRSS'), peak: kibibytes('VmHWM') };
}
