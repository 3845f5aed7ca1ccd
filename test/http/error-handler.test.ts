// How the one error handler logs a failure whose client has gone: the app's own fault is still an error with its
// stack (the fault is the app's whether or not anyone waits for the answer); a refusal stays an info line.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PhotoNotFound } from '../../src/photos/errors.js';
import { startTestApp, type TestApp, logLineCollector } from '../support/test-app.js';
import { waitUntil } from '../support/waiting.js';

interface LogEntry {
  level: number;
  msg: string;
  err?: { type: string; message: string; stack?: string };
  reason?: string;
}

const { lines: logLines, destination: logDestination } = logLineCollector();
let testApp: TestApp;
let server: Server;
const sockets: Socket[] = [];
/** While set, the gallery's listing waits for it, then fails with its `failure`. */
let heldListing: { entered: boolean; release: () => void; released: Promise<void>; failure: Error } | undefined;

before(async () => {
  testApp = await startTestApp({
    logDestination,
  });
  testApp.s3.middlewareStack.add(
    (next, context) => async (args) => {
      const held = heldListing;
      if (!held || context.commandName !== 'ListObjectsV2Command') return next(args);
      held.entered = true;
      await held.released;
      throw held.failure;
    },
    { step: 'initialize', name: 'failListingAsABug' },
  );
  server = testApp.app.listen(0, '127.0.0.1');
  server.on('connection', (socket) => sockets.push(socket));
  await once(server, 'listening');
});
after(async () => {
  heldListing?.release();
  server.close();
  await testApp.close();
});

/** GETs the gallery, leaves once its listing is held, then lets the listing fail with `failure`: the log's lines then. */
async function failAfterClientLeft(failure: Error): Promise<LogEntry[]> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  heldListing = { entered: false, release, released, failure };
  try {
    const { port } = server.address() as { port: number };
    const client = http.get({ host: '127.0.0.1', port, path: '/' });
    client.on('error', () => {});
    await waitUntil(() => heldListing!.entered, 'the gallery at its listing');
    const serverSide = sockets.at(-1)!;
    client.destroy();
    if (!serverSide.destroyed) await once(serverSide, 'close');
    logLines.length = 0;
    release();
    await waitUntil(() => logLines.some((line) => (JSON.parse(line) as LogEntry).level >= 30), 'the failure logged');
    return logLines.map((line) => JSON.parse(line) as LogEntry).filter((entry) => entry.level >= 30);
  } finally {
    heldListing = undefined;
  }
}

describe('when the app fails (a 500) after its client has gone', () => {
  it('then the failure is logged as an error with its stack, not as an info line about the client', async () => {
    const entries = await failAfterClientLeft(new TypeError('listing.Contents.map is not a function (a bug)'));
    assert.equal(entries.length, 1, JSON.stringify(entries));
    const [entry] = entries as [LogEntry];
    assert.equal(entry.level, 50, `logged at level ${entry.level}: ${entry.msg}`);
    assert.equal(entry.err?.type, 'TypeError');
    assert.match(entry.err?.stack ?? '', /^TypeError: listing\.Contents\.map is not a function \(a bug\)\n {4}at /);
  });
});

describe('when a request is refused after its client has gone', () => {
  it("then it stays one info line about the client, by the refusal's title", async () => {
    const entries = await failAfterClientLeft(new PhotoNotFound());
    assert.deepEqual(
      entries.map(({ level, msg, reason }) => ({ level, msg, reason })),
      [{ level: 30, msg: 'client went away before the answer', reason: 'Photo not found' }],
    );
  });
});
