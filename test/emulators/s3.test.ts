// Tests for the S3 emulator's own workarounds, where s3rver stores differently from S3 (see scripts/emulators/s3.ts).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { EMULATOR_KEY_PAIR, startS3Emulator, type S3Emulator } from '../../scripts/emulators/s3.js';
import { listKeys, readObject, waitUntil } from '../support/waiting.js';

const BUCKET = 'emulator-test';
let directory: string;
let emulator: S3Emulator;
let s3: S3Client;

before(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 's3-emulator-test-'));
  emulator = await startS3Emulator({ directory, buckets: [BUCKET] });
  s3 = new S3Client({ region: 'us-east-1', endpoint: emulator.endpoint, forcePathStyle: true, credentials: EMULATOR_KEY_PAIR });
});
after(async () => {
  s3.destroy();
  await emulator.close();
  await rm(directory, { recursive: true, force: true });
});

describe('when a PUT is cut short while another PUT of the same key is stored', () => {
  // What the app does after a lost connection (the SDK for a buffer, the store for a file): the same PUT again at
  // once, while the emulator may not have seen the first one fail yet. S3 stores the whole one, untouched by the other.
  it('then the whole one stays stored, and the cut one leaves nothing', async () => {
    const key = 'photos/display/one.jpg';
    const folder = path.join(directory, BUCKET, 'photos', 'display');
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: key }));
    const cut = request(url, { method: 'PUT', headers: { 'Content-Length': 200_000 } });
    cut.on('error', () => {});
    cut.write(Buffer.alloc(100_000, 1));
    await waitUntil(async () => (await readdir(folder).catch(() => [] as string[])).length > 0, 'the cut PUT is being written');
    const [cutPutsFile] = await readdir(folder);

    const whole = Buffer.alloc(150_000, 2);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: whole }));
    cut.destroy();
    // The emulator is done with the cut PUT once the file it was writing is gone (kept, it would be the object's).
    await waitUntil(async () => !(await readdir(folder).catch(() => [] as string[])).includes(cutPutsFile!), 'the cut PUT is cleaned up');

    assert.deepEqual(await listKeys(emulator.endpoint, BUCKET), [key]);
    assert.deepEqual(await readObject(emulator.endpoint, BUCKET, key), whole);
    assert.deepEqual(
      (await readdir(folder)).filter((name) => name.endsWith('.partial')),
      [],
      'no partial file left',
    );
  });
});
