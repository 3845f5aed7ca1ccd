// The S3 emulator in a process of its own: the benchmark's timings then do not count the emulator's work
// against whichever client shares its event loop, and a test can kill it outright. Prints its endpoint as
// one JSON line, then serves. S3_EMULATOR_PORT fixes its port (a restart then keeps the endpoint).
// Usage: node --openssl-legacy-provider --import tsx s3-process.ts <directory> <bucket>...
import { startS3Emulator } from './s3.js';

const [directory, ...buckets] = process.argv.slice(2);
if (!directory || buckets.length === 0) {
  console.error('usage: s3-process.ts <directory> <bucket>...');
  process.exit(2);
}
const port = process.env.S3_EMULATOR_PORT ? Number(process.env.S3_EMULATOR_PORT) : undefined;
const emulator = await startS3Emulator({ directory, buckets, port });
console.log(JSON.stringify({ endpoint: emulator.endpoint }));
const stop = () => void emulator.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
// The parent holds our stdin open; when it ends, the parent is gone (even if it was killed), so stop too.
process.stdin.on('end', stop).resume();
