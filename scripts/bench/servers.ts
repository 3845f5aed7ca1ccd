// Starts what the benchmark measures, each on 127.0.0.1: the S3 emulator (own process), the app
// in-process or as its own process, and the peer (the minimal multer-s3 endpoint most tutorials show).
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import express from 'express';
import multer from 'multer';
import multerS3 from 'multer-s3';
import { composeApp, type ComposeOptions } from '../../src/compose.js';
import { loadConfig, type Config } from '../../src/config.js';
import { keepIdleConnectionsOpen } from '../../src/http/keep-alive.js';
import { createLogger } from '../../src/logging.js';
import { createS3Client } from '../../src/storage/s3-client.js';
import { emulatorClientEnvironment, withoutAwsSettings } from '../emulators/s3.js';
import { freePort } from '../support/free-port.js';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Running {
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The environment every SDK client in the benchmark reads, as the app's would on a developer machine:
 * the emulator's endpoint and keys, and no AWS files (so the developer's own profile never answers).
 */
export function emulatorEnvironment(endpoint: string): Record<string, string> {
  return {
    ...emulatorClientEnvironment({ endpoint }),
    AWS_CONFIG_FILE: os.devNull,
    AWS_SHARED_CREDENTIALS_FILE: os.devNull,
  };
}

/** Points this process's default credential chain at `environment`, and nothing else of the caller's AWS settings. */
export function useEnvironment(environment: Record<string, string>): void {
  process.env = { ...withoutAwsSettings(process.env), ...environment };
}

/**
 * The benchmark sends hundreds of uploads from one address in a few minutes; the app's per-client hourly
 * limit would rightly refuse them, so the benchmark raises it (to its maximum) as an operator would. Its
 * concurrent uploads come from several addresses (see memory.ts), so the app's other limits stay as shipped.
 */
export const BENCH_APP_SETTINGS = {
  UPLOADS_PER_HOUR: '100000',
  PAGE_VIEWS_PER_MINUTE: '100000',
  MAX_UPLOAD_MB: '25',
};

/** The app's configuration as server.ts would load it from the current environment, for one bucket. */
export function benchConfig(bucket: string): Config {
  return loadConfig({ ...process.env, ...BENCH_APP_SETTINGS, S3_BUCKET: bucket, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' });
}

/** Processes this benchmark started; stopped when it exits, even on a crash, so none is left behind. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGTERM');
});

function startChild(args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: projectRoot, ...options });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export async function startEmulatorProcess(directory: string, buckets: string[]): Promise<Running & { pid: number }> {
  // Its stdin is a pipe from this process: it ends if the benchmark is killed outright (see s3-process.ts).
  const child = startChild(
    [
      '--openssl-legacy-provider',
      '--import',
      'tsx',
      path.join(projectRoot, 'scripts', 'emulators', 's3-process.ts'),
      directory,
      ...buckets,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const firstLine = await lineFrom(child, 'the S3 emulator');
  const { endpoint } = JSON.parse(firstLine) as { endpoint: string };
  return { baseUrl: endpoint, pid: child.pid!, close: () => stopChild(child) };
}

/** The app wired by composeApp, as server.ts wires it, listening on a free port of 127.0.0.1. */
export async function startAppInProcess(config: Config, { tempDir, ...options }: Omit<ComposeOptions, 'logger'> & { tempDir: string }) {
  // Warnings and worse to stderr, as the app process's (see spawnAppProcess): a refusal's cause is there.
  const composed = composeApp({ ...config, uploadTempDir: tempDir }, { logger: createLogger('warn', process.stderr), ...options });
  const running = await listen(composed.app);
  return {
    ...composed,
    ...running,
    async close() {
      await running.close();
      composed.s3.destroy();
    },
  };
}

/**
 * The peer: the upload endpoint most tutorials write, multer with multer-s3 storage straight into the
 * bucket, with the same S3 client as the app. It makes no thumbnails and checks nothing.
 */
export async function startMulterS3Peer(config: Config): Promise<Running> {
  const s3 = createS3Client(config);
  const upload = multer({
    storage: multerS3({
      s3,
      bucket: config.bucket,
      key: (_req, _file, callback) => callback(null, `${config.keyPrefix}originals/${randomUUID()}`),
    }),
    limits: { fileSize: config.maxUploadBytes },
  });
  const app = express();
  app.post('/photos', upload.array('photos', config.maxFilesPerUpload), (req, res) => {
    res.status(201).json({ photos: (req.files as Express.MulterS3.File[]).map((file) => file.key) });
  });
  const running = await listen(app);
  return {
    ...running,
    async close() {
      await running.close();
      s3.destroy();
    },
  };
}

/**
 * The app as its own process, so its memory can be read apart from the benchmark's: the production build
 * (`npm run build`, then `node dist/src/server.js`) with the allocator settings the EC2 unit uses
 * (MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_, see infra/user-data.sh), since that is what runs on a server.
 */
export async function spawnAppProcess(environment: Record<string, string>): Promise<Running & { pid: number }> {
  const build = spawnSync('npm', ['run', 'build'], { cwd: projectRoot, stdio: 'ignore' });
  if (build.status !== 0) throw new Error('`npm run build` failed; run it to see why');
  const port = await freePort();
  const child = startChild([path.join(projectRoot, 'dist', 'src', 'server.js')], {
    // Its log (warnings and worse) goes to the benchmark's stderr: a refusal's cause is there, next to its error.
    stdio: ['ignore', process.stderr, 'inherit'],
    env: {
      ...withoutAwsSettings(process.env),
      ...BENCH_APP_SETTINGS,
      ...environment,
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '131072',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`the app process exited with ${child.exitCode} before it listened`);
    const ready = await fetch(new URL('/readyz', baseUrl)).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (attempt > 200) throw new Error('the app process did not become ready within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { baseUrl, pid: child.pid!, close: () => stopChild(child) };
}

/** Listens as server.ts does, keep-alive included: the peer too, so both are measured on the same connections. */
async function listen(app: express.Express): Promise<Running> {
  const server: Server = app.listen(0, '127.0.0.1');
  keepIdleConnectionsOpen(server);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function lineFrom(child: ChildProcess, what: string): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${what} exited with ${code} before it started`);
  });
  const [line] = (await Promise.race([once(lines, 'line'), exited])) as [string];
  lines.close();
  return line;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}
