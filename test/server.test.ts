// The real entry points as processes: `npm start`'s server.ts refuses bad configuration and shuts down
// cleanly mid-upload; `npm run dev` serves a gallery that takes an upload and serves it back byte for
// byte; `npm run dev:ec2` runs the app on IMDS role credentials alone.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { emulatorClientEnvironment, startS3Emulator } from '../scripts/emulators/s3.js';
import { fullSizeLink, imageSources } from '../scripts/support/html.js';
import { freePort, killGroup, openGalleryForm, run, waitFor } from './support/processes.js';
import { FORM_TAIL, formHead, openHandSentUpload } from './support/hand-sent-upload.js';
import { listKeys, waitUntil } from './support/waiting.js';
import { fixture } from './support/test-app.js';

/** `npm run dev` (or `dev:ec2` with --as-ec2) on free ports, its emulator data in `dataDir`. */
async function startDevScript(dataDir: string, scriptArgs: string[] = []) {
  return run(
    'scripts/dev.ts',
    { PORT: String(await freePort()), S3_EMULATOR_PORT: String(await freePort()), S3_EMULATOR_DIR: dataDir },
    ['--openssl-legacy-provider'],
    scriptArgs,
  );
}

describe('when server.ts starts with bad configuration', () => {
  it('then it exits with code 78 and one message naming every variable to fix', async () => {
    const server = run('src/server.ts', { PORT: 'eighty' });
    const [code] = await once(server, 'exit');
    assert.equal(code, 78);
    assert.match(server.output(), /S3_BUCKET is not set/);
    assert.match(server.output(), /AWS_REGION is not set/);
    assert.match(server.output(), /PORT="eighty" is not valid/);
    assert.doesNotMatch(server.output(), /\n\s+at /, 'no stack trace');
  });
});

