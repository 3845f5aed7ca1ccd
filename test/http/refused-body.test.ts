// "Every refused request gets its answer": the app answers a refused upload before its body has arrived;
// it then reads and discards the rest, within a bound, so a client still sending is not reset (which loses
// the answer: Node's fetch reported EPIPE). A client that sends past the bound is cut off.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readdir } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { REFUSED_BODY_BOUNDS } from '../../src/http/refused-body.js';
import { csrfField, filePartHeader, openHandSentUpload } from '../support/hand-sent-upload.js';
import { openGalleryForm } from '../support/processes.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitUntil } from '../support/waiting.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const JPEG_START = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);

interface ListeningApp {
  testApp: TestApp;
  url: string;
  port: number;
  /** The server's side of each connection, newest last: what it read from the client. */
  sockets: Socket[];
  close(): Promise<void>;
}

async function listenTestApp(env: Record<string, string>): Promise<ListeningApp> {
  const testApp = await startTestApp({ env });
  const server: Server = testApp.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sockets: Socket[] = [];
  server.on('connection', (socket) => sockets.push(socket));
  const { port } = server.address() as { port: number };
  return {
    testApp,
    url: `http://127.0.0.1:${port}`,
    port,
    sockets,
    async close() {
      server.closeAllConnections();
      server.close();
      await testApp.close();
    },
  };
}

/** One file of `bytes`, as the page's script sends it: starts as a JPEG unless told otherwise. */
function photoOf(bytes: number, start = JPEG_START): Blob {
  return new Blob([start, Buffer.alloc(bytes - start.length, 0x20)], { type: 'image/jpeg' });
}

/**
 * Files that follow the one refused, so that a few MiB (more than the kernel buffers between two sockets on
 * this machine, less than the bound) are still to come when the answer is sent.
 */
const STILL_TO_COME = [photoOf(900 * KiB), photoOf(900 * KiB), photoOf(900 * KiB)];

/** POSTs the upload form with Node's fetch (undici); resolves to the answer's status and title, or rejects as fetch does. */
async function fetchUpload(
  app: ListeningApp,
  files: Blob[],
  pass: { cookie: string; token: string } | undefined,
): Promise<{ status: number; title: string }> {
  const form = new FormData();
  if (pass) form.append('_csrf', pass.token);
  for (const [index, file] of files.entries()) form.append('photos', file, `p${index}.jpg`);
  const response = await fetch(`${app.url}/photos`, {
    method: 'POST',
    body: form,
    headers: { accept: 'application/json', ...(pass ? { cookie: pass.cookie } : {}) },
    redirect: 'manual',
  });
  return { status: response.status, title: ((await response.json()) as { error: { title: string } }).error.title };
}

let app: ListeningApp;
before(async () => {
  // A file may be 1 MiB; an address may hold 2 MiB of uploads in progress, the server 3 MiB.
  app = await listenTestApp({
    MAX_UPLOAD_MB: '1',
    UPLOAD_MB_IN_PROGRESS_PER_CLIENT: '2',
    UPLOAD_MB_IN_PROGRESS: '3',
    UPLOADS_PER_HOUR: '1000',
  });
});
after(() => app.close());
// Each refused upload gives back every byte it took and removes every file it wrote, also those of the files
// that were still arriving when it answered.
afterEach(() =>
  waitUntil(
    async () => app.testApp.uploadBudget.bytesInProgress() === 0 && (await readdir(app.testApp.tempDir).catch(() => [])).length === 0,
    'every byte given back and every temporary file removed',
  ),
);

describe('when an upload is refused before its body has arrived, and the client is Node’s fetch', () => {
  it('then a forged POST (no form token) gets its 403, for a small file and a large one', async () => {
    for (const bytes of [2 * KiB, 900 * KiB]) {
      assert.deepEqual(await fetchUpload(app, [photoOf(bytes), ...STILL_TO_COME], undefined), { status: 403, title: 'Form expired' });
    }
  });

  it('then a file that is not an image, or over the size limit, is set aside and the files after it read on: past its address’s bytes in progress they get its 429', async () => {
    // A bad file no longer ends the upload (test/photos/partial-uploads.test.ts); the 900 KiB files after it do,
    // once they pass the 2 MiB this address may hold.
    const pass = await openGalleryForm(app.url);
    for (const bad of [photoOf(2 * KiB, Buffer.from('plain text')), photoOf(900 * KiB, Buffer.from('plain text')), photoOf(1.5 * MiB)]) {
      assert.deepEqual(await fetchUpload(app, [bad, ...STILL_TO_COME], pass), { status: 429, title: 'Too many uploads at once' });
    }
  });

  it('then an upload past its address’s bytes in progress gets its 429', async () => {
    const pass = await openGalleryForm(app.url);
    const files = [photoOf(900 * KiB), photoOf(900 * KiB), photoOf(900 * KiB), ...STILL_TO_COME];
    assert.deepEqual(await fetchUpload(app, files, pass), { status: 429, title: 'Too many uploads at once' });
  });

  it('then an upload past the server’s bytes in progress gets its 503', async () => {
    // Another address holds 1.5 MiB of a slow upload, so 1.8 MiB more would pass the server's 3 MiB.
    const holder = await openGalleryForm(app.url);
    const slow = openHandSentUpload({ port: app.port, cookie: holder.cookie, localAddress: '127.0.0.2', json: true });
    slow.request.write(csrfField(holder.token));
    for (const bytes of [900 * KiB, 600 * KiB])
      slow.request.write(Buffer.concat([filePartHeader('slow.jpg', { first: false }), JPEG_START, Buffer.alloc(bytes)]));
    try {
      await waitUntil(() => app.testApp.uploadBudget.bytesInProgress() >= 1.4 * MiB, 'the slow upload holds its bytes');
      const pass = await openGalleryForm(app.url);
      assert.deepEqual(await fetchUpload(app, [photoOf(900 * KiB), photoOf(900 * KiB), ...STILL_TO_COME], pass), {
        status: 503,
        title: 'Too busy receiving uploads',
      });
    } finally {
      slow.request.destroy();
    }
  });

  it('then a POST that is not a multipart form gets its 400, and a POST to no page its 404', async () => {
    const body = Buffer.alloc(3.5 * MiB, 0x61);
    const notAForm = await fetch(`${app.url}/photos`, {
      method: 'POST',
      body,
      headers: { accept: 'application/json', 'content-type': 'text/plain' },
    });
    assert.equal(notAForm.status, 400);
    assert.equal(((await notAForm.json()) as { error: { title: string } }).error.title, 'Not an upload form');
    const nowhere = await fetch(`${app.url}/nowhere`, { method: 'POST', body, headers: { accept: 'application/json' } });
    assert.equal(nowhere.status, 404);
    await nowhere.arrayBuffer();
  });

  it('then an upload past the hourly limit gets its 429', async () => {
    const limited = await listenTestApp({ UPLOADS_PER_HOUR: '1' });
    try {
      const pass = await openGalleryForm(limited.url);
      const notAnImage = photoOf(900 * KiB, Buffer.from('plain text'));
      assert.equal((await fetchUpload(limited, [notAnImage], pass)).status, 415, 'the first upload counts');
      assert.deepEqual(await fetchUpload(limited, [notAnImage, ...STILL_TO_COME], pass), { status: 429, title: 'Too many requests' });
    } finally {
      await limited.close();
    }
  });
});

