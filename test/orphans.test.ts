// "Nothing is orphaned, whatever fails": parts of photos whose record never came are removed by the
// sweep, which lists only the window of time it checks; and with real processes killed mid-upload.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { EMULATOR_KEY_PAIR } from '../scripts/emulators/s3.js';
import { createLogger } from '../src/logging.js';
import { objectKeys } from '../src/photos/object-keys.js';
import { createOrphanSweep } from '../src/photos/orphan-sweep.js';
import { newPhotoId } from '../src/photos/photo-id.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { freePort, killGroup, openGalleryForm, run, startEmulatorProcess, waitFor, type RunningScript } from './support/processes.js';
import { fixture, startTestApp, TEST_BUCKET, type TestApp } from './support/test-app.js';
import { listKeys, waitUntil } from './support/waiting.js';

const MINUTE = 60_000;

describe('when the sweep runs over a bucket with orphans, whole photos and a long history', () => {
  let testApp: TestApp;
  const listings: string[] = [];
  before(async () => {
    testApp = await startTestApp();
    testApp.s3.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'ListObjectsV2Command') listings.push(String((args.input as { Prefix?: string }).Prefix));
        return next(args);
      },
      { step: 'initialize', name: 'countListingsForTest' },
    );
  });
  after(() => testApp.close());

  /** The sweep the app runs, with the test's minimum age and interval; `now` may be fixed. */
  const sweepOf = (now?: () => number) =>
    createOrphanSweep({
      store: testApp.store,
      tempDir: testApp.tempDir,
      logger: createLogger('silent'),
      minAgeMs: 15 * MINUTE,
      intervalMs: 5 * MINUTE,
      now,
    });

  it('then it removes only the parts without a record, old enough, inside its window, and lists nothing outside it', async () => {
    const now = Date.now();
    const keys = objectKeys(testApp.config.keyPrefix);
    const jpeg = { extension: 'jpg', mime: 'image/jpeg', label: 'JPEG' };
    const direct = new S3Client({
      region: 'us-east-1',
      endpoint: testApp.emulator.endpoint,
      forcePathStyle: true,
      credentials: EMULATOR_KEY_PAIR,
    });
    const put = (key: string) => direct.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: key, Body: 'x' }));
    // Every part, the sharper copies for 2× screens among them.
    const partsOf = (id: string) => [
      keys.original(id, jpeg),
      keys.display(id),
      keys.fullSize(id, 'jpg'),
      keys.variant(id, 'thumbnail-2x'),
      keys.variant(id, 'display-2x'),
    ];

    const orphan = newPhotoId(new Date(now - 20 * MINUTE)); // a failed upload, 20 minutes ago
    const whole = newPhotoId(new Date(now - 21 * MINUTE)); // a photo with its record
    const young = newPhotoId(new Date(now - 1 * MINUTE)); // an upload that may still be storing its photos
    // Long before the window, and more than one listing page (100 keys) per folder: a sweep that walked
    // the whole bucket would need several listings per folder.
    const ancient = Array.from({ length: 150 }, (_, index) => newPhotoId(new Date(now - (40 + index) * 24 * 60 * MINUTE)));
    await Promise.all([orphan, young, ...ancient].flatMap(partsOf).map(put));
    await Promise.all([...partsOf(whole), keys.thumbnail(whole)].map(put));
    direct.destroy();

    const sweep = sweepOf(() => now);
    listings.length = 0;
    const { removedKeys } = await sweep.sweepOnce(60 * MINUTE);

    assert.deepEqual(removedKeys.sort(), partsOf(orphan).sort());
    const left = await testApp.listAllKeys();
    for (const id of [whole, young, ancient[0]!])
      assert.ok(
        left.some((key) => key.includes(id)),
        `${id} is kept`,
      );
    // One listing per folder (records and five part folders), each stopping at the window's end.
    assert.equal(listings.length, 6, `listings: ${listings.join(', ')}`);
  });

  it('then temporary files untouched for longer than the minimum age are removed, newer ones kept', async () => {
    const sweep = sweepOf();
    await mkdir(testApp.tempDir, { recursive: true });
    await writeFile(path.join(testApp.tempDir, 'abandoned'), 'x');
    const longAgo = new Date(Date.now() - 60 * MINUTE);
    await utimes(path.join(testApp.tempDir, 'abandoned'), longAgo, longAgo);
    await writeFile(path.join(testApp.tempDir, 'in-progress'), 'x');
    assert.equal((await sweep.sweepOnce(60 * MINUTE)).removedTempFiles, 1);
    assert.deepEqual(await readdir(testApp.tempDir), ['in-progress']);
    await rm(path.join(testApp.tempDir, 'in-progress'));
  });
});

