// `npm run load [-- --seconds 30 --users 8]`: for a bounded time, concurrent visitors upload photos and view
// the gallery, photo pages and images of the app on the embedded S3 emulator; then every acknowledged upload
// is checked: listed, and intact. Prints requests, errors by status and latency percentiles. Exits 1 on any
// 5xx, timeout or dropped connection, or any lost or corrupt photo. The app's log is kept in .bench/load/.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAppOnEmulator, type RunningApp } from './load/app-process.js';
import { LoadStats } from './load/stats.js';
import { verifyPhotos, type Verification } from './load/verify.js';
import { runVirtualUser, type AcknowledgedPhoto } from './load/virtual-user.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const logDir = path.join(projectRoot, '.bench', 'load');
/** Time left, after the load, for in-flight requests, verification and shutdown before the run gives up. */
const OVERRUN_ALLOWANCE_MS = 180_000;

const { seconds, users } = readOptions();
console.log(`Starting the S3 emulator and the app…`);
const app = await startAppOnEmulator({ projectRoot, logDir }).catch((error: Error) => {
  console.error(`Could not start the app: ${error.message}. Its log: ${path.relative(projectRoot, path.join(logDir, 'app.log'))}`);
  process.exit(1);
});
stopEverythingOnInterrupt(app);
// A run that hangs (a request that never ends, a stuck shutdown) still ends, and takes the app with it.
setTimeout(
  () => {
    console.error('The run took far longer than planned: stopping.');
    void app.stop().finally(() => process.exit(1));
  },
  seconds * 1000 + OVERRUN_ALLOWANCE_MS,
).unref();

let failed = true;
try {
  console.log(`App: ${app.url}. ${users} visitors for ${seconds} s…`);
  const stats = new LoadStats();
  const acknowledged: AcknowledgedPhoto[] = [];
  let sequence = 0;
  const started = performance.now();
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: users }, () => runVirtualUser({ appUrl: app.url, deadline, stats, acknowledged, nextSequence: () => sequence++ })),
  );
  const elapsedSeconds = (performance.now() - started) / 1000;

  console.log(
    `\n${stats.totalRequests} requests in ${elapsedSeconds.toFixed(1)} s (${(stats.totalRequests / elapsedSeconds).toFixed(0)}/s), ${acknowledged.length} photos acknowledged.\n`,
  );
  console.log(stats.formatLatencies());
  console.log(`\nErrors by status:\n${stats.formatFailures()}`);
  if (stats.statusCount('upload', 429) > 0) {
    console.log(
      '\nUploads were rate-limited (429): every visitor is the one client 127.0.0.1. Leave UPLOADS_PER_HOUR unset (the run raises it) or set it higher.',
    );
  }

  console.log('\nVerifying every acknowledged upload…');
  const verification = await verifyPhotos(app.url, acknowledged);
  console.log(formatVerification(verification, acknowledged.length));

  const problems = [
    stats.serverFailures > 0 && `${stats.serverFailures} server errors, timeouts or dropped connections`,
    verification.lost.length > 0 && `${verification.lost.length} lost photos`,
    verification.corrupt.length > 0 && `${verification.corrupt.length} corrupt photos`,
    verification.duplicated.length > 0 && `${verification.duplicated.length} photos listed twice`,
    acknowledged.length === 0 && 'no upload was acknowledged, so nothing was verified',
  ].filter((problem): problem is string => typeof problem === 'string');
  if (problems.length > 0) {
    console.log(`\nFAILED: ${problems.join('; ')}.`);
    await printServerErrorsFromLog(app.logPath);
  } else {
    console.log('\nPASSED: no server error, no lost or corrupt photo.');
    failed = false;
  }
} catch (error) {
  console.error(`\nThe run stopped: ${(error as Error).message}`);
  await printServerErrorsFromLog(app.logPath);
} finally {
  const code = await app.stop();
  console.log(`App stopped (SIGTERM, exit code ${code}); its log: ${path.relative(projectRoot, app.logPath)}`);
}
process.exit(failed ? 1 : 0);

function readOptions(): { seconds: number; users: number } {
  const usage = 'Usage: npm run load [-- --seconds 30] [--users 8]';
  try {
    const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, users: { type: 'string', default: '8' } } });
    const seconds = Number(values.seconds);
    const users = Number(values.users);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) throw new Error('--seconds must be a whole number from 1 to 3600');
    if (!Number.isInteger(users) || users < 1 || users > 200) throw new Error('--users must be a whole number from 1 to 200');
    return { seconds, users };
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
}

function stopEverythingOnInterrupt(running: RunningApp): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the app and the emulator…`);
      void running.stop().finally(() => process.exit(130));
    });
  }
}

function formatVerification(result: Verification, acknowledgedCount: number): string {
  const lines = [
    `Gallery: ${result.listed} photos on ${result.pages} page${result.pages === 1 ? '' : 's'}; ${acknowledgedCount} uploads acknowledged.`,
    `Lost (acknowledged, not listed): ${result.lost.length}`,
    `Corrupt (listed, but caption, size or pixels differ): ${result.corrupt.length}`,
    `Listed twice: ${result.duplicated.length}`,
    `Listed but never acknowledged (answer lost or failed upload left behind): ${result.unacknowledged.length}`,
  ];
  const examples = [...result.lost.map((id) => `lost ${id}`), ...result.corrupt, ...result.duplicated.map((id) => `twice ${id}`)];
  return [...lines, ...examples.slice(0, 10).map((example) => `  ${example}`)].join('\n');
}

/** The app logs 5xx causes at level error (50) and above; show the first few, since the page only says "logged". */
async function printServerErrorsFromLog(logPath: string): Promise<void> {
  const log = await readFile(logPath, 'utf8').catch(() => '');
  const errors = log
    .split('\n')
    .filter((line) => /"level":(5\d|60)/.test(line))
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; err?: { message?: string }; req?: { method?: string; url?: string } };
        return `  ${entry.req?.method ?? ''} ${entry.req?.url ?? ''} ${entry.msg ?? ''}: ${entry.err?.message ?? ''}`;
      } catch {
        return `  ${line}`; // not one of pino's lines: shown as it is
      }
    });
  if (errors.length > 0) console.log(`\nErrors in the app's log (${errors.length}, first 5):\n${errors.slice(0, 5).join('\n')}`);
}
