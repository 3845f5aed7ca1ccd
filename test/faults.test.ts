// S3 failing the way networks do: 500s, stalls, connections cut mid-upload. Each gives a clear 503
// without a hang, stores no partial photo, and the app recovers without a restart.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import { openBrowser, type Browser } from './support/browser.js';
import { startFaultProxy, type Fault, type FaultProxy } from './support/fault-proxy.js';
import { fixture, startTestApp, TEST_BUCKET, type TestApp, logLineCollector } from './support/test-app.js';
import { formHead, openHandSentUpload } from './support/hand-sent-upload.js';
import { readObject, waitUntil } from './support/waiting.js';

let testApp: TestApp;
let proxy: FaultProxy;
let browser: Browser;
/** Every line the app logged, as written. */
const { lines: logLines, destination: logDestination } = logLineCollector();
const S3_TIMEOUT_MS = 1_000;
/** What "within S3_TIMEOUT_SECONDS plus a little" allows: the SDK's retry delays and the answer itself. */
const DEADLINE_SLACK_MS = 1_500;

before(async () => {
  // The app reaches S3 through the proxy; the test's own inspector talks to the emulator directly.
  testApp = await startTestApp({
    env: { S3_TIMEOUT_SECONDS: String(S3_TIMEOUT_MS / 1000) },
    logDestination,
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

async function assertRecovers(): Promise<void> {
  proxy.setFault({ kind: 'none' });
  await request(testApp.app).get('/readyz').expect(200);
  const response = await browser
    .upload()
    .set('Accept', 'application/json')
    .attach('photos', await fixture('square.png'), 'p.png')
    .expect(201);
  const id: string = response.body.photos[0].id;
  assert.equal((await testApp.listAllKeys()).filter((key) => key.includes(id)).length, 4, 'original, display, full size and thumbnail');
}

describe('when S3 answers every request with 500', () => {
  it('then pages and uploads get 503, nothing is stored, and the app recovers', async () => {
    proxy.setFault({ kind: 'error-500' });
    assert.match((await request(testApp.app).get('/').expect(503)).text, /Storage unavailable/);
    await testApp.assertStoresNothing(async () => {
      await browser
        .upload()
        .attach('photos', await fixture('landscape.jpg'), 'a.jpg')
        .expect(503);
    });
    await assertRecovers();
  });
});

/** Runs `act` and checks it answered within the S3 deadline (retries included) plus a little. */
async function assertAnswersWithinDeadline(what: string, act: () => Promise<unknown>): Promise<void> {
  const started = Date.now();
  await act();
  const elapsed = Date.now() - started;
  assert.ok(elapsed < S3_TIMEOUT_MS + DEADLINE_SLACK_MS, `${what} answered after ${elapsed} ms; the deadline is ${S3_TIMEOUT_MS} ms`);
}

describe('when S3 stalls and never answers', () => {
  it('then every page and the upload answer 503 within S3_TIMEOUT_SECONDS, retries included', async () => {
    const existing = (
      await browser
        .upload()
        .set('Accept', 'application/json')
        .attach('photos', await fixture('square.png'), 'p.png')
        .expect(201)
    ).body.photos[0].id;
    proxy.setFault({ kind: 'stall' });
    await assertAnswersWithinDeadline('the gallery', () => request(testApp.app).get('/').expect(503));
    await assertAnswersWithinDeadline('a photo page', () => request(testApp.app).get(`/photos/${existing}`).expect(503));
    await assertAnswersWithinDeadline('the delete confirmation', () => browser.get(`/photos/${existing}/delete`).expect(503));
    await assertAnswersWithinDeadline('readiness', () => request(testApp.app).get('/readyz').expect(503));
    const photo = await fixture('landscape.jpg');
    await testApp.assertStoresNothing(async () => {
      await assertAnswersWithinDeadline('an upload', () => browser.upload().attach('photos', photo, 'a.jpg').expect(503));
    });
    await assertRecovers();
  });
});

describe('when an upload fails on S3', () => {
  it('then every log line stays short and carries no image bytes, keys or signatures', async () => {
    logLines.length = 0;
    proxy.setFault({ kind: 'error-500' });
    await browser
      .upload()
      .attach('photos', await fixture('phone-gps-rotated.jpg'), 'a.jpg')
      .expect(503);
    assert.ok(logLines.length > 0, 'the failure was logged');
    for (const line of logLines) {
      assert.ok(Buffer.byteLength(line) < 4096, `a log line of ${Buffer.byteLength(line)} bytes: ${line.slice(0, 200)}…`);
      assert.doesNotMatch(line, /"type":"Buffer"|\[255,216|X-Amz-Signature|x-amz-security-token|S3RVER|aws_secret|"body"/i);
    }
    const failure = logLines
      .map((line) => JSON.parse(line) as { level: number; err?: { cause?: { httpStatus?: number } } })
      .find((entry) => entry.err);
    assert.equal(failure?.err?.cause?.httpStatus, 500, 'the log still says what S3 answered');
  });
});

describe('when S3 goes away in the middle of an upload', () => {
  it('then a large upload cut after its first megabytes gets 503 and leaves no object or part behind', async () => {
    // A real photo of several MiB (noise compresses badly), whose PUT is cut once 2 MiB have gone through.
    const raw = { width: 2400, height: 1800, channels: 3 } as const;
    const large = await sharp(randomBytes(raw.width * raw.height * raw.channels), { raw })
      .jpeg({ quality: 95 })
      .toBuffer();
    assert.ok(large.length > 3 * 1024 * 1024);
    proxy.setFault({ kind: 'cut-after', bytes: 2 * 1024 * 1024 });
    await testApp.assertStoresNothing(async () => {
      await browser.upload().attach('photos', large, 'large.jpg').expect(503);
    });
    await assertRecovers();
  });

  it('then a small upload cut mid-request gets 503 and leaves nothing behind', async () => {
    const photo = await fixture('landscape.jpg');
    proxy.setFault({ kind: 'cut-after', bytes: 1_000 });
    await testApp.assertStoresNothing(async () => {
      await browser.upload().attach('photos', photo, 'a.jpg').expect(503);
    });
    await assertRecovers();
  });
});

/** The PUTs of one kind of photo part (its folder). */
const putTo = (folder: string) => new RegExp(`^PUT /${TEST_BUCKET}/photos/${folder}/`);

/** Uploads one photo while `fault` strikes one of its PUTs; asserts it struck, and the photo is stored whole. */
async function assertStoredWholeDespite(fault: Fault): Promise<void> {
  const raw = { width: 1200, height: 900, channels: 3 } as const;
  const photo = await sharp(randomBytes(raw.width * raw.height * raw.channels), { raw })
    .jpeg({ quality: 95 })
    .toBuffer();
  proxy.setFault(fault);
  const response = await browser.upload().set('Accept', 'application/json').attach('photos', photo, 'p.jpg');
  assert.equal(proxy.hits(), 1, 'the fault struck its PUT');
  assert.equal(response.status, 201, response.text);
  const id: string = response.body.photos[0].id;
  const keys = (await testApp.listAllKeys()).filter((key) => key.includes(id));
  assert.deepEqual(
    keys.map((key) => key.split('/').at(-2)).sort(),
    ['display', 'full', 'originals', 'thumbnail-2x', 'thumbnails'],
    'original, display, full size, thumbnail and its 2× copy (900 px high)',
  );
  const original = keys.find((key) => key.includes('/originals/'))!;
  assert.deepEqual(await readObject(testApp.emulator.endpoint, TEST_BUCKET, original), photo, 'the original is stored byte for byte');
}

describe('when one connection to S3 is lost as a photo part is sent', () => {
  // What an endpoint closing an idle keep-alive connection does to the PUT that starts on it ("socket hang up"):
  // the SDK retries a lost connection for a buffer, but not for a file stream it cannot rewind, so the upload
  // failed 503 on the first lost connection. `npm run bench` met it against the emulator, whose idle connections
  // close after 5 s, on a loaded machine. Each test names the PUT it cuts: the parts go out at once, so a cut
  // after a byte count on whichever connection passes it first lands on a part the scheduler picks (it was the
  // display image, a buffer, nearly every time, so the file retry went untested). The 1-in-4 failures of that test
  // (503, or 201 with the display image gone) were the emulator's: it deleted the key of a PUT that failed, after
  // the PUT sent again had stored it or while it did (scripts/emulators/s3.ts, test/emulators/s3.test.ts).
  const cutOnce = (folder: string, bytes: number): Fault => ({ kind: 'cut-once-matching', pattern: putTo(folder), bytes });
  for (const folder of ['originals', 'full']) {
    it(`then a part sent from its file (${folder}/) is sent again, from its file, on a new connection, and the upload is stored whole`, async () => {
      await assertStoredWholeDespite(cutOnce(folder, 64 * 1024));
    });
  }

  it('then a part sent from memory (display/) is sent again by the SDK, and the upload is stored whole', async () => {
    await assertStoredWholeDespite(cutOnce('display', 64 * 1024));
  });

  it('then the record (thumbnails/), lost as its PUT starts, is sent again, and the photo is listed', async () => {
    await assertStoredWholeDespite(cutOnce('thumbnails', 0));
  });
});

describe('when S3 answers a photo part 500 once', () => {
  // S3 asks for a retry this way now and then (InternalError, SlowDown): the SDK sends a body in memory again, but
  // not a file stream, so the same hiccup failed an upload on its original or full-size image only.
  for (const folder of ['originals', 'full', 'display']) {
    it(`then the PUT to ${folder}/ is sent again, and the upload is stored whole`, async () => {
      await assertStoredWholeDespite({ kind: 'error-500-once-matching', pattern: putTo(folder) });
    });
  }
});

describe('when a client puts a token or anything else in a query string', () => {
  it('then the log keeps the parameter names and the paging values only', async () => {
    logLines.length = 0;
    await request(testApp.app).get('/?_csrf=a-form-token-value&note=private-words&page=abc').expect(400);
    const logged = logLines.map((line) => JSON.parse(line) as { req?: { url?: string } }).find((entry) => entry.req?.url)?.req?.url;
    assert.equal(logged, '/?_csrf=…&note=…&page=abc');
  });
});

describe('when clients go away in the middle of their uploads', () => {
  it('then each is logged as an info line, not an error, and nothing is left behind', async () => {
    const server: Server = testApp.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    logLines.length = 0;
    try {
      const cookie = browser.agent.jar
        .getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false })
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
      const head = formHead(browser.token);
      const photo = await fixture('landscape.jpg');
      for (let i = 0; i < 20; i++) {
        const { request: upload } = openHandSentUpload({ port, cookie, contentLength: 100_000 });
        // Each client leaves only once the server holds its bytes, so every one of them is mid-upload when it goes.
        await waitUntil(() => testApp.uploadBudget.bytesInProgress() === 0, 'the previous upload is released', 15_000);
        upload.write(Buffer.concat([head, photo.subarray(0, 2_000)]));
        await waitUntil(() => testApp.uploadBudget.bytesInProgress() > 0, 'the server is receiving the upload', 15_000);
        upload.destroy();
      }
      await waitUntil(async () => (await readdir(testApp.tempDir).catch(() => [])).length === 0, 'no temporary file left', 15_000);
      // A request's line is written when it ends, which may come just after its files are removed.
      await waitUntil(() => logLines.length >= 20, 'each disconnect logged', 15_000);
      const levels = logLines.map((line) => (JSON.parse(line) as { level: number }).level);
      assert.deepEqual(
        levels.filter((level) => level >= 40),
        [],
        'no warning or error for a client that left',
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
