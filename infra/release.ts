// Builds the app release on the operator's machine (npm run build + npm pack) and names where it lives in the bucket.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ReleaseArtifact {
  /** `<version>-<sha256 prefix>`: a new build never overwrites the objects an existing instance was started from. */
  id: string;
  tarball: Uint8Array;
  /** npm pack always leaves package-lock.json out, and the instance's `npm ci --omit=dev` needs it. */
  packageLock: Uint8Array;
}

export const RELEASE_TARBALL = 'app.tgz';
export const RELEASE_LOCKFILE = 'package-lock.json';

/** The S3 prefix of one release, under the stack's release prefix; user-data appends the two file names above. */
export function releaseObjectPrefix(stackReleasePrefix: string, releaseId: string): string {
  return `${stackReleasePrefix}${releaseId}/`;
}

export function releaseIdFor(version: string, tarball: Uint8Array): string {
  return `${version}-${createHash('sha256').update(tarball).digest('hex').slice(0, 12)}`;
}

interface PackResult {
  filename: string;
  version: string;
  files: { path: string }[];
}

/** `tempParent` holds the pack's folder while it is read (the system's temporary folder unless a test gives its own). */
export async function buildRelease(repoRoot: string, tempParent = tmpdir()): Promise<ReleaseArtifact> {
  await runNpm(['run', 'build'], repoRoot);
  const destination = await mkdtemp(join(tempParent, 's3-photo-share-release-'));
  try {
    const packOutput = await runNpm(['pack', '--json', '--pack-destination', destination], repoRoot);
    const [pack] = JSON.parse(packOutput) as PackResult[];
    if (!pack) throw new Error('npm pack printed no package description');
    if (!pack.files.some((file) => file.path === 'dist/src/server.js')) {
      throw new Error(
        'The packed release has no dist/src/server.js: check that `npm run build` emits it and that package.json "files" includes dist/.',
      );
    }
    const tarball = await readFile(join(destination, pack.filename));
    const packageLock = await readFile(join(repoRoot, 'package-lock.json'));
    return { id: releaseIdFor(pack.version, tarball), tarball, packageLock };
  } finally {
    await rm(destination, { recursive: true, force: true });
  }
}

/** Runs npm with its progress on the operator's terminal and returns what it printed on stdout. */
function runNpm(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // npm is npm.cmd on Windows, which only a shell can start.
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], shell: process.platform === 'win32' });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`npm ${args.join(' ')} exited with code ${code}\n${stdout}`)),
    );
  });
}
