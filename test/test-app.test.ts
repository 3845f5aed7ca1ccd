// The test harness itself (test/support/test-app.ts): a test app that cannot start leaves nothing behind, no
// emulator listening, no folder, no changed environment, so the next test file starts from a clean process.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestAppOptions } from './support/test-app.js';

/** Servers listening in this process (the S3 emulator is one). */
function listeningServers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'TCPServerWrap').length;
}

describe('when the test app cannot start', () => {
  let tempRoot: string;
  let tmpdirBefore: string | undefined;
  before(async () => {
    // The harness makes its folders under os.tmpdir(): a folder of this test's own, so other runs' folders do not count.
    tempRoot = await mkdtemp(path.join(os.tmpdir(), 'test-app-harness-'));
    tmpdirBefore = process.env.TMPDIR;
    process.env.TMPDIR = tempRoot;
  });
  after(async () => {
    if (tmpdirBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdirBefore;
    await rm(tempRoot, { recursive: true, force: true });
  });

  const failures: [string, TestAppOptions, RegExp][] = [
    ['its config is refused', { env: { MAX_UPLOAD_MB: 'lots' } }, /MAX_UPLOAD_MB/],
    [
      'what it puts between the app and S3 fails',
      {
        appS3Endpoint: async () => {
          throw new Error('the fault proxy could not start');
        },
      },
      /the fault proxy could not start/,
    ],
  ];
  for (const [what, options, error] of failures) {
    it(`when ${what}, then its error is thrown and no emulator, folder or environment change is left`, async () => {
      const serversBefore = listeningServers();
      const environmentBefore = { ...process.env };
      await assert.rejects(startTestApp(options), error);
      assert.equal(listeningServers(), serversBefore, 'no emulator is left listening');
      assert.deepEqual(await readdir(tempRoot), [], 'no folder is left');
      assert.deepEqual({ ...process.env }, environmentBefore, 'the environment is as it was');
    });
  }

  it('then a test app that starts is counted by the same checks (they can fail)', async () => {
    const serversBefore = listeningServers();
    const testApp = await startTestApp();
    assert.equal(listeningServers(), serversBefore + 1, 'the emulator listens');
    assert.equal((await readdir(tempRoot)).length, 1, 'its folder is there');
    await testApp.close();
    assert.equal(listeningServers(), serversBefore);
    assert.deepEqual(await readdir(tempRoot), []);
  });
});
