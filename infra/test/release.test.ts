// Tests the release build on a small throwaway package: npm run build, npm pack, the release id, and each way it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { buildRelease, releaseIdFor, releaseObjectPrefix, RELEASE_LOCKFILE, RELEASE_TARBALL } from '../release.js';

function fakeRepo(buildScript: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fake-release-'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'fake-app', version: '1.2.3', private: true, files: ['dist'], scripts: { build: buildScript } }),
  );
  writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion":3}\n');
  return dir;
}

const EMIT_SERVER = `node -e "require('fs').mkdirSync('dist/src',{recursive:true});require('fs').writeFileSync('dist/src/server.js','')"`;

/** Runs `action` with PATH set to `path`, restored after. */
async function withPath<T>(path: string, action: () => Promise<T>): Promise<T> {
  const original = process.env.PATH;
  process.env.PATH = path;
  try {
    return await action();
  } finally {
    process.env.PATH = original;
  }
}

/** Runs `action` with an `npm` first on PATH that runs `script` (POSIX sh), for what the real npm will not do on request. */
async function withFakeNpm<T>(script: string, action: () => Promise<T>): Promise<T> {
  const bin = mkdtempSync(join(tmpdir(), 'fake-npm-'));
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return withPath(`${bin}${delimiter}${process.env.PATH}`, action);
}

test('when the build emits dist/src/server.js, then the release is the packed tarball, the lockfile and a content-hashed id', async () => {
  const repo = fakeRepo(EMIT_SERVER);

  const release = await buildRelease(repo);

  assert.equal(release.id, releaseIdFor('1.2.3', release.tarball));
  assert.match(release.id, /^1\.2\.3-[0-9a-f]{12}$/);
  assert.deepEqual([...release.tarball.subarray(0, 2)], [0x1f, 0x8b]);
  assert.equal(Buffer.from(release.packageLock).toString('utf8'), '{"lockfileVersion":3}\n');
  assert.deepEqual(readdirSync(repo).sort(), ['dist', 'package-lock.json', 'package.json'], 'the tarball was packed elsewhere and removed');
});

test('when the release is packed, then the folder it was packed in is removed, also when the pack is refused', async () => {
  const tempParent = mkdtempSync(join(tmpdir(), 'release-temp-'));

  await buildRelease(fakeRepo(EMIT_SERVER), tempParent);
  await assert.rejects(buildRelease(fakeRepo('node -e ""'), tempParent), /has no dist\/src\/server\.js/);

  assert.deepEqual(readdirSync(tempParent), []);
});

test('when npm cannot be started, then the release stops with the reason instead of crashing', async () => {
  await withPath(join(tmpdir(), 'no-npm-here'), () => assert.rejects(buildRelease(fakeRepo(EMIT_SERVER)), /spawn npm ENOENT/));
});

test('when npm pack prints an empty list, then the release stops saying npm printed no package description', async () => {
  await withFakeNpm('[ "$1" = pack ] && echo "[]"; exit 0', async () => {
    await assert.rejects(buildRelease(fakeRepo(EMIT_SERVER)), /^Error: npm pack printed no package description$/);
  });
});

test('when npm packs, then it packs into a new folder under the given parent, reads no input, and its messages reach this terminal', async (t) => {
  // Linux's /proc shows which file each of npm's descriptors is; elsewhere the test has nothing to read.
  if (!existsSync('/proc/self/fd/2')) return t.skip('no /proc/self/fd to read npm’s descriptors from');
  const tempParent = mkdtempSync(join(tmpdir(), 'release-temp-'));
  const seen = join(mkdtempSync(join(tmpdir(), 'fake-npm-seen-')), 'pack.txt');
  const pack = [
    'if [ "$1" = pack ]; then',
    `  printf '%s\\n%s\\n%s\\n' "$4" "$(readlink /proc/self/fd/0)" "$(readlink /proc/self/fd/2)" > '${seen}'`,
    '  printf tarball > "$4/fake-app-1.2.3.tgz"',
    `  echo '[{"filename":"fake-app-1.2.3.tgz","version":"1.2.3","files":[{"path":"dist/src/server.js"}]}]'`,
    'fi',
  ].join('\n');

  const release = await withFakeNpm(pack, () => buildRelease(fakeRepo(EMIT_SERVER), tempParent));

  const [destination, stdin, stderr] = readFileSync(seen, 'utf8').split('\n');
  assert.equal(dirname(destination ?? ''), tempParent);
  assert.match(basename(destination ?? ''), /^s3-photo-share-release-\w{6}$/);
  assert.deepEqual([stdin, stderr], ['/dev/null', readlinkSync('/proc/self/fd/2')]);
  assert.equal(Buffer.from(release.tarball).toString('utf8'), 'tarball');
  assert.deepEqual(readdirSync(tempParent), []);
});

test('when the build does not emit dist/src/server.js, then the release is refused with what to check', async () => {
  await assert.rejects(
    buildRelease(fakeRepo('node -e ""')),
    /The packed release has no dist\/src\/server\.js: check that `npm run build` emits it and that package\.json "files" includes dist\/\./,
  );
});

test('when the build fails, then the release stops with npm’s exit code', async () => {
  await assert.rejects(buildRelease(fakeRepo('node -e "process.exit(3)"')), /^Error: npm run build exited with code 3/);
});

test('when a release id is made, then it is the version and the first 12 hex digits of the tarball’s SHA-256', () => {
  assert.equal(releaseIdFor('1.0.0', Buffer.from('abc')), '1.0.0-ba7816bf8f01');
  assert.equal(releaseObjectPrefix('releases/demo/', '1.0.0-ba7816bf8f01'), 'releases/demo/1.0.0-ba7816bf8f01/');
  assert.deepEqual([RELEASE_TARBALL, RELEASE_LOCKFILE], ['app.tgz', 'package-lock.json']);
});
