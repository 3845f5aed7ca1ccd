// The app as on EC2: no keys, only an IMDSv2 endpoint. Credentials come through the token flow, rotate
// without a restart, and every IMDS fault gives a clear 503 and recovery. /about names the provider
// (environment, profile, instance metadata) and never shows a secret.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, afterEach, beforeEach, describe, it, mock } from 'node:test';
import request from 'supertest';
import { capUrlLifetime } from '../src/photos/url-lifetime.js';
import { connectImdsToS3Emulator, startImdsEmulator } from '../scripts/emulators/imds.js';
import { openBrowser } from './support/browser.js';
import { fixture, startTestApp, type TestApp } from './support/test-app.js';

const ROLE_PATH = '/latest/meta-data/iam/security-credentials/';
/** The default chain as /about lists it, in the order the SDK tries it. */
const CHAIN_IN_ORDER = [
  'Environment variables',
  'IAM Identity Center (SSO) profile',
  'Shared config or credentials file',
  'A credential_process command',
  'A web identity token file',
  'The container credentials endpoint',
  'EC2 instance metadata (IMDS)',
];

/** /about's list of the chain: each link's label, and which one is marked as the one that answered. */
function chainOnAboutPage(html: string): { links: string[]; answered: string[] } {
  const list = /<ol class="credential-chain"[^>]*>([\s\S]*?)<\/ol>/.exec(html)?.[1];
  assert.ok(list, '/about lists the credential chain');
  const items = [...list.matchAll(/<li([^>]*)>([\s\S]*?)<\/li>/g)].map(([, attributes, text]) => ({
    label: text!
      .replace(/<[^>]+>/g, '')
      .replace(/\s+/g, ' ')
      .trim(),
    answered: /aria-current="true"/.test(attributes!),
  }));
  return {
    links: items.map((item) => CHAIN_IN_ORDER.find((label) => item.label.startsWith(label)) ?? item.label),
    answered: items.filter((item) => item.answered).map((item) => item.label),
  };
}

/** An app whose only source of credentials is the IMDS emulator; its log is kept for secret checks. */
async function startAppOnImds(imdsOptions: Parameters<typeof startImdsEmulator>[0] = {}, env: Record<string, string> = {}) {
  const imds = await startImdsEmulator(imdsOptions);
  const log = new PassThrough();
  let logText = '';
  log.on('data', (chunk) => (logText += chunk));
  const testApp = await startTestApp({
    credentials: 'none',
    env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint, AWS_EC2_METADATA_V1_DISABLED: 'true', ...env },
    logDestination: log,
  });
  connectImdsToS3Emulator(imds, testApp.emulator);
  return {
    imds,
    testApp,
    logText: () => logText,
    async close() {
      await testApp.close();
      await imds.close();
    },
  };
}

async function uploadThroughApp(testApp: TestApp): Promise<void> {
  await (await openBrowser(testApp.app))
    .upload()
    .attach('photos', await fixture('landscape.jpg'), 'a.jpg')
    .expect(303);
}

