// "Disk and in-flight bytes are bounded per client address and in total": slow uploads that hold their
// bytes on the server's disk, from one address and from several, until the app refuses the next bytes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processImage } from '../../src/photos/image-processing.js';
import { openBrowser } from '../support/browser.js';
import { fixture, startTestApp, type TestApp } from '../support/test-app.js';
import { csrfField, filePartHeader, openHandSentUpload } from '../support/hand-sent-upload.js';
import { waitUntil } from '../support/waiting.js';
import { formToken } from '../../scripts/support/html.js';

const MiB = 1024 * 1024;
let testApp: TestApp;
let server: Server;
let port: number;
before(async () => {
  // One file may be 1 MiB; an address may hold 2 MiB of uploads in progress, the server 3 MiB.
  testApp = await startTestApp({
    env: { MAX_UPLOAD_MB: '1', UPLOAD_MB_IN_PROGRESS_PER_CLIENT: '2', UPLOAD_MB_IN_PROGRESS: '3', UPLOADS_PER_HOUR: '1000' },
  });
  server = testApp.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
after(async () => {
  server.closeAllConnections();
  server.close();
  await testApp.close();
});

/** A browser at `address` (a loopback address of its own): its cookies and form token. */
async function openForm(address: string): Promise<{ cookie: string; token: string }> {
  const response = await new Promise<IncomingMessage>((resolve, reject) =>
    httpRequest({ host: '127.0.0.1', port, path: '/', localAddress: address }, resolve).on('error', reject).end(),
  );
  let html = '';
  for await (const chunk of response) html += chunk;
  const cookie = (response.headers['set-cookie'] ?? []).map((value) => value.split(';')[0]).join('; ');
  return { cookie, token: formToken(html)! };
}

interface SlowUpload {
  request: ClientRequest;
  answer: Promise<IncomingMessage>;
  /** Sends `bytes` more of the file, as a slow client would, and waits until they are written out. */
  send(bytes: number): Promise<void>;
}

/** Starts a multipart upload of several files of 1 MiB each that arrives as slowly as the test sends it. */
async function startSlowUpload(address: string): Promise<SlowUpload> {
  const { cookie, token } = await openForm(address);
  const { request, answered: answer } = openHandSentUpload({ port, cookie, localAddress: address, json: true, answerTimeoutMs: 15_000 });
  let sentOfFile = MiB; // forces a new part at the first send
  request.write(csrfField(token));
  return {
    request,
    answer,
    async send(bytes) {
      let left = bytes;
      while (left > 0) {
        if (sentOfFile >= MiB - 1024) {
          // A JPEG start (so the type check passes), then filler: each file stays under the 1 MiB limit.
          request.write(Buffer.concat([filePartHeader('slow.jpg', { first: false }), Buffer.from([0xff, 0xd8, 0xff, 0xe0])]));
          sentOfFile = 4;
        }
        const chunk = Math.min(left, 64 * 1024, MiB - 1024 - sentOfFile);
        await new Promise<void>((resolve) => request.write(Buffer.alloc(chunk, 0x20), () => resolve()));
        sentOfFile += chunk;
        left -= chunk;
      }
    },
  };
}

async function bytesOnDisk(): Promise<number> {
  const names = await readdir(testApp.tempDir).catch(() => [] as string[]);
  const sizes = await Promise.all(
    names.map((name) =>
      stat(path.join(testApp.tempDir, name)).then(
        (info) => info.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((sum, size) => sum + size, 0);
}

function waitForBytesOnDisk(atLeast: number): Promise<void> {
  return waitUntil(async () => (await bytesOnDisk()) >= atLeast, `${atLeast} bytes on the server's disk`);
}

describe('when slow uploads from one address hold more bytes than it may', () => {
  it('then the upload that goes past the bound gets 429 before more is written, and the others are unaffected', async () => {
    const first = await startSlowUpload('127.0.0.2');
    await first.send(1.5 * MiB);
    await waitForBytesOnDisk(1.4 * MiB);
    const second = await startSlowUpload('127.0.0.2');
    // The server stops reading once it refuses: the answer comes while the client is still sending.
    void second.send(1 * MiB);
    const refused = await second.answer;
    assert.equal(refused.statusCode, 429);
    assert.ok((await bytesOnDisk()) <= 2 * MiB, `held ${await bytesOnDisk()} bytes, the bound is 2 MiB`);

    // The server as a whole: a second address may fill it up to 3 MiB, then the next bytes are refused with 503.
    const other = await startSlowUpload('127.0.0.3');
    await other.send(1.4 * MiB);
    await waitForBytesOnDisk(2.8 * MiB);
    const third = await startSlowUpload('127.0.0.4');
    void third.send(1 * MiB);
    assert.equal((await third.answer).statusCode, 503);
    assert.ok((await bytesOnDisk()) <= 3 * MiB, `held ${await bytesOnDisk()} bytes, the bound is 3 MiB`);

    // Those within the bounds were never cut off; once they end, their bytes are given back.
    for (const upload of [first, other]) upload.request.destroy();
    await waitUntil(() => testApp.uploadBudget.bytesInProgress() === 0);
    const later = await startSlowUpload('127.0.0.2');
    await later.send(1.5 * MiB);
    await waitForBytesOnDisk(1.4 * MiB);
    later.request.destroy();
    await waitUntil(
      async () => testApp.uploadBudget.bytesInProgress() === 0 && (await bytesOnDisk()) === 0,
      'every byte given back and removed',
    );
  });
});

describe('when the image worker has more images waiting than a few full uploads', () => {
  it('then a new upload is refused at once with 503, before its body is read, and is taken again once the queue drains', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let imagesStarted = 0;
    const busy = await startTestApp({
      env: { MAX_FILES_PER_UPLOAD: '10', UPLOADS_PER_HOUR: '1000' },
      processImage: async (source) => {
        imagesStarted++;
        await held;
        return processImage(source);
      },
    });
    try {
      const photo = await fixture('square.png');
      const browser = await openBrowser(busy.app);
      const queued = [0, 1, 2].map(() => {
        let upload = browser.upload().set('Accept', 'application/json').timeout(30_000);
        for (let index = 0; index < 10; index++) upload = upload.attach('photos', photo, `p${index}.png`);
        return upload.then((response) => response.status);
      });
      // Each upload makes its images one after the other: three held first images mean 30 images waiting.
      await waitUntil(() => imagesStarted === 3, 'three uploads at their images', 10_000);
      const refused = await browser
        .upload()
        .set('Accept', 'application/json')
        .timeout(10_000)
        .attach('photos', photo, 'late.png')
        .expect(503);
      assert.equal(refused.body.error.title, 'Too busy');
      release();
      assert.deepEqual(await Promise.all(queued), [201, 201, 201]);
      await browser.upload().attach('photos', photo, 'later.png').expect(303);
    } finally {
      release();
      await busy.close();
    }
  });
});
