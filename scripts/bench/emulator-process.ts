// The S3 emulator in a process of its own, so the benchmark's timings do not count the emulator's
// work against whichever client shares its event loop. Prints its endpoint as one JSON line, then serves.
// Usage: node --openssl-legacy-provider --import tsx emulator-process.ts <directory> <bucket>...
import { startS3Emulator } from '../emulators/s3.js';

const [directory, ...buckets] = process.argv.slice(2);
if (!directory || buckets.length === 0) {
  console.error('usage: emulator-process.ts <directory> <bucket>...');
  process.exit(2);
}
const emulator = await startS3Emulator({ directory, buckets });
console.log(JSON.stringify({ endpoint: emulator.endpoint }));
const stop = () => void emulator.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
// The benchmark holds our stdin open; when it ends, the benchmark is gone (even if it was killed), so stop too.
process.stdin.on('end', stop).resume();
