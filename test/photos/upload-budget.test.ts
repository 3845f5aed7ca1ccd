// "Disk and in-flight bytes are bounded per client address and in total": slow uploads that hold their
// bytes on the server's disk, from one address and from several, until the app refuses the next bytes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processImage } from '../../src/photos/image-processing.js';
import { fixture, startTestApp, type TestApp } from '../support/test-app.js';
import { csrfField, FORM_TAIL, filePartHeader, openHandSentUpload } from '../support/hand-sent-upload.js';
import { waitUntil } from '../support/waiting.js';
import { formToken } from '../../scripts/support/html.js';

const MiB = 1024 * 1024;
let testApp: TestApp;
let server: Server;
let port: number;
before(async () => {
  // One file may be 1 MiB; an address may hold 2 MiB of uploads in progress, the server 3 MiB. The test is also
  // the trusted proxy, for clients it names in X-Forwarded-For (see `reachedFrom`).
  testApp = await startTestApp({
    env: {
      MAX_UPLOAD_MB: '1',
      UPLOAD_MB_IN_PROGRESS_PER_CLIENT: '2',
      UPLOAD_MB_IN_PROGRESS: '3',
      UPLOADS_PER_HOUR: '1000',
      TRUST_PROXY: '1',
    },
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

/**
 * How a client at `address` reaches the app: from a loopback address of its own, or (any other address,
 * IPv6 say) through the trusted proxy, which names it in X-Forwarded-For.
 */
function reachedFrom(address: string): { localAddress?: string; forwardedFor?: string } {
  return address.startsWith('127.') ? { localAddress: address } : { forwardedFor: address };
}

/** A browser at `address`: its cookies and form token. */
async function openForm(address: string, appPort = port): Promise<{ cookie: string; token: string }> {
  const { localAddress, forwardedFor } = reachedFrom(address);
  const headers = forwardedFor ? { 'x-forwarded-for': forwardedFor } : {};
  const response = await new Promise<IncomingMessage>((resolve, reject) =>
    httpRequest({ host: '127.0.0.1', port: appPort, path: '/', localAddress, headers }, resolve).on('error', reject).end(),
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
  const { request, answered: answer } = openHandSentUpload({ port, cookie, ...reachedFrom(address), json: true, answerTimeoutMs: 15_000 });
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

// Round three of the README attack found this: each address of one home /64 held its own allowance of bytes.
describe('when slow uploads come from several addresses of one client (behind a trusted proxy)', () => {
  it('then an IPv6 /64, however spelled, and an IPv4 address with its IPv6-mapped form each hold one allowance of bytes', async () => {
    for (const [holder, sameClient] of [
      ['2001:db8:0:0::1', '2001:DB8::ffff:2'],
      ['198.51.100.7', '::ffff:c633:6407'],
    ] as const) {
      const holding = await startSlowUpload(holder);
      await holding.send(1.5 * MiB);
      await waitForBytesOnDisk(1.4 * MiB);
      const next = await startSlowUpload(sameClient);
      void next.send(1 * MiB);
      const refused = await next.answer;
      assert.equal(refused.statusCode, 429, `${sameClient} counts as ${holder}`);
      assert.equal(await errorTitleOf(refused), 'Too many uploads at once');

      // The next /64 is another client: it holds its own bytes while the first still holds its own.
      const neighbour = await startSlowUpload('2001:db8:0:1::1');
      await neighbour.send(1.4 * MiB);
      await waitForBytesOnDisk(2.8 * MiB);
      for (const upload of [holding, neighbour]) upload.request.destroy();
      await waitUntil(
        async () => testApp.uploadBudget.bytesInProgress() === 0 && (await bytesOnDisk()) === 0,
        'every byte given back and removed',
      );
    }
  });
});

/** A whole upload of `files` copies of `photo` from `address`, as a browser's script sends it; resolves to the answer. */
async function uploadFrom(address: string, appPort: number, photo: Buffer, files: number): Promise<IncomingMessage> {
  const { cookie, token } = await openForm(address, appPort);
  const parts = [csrfField(token)];
  for (let index = 0; index < files; index++) parts.push(filePartHeader(`p${index}.png`, { first: false }), photo);
  const body = Buffer.concat([...parts, FORM_TAIL]);
  const { request, answered } = openHandSentUpload({
    port: appPort,
    cookie,
    ...reachedFrom(address),
    json: true,
    contentLength: body.length,
  });
  request.end(body);
  return answered;
}

async function errorTitleOf(response: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of response) text += chunk;
  return (JSON.parse(text) as { error: { title: string } }).error.title;
}

/** An app on a port of its own whose image steps wait until `release()`: images queue up as the test sends them. */
async function startAppWithHeldImages() {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started = 0;
  const busy = await startTestApp({
    env: { MAX_FILES_PER_UPLOAD: '10', UPLOADS_PER_HOUR: '1000', TRUST_PROXY: '1' },
    processImage: async (source) => {
      started++;
      await held;
      return processImage(source);
    },
  });
  const busyServer = busy.app.listen(0, '127.0.0.1');
  await once(busyServer, 'listening');
  return {
    busyPort: (busyServer.address() as { port: number }).port,
    release,
    /** Image steps begun so far (each upload's first image is begun, then held). */
    imagesStarted: () => started,
    async close() {
      release();
      busyServer.closeAllConnections();
      busyServer.close();
      await busy.close();
    },
  };
}

describe('when the image worker has more images waiting than a few full uploads', () => {
  it('then one address may have one upload of images waiting (429 for more), a full queue refuses others at once (503), and both are taken again once it drains', async () => {
    const { busyPort, release, imagesStarted, close } = await startAppWithHeldImages();
    try {
      const photo = await fixture('square.png');
      // Three addresses, ten photos each: each upload makes its images one after the other, so three held
      // first images mean 30 images waiting.
      const queued = ['127.0.0.11', '127.0.0.12', '127.0.0.13'].map((address) => uploadFrom(address, busyPort, photo, 10));
      await waitUntil(() => imagesStarted() === 3, 'three uploads at their images', 10_000);

      const sameAddress = await uploadFrom('127.0.0.11', busyPort, photo, 1);
      assert.equal(sameAddress.statusCode, 429, 'an address with an upload of images waiting may not queue more');
      assert.equal(await errorTitleOf(sameAddress), 'Too many photos at once');
      const newcomer = await uploadFrom('127.0.0.14', busyPort, photo, 1);
      assert.equal(newcomer.statusCode, 503);
      assert.equal(await errorTitleOf(newcomer), 'Too busy making images');

      release();
      assert.deepEqual(
        (await Promise.all(queued)).map((response) => response.statusCode),
        [201, 201, 201],
      );
      assert.equal((await uploadFrom('127.0.0.11', busyPort, photo, 1)).statusCode, 201);
      assert.equal((await uploadFrom('127.0.0.14', busyPort, photo, 1)).statusCode, 201);
    } finally {
      await close();
    }
  });

  it('then one address cannot fill the queue with several uploads at once: the one that would pass the share gets 429, others are served', async () => {
    const { busyPort, release, imagesStarted, close } = await startAppWithHeldImages();
    try {
      const photo = await fixture('square.png');
      // Four uploads of ten photos from one address, sent together: all are received, one queues its images,
      // and the three that would pass the address's share are refused, while the first is still held.
      const statuses: number[] = [];
      const fromOne = [0, 1, 2, 3].map(() =>
        uploadFrom('127.0.0.21', busyPort, photo, 10).then((response) => {
          statuses.push(response.statusCode ?? 0);
          return response;
        }),
      );
      await waitUntil(() => statuses.length === 3, 'three of the four answered', 15_000);
      assert.deepEqual(statuses, [429, 429, 429]);
      // Another address is not held up by them: its photo reaches the image worker.
      const other = uploadFrom('127.0.0.22', busyPort, photo, 1);
      await waitUntil(() => imagesStarted() === 2, 'the other address reaches the image worker', 10_000);
      release();
      assert.equal((await other).statusCode, 201);
      await Promise.all(fromOne);
      assert.deepEqual(statuses.sort(), [201, 429, 429, 429]);
    } finally {
      await close();
    }
  });

  it('then the addresses of one IPv6 /64, and an IPv4 address with its IPv6-mapped form, share one share of the queue', async () => {
    const { busyPort, release, imagesStarted, close } = await startAppWithHeldImages();
    try {
      const photo = await fixture('square.png');
      const queued = ['2001:db8::1', '198.51.100.7'].map((address) => uploadFrom(address, busyPort, photo, 10));
      await waitUntil(() => imagesStarted() === 2, 'both uploads at their images', 10_000);
      for (const sameClient of ['2001:0DB8:0000:0000:ffff:ffff:ffff:fffe', '::ffff:198.51.100.7']) {
        const refused = await uploadFrom(sameClient, busyPort, photo, 1);
        assert.equal(refused.statusCode, 429, `${sameClient} has the images of its client's upload waiting`);
        assert.equal(await errorTitleOf(refused), 'Too many photos at once');
      }
      // The next /64 is another client: its photo reaches the image worker.
      const neighbour = uploadFrom('2001:db8:0:1::1', busyPort, photo, 1);
      await waitUntil(() => imagesStarted() === 3, 'the neighbour reaches the image worker', 10_000);
      release();
      assert.deepEqual(
        (await Promise.all([...queued, neighbour])).map((response) => response.statusCode),
        [201, 201, 201],
      );
    } finally {
      await close();
    }
  });
});
