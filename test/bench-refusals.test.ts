// `npm run bench` says which of the app's limits refused it: each limit's refusal has a title of its own,
// and the benchmark's error names the limit (and the setting) behind it, never another one.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { describeRefusal, NO_FORM_PASS, uploadPhoto } from '../scripts/bench/http-client.js';
import { type AppError, TooManyRequests } from '../src/errors.js';
import { ClientImagesWaiting, ImageQueueFull, UploadQuotaExceeded, UploadsBusy } from '../src/photos/errors.js';
import { StorageUnavailable } from '../src/storage/errors.js';

/** Each limit an upload can pass, and the words the benchmark's error must hold for it. */
const LIMITS: [AppError, RegExp][] = [
  [new TooManyRequests('uploads', 60), /UPLOADS_PER_HOUR/],
  [new UploadQuotaExceeded(256 * 1024 * 1024), /UPLOAD_MB_IN_PROGRESS_PER_CLIENT/],
  [new ClientImagesWaiting(10), /waiting for their images \(one upload's worth, MAX_FILES_PER_UPLOAD\)/],
  [new UploadsBusy(), /UPLOAD_MB_IN_PROGRESS\)/],
  [new ImageQueueFull(), /photos waiting for their images on the server/],
  [new StorageUnavailable('PutObject', new Error('timed out')), /S3_TIMEOUT_SECONDS/],
];

describe('when the benchmark is refused by one of the app’s limits', () => {
  it('then each limit’s refusal has a title of its own', () => {
    const titles = LIMITS.map(([error]) => error.title);
    assert.equal(new Set(titles).size, titles.length, titles.join(', '));
  });

  it('then its error quotes the app’s answer and names that limit only', () => {
    for (const [error, named] of LIMITS) {
      const described = describeRefusal(JSON.stringify({ error: { title: error.title, message: error.message } }));
      assert.ok(described.startsWith(`"${error.title}": ${error.message} The limit passed is `), described);
      assert.match(described, named);
      for (const [other, otherNamed] of LIMITS)
        if (other !== error) assert.doesNotMatch(described, otherNamed, `${error.title}: ${described}`);
    }
  });

  it('then an answer that is not the app’s JSON is shown as it came', () => {
    assert.equal(describeRefusal('<html>Bad Gateway</html>'), '<html>Bad Gateway</html>');
  });
});

describe('when the connection is closed under one of the benchmark’s uploads', () => {
  // On a loaded machine `npm run bench` once failed with a bare "fetch failed" (EPIPE): the error must say which of
  // the app's limits close a connection, and where each is set, so the next reader does not guess.
  it('then its error names each limit of the app that closes a connection, with its value and where it is set', async () => {
    const server = createServer((req) => req.socket.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const bytes = Buffer.alloc(4 * 1024 * 1024);
      const upload = uploadPhoto(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        { name: 'a.jpg', path: '', bytes },
        NO_FORM_PASS,
      );
      await assert.rejects(upload, (error: Error) => {
        assert.match(
          error.message,
          /^POST \/photos got no answer: the connection was closed while the upload was being sent \((EPIPE|ECONNRESET|other side closed)\)/,
        );
        assert.match(error.message, /4 MiB or 10 s \(REFUSED_BODY_BOUNDS, src\/http\/refused-body\.ts\)/);
        assert.match(error.message, /idle for 65 s \(KEEP_ALIVE_TIMEOUT_MS, src\/http\/keep-alive\.ts\)/);
        return true;
      });
    } finally {
      server.close();
    }
  });
});
