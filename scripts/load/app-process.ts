// Runs the app as `npm run dev` does, for the length of a load run: the S3 emulator in a temporary
// folder, and src/server.ts as its own process on a free 127.0.0.1 port, its log kept in a file.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { emulatorClientEnvironment, startS3Emulator, withoutAwsSettings } from '../emulators/s3.js';
import { freePort } from '../support/free-port.js';

const BUCKET = 'photo-share-load';
const STARTUP_TIMEOUT_MS = 30_000;
const SHUTDOWN_TIMEOUT_MS = 25_000;

export interface RunningApp {
  url: string;
  logPath: string;
  /** Stops the app (SIGTERM, as systemd would) and the emulator, removes the data; resolves with the app's exit code. */
  stop(): Promise<number | null>;
}

export async function startAppOnEmulator({ projectRoot, logDir }: { projectRoot: string; logDir: string }): Promise<RunningApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-load-'));
  const emulator = await startS3Emulator({ directory: path.join(dataDir, 's3'), buckets: [BUCKET] });
  await mkdir(logDir, { recursive: true });
  const logPath = path.join(logDir, 'app.log');
  const log = createWriteStream(logPath);
  const port = await freePort();
  // The app's temporary upload copies go in the run's own folder, removed with it.
  await mkdir(path.join(dataDir, 'tmp'));
  const app = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'server.ts')], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    // The caller's environment passes through (LOG_LEVEL, limits), minus its own AWS settings.
    env: {
      ...withoutAwsSettings(process.env),
      ...emulatorClientEnvironment(emulator),
      S3_BUCKET: BUCKET,
      HOST: '127.0.0.1',
      PORT: String(port),
      TMPDIR: path.join(dataDir, 'tmp'),
      // All visitors share 127.0.0.1, so the per-client limits would turn the run into a test of the
      // limiters; they are raised unless the caller sets them.
      UPLOADS_PER_HOUR: process.env.UPLOADS_PER_HOUR ?? '100000',
      PAGE_VIEWS_PER_MINUTE: process.env.PAGE_VIEWS_PER_MINUTE ?? '100000',
      UPLOAD_MB_IN_PROGRESS_PER_CLIENT: process.env.UPLOAD_MB_IN_PROGRESS_PER_CLIENT ?? '1024',
    },
  });
  app.stdout!.pipe(log, { end: false });
  app.stderr!.pipe(log, { end: false });

  let stopped: Promise<number | null> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      const code = await stopProcess(app);
      await emulator.close();
      log.end();
      await rm(dataDir, { recursive: true, force: true });
      return code;
    })());

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(url, app);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, logPath, stop };
}

async function waitUntilReady(url: string, app: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (app.exitCode !== null) throw new Error(`the app exited with code ${app.exitCode} while starting`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the app was not ready within ${STARTUP_TIMEOUT_MS / 1000} s`);
}

/** SIGTERM, then SIGKILL if the graceful shutdown takes too long; never leaves the process behind. */
async function stopProcess(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit') as Promise<[number | null]>;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_TIMEOUT_MS);
  const [code] = await exited;
  clearTimeout(timer);
  return code;
}