describe('when the app and S3 are killed in the middle of an upload', () => {
  const bucket = 'orphan-test';
  let dataDir: string;
  let emulatorPort: number;
  let emulator: RunningScript;
  let proxy: FaultProxy;
  let app: RunningScript | undefined;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-orphans-'));
    emulatorPort = await freePort();
    emulator = await startEmulatorProcess(path.join(dataDir, 's3'), bucket, emulatorPort);
    proxy = await startFaultProxy(emulatorPort);
  });
  after(async () => {
    if (app) killGroup(app);
    killGroup(emulator);
    await proxy.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function startApp(port: number): Promise<RunningScript> {
    const started = run(
      'src/server.ts',
      {
        AWS_ENDPOINT_URL_S3: proxy.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: EMULATOR_KEY_PAIR.accessKeyId,
        AWS_SECRET_ACCESS_KEY: EMULATOR_KEY_PAIR.secretAccessKey,
        S3_BUCKET: bucket,
        PORT: String(port),
        UPLOAD_TEMP_DIR: path.join(dataDir, 'uploads'),
        S3_TIMEOUT_SECONDS: '1',
        ORPHAN_MIN_AGE_SECONDS: '4',
        ORPHAN_SWEEP_INTERVAL_SECONDS: '1',
      },
      ['--openssl-legacy-provider'],
    );
    await waitFor(started, /is listening on/);
    return started;
  }

  it('then after both restart, the parts and temporary files of that upload are gone within the sweep interval', async () => {
    const port = await freePort();
    const runningApp = await startApp(port);
    app = runningApp;
    const { cookie, token } = await openGalleryForm(`http://127.0.0.1:${port}`);
    // The record (thumbnail) is written last: when its PUT arrives, every part is in S3. Kill both then.
    let killed!: () => void;
    const bothKilled = new Promise<void>((resolve) => (killed = resolve));
    proxy.setFault({
      kind: 'hold-matching',
      pattern: new RegExp(`PUT /${bucket}/photos/thumbnails/`),
      onHold: () => {
        killGroup(runningApp);
        killGroup(emulator);
        killed();
      },
    });
    const form = new FormData();
    form.append('_csrf', token);
    for (const name of ['landscape.jpg', 'square.png']) form.append('photos', new Blob([new Uint8Array(await fixture(name))]), name);
    const upload = fetch(`http://127.0.0.1:${port}/photos`, { method: 'POST', body: form, headers: { cookie } }).catch(
      (error: unknown) => error,
    );
    await bothKilled;
    assert.ok((await upload) instanceof Error, 'the client lost its connection');
    proxy.setFault({ kind: 'none' });

    emulator = await startEmulatorProcess(path.join(dataDir, 's3'), bucket, emulatorPort);
    const orphaned = await listKeys(`http://127.0.0.1:${emulatorPort}`, bucket);
    assert.ok(
      orphaned.some((key) => key.includes('/originals/')),
      `parts were left: ${orphaned.join(', ')}`,
    );
    assert.ok(!orphaned.some((key) => key.includes('/thumbnails/')), 'no record was written');
    assert.ok((await readdir(path.join(dataDir, 'uploads'))).length > 0, 'temporary files were left');

    app = await startApp(port);
    // Minimum age 4 s, sweep every second: allow both, and the sweep's own time.
    await waitUntil(
      async () => (await listKeys(`http://127.0.0.1:${emulatorPort}`, bucket)).length === 0,
      'the orphaned parts removed',
      10_000,
    );
    await waitUntil(async () => (await readdir(path.join(dataDir, 'uploads'))).length === 0, 'the temporary files removed', 10_000);
  });

  it('then with only S3 killed, the app answers 503 and the sweep removes the parts once S3 is back', async () => {
    const port = await freePort();
    if (app) killGroup(app);
    app = await startApp(port);
    const { cookie, token } = await openGalleryForm(`http://127.0.0.1:${port}`);
    proxy.setFault({ kind: 'hold-matching', pattern: new RegExp(`PUT /${bucket}/photos/thumbnails/`), onHold: () => killGroup(emulator) });
    const form = new FormData();
    form.append('_csrf', token);
    for (const name of ['landscape.jpg', 'square.png']) form.append('photos', new Blob([new Uint8Array(await fixture(name))]), name);
    const response = await fetch(`http://127.0.0.1:${port}/photos`, {
      method: 'POST',
      body: form,
      headers: { cookie, accept: 'application/json' },
    });
    assert.equal(response.status, 503);
    proxy.setFault({ kind: 'none' });

    emulator = await startEmulatorProcess(path.join(dataDir, 's3'), bucket, emulatorPort);
    await waitUntil(
      async () => (await listKeys(`http://127.0.0.1:${emulatorPort}`, bucket)).length === 0,
      'the orphaned parts removed',
      10_000,
    );
  });
});
