// S3 failing the way networks do: 500s, stalls, connections cut mid-upload. Each gives a clear 503
// without a hang, stores no partial photo, and the app recovers without a restart.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import { openBrowser, type Browser } from './support/browser.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { fixture, startTestApp, type TestApp } from './support/test-app.js';

let testApp: TestApp;
let proxy: FaultProxy;
let browser: Browser;

before(async () => {
  // The app reaches S3 through the proxy; the test's own inspector talks to the emulator directly.
  testApp = await startTestApp({
    env: { S3_TIMEOUT_SECONDS: '1' },
    appS3Endpoint: async (emulator) => {
      proxy = await startFaultProxy(emulator.port);
      return proxy.endpoint;
    },
  });
  browser = await openBrowser(testApp.app);
});
afterEach(() => proxy.setFault({ kind: 'none' }));
after(async () => {
  await testApp.close();
  await proxy.close();
});

/** Runs `act` and checks it left nothing: no new object, no temporary file. */
async function assertLeavesNothing(act: () => Promise<void>): Promise<void> {
  const before = await testApp.listAllKeys();
  await act();
  assert.deepEqual(await testApp.listAllKeys(), before, 'the bucket is unchanged');
  assert.deepEqual(await readdir(testApp.tempDir).catch(() => []), [], 'no temporary upload file is left');
  assert.deepEqual(await testApp.listIncompleteUploads(), [], 'every multipart upload was completed or aborted');
}

async function assertRecovers(): Promise<void> {
  proxy.setFault({ kind: 'none' });
  await request(testApp.app).get('/readyz').expect(200);
  const response = await browser.upload().set('Accept', 'application/json').attach('photos', await fixture('square.png'), 'p.png').expect(201);
  const id: string = response.body.photos[0].id;
  assert.equal((await testApp.listAllKeys()).filter((key) => key.includes(id)).length, 4, 'original, display, full size and thumbnail');
}

describe('when S3 answers every request with 500', () => {
  it('then pages and uploads get 503, nothing is stored, and the app recovers', async () => {
    proxy.setFault({ kind: 'error-500' });
    assert.match((await request(testApp.app).get('/').expect(503)).text, /Storage unavailable/);
    await assertLeavesNothing(async () => {
      await browser.upload().attach('photos', await fixture('landscape.jpg'), 'a.jpg').expect(503);
    });
    await assertRecovers();
  });
});

describe('when S3 stalls and never answers', () => {
  it('then the app gives up after its timeout and answers 503 instead of hanging', async () => {
    proxy.setFault({ kind: 'stall' });
    const started = Date.now();
    await request(testApp.app).get('/').expect(503);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 12_000, `answered after ${elapsed} ms (1 s timeout, 3 attempts)`);
    await request(testApp.app).get('/readyz').expect(503);
    await assertLeavesNothing(async () => {
      await browser.upload().attach('photos', await fixture('landscape.jpg'), 'a.jpg').expect(503);
    });
    await assertRecovers();
  });
});

describe('when S3 goes away in the middle of an upload', () => {
  it('then a large upload cut after its first megabytes gets 503 and leaves no object or part behind', async () => {
    // A real photo of several MiB (noise compresses badly), whose PUT is cut once 2 MiB have gone through.
    const raw = { width: 2400, height: 1800, channels: 3 } as const;
    const large = await sharp(randomBytes(raw.width * raw.height * raw.channels), { raw }).jpeg({ quality: 95 }).toBuffer();
    assert.ok(large.length > 3 * 1024 * 1024);
    proxy.setFault({ kind: 'cut-after', bytes: 2 * 1024 * 1024 });
    await assertLeavesNothing(async () => {
      await browser.upload().attach('photos', large, 'large.jpg').expect(503);
    });
    await assertRecovers();
  });

  it('then a small upload cut mid-request gets 503 and leaves nothing behind', async () => {
    const photo = await fixture('landscape.jpg');
    proxy.setFault({ kind: 'cut-after', bytes: 1_000 });
    await assertLeavesNothing(async () => {
      await browser.upload().attach('photos', photo, 'a.jpg').expect(503);
    });
    await assertRecovers();
  });
});
