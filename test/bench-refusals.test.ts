// `npm run bench` says which of the app's limits refused it: each limit's refusal has a title of its own,
// and the benchmark's error names the limit (and the setting) behind it, never another one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeRefusal } from '../scripts/bench/http-client.js';
import { type AppError, TooManyRequests } from '../src/errors.js';
import { ClientImagesWaiting, ImageQueueFull, UploadQuotaExceeded, UploadsBusy } from '../src/photos/errors.js';

/** Each limit an upload can pass, and the words the benchmark's error must hold for it. */
const LIMITS: [AppError, RegExp][] = [
  [new TooManyRequests('uploads', 60), /UPLOADS_PER_HOUR/],
  [new UploadQuotaExceeded(256 * 1024 * 1024), /UPLOAD_MB_IN_PROGRESS_PER_CLIENT/],
  [new ClientImagesWaiting(10), /waiting for their images \(one upload's worth, MAX_FILES_PER_UPLOAD\)/],
  [new UploadsBusy(), /UPLOAD_MB_IN_PROGRESS\)/],
  [new ImageQueueFull(), /photos waiting for their images on the server/],
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
