// A second app process's photo store on a test app's emulator: nothing remembered yet, and every S3 command it
// sends noted by name, so a test can count what a page costs in S3 calls.
import { S3Client } from '@aws-sdk/client-s3';
import { EMULATOR_KEY_PAIR } from '../../scripts/emulators/s3.js';
import { createLogger } from '../../src/logging.js';
import { createPhotoStore, type PhotoStore } from '../../src/photos/store.js';
import { createUrlValidityPolicy } from '../../src/photos/url-lifetime.js';
import type { TestApp } from './test-app.js';

export interface CountingStore {
  store: PhotoStore;
  /** The commands sent so far, without their `Command` suffix (`ListObjectsV2`, `HeadObject`). */
  calls: string[];
  close(): void;
}

export function storeCountingCalls(testApp: TestApp): CountingStore {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: testApp.emulator.endpoint,
    forcePathStyle: true,
    credentials: EMULATOR_KEY_PAIR,
  });
  const calls: string[] = [];
  s3.middlewareStack.add(
    (next, context) => (args) => {
      calls.push((context.commandName as string).replace(/Command$/, ''));
      return next(args);
    },
    // Presigning a link runs the stack up to signing only: a command counts once it is sent.
    { step: 'deserialize' },
  );
  const store = createPhotoStore(s3, {
    bucket: testApp.config.bucket,
    keyPrefix: testApp.config.keyPrefix,
    timeoutMs: 10_000,
    urlValidity: createUrlValidityPolicy(s3, 900),
    logger: createLogger('silent'),
  });
  return { store, calls, close: () => s3.destroy() };
}
