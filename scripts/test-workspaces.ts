// The last part of `npm test`: the tests of each workspace the root package.json names (infra/), after the app's. None named, none run.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const { workspaces = [] } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { workspaces?: string[] };
// `npm test --workspaces` alone would fail with "No workspaces found" once a forker deletes infra/ and its line.
if (workspaces.length > 0) {
  // npm is npm.cmd on Windows, which only a shell can start.
  const run = spawnSync('npm', ['test', '--workspaces'], { stdio: 'inherit', shell: process.platform === 'win32' });
  process.exitCode = run.status ?? 1;
}
