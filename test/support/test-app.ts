// Test harness: a real S3 emulator on 127.0.0.1 in a fresh folder, and the app wired to it exactly as
// server.ts wires it. Only the emulator's credentials are set, in the environment, for the default chain.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { composeApp } from '../../src/compose.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createS3Client } from '../../src/storage/s3-client.js';
import { emulatorClientEnvironment, startS3Emulator, type S3Emulator } from '../../scripts/emulators/s3.js';

export const TEST_BUCKET = 'test-photos';
export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export function fixture(name: string): Promise<Buffer> {
  return readFile(path.join(fixturesDir, name));
}

export interface TestApp extends ReturnType<typeof composeApp> {
  config: Config;
  readonly emulator: S3Emulator;
  /** A client of the test's own, for looking into the bucket behind the app's back. */
  s3: S3Client;
  tempDir: string;
  /** Every key in the bucket, sorted. */
  listAllKeys(): Promise<string[]>;
  /** Takes S3 away: connections to its port are refused. */
  stopS3(): Promise<void>;
  /** Brings S3 back on the same port with the same data. */
  restartS3(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-test-'));
  const emulatorOptions = { directory: path.join(dataDir, 's3'), buckets: [TEST_BUCKET] };
  let emulator = await startS3Emulator(emulatorOptions);
  const savedEnv = { ...process.env };
  Object.assign(process.env, emulatorClientEnvironment(emulator));
  const config = loadConfig({ ...emulatorClientEnvironment(emulator), S3_BUCKET: TEST_BUCKET, LOG_LEVEL: 'silent', ...env });
  const s3 = createS3Client(config);
  const tempDir = path.join(dataDir, 'uploads');
  const composed = composeApp(config, { s3, logger: pino({ level: config.logLevel }), tempDir });

  return {
    ...composed,
    config,
    get emulator() {
      return emulator;
    },
    s3,
    tempDir,
    async listAllKeys() {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    stopS3: () => emulator.close(),
    async restartS3() {
      emulator = await startS3Emulator({ ...emulatorOptions, port: emulator.port });
    },
    async close() {
      s3.destroy();
      await emulator.close();
      await rm(dataDir, { recursive: true, force: true });
      process.env = savedEnv;
    },
  };
}
