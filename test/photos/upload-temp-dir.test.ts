// The upload temp folder holds photos before anything checked them: it must be its user's alone, and a disk that
// refuses an upload is the server's fault (503), never the user's "malformed form".
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prepareUploadTempDir } from '../../src/photos/upload-temp-dir.js';
import { openBrowser } from '../support/browser.js';
import { fixture, startTestApp, type TestApp } from '../support/test-app.js';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'upload-temp-dir-test-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

const modeOf = async (dir: string) => (await stat(dir)).mode & 0o777;

describe('when the app prepares its upload temp folder', () => {
  it('then a missing folder is created for its user alone (0700), parents included', async () => {
    const dir = path.join(scratch, 'new', 'uploads');
    await prepareUploadTempDir(dir);
    assert.equal(await modeOf(dir), 0o700);
  });

  it('then a folder of its own left open to others is closed (0755 and 0777 become 0700)', async () => {
    for (const mode of [0o755, 0o777]) {
      const dir = path.join(scratch, `open-${mode.toString(8)}`);
      await mkdir(dir);
      await chmod(dir, mode);
      await prepareUploadTempDir(dir);
      assert.equal(await modeOf(dir), 0o700);
    }
  });

  it('then a symbolic link is refused, even to a folder of its own', async () => {
    const target = path.join(scratch, 'link-target');
    await mkdir(target, { mode: 0o700 });
    const link = path.join(scratch, 'link');
    await symlink(target, link);
    await assert.rejects(
      prepareUploadTempDir(link),
      /UPLOAD_TEMP_DIR .*link is a symbolic link\. .*set UPLOAD_TEMP_DIR to another absolute path/,
    );
  });

  it('then a file in its place is refused', async () => {
    const file = path.join(scratch, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(prepareUploadTempDir(file), /a-file is not a folder/);
  });

  it("then another user's folder is refused, whatever its mode", async () => {
    // As root, a folder given to nobody (65534); otherwise the system's temp folder itself, which root owns.
    const theirs = process.getuid?.() === 0 ? path.join(scratch, 'theirs') : os.tmpdir();
    if (process.getuid?.() === 0) {
      await mkdir(theirs, { mode: 0o700 });
      await chown(theirs, 65534, 65534);
    }
    const before = await stat(theirs);
    await assert.rejects(prepareUploadTempDir(theirs), /belongs to another user \(uid \d+, not \d+\)/);
    assert.equal((await stat(theirs)).mode, before.mode, 'and left as it was');
  });
});

describe('when the disk refuses an upload while it arrives', () => {
  let testApp: TestApp;
  before(async () => {
    testApp = await startTestApp();
  });
  after(() => testApp.close());

  it('then the upload gets a 503 saying nothing was stored, not a 400 blaming the form, and the app keeps serving', async () => {
    // A file where the temp folder should be: every write into it fails with a system error (ENOTDIR/EEXIST).
    await rm(testApp.tempDir, { recursive: true, force: true });
    await writeFile(testApp.tempDir, 'not a folder');
    try {
      const browser = await openBrowser(testApp.app);
      const keysBefore = await testApp.listAllKeys();
      const response = await browser
        .upload()
        .set('Accept', 'application/json')
        .attach('photos', await fixture('landscape.jpg'), 'a.jpg')
        .expect(503);
      assert.equal(response.body.error.title, 'Upload not kept');
      assert.match(response.body.error.message, /could not keep the upload while receiving it\. Nothing was stored/);
      assert.doesNotMatch(JSON.stringify(response.body), /ENOTDIR|EEXIST|mkdir|open|\//, 'no system detail or path');
      assert.deepEqual(await testApp.listAllKeys(), keysBefore);
    } finally {
      await rm(testApp.tempDir, { force: true });
    }
    await (await openBrowser(testApp.app)).agent.get('/').expect(200);
  });
});
