// Tests the infra command line's default dependencies: the real clients, the readiness probe over real HTTP with its real time limit, and the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultDeps } from '../cli.js';

test('when the default dependencies are built, then the clients use the region and readiness means a 200 without following redirects; a refused connection is not ready', async () => {
  const deps = defaultDeps('eu-west-2');
  assert.equal(await deps.aws.ec2.config.region(), 'eu-west-2');
  const statuses: Record<string, number> = { '/ok': 200, '/moved': 302, '/broken': 500 };
  const server = createServer((request, response) => response.writeHead(statuses[request.url ?? ''] ?? 404, { location: '/ok' }).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    assert.equal(await deps.probeReadiness(`http://127.0.0.1:${port}/ok`), 'ready');
    assert.equal(await deps.probeReadiness(`http://127.0.0.1:${port}/moved`), 'not-ready');
    assert.equal(await deps.probeReadiness(`http://127.0.0.1:${port}/broken`), 'not-ready');
  } finally {
    server.close();
  }
  assert.equal(await deps.probeReadiness(`http://127.0.0.1:${port}/ok`), 'not-ready');
  const before = deps.now();
  await deps.sleep(5);
  assert.ok(deps.now() >= before + 4);
  assert.ok(Math.abs(deps.now() - Date.now()) < 1_000, 'now is the wall clock');
});

test('when the app never answers in time, as behind a security group that drops this machine, then the probe says unreachable', async () => {
  const deps = defaultDeps('eu-west-2');
  // Accepts the connection and never answers: the only failure that ends in a timeout on loopback.
  const silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as AddressInfo;
  try {
    assert.equal(await deps.probeReadiness(`http://127.0.0.1:${port}/readyz`), 'unreachable');
  } finally {
    silent.closeAllConnections();
    silent.close();
  }
});

test('when the default dependencies log, then each line goes to standard output as it is', (t) => {
  const printed = t.mock.method(console, 'log', () => undefined);

  defaultDeps('eu-west-2').log('Created s3://demo-bucket');

  assert.deepEqual(
    printed.mock.calls.map((call) => call.arguments),
    [['Created s3://demo-bucket']],
  );
});