describe('when the app runs with only an IMDSv2 endpoint', () => {
  let run: Awaited<ReturnType<typeof startAppOnImds>>;
  beforeEach(async () => {
    run = await startAppOnImds();
  });
  afterEach(() => run.close());

  it('then credentials come through the token flow, tokens required, and S3 requests are signed with the issued key', async () => {
    await request(run.testApp.app).get('/readyz').expect(200);
    const flow = run.imds.requests.map(
      (entry) => `${entry.method} ${entry.path.replace(/\/+/g, '/')} ${entry.tokenPresented ? 'token' : 'no-token'} ${entry.status}`,
    );
    assert.deepEqual(flow, [
      'PUT /latest/api/token no-token 200',
      `GET ${ROLE_PATH} token 200`,
      `GET ${ROLE_PATH}${run.imds.roleName} token 200`,
    ]);
    const issuedKey = run.imds.currentCredentials().accessKeyId;
    assert.match(issuedKey, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(run.testApp.emulator.signedBy.at(-1), issuedKey);
  });

  it('then the S3 client reuses its credentials instead of asking IMDS on every request', async () => {
    for (let i = 0; i < 20; i++) await request(run.testApp.app).get('/readyz').expect(200);
    assert.equal(run.imds.requests.length, 3, 'one token and two metadata GETs in all');
  });

  it('then /about names instance metadata, shows the key masked and when it expires, and no secret anywhere', async () => {
    const page = await request(run.testApp.app).get('/about').expect(200);
    const credentials = run.imds.currentCredentials();
    assert.match(page.text, /<dd id="credential-source">EC2 instance metadata \(IMDS\)/);
    assert.ok(page.text.includes(`${credentials.accessKeyId.slice(0, 4)}…${credentials.accessKeyId.slice(-4)}`));
    assert.match(page.text, /temporary credentials/);
    assert.ok(page.text.includes(`datetime="${credentials.expiration.toISOString()}"`));
    assert.match(
      page.text,
      /<dd id="instance-role">role <code>s3-photo-share-role<\/code>,\s+instance profile <code>arn:aws:iam::123456789012:instance-profile\/s3-photo-share-role<\/code>/,
    );
    assert.match(page.text, /<dd id="instance">instance <code>i-0123456789abcdef0<\/code>\s+in <code>us-east-1a<\/code>/);
    assert.match(page.text, /This app holds no AWS keys: it uses temporary credentials for its instance role/);
    assert.match(page.text, /fallback to IMDSv1 is disabled/);
    const chain = chainOnAboutPage(page.text);
    assert.deepEqual(chain.links, CHAIN_IN_ORDER, 'every link of the chain, in the order the SDK tries them');
    assert.equal(chain.answered.length, 1);
    assert.match(chain.answered[0]!, /^EC2 instance metadata \(IMDS\).*answered/);
    assert.doesNotMatch(page.text, /load balancer/, 'one instance (TRUST_PROXY unset) is not said to be behind a load balancer');
    assert.doesNotMatch(page.text, /npm run dev:ec2/, 'already on the instance-role path');
    for (const secret of [credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken]) {
      assert.ok(!page.text.includes(secret), 'the page shows no full key, secret or token');
      assert.ok(!run.logText().includes(secret), 'the log holds no full key, secret or token');
    }
  });
});

describe('when the app on IMDS runs behind a load balancer (TRUST_PROXY=1)', () => {
  it('then /about says each instance behind it has its own credentials for the same role', async () => {
    const run = await startAppOnImds({}, { TRUST_PROXY: '1' });
    try {
      const page = await request(run.testApp.app).get('/about').expect(200);
      assert.match(
        page.text,
        /<dd id="instance">instance <code>i-0123456789abcdef0<\/code>[^<]*<code>us-east-1a<\/code>: behind a load balancer/,
      );
    } finally {
      await run.close();
    }
  });
});

describe('when a client asks for /about again and again', () => {
  it('then instance metadata is read once, not on every request', async () => {
    const run = await startAppOnImds();
    try {
      await request(run.testApp.app).get('/readyz').expect(200); // the SDK has its credentials
      const before = run.imds.requests.length;
      for (let index = 0; index < 30; index++) await request(run.testApp.app).get('/about').expect(200);
      const asked = run.imds.requests.slice(before).map((entry) => `${entry.method} ${entry.path}`);
      // One token and the four reads of the instance profile, for all thirty pages.
      assert.equal(asked.length, 5, asked.join('\n'));
    } finally {
      await run.close();
    }
  });
});

describe('when IMDS rotates the role credentials', () => {
  it('then the app signs new requests with the new key without a restart, and uploads keep working', async () => {
    // Credentials that live 5 min + 1 s are inside the SDK's 5-minute refresh window after one second,
    // so the SDK asks IMDS again on the next request, as it does with real credentials near their end.
    const run = await startAppOnImds({ credentialLifetimeMs: 301_000, rotationPeriodMs: 1_000 });
    try {
      const issuedKeys: string[] = [];
      run.imds.watchCredentials({ issued: (credentials) => issuedKeys.push(credentials.accessKeyId), expired: () => {} });
      await uploadThroughApp(run.testApp);
      const firstKey = run.testApp.emulator.signedBy.at(-1)!;
      // Jump the clock 1.2 s ahead instead of waiting: the IMDS emulator and the SDK both read Date, so IMDS
      // rotates and the SDK finds its credentials inside the refresh window, as they would 1.2 s later.
      mock.timers.enable({ apis: ['Date'], now: Date.now() + 1_200 });
      assert.notEqual(run.imds.currentCredentials().accessKeyId, firstKey, 'IMDS has rotated');

      const signedBefore = run.testApp.emulator.signedBy.length;
      await uploadThroughApp(run.testApp);
      // The SDK refreshes in the background: the request that notices the credentials are due still signs with
      // the old (still valid) key, the ones after it with the new one. IMDS keeps rotating every second, so the
      // new key may be this rotation's or a later one.
      const lastKey = run.testApp.emulator.signedBy.at(-1)!;
      assert.ok(run.testApp.emulator.signedBy.length > signedBefore);
      assert.notEqual(lastKey, firstKey, 'requests after the rotation move to a new key');
      assert.ok(issuedKeys.includes(lastKey), 'the new key is one IMDS issued');
      const photos = (await run.testApp.listAllKeys()).filter((key) => key.includes('/thumbnails/'));
      assert.equal(photos.length, 2, 'both uploads, before and after the rotation, are in the gallery');
    } finally {
      mock.timers.reset();
      await run.close();
    }
  });
});

describe('when IMDS fails', () => {
  it('then with IMDS down at start the app starts, is not ready and says why, and recovers by itself', async () => {
    const run = await startAppOnImds();
    try {
      await run.imds.setFault('down');
      await request(run.testApp.app).get('/healthz').expect(200);
      const started = Date.now();
      const readiness = await request(run.testApp.app).get('/readyz').expect(503);
      assert.ok(Date.now() - started < 3_000, 'readiness answers within 3 s');
      assert.match(readiness.body.reason, /^no credentials: IMDS unreachable, or no IAM role attached/);
      assert.match((await request(run.testApp.app).get('/').expect(503)).text, /No AWS credentials/);
      assert.match((await request(run.testApp.app).get('/about').expect(200)).text, /No credentials\./);

      await run.imds.setFault('none');
      await request(run.testApp.app).get('/readyz').expect(200);
      await uploadThroughApp(run.testApp);
    } finally {
      await run.close();
    }
  });

  it('then with IMDS hanging, start-up and /healthz are not blocked and /readyz gives up in time', async () => {
    const run = await startAppOnImds();
    try {
      await run.imds.setFault('hang');
      await request(run.testApp.app).get('/healthz').expect(200);
      const started = Date.now();
      const readiness = await request(run.testApp.app).get('/readyz').expect(503);
      assert.ok(Date.now() - started < 6_000, `readiness gave up after ${Date.now() - started} ms`);
      assert.match(readiness.body.reason, /^no credentials: IMDS unreachable, or no IAM role attached/);
      await run.imds.setFault('none');
      await request(run.testApp.app).get('/readyz').expect(200);
    } finally {
      await run.close();
    }
  });

  it('then with no role attached, readiness says so and pages say storage is unavailable', async () => {
    const run = await startAppOnImds();
    try {
      await run.imds.setFault('no-role');
      const readiness = await request(run.testApp.app).get('/readyz').expect(503);
      assert.match(readiness.body.reason, /no IAM role attached/);
      await assert.rejects(openBrowser(run.testApp.app), /HTTP 503/, 'the gallery, and so its form, cannot be shown');
      await request(run.testApp.app)
        .post('/photos')
        .attach('photos', await fixture('square.png'), 'p.png')
        .expect(403);
      assert.deepEqual(await run.testApp.listAllKeys(), []);
      await run.imds.setFault('none');
      await request(run.testApp.app).get('/readyz').expect(200);
    } finally {
      await run.close();
    }
  });

  it('then with already-expired credentials, which S3 refuses, the app answers 503 and does not crash', async () => {
    // The SDK does not reject expired IMDS credentials: it extends them by 5-10 minutes ("static stability")
    // and keeps signing. Real S3 refuses them (ExpiredToken); here the S3 emulator is told to refuse them too.
    const run = await startAppOnImds();
    try {
      await run.imds.setFault('expired');
      run.testApp.emulator.revokeKeyPair(run.imds.currentCredentials().accessKeyId);
      const readiness = await request(run.testApp.app).get('/readyz').expect(503);
      assert.match(readiness.body.reason, /^InvalidAccessKeyId: /);
      assert.match((await request(run.testApp.app).get('/').expect(503)).text, /Storage refused the app&#39;s credentials/);
      await request(run.testApp.app).get('/healthz').expect(200);
    } finally {
      await run.close();
    }
  });
});

describe('when credentials come from elsewhere in the chain', () => {
  let testApp: TestApp | undefined;
  after(() => testApp?.close());

  it('then /about names environment variables when the keys are in the environment', async () => {
    testApp = await startTestApp();
    const page = await request(testApp.app).get('/about').expect(200);
    assert.match(page.text, /<dd id="credential-source">Environment variables/);
    assert.match(page.text, /long-term keys \(AKIA…\): avoid these on a server/);
    assert.match(page.text, /This app is using AWS keys from its environment variables/);
    assert.doesNotMatch(page.text, /holds no AWS keys/);
    assert.doesNotMatch(page.text, /id="instance-role"/, 'IMDS is not asked when it did not supply the credentials');
    const chain = chainOnAboutPage(page.text);
    assert.deepEqual(chain.links, CHAIN_IN_ORDER);
    assert.equal(chain.answered.length, 1);
    assert.match(chain.answered[0]!, /^Environment variables.*answered/);
    assert.match(page.text, /<code>npm run dev:ec2<\/code>/, 'points to the local run without keys, as on EC2');
    // The path from a role to the app: a list of steps the page can stack, not a wide block of preformatted text.
    assert.doesNotMatch(page.text, /<pre/);
    const steps = /<ol class="role-path"[^>]*>([\s\S]*?)<\/ol>/.exec(page.text)?.[1] ?? '';
    assert.deepEqual(
      [...steps.matchAll(/<strong>([^<]+)<\/strong>/g)].map((match) => match[1]),
      ['IAM policy', 'IAM role', 'Instance profile', 'EC2 instance', 'Instance metadata (IMDS)', 'AWS SDK default chain', 'S3 bucket'],
    );
    await testApp.close();
    testApp = undefined;
  });

  it('then /about names the shared profile when the keys are in a credentials file, and hides them', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aws-profile-'));
    const keyId = 'PROFILETESTKEY000042';
    const secret = 'profile-secret-that-must-not-show';
    // Built from parts so that no credentials-file line sits in the repository for secret scanners to flag.
    const credentialsFile = ['[default]', `aws_access_key_id = ${keyId}`, ['aws_secret_access_key', secret].join(' = ')].join('\n');
    await writeFile(path.join(dir, 'credentials'), `${credentialsFile}\n`);
    try {
      testApp = await startTestApp({
        credentials: 'none',
        env: { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'), AWS_EC2_METADATA_DISABLED: 'true' },
      });
      const page = await request(testApp.app).get('/about').expect(200);
      assert.match(page.text, /<dd id="credential-source">Shared config or credentials file/);
      assert.ok(page.text.includes('PROF…0042'));
      assert.ok(!page.text.includes(keyId) && !page.text.includes(secret));
    } finally {
      await testApp?.close();
      testApp = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('presigned URL lifetime', () => {
  it('when the credentials outlive the configured lifetime, then the configured lifetime is used', () => {
    assert.equal(capUrlLifetime(900, 6 * 3600_000), 900);
  });

  it('when the credentials expire sooner, then URLs expire with them', () => {
    assert.equal(capUrlLifetime(900, 240_500), 240);
  });

  it('when the credentials never expire (static keys), then the configured lifetime is used', () => {
    assert.equal(capUrlLifetime(900, Infinity), 900);
  });

  it('when an app on IMDS presigns near the end of its credentials, then no URL outlives them', async () => {
    const run = await startAppOnImds({ credentialLifetimeMs: 301_000, rotationPeriodMs: 1_000 });
    try {
      await uploadThroughApp(run.testApp);
      const gallery = await request(run.testApp.app).get('/').expect(200);
      const url = new URL(/<img src="([^"]+)"/.exec(gallery.text)![1]!.replaceAll('&amp;', '&'));
      // Signed as of the start of a window (X-Amz-Date in the past): what counts is when the link stops working.
      const signedAt = url.searchParams.get('X-Amz-Date')!.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z');
      const leftSeconds = (Date.parse(signedAt) + Number(url.searchParams.get('X-Amz-Expires')) * 1000 - Date.now()) / 1000;
      assert.ok(leftSeconds <= 301, `the link lives ${leftSeconds} s, within the credentials' 301 s`);
      assert.ok(leftSeconds > 200, `the link lives ${leftSeconds} s: the page is still usable`);
    } finally {
      await run.close();
    }
  });
});