/** A forged upload sent by hand: the request head and form start, announcing `announcedBytes` of body. */
function startForgedUpload(listening: ListeningApp, announcedBytes: number) {
  const connectionsBefore = listening.sockets.length;
  const socket = connect(listening.port, '127.0.0.1');
  socket.on('error', () => {}); // the server may reset a client that sends past the bound
  socket.write(
    `POST /photos HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Type: multipart/form-data; boundary=hand-sent-upload\r\nContent-Length: ${announcedBytes}\r\n\r\n`,
  );
  socket.write(Buffer.concat([filePartHeader('forged.jpg'), JPEG_START]));
  let received = '';
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  /** The whole answer, or what came of it if the connection ended first. */
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (/\r\n\r\n[\s\S]*\}\}$/.test(received)) resolve(received);
    });
    void closed.then(() => resolve(received));
  });
  const serverSide = waitUntil(() => listening.sockets.length > connectionsBefore, 'the server has the connection').then(
    () => listening.sockets.at(-1)!,
  );
  return { socket, answer, closed, serverSide };
}

describe('when a refused client reads its answer only once it has sent its whole body', () => {
  it('then the answer is still there to read', async () => {
    const rest = 1 * MiB;
    const announced = filePartHeader('forged.jpg').length + JPEG_START.length + rest;
    const { socket, answer, serverSide: connection } = startForgedUpload(app, announced);
    // Such a client does not read while it sends: the answer waits in its system's buffer.
    socket.pause();
    const serverSide = await connection;
    await waitUntil(() => serverSide.bytesWritten > 0, 'the server has answered');
    for (let sent = 0; sent < rest; sent += 64 * KiB) socket.write(Buffer.alloc(64 * KiB, 0x20));
    // A server that closed at once resets the connection now, and the answer is dropped with it.
    await waitUntil(() => serverSide.destroyed || serverSide.bytesRead >= announced, 'the server has read the body, or closed');
    socket.resume();
    assert.match(await answer, /^HTTP\/1\.1 403 /);
    socket.destroy();
  });
});

describe('when a refused client keeps sending', () => {
  it(`then the server reads at most ${REFUSED_BODY_BOUNDS.maxBytes / MiB} MiB more and closes the connection`, async () => {
    const { socket, answer, closed, serverSide: connection } = startForgedUpload(app, 256 * MiB);
    assert.match(await answer, /^HTTP\/1\.1 403 /);
    const serverSide = await connection;
    const readAtAnswer = serverSide.bytesRead;
    let sent = 0;
    let open = true;
    void closed.then(() => (open = false));
    const filler = Buffer.alloc(64 * KiB, 0x20);
    while (open && sent < 256 * MiB) {
      sent += filler.length;
      if (!socket.write(filler)) await Promise.race([once(socket, 'drain').catch(() => {}), closed]);
    }
    await closed;
    assert.ok(sent < 64 * MiB, `the client could send ${sent / MiB} MiB`);
    const discarded = serverSide.bytesRead - readAtAnswer;
    assert.ok(discarded <= REFUSED_BODY_BOUNDS.maxBytes + 256 * KiB, `the server read ${discarded / MiB} MiB after its answer`);
  });

  it(`then a client that sends slowly is cut off ${REFUSED_BODY_BOUNDS.maxMs / 1000} s after its answer`, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { socket, answer, closed } = startForgedUpload(app, 10 * MiB);
    assert.match(await answer, /^HTTP\/1\.1 403 /);
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    // A few bytes now and then keep the connection busy: only the time bound ends it.
    t.mock.timers.tick(REFUSED_BODY_BOUNDS.maxMs - 1);
    socket.write('more');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(isClosed, false, 'still open just before the bound');
    t.mock.timers.tick(1);
    // At once, not when the idle connection would time out (seconds later, on the real clock).
    const closedAtOnce = await Promise.race([closed.then(() => true), once(AbortSignal.timeout(1_000), 'abort').then(() => false)]);
    assert.ok(closedAtOnce, 'closed at the bound');
  });
});
