// Real processes for tests: the app's entry points and the S3 emulator, each in a process of its own
// (so a test can SIGTERM or kill -9 it), on free 127.0.0.1 ports.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formToken } from '../../scripts/support/html.js';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type RunningScript = ChildProcess & { output: () => string };

/** Runs a TypeScript entry point with Node and tsx, in its own process group, collecting its output. */
export function run(script: string, env: Record<string, string>, nodeFlags: string[] = [], scriptArgs: string[] = []): RunningScript {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...scriptArgs], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, so a failed test can stop the script and whatever it started together.
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return Object.assign(child, { output: () => output });
}

/** Waits until the process prints something matching `pattern`; fails with its output if it never does. */
export async function waitFor(child: RunningScript, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  // Checked on each piece of output as it arrives (not by polling), and once more when its output ends.
  const match = await new Promise<RegExpMatchArray | null>((resolve) => {
    const check = () => {
      const found = pattern.exec(child.output());
      if (found) finish(found);
    };
    const finish = (found: RegExpMatchArray | null) => {
      clearTimeout(timer);
      for (const stream of [child.stdout!, child.stderr!]) stream.off('data', check);
      child.off('close', onClose);
      resolve(found);
    };
    const onClose = () => finish(pattern.exec(child.output()));
    const timer = setTimeout(() => finish(null), timeoutMs);
    // Listeners added after `run`'s own, so the output they read already holds the new piece.
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', check);
    child.on('close', onClose);
    if (child.stdout!.closed && child.stderr!.closed) onClose();
    else check();
  });
  if (match) return match;
  assert.fail(`no ${pattern} in the output:\n${child.output()}`);
}

/** Stops a process group started by `run`, whatever state it is in. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  }
}

export { freePort } from '../../scripts/support/free-port.js';

/** As a browser (or curl with a cookie jar) does before posting a form: the gallery's cookies and form token. */
export async function openGalleryForm(appUrl: string): Promise<{ cookie: string; token: string; html: string }> {
  const gallery = await fetch(`${appUrl}/`);
  const cookie = gallery.headers
    .getSetCookie()
    .map((value) => value.split(';')[0])
    .join('; ');
  const html = await gallery.text();
  const token = formToken(html);
  assert.ok(token, 'the gallery carries a form token');
  return { cookie, token, html };
}

/** The S3 emulator as a process of its own (scripts/emulators/s3-process.ts), on `port`, its data in `directory`. */
export async function startEmulatorProcess(directory: string, bucket: string, port: number): Promise<RunningScript> {
  const child = run(
    'scripts/emulators/s3-process.ts',
    { S3_EMULATOR_PORT: String(port) },
    ['--openssl-legacy-provider'],
    [directory, bucket],
  );
  const [firstLine] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  assert.match(firstLine, /"endpoint"/, child.output());
  return child;
}
