// Test harness: a real S3 emulator on 127.0.0.1 in a fresh folder, and the app wired to it exactly as
// server.ts wires it. The app gets credentials only through the default chain, from the environment the
// test gives it (the emulator's keys, or just an IMDS endpoint).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { type ComposeOptions, composeApp } from '../../src/compose.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logging.js';
import { emulatorClientEnvironment, startS3Emulator, type S3Emulator } from '../../scripts/emulators/s3.js';
import { useAppEnvironment } from './environment.js';
import { listKeys } from './waiting.js';

export const TEST_BUCKET = 'test-photos';
export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** A log destination for the app that keeps each line it writes, for a test to read back. */
export function logLineCollector(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { lines, destination };
}

export function fixture(name: string): Promise<Buffer> {
  return readFile(path.join(fixturesDir, name));
}

export interface TestApp extends ReturnType<typeof composeApp> {
  config: Config;
  readonly emulator: S3Emulator;
  tempDir: string;
  /** Every key in the bucket, sorted. */
  listAllKeys(): Promise<string[]>;
  /** Multipart uploads started and neither completed nor aborted (s3rver keeps their parts on disk). */
  listIncompleteUploads(): Promise<string[]>;
  /** Runs `act` and checks it stored nothing: the same keys in the bucket, no temporary file, no pending multipart upload. */
  assertStoresNothing(act: () => Promise<unknown>): Promise<void>;
  /** Takes S3 away: connections to its port are refused. */
  stopS3(): Promise<void>;
  /** Brings S3 back on the same port with the same data. */
  restartS3(): Promise<void>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** The app's environment on top of the emulator's endpoint and the test bucket: config, and what the SDK reads. */
  env?: Record<string, string>;
  /**
   * `emulator-keys` (the default): the emulator's keys in the environment, like `npm run dev`.
   * `none`: no keys and no AWS files, so only what `env` adds (an IMDS endpoint, say) can supply credentials.
   */
  credentials?: 'emulator-keys' | 'none';
  /** Where the app's log goes (silent when absent). */
  logDestination?: Writable;
  /** Puts something (a fault-injecting proxy) between the app and the emulator: returns the endpoint the app uses. */
  appS3Endpoint?: (emulator: S3Emulator) => Promise<string>;
  /** Replaces image processing, as the benchmark does (to hold uploads in the image queue, say). */
  processImage?: ComposeOptions['processImage'];
  /** The clock image links are signed by (see ComposeOptions). */
  now?: ComposeOptions['now'];
}

export async function startTestApp({
  env = {},
  credentials = 'emulator-keys',
  logDestination,
  appS3Endpoint,
  processImage,
  now,
}: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-test-'));
  const emulatorOptions = { directory: path.join(dataDir, 's3'), buckets: [TEST_BUCKET] };
  // Whatever is started is undone if a later step fails (a refused config, a proxy that cannot start): a test
  // file whose before() fails must not leave an emulator listening (its process would never exit) or a folder.
  const undo: (() => unknown)[] = [() => rm(dataDir, { recursive: true, force: true })];
  const undoAll = async () => {
    for (const step of undo.reverse()) await step();
  };
  let emulator: S3Emulator;
  let restoreEnvironment: () => void;
  let config: Config;
  let composed: ReturnType<typeof composeApp>;
  try {
    emulator = await startS3Emulator(emulatorOptions);
    undo.push(() => emulator.close());
    const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...emulatorSettings } = emulatorClientEnvironment(emulator);
    const appEnv = {
      ...emulatorSettings,
      ...(credentials === 'emulator-keys'
        ? { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY }
        : { AWS_CONFIG_FILE: os.devNull, AWS_SHARED_CREDENTIALS_FILE: os.devNull }),
      S3_BUCKET: TEST_BUCKET,
      ...(appS3Endpoint && { AWS_ENDPOINT_URL_S3: await appS3Endpoint(emulator) }),
      ...env,
    } as Record<string, string>;
    // The SDK's default chain reads process.env, as it would in the app's own process.
    restoreEnvironment = useAppEnvironment(appEnv);
    undo.push(restoreEnvironment);
    config = loadConfig({ UPLOAD_TEMP_DIR: path.join(dataDir, 'uploads'), ...appEnv });
    const logger = createLogger(logDestination ? 'debug' : 'silent', logDestination);
    composed = composeApp(config, { logger, processImage, now });
  } catch (error) {
    await undoAll();
    throw error;
  }
  const tempDir = path.join(dataDir, 'uploads');
  // The test's own view into the bucket, with the emulator's keys whatever the app uses.
  const listAllKeys = () => listKeys(emulator.endpoint, TEST_BUCKET);
  const listIncompleteUploads = () =>
    readdir(path.join(emulatorOptions.directory, TEST_BUCKET, '._S3rver_uploads')).catch(() => [] as string[]);

  return {
    ...composed,
    config,
    get emulator() {
      return emulator;
    },
    tempDir,
    listAllKeys,
    listIncompleteUploads,
    async assertStoresNothing(act) {
      const keysBefore = await listAllKeys();
      await act();
      assert.deepEqual(await listAllKeys(), keysBefore, 'the bucket is unchanged');
      assert.deepEqual(await readdir(tempDir).catch(() => []), [], 'no temporary upload file is left');
      assert.deepEqual(await listIncompleteUploads(), [], 'every multipart upload was completed or aborted');
    },
    stopS3: () => emulator.close(),
    async restartS3() {
      emulator = await startS3Emulator({ ...emulatorOptions, port: emulator.port });
    },
    async close() {
      composed.s3.destroy();
      await undoAll();
    },
  };
}

/**
 * One test app for the test file, or the describe block, that calls this: started in its before(), closed in its
 * after(). The answer stands for that app from then on (used before it has started, it throws), so a file holds
 * no start and teardown of its own: `const testApp = useTestApp({ env: { … } });`. `setUp` runs in the same
 * before(), once the app has started: Node 20 does not wait for one top-level before() to end before the next.
 */
export function useTestApp(options?: TestAppOptions, setUp?: () => Promise<void>): TestApp {
  let started: TestApp | undefined;
  before(async () => {
    started = await startTestApp(options);
    await setUp?.();
  });
  after(() => started?.close());
  return new Proxy({} as TestApp, {
    get(_unused, name) {
      if (!started) throw new Error(`the test app's ${String(name)} was read before its before() started it`);
      return Reflect.get(started, name, started);
    },
  });
}
