// Wires the app's parts from a validated config: the one place that says which store, uploads and
// limits the app runs with. server.ts and the tests both use it.
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createPhotoStore } from './photos/store.js';
import { createUploadReceiver } from './photos/upload.js';

export interface ComposeOptions {
  s3: S3Client;
  logger: Logger;
  /** Where uploads are copied while their thumbnails are made. */
  tempDir?: string;
}

export function composeApp(config: Config, { s3, logger, tempDir = path.join(os.tmpdir(), 's3-photo-share-uploads') }: ComposeOptions) {
  const store = createPhotoStore(s3, config);
  const uploads = createUploadReceiver({ store, logger, tempDir, limits: config });
  const app = createApp({ store, uploads, logger, maxUploadBytes: config.maxUploadBytes, maxFilesPerUpload: config.maxFilesPerUpload });
  return { app, store, uploads };
}
