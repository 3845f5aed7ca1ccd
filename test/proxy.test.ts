// Behind a real reverse proxy: Debian's nginx terminating TLS (a certificate the test makes) in front of the
// app with TRUST_PROXY=1. Cookies must be Secure, limits must count each real client, and an X-Forwarded-For
// that a client forges must not move its limit. Skipped, saying so, without nginx or openssl; under CI=true
// their absence is a failure.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from './support/processes.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { waitUntil } from './support/waiting.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((candidate) => existsSync(candidate));
const OPENSSL = ['/usr/bin/openssl'].find((candidate) => existsSync(candidate));
const skip =
  (!NGINX || !OPENSSL) && process.env.CI !== 'true'
    ? 'needs nginx and openssl (apt-get install nginx openssl); CI=true makes this a failure'
    : false;
const PAGE_VIEWS_PER_MINUTE = 3;

describe('when the app runs behind nginx terminating TLS, with TRUST_PROXY=1', { skip }, () => {
  let testApp: TestApp;
  let server: Server;
  let nginx: ChildProcess;
  let workDir: string;
  let proxyPort: number;
  let certificate: Buffer;

  before(async () => {
    assert.ok(NGINX, 'nginx is installed (apt-get install nginx)');
    assert.ok(OPENSSL, 'openssl is installed');
    workDir = await mkdtemp(path.join(os.tmpdir(), 's3-photo-share-proxy-'));
    execFileSync(
      OPENSSL,
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        path.join(workDir, 'key.pem'),
        '-out',
        path.join(workDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    certificate = await readFile(path.join(workDir, 'cert.pem'));

    testApp = await startTestApp({ env: { TRUST_PROXY: '1', PAGE_VIEWS_PER_MINUTE: String(PAGE_VIEWS_PER_MINUTE) } });
    server = testApp.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const appPort = (server.address() as { port: number }).port;

    proxyPort = await freePort();
    const temp = (name: string) => path.join(workDir, name);
    await writeFile(
      temp('nginx.conf'),
      `daemon off;
master_process off;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  server {
    listen 127.0.0.1:${proxyPort} ssl;
    ssl_certificate ${temp('cert.pem')};
    ssl_certificate_key ${temp('key.pem')};
    location / {
      proxy_pass http://127.0.0.1:${appPort};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
    );
    nginx = spawn(NGINX, ['-p', workDir, '-e', temp('error.log'), '-c', temp('nginx.conf')], { stdio: 'ignore' });
    await waitUntil(() => canConnect(proxyPort), `nginx listening on ${proxyPort}`);
  });

  after(async () => {
    nginx?.kill('SIGTERM');
    if (nginx) await once(nginx, 'exit');
    server?.closeAllConnections();
    server?.close();
    await testApp?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  /** A GET through nginx over HTTPS, from the loopback address `from`, with extra headers. */
  function getThroughProxy(from: string, headers: Record<string, string> = {}): Promise<{ status: number; cookies: string[] }> {
    return new Promise((resolve, reject) => {
      httpsGet({ host: '127.0.0.1', port: proxyPort, path: '/', localAddress: from, ca: certificate, headers }, (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, cookies: response.headers['set-cookie'] ?? [] }));
      }).on('error', reject);
    });
  }

  it('then over HTTPS every cookie is Secure', async () => {
    const { status, cookies } = await getThroughProxy('127.0.0.10');
    assert.equal(status, 200);
    assert.ok(cookies.length >= 2, 'the browser key and form token cookies');
    for (const cookie of cookies) assert.match(cookie, /;\s*Secure/i, cookie);
  });

  it('then the browser key is a __Host- cookie, which no other host can plant, and one planted without the prefix is ignored', async () => {
    const { cookies } = await getThroughProxy('127.0.0.11');
    const key = cookies.find((cookie) => cookie.startsWith('__Host-browser_key='));
    assert.ok(key, cookies.join('\n'));
    assert.match(key, /;\s*Path=\//i);
    assert.doesNotMatch(key, /;\s*Domain=/i);
    // A key set by a sibling subdomain (no prefix possible there) does not become this browser's key.
    const planted = 'A'.repeat(43);
    const again = await getThroughProxy('127.0.0.12', { Cookie: `browser_key=${planted}` });
    assert.ok(
      again.cookies.some((cookie) => cookie.startsWith('__Host-browser_key=') && !cookie.includes(planted)),
      again.cookies.join('\n'),
    );
  });

  it('then each client has its own limit, and a forged X-Forwarded-For does not move it', async () => {
    for (let i = 0; i < PAGE_VIEWS_PER_MINUTE; i++) assert.equal((await getThroughProxy('127.0.0.2')).status, 200);
    assert.equal((await getThroughProxy('127.0.0.2')).status, 429, 'the client over its limit');
    assert.equal(
      (await getThroughProxy('127.0.0.2', { 'X-Forwarded-For': '203.0.113.9' })).status,
      429,
      'a forged address does not reset it',
    );
    assert.equal((await getThroughProxy('127.0.0.3')).status, 200, 'another client is not affected');
    assert.equal(
      (await getThroughProxy('127.0.0.4', { 'X-Forwarded-For': '127.0.0.2' })).status,
      200,
      'nor blamed for an address it names',
    );
  });
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