describe('when server.ts is given an upload temp folder that is not its own', () => {
  it('then it exits with code 78 before listening, naming UPLOAD_TEMP_DIR and what is wrong', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-tempdir-'));
    try {
      const link = path.join(dataDir, 'uploads');
      await symlink(dataDir, link);
      const server = run('src/server.ts', {
        S3_BUCKET: 'photos',
        AWS_REGION: 'us-east-1',
        PORT: String(await freePort()),
        UPLOAD_TEMP_DIR: link,
      });
      const [code] = await once(server, 'exit');
      assert.equal(code, 78);
      assert.match(server.output(), /UPLOAD_TEMP_DIR \S+uploads is a symbolic link/);
      assert.doesNotMatch(server.output(), /is listening/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('when server.ts listens on an IPv6 address and a port the system picks', () => {
  it('then the address it prints is one a browser can open', async () => {
    const server = run('src/server.ts', { S3_BUCKET: 'photos', AWS_REGION: 'us-east-1', HOST: '::1', PORT: '0' });
    try {
      const [, url] = await waitFor(server, /is listening on (http:\/\/[^\s"]+)/);
      assert.match(url!, /^http:\/\/\[::1\]:[1-9]\d*$/);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    } finally {
      killGroup(server);
    }
  });
});

describe('when npm run dev is given a configuration the app refuses', () => {
  it('then it prints the app’s message alone, no URL, and exits with its code', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-dev-'));
    try {
      const dev = run(
        'scripts/dev.ts',
        { PORT: String(await freePort()), S3_EMULATOR_PORT: String(await freePort()), S3_EMULATOR_DIR: dataDir, MAX_UPLOAD_MB: 'lots' },
        ['--openssl-legacy-provider'],
      );
      const [code] = await once(dev, 'exit');
      assert.equal(code, 78);
      assert.equal(
        dev.output(),
        'The app cannot start: fix these environment variables.\n' +
          '  - MAX_UPLOAD_MB="lots" is not valid: set it to a whole number of megabytes (MiB) from 1 to 200, or unset it for 25.\n',
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('when npm run dev starts on a fresh machine', () => {
  it('then the printed URL serves the gallery, a curl -F upload appears, its full-size image has the pixels that were sent, and Ctrl-C stops both', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-dev-'));
    const dev = await startDevScript(dataDir);
    try {
      const [, appUrl] = await waitFor(dev, /App: (http:\/\/127\.0\.0\.1:\d+)/);
      // The URL is printed once the app listens: a browser that opens it at once is answered.
      assert.equal((await fetch(`${appUrl}/healthz`)).status, 200);
      assert.ok(dev.output().indexOf('is listening on') < dev.output().indexOf('App: '), dev.output());
      const photo = await fixture('square.png');
      const { cookie, token, html } = await openGalleryForm(appUrl!);
      assert.match(html, /No photos yet/);
      const form = new FormData();
      form.append('_csrf', token);
      form.append('caption', 'from the dev test');
      form.append('photos', new Blob([new Uint8Array(photo)], { type: 'image/png' }), 'square.png');
      const upload = await fetch(`${appUrl}/photos`, { method: 'POST', body: form, redirect: 'manual', headers: { cookie } });
      assert.equal(upload.status, 303);
      const photoPage = await (await fetch(`${appUrl}${upload.headers.get('location')}`)).text();
      // "Full-size image" opens the viewer in the app; its image is the full-size one.
      const viewer = await (await fetch(`${appUrl}${fullSizeLink(photoPage)}`)).text();
      const fullSize = imageSources(viewer)[0]!;
      const served = Buffer.from(await (await fetch(fullSize)).arrayBuffer());
      const [sent, got] = await Promise.all([sharp(photo).raw().toBuffer(), sharp(served).raw().toBuffer()]);
      assert.ok(sent.equals(got), 'the PNG is re-encoded with the same pixels');
      assert.match(await (await fetch(`${appUrl}/`)).text(), new RegExp(upload.headers.get('location')!));

      dev.kill('SIGINT');
      const [code] = await once(dev, 'exit');
      assert.equal(code, 0);
      await assert.rejects(fetch(`${appUrl}/healthz`), 'the app is stopped');
    } finally {
      if (dev.exitCode === null) process.kill(-dev.pid!, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** server.ts as its own process on an S3 emulator with bucket `stop-test`, ready, with a browser's form pass. */
async function startServerProcess(env: Record<string, string> = {}) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-stop-'));
  const tempDir = path.join(dataDir, 'uploads');
  const emulator = await startS3Emulator({ directory: path.join(dataDir, 's3'), buckets: ['stop-test'] });
  const port = await freePort();
  const server = run('src/server.ts', {
    ...emulatorClientEnvironment(emulator),
    S3_BUCKET: 'stop-test',
    PORT: String(port),
    UPLOAD_TEMP_DIR: tempDir,
    ...env,
  });
  const stop = async () => {
    killGroup(server);
    await emulator.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(server, /is listening on/);
    return { server, port, tempDir, emulator, stop, ...(await openGalleryForm(`http://127.0.0.1:${port}`)) };
  } catch (error) {
    await stop();
    throw error;
  }
}

describe('when a client or the load balancer reuses a connection that has been idle for a while', () => {
  // An ALB keeps an idle connection to its target for up to 60 s (its default idle timeout) and may send the next
  // request on it; a client whose process was busy reads an answer late and posts at once on the same connection.
  // Node closes an idle connection after 5 s: a request that arrives as it closes is reset (a 502 from the ALB,
  // EPIPE in Node's fetch: what `npm run bench` met on a loaded machine). The app keeps idle connections longer.
  it('then it announces a keep-alive longer than the ALB idle timeout, and an upload sent after 6 s idle is answered', async () => {
    const { port, cookie, token, stop } = await startServerProcess();
    try {
      const connection = connect({ host: '127.0.0.1', port });
      await once(connection, 'connect');
      const answers = readAnswers(connection);
      connection.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      const health = await answers.next();
      assert.match(health, /^HTTP\/1\.1 200 /);
      const announced = Number(/\r\nKeep-Alive: timeout=(\d+)\r\n/i.exec(health)?.[1]);
      assert.ok(announced > ALB_DEFAULT_IDLE_TIMEOUT_SECONDS, `Keep-Alive: timeout=${announced}`);

      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const photo = await fixture('landscape.jpg');
      const body = Buffer.concat([formHead(token), photo, FORM_TAIL]);
      connection.write(
        `POST /photos HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\nAccept: application/json\r\n` +
          `Content-Type: multipart/form-data; boundary=hand-sent-upload\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      connection.write(body);
      assert.match(await answers.next(), /^HTTP\/1\.1 201 /, 'the upload is answered on the reused connection');
      connection.destroy();
    } finally {
      await stop();
    }
  });
});

/** An ALB closes a connection idle for this long unless told otherwise (its `idle_timeout.timeout_seconds`). */
const ALB_DEFAULT_IDLE_TIMEOUT_SECONDS = 60;

/** The answers arriving on a raw connection, one at a time (each with a Content-Length); rejects if it closes first. */
function readAnswers(connection: Socket) {
  let received = Buffer.alloc(0);
  let closed = false;
  const waiting: (() => void)[] = [];
  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve();
  };
  connection.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    wake();
  });
  connection.on('error', () => {});
  connection.on('close', () => {
    closed = true;
    wake();
  });
  return {
    async next(): Promise<string> {
      for (;;) {
        const headEnd = received.indexOf('\r\n\r\n');
        if (headEnd >= 0) {
          const head = received.subarray(0, headEnd).toString('latin1');
          const length = Number(/\r\nContent-Length: (\d+)/i.exec(head)?.[1] ?? 0);
          const end = headEnd + 4 + length;
          if (received.length >= end) {
            const answer = received.subarray(0, end).toString('utf8');
            received = received.subarray(end);
            return answer;
          }
        }
        if (closed) throw new Error('the app closed the connection before answering');
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
    },
  };
}

describe('when server.ts gets SIGTERM while an upload is still arriving', () => {
  it('then the upload completes, new connections are refused, and the process exits 0', async () => {
    const { server, port, tempDir, cookie, token, stop } = await startServerProcess();
    try {
      const photo = await fixture('landscape.jpg');
      const head = formHead(token);
      const { request: upload, answered } = openHandSentUpload({
        port,
        cookie,
        contentLength: head.length + photo.length + FORM_TAIL.length,
      });
      upload.write(Buffer.concat([head, photo.subarray(0, 1000)]));
      await waitUntil(async () => (await readdir(tempDir).catch(() => [])).length > 0, 'the upload is arriving');

      server.kill('SIGTERM');
      await waitFor(server, /shutting down/);
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'no new connections once stopping');
      upload.end(Buffer.concat([photo.subarray(1000), FORM_TAIL]));

      const response = await answered;
      const answeredAt = Date.now();
      assert.equal(response.statusCode, 303, 'the in-flight upload finished');
      const [code] = await once(server, 'exit');
      assert.equal(code, 0);
      // Its connection is idle now: closed at once, not kept for the next request (KEEP_ALIVE_TIMEOUT_MS).
      assert.ok(Date.now() - answeredAt < 5_000, `exited ${Date.now() - answeredAt} ms after the answer`);
    } finally {
      await stop();
    }
  });
});

describe('when server.ts gets SIGTERM while a form that is not an upload is still arriving', () => {
  it('then it is answered, its connection is closed once idle (not kept alive for the next request), and the process exits 0', async () => {
    const { server, port, cookie, token, stop } = await startServerProcess();
    try {
      const connection = connect({ host: '127.0.0.1', port });
      await once(connection, 'connect');
      const answers = readAnswers(connection);
      const body = `_csrf=${encodeURIComponent(token)}`;
      connection.write(
        `POST /photos/8203500235903-a6cf66bcf022/delete HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\n` +
          `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 3)}`,
      );
      server.kill('SIGTERM');
      await waitFor(server, /shutting down/);
      connection.write(body.slice(3));
      assert.match(await answers.next(), /^HTTP\/1\.1 404 /, 'the form in flight is answered');
      const answeredAt = Date.now();
      const [code] = await once(server, 'exit');
      assert.equal(code, 0);
      assert.ok(Date.now() - answeredAt < 5_000, `exited ${Date.now() - answeredAt} ms after the answer`);
    } finally {
      await stop();
    }
  });
});

describe('when server.ts gets SIGTERM while a slow upload is still arriving', () => {
  it('then the upload is answered 503 within the shutdown grace, leaves nothing behind, and the process exits', async () => {
    const graceSeconds = 2;
    const { server, port, tempDir, emulator, cookie, token, stop } = await startServerProcess({
      SHUTDOWN_GRACE_SECONDS: String(graceSeconds),
    });
    try {
      const photo = await fixture('landscape.jpg');
      const { request: upload, answered } = openHandSentUpload({ port, cookie, json: true, contentLength: 10 * photo.length });
      upload.write(Buffer.concat([formHead(token), photo.subarray(0, 1000)]));
      await waitUntil(async () => (await readdir(tempDir).catch(() => [])).length > 0);

      const stoppedAt = Date.now();
      server.kill('SIGTERM');
      const response = await answered; // the client never sends the rest
      const answeredAfter = Date.now() - stoppedAt;
      assert.equal(response.statusCode, 503);
      assert.ok(answeredAfter < graceSeconds * 1000 + 1500, `answered ${answeredAfter} ms after SIGTERM; the grace is ${graceSeconds} s`);
      let body = '';
      for await (const chunk of response) body += chunk;
      assert.match(body, /The server is restarting/);
      await once(server, 'exit');
      assert.deepEqual(await readdir(tempDir), [], 'no temporary file left');
      assert.deepEqual(await listKeys(emulator.endpoint, 'stop-test'), [], 'nothing stored');
    } finally {
      await stop();
    }
  });
});

describe('when server.ts gets SIGTERM while the images of an upload are being made', () => {
  it('then the upload is answered 503 within the grace, and the process exits 0 having removed what it wrote', async () => {
    const graceSeconds = 1;
    const { server, port, tempDir, emulator, cookie, token, stop } = await startServerProcess({
      SHUTDOWN_GRACE_SECONDS: String(graceSeconds),
    });
    try {
      // Ten noisy WebP photos: re-encoding them takes seconds, far longer than the grace.
      const noisy = await sharp({
        create: { width: 2600, height: 2000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
      })
        .webp({ quality: 90 })
        .toBuffer();
      const form = new FormData();
      form.append('_csrf', token);
      for (let index = 0; index < 10; index++) form.append('photos', new Blob([new Uint8Array(noisy)]), `noisy-${index}.webp`);
      const answer = fetch(`http://127.0.0.1:${port}/photos`, {
        method: 'POST',
        body: form,
        headers: { cookie, accept: 'application/json' },
      });
      // Every file received, the images under way: the first full-size image is being written.
      await waitUntil(
        async () => (await readdir(tempDir).catch(() => [] as string[])).some((name) => name.endsWith('.full')),
        'the images under way',
        20_000,
      );

      const stoppedAt = Date.now();
      server.kill('SIGTERM');
      const response = await answer;
      const answeredAfter = Date.now() - stoppedAt;
      assert.equal(response.status, 503);
      assert.match(JSON.stringify(await response.json()), /The server is restarting/);
      assert.ok(answeredAfter < graceSeconds * 1000 + 1500, `answered ${answeredAfter} ms after SIGTERM; the grace is ${graceSeconds} s`);
      const [code] = await once(server, 'exit');
      assert.equal(code, 0, server.output());
      assert.deepEqual(await readdir(tempDir), [], 'no temporary file left');
      assert.deepEqual(await listKeys(emulator.endpoint, 'stop-test'), [], 'nothing stored');
    } finally {
      await stop();
    }
  });
});

describe('when npm run dev:ec2 runs', () => {
  it('then the app has no keys, gets role credentials from the IMDS emulator, and S3 accepts them', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-ec2-'));
    const dev = await startDevScript(dataDir, ['--as-ec2']);
    try {
      const [, appUrl] = await waitFor(dev, /App: (http:\/\/127\.0\.0\.1:\d+)/);
      await waitFor(dev, /is listening on/);
      const readiness = await fetch(`${appUrl}/readyz`);
      assert.equal(readiness.status, 200, await readiness.text());
      const about = await (await fetch(`${appUrl}/about`)).text();
      assert.match(about, /<dd id="credential-source">EC2 instance metadata \(IMDS\)/);
      assert.match(about, /ASIA…/);
      assert.match(dev.output(), /\[imds\] IMDS served role s3-photo-share-role credentials ASIA…/);
    } finally {
      if (dev.exitCode === null) process.kill(-dev.pid!, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
