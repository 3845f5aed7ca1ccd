// Waiting for something to become true without guessing how long it takes, and reading a bucket as it is.
import assert from 'node:assert/strict';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { EMULATOR_KEY_PAIR } from '../../scripts/emulators/s3.js';

/** Polls `condition` until it holds; fails after `timeoutMs` naming `what`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what = 'the condition', timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`${what} was not met within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every key in `bucket` of the emulator at `endpoint`, sorted, read with the emulator's own keys. */
export async function listKeys(endpoint: string, bucket: string): Promise<string[]> {
  const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: EMULATOR_KEY_PAIR });
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  } finally {
    s3.destroy();
  }
}

/** The bytes of `key` in `bucket` of the emulator at `endpoint`, read with the emulator's own keys. */
export async function readObject(endpoint: string, bucket: string, key: string): Promise<Buffer> {
  const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: EMULATOR_KEY_PAIR });
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  } finally {
    s3.destroy();
  }
}
