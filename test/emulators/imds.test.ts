// Tests for the IMDSv2 emulator, driven by the real SDK credential providers, alone and wired to the S3 emulator.
import { afterEach, beforeEach, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fromInstanceMetadata, fromNodeProviderChain } from '@aws-sdk/credential-providers';
import {
  connectImdsToS3Emulator,
  maskKey,
  startImdsEmulator,
  type ImdsEmulator,
  type ImdsEmulatorOptions,
  type RoleCredentials,
} from '../../scripts/emulators/imds.js';
import { startS3Emulator, type S3Emulator } from '../../scripts/emulators/s3.js';
import { useAppEnvironment } from '../support/environment.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const CREDENTIALS_PATH = '/latest/meta-data/iam/security-credentials/';

// The tests of a file share one process: each test's environment is put back after it.
let restoreEnvironment: (() => void) | undefined;
afterEach(() => {
  restoreEnvironment?.();
  restoreEnvironment = undefined;
});

/** Leaves the SDK no credential source but this emulator: no AWS_* keys, profile or config files. */
function useOnlyInstanceMetadata(imds: ImdsEmulator, extra: Record<string, string> = {}): void {
  restoreEnvironment?.();
  restoreEnvironment = useAppEnvironment({
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
    AWS_CONFIG_FILE: path.join(tmpdir(), 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmpdir(), 'no-such-aws-credentials'),
    ...extra,
  });
}

async function startImds(t: TestContext, options: ImdsEmulatorOptions = {}): Promise<ImdsEmulator> {
  const imds = await startImdsEmulator(options);
  t.after(() => imds.close());
  return imds;
}

function fakeClock() {
  let current = Date.now();
  return { now: () => current, advance: (ms: number) => (current += ms) };
}

async function requestToken(imds: ImdsEmulator, ttlSeconds?: string): Promise<Response> {
  const headers: Record<string, string> = ttlSeconds === undefined ? {} : { 'x-aws-ec2-metadata-token-ttl-seconds': ttlSeconds };
  return fetch(`${imds.endpoint}/latest/api/token`, { method: 'PUT', headers });
}

async function takeToken(imds: ImdsEmulator, ttlSeconds = '60'): Promise<string> {
  return (await requestToken(imds, ttlSeconds)).text();
}

async function getMetadata(imds: ImdsEmulator, metadataPath: string, token?: string): Promise<Response> {
  return fetch(imds.endpoint + metadataPath, { headers: token === undefined ? {} : { 'x-aws-ec2-metadata-token': token } });
}

function watchIssuedAndExpired(imds: ImdsEmulator) {
  const issued: RoleCredentials[] = [];
  const expired: RoleCredentials[] = [];
  imds.watchCredentials({ issued: (c) => issued.push(c), expired: (c) => expired.push(c) });
  return { issued, expired };
}

describe('IMDSv2 token flow', () => {
  test('when the SDK fetches instance credentials, then it takes a token with PUT and presents it on both GETs', async (t) => {
    const imds = await startImds(t);
    useOnlyInstanceMetadata(imds);

    const credentials = await fromInstanceMetadata()();

    assert.deepEqual(imds.requests, [
      { method: 'PUT', path: '/latest/api/token', tokenPresented: false, status: 200 },
      { method: 'GET', path: CREDENTIALS_PATH, tokenPresented: true, status: 200 },
      { method: 'GET', path: CREDENTIALS_PATH + imds.roleName, tokenPresented: true, status: 200 },
    ]);
    const issued = imds.currentCredentials();
    assert.equal(credentials.accessKeyId, issued.accessKeyId);
    assert.match(credentials.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(credentials.secretAccessKey, issued.secretAccessKey);
    assert.equal(credentials.sessionToken, issued.sessionToken);
    assert.deepEqual(credentials.expiration, issued.expiration);
  });

  test('when the credentials document is read, then it has the fields and formats EC2 serves', async (t) => {
    const imds = await startImds(t);

    const response = await getMetadata(imds, CREDENTIALS_PATH + imds.roleName, await takeToken(imds));

    const document = await response.json();
    assert.deepEqual(Object.keys(document).sort(), [
      'AccessKeyId',
      'Code',
      'Expiration',
      'LastUpdated',
      'SecretAccessKey',
      'Token',
      'Type',
    ]);
    assert.equal(document.Code, 'Success');
    assert.equal(document.Type, 'AWS-HMAC');
    assert.match(document.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(document.LastUpdated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('when a GET carries no token and tokens are required, then it is refused with 401', async (t) => {
    const imds = await startImds(t);

    const response = await getMetadata(imds, CREDENTIALS_PATH);

    assert.equal(response.status, 401);
  });

  test('when a token has outlived its TTL, then GETs presenting it are refused with 401', async (t) => {
    const clock = fakeClock();
    const imds = await startImds(t, { now: clock.now });
    const token = await takeToken(imds, '60');

    clock.advance(61_000);
    const response = await getMetadata(imds, CREDENTIALS_PATH, token);

    assert.equal(response.status, 401);
  });

  test('when the token TTL is missing, 0, 21601 or not a whole number, then the token request is refused with 400', async (t) => {
    const imds = await startImds(t);

    for (const ttlSeconds of [undefined, '0', '21601', '1.5', 'ten']) {
      assert.equal((await requestToken(imds, ttlSeconds)).status, 400, `TTL ${ttlSeconds}`);
    }
    assert.equal((await requestToken(imds, '21600')).status, 200);
  });

  test('when the path has repeated slashes, then it is answered as the single-slash path', async (t) => {
    const imds = await startImds(t);

    const response = await getMetadata(imds, '//latest//meta-data/iam/security-credentials/', await takeToken(imds));

    assert.equal(response.status, 200);
    assert.equal(await response.text(), imds.roleName);
  });

  test('when tokens are optional, then a tokenless GET is answered and an unknown token is still refused', async (t) => {
    const imds = await startImds(t, { httpTokens: 'optional' });

    assert.equal((await getMetadata(imds, CREDENTIALS_PATH)).status, 200);
    assert.equal((await getMetadata(imds, CREDENTIALS_PATH, 'not-an-issued-token')).status, 401);
  });

  test('when a path is unknown, then it answers 404', async (t) => {
    const imds = await startImds(t);

    const response = await getMetadata(imds, '/latest/meta-data/no-such-thing', await takeToken(imds));

    assert.equal(response.status, 404);
  });

  test('when asked about the instance, then its id, region, identity document and profile agree', async (t) => {
    const imds = await startImds(t, { region: 'eu-west-1', accountId: '111122223333', instanceId: 'i-0abc', roleName: 'photos' });
    const token = await takeToken(imds);
    const read = async (metadataPath: string) => (await getMetadata(imds, metadataPath, token)).text();

    const identity = JSON.parse(await read('/latest/dynamic/instance-identity/document'));
    const profile = JSON.parse(await read('/latest/meta-data/iam/info'));

    assert.equal(await read('/latest/meta-data/instance-id'), 'i-0abc');
    assert.equal(await read('/latest/meta-data/placement/region'), 'eu-west-1');
    assert.equal(identity.accountId, '111122223333');
    assert.equal(identity.region, 'eu-west-1');
    assert.equal(identity.instanceId, 'i-0abc');
    assert.equal(identity.availabilityZone, 'eu-west-1a');
    assert.equal(profile.InstanceProfileArn, 'arn:aws:iam::111122223333:instance-profile/photos');
    assert.match(profile.InstanceProfileId, /^AIPA[A-Z2-7]{16}$/);
  });
});

describe('credential rotation', () => {
  test('when the rotation period has passed, then the SDK gets a new ASIA key while the old one has at least 5 minutes left', async (t) => {
    const clock = fakeClock();
    const imds = await startImds(t, { now: clock.now, credentialLifetimeMs: 6 * HOUR, rotationPeriodMs: 5 * HOUR });
    useOnlyInstanceMetadata(imds);
    const before = await fromInstanceMetadata()();

    clock.advance(5 * HOUR);
    const after = await fromInstanceMetadata()();

    assert.notEqual(after.accessKeyId, before.accessKeyId);
    assert.match(after.accessKeyId, /^ASIA/);
    const overlapMs = before.expiration!.getTime() - imds.currentCredentials().issuedAt.getTime();
    assert.ok(overlapMs >= 5 * MINUTE, `overlap ${overlapMs} ms`);
  });

  test('when credentials rotate, then the old set is reported expired only once the clock passes its Expiration', async (t) => {
    const clock = fakeClock();
    const imds = await startImds(t, { now: clock.now });
    const watched = watchIssuedAndExpired(imds);
    const first = imds.currentCredentials();

    clock.advance(HOUR);
    const second = imds.rotateNow();
    clock.advance(first.expiration.getTime() - clock.now() - 1000);
    imds.currentCredentials();
    const expiredJustBeforeExpiration = [...watched.expired];
    clock.advance(1000);
    imds.currentCredentials();

    assert.deepEqual(watched.issued.slice(0, 2), [first, second]);
    assert.deepEqual(expiredJustBeforeExpiration, []);
    assert.deepEqual(watched.expired, [first]);
  });

  test('when the rotation would leave the old credentials under 5 minutes, then start-up is refused', async (t) => {
    await assert.rejects(startImdsEmulator({ credentialLifetimeMs: 7 * MINUTE, rotationPeriodMs: 3 * MINUTE }), /at least 5 minutes/);
    await assert.rejects(startImdsEmulator({ credentialLifetimeMs: 10 * MINUTE }), /explicit rotationPeriodMs/);
    await assert.rejects(startImdsEmulator({ rotationPeriodMs: 0 }), /above 0/);
    await startImds(t, { credentialLifetimeMs: 7 * MINUTE, rotationPeriodMs: 2 * MINUTE });
  });

  test('when credentials are issued and expire, then the events name them by masked key only', async (t) => {
    const clock = fakeClock();
    const events: string[] = [];
    const imds = await startImds(t, { now: clock.now, onEvent: (message) => events.push(message) });
    const first = imds.currentCredentials();

    imds.rotateNow();
    clock.advance(6 * HOUR);
    imds.currentCredentials();

    assert.match(events.join('\n'), new RegExp(`issued credentials ${maskKey(first.accessKeyId)} \\(expires `));
    assert.match(events.join('\n'), new RegExp(`${maskKey(first.accessKeyId)} expired`));
    for (const secret of [first.accessKeyId, first.secretAccessKey, first.sessionToken]) {
      assert.ok(!events.some((message) => message.includes(secret)));
    }
  });
});

describe('fault modes', () => {
  test('when the service is down, then the SDK is refused at once, and served again on the same port once it is back', async (t) => {
    const imds = await startImds(t);
    useOnlyInstanceMetadata(imds);

    await imds.setFault('down');
    const startedAt = Date.now();
    await assert.rejects(fromInstanceMetadata()(), { code: 'ECONNREFUSED' });
    const refusedAfterMs = Date.now() - startedAt;
    await imds.setFault('none');

    assert.ok(refusedAfterMs < 500, `refused after ${refusedAfterMs} ms`);
    // The environment still names the old endpoint, so this also shows the port is the same.
    assert.equal((await fromInstanceMetadata()()).accessKeyId, imds.currentCredentials().accessKeyId);
  });

  test('when the service hangs, then the SDK gives up within its timeout', async (t) => {
    const imds = await startImds(t);
    useOnlyInstanceMetadata(imds);
    await imds.setFault('hang');

    const startedAt = Date.now();
    // 200 ms for the token PUT, then 200 ms for the IMDSv1 GET the SDK falls back to.
    await assert.rejects(fromInstanceMetadata({ timeout: 200, maxRetries: 0 })(), /TimeoutError/);

    assert.ok(Date.now() - startedAt < 2000);
    assert.deepEqual(
      imds.requests.map((request) => request.status),
      ['hung', 'hung'],
    );
  });

  // What this SDK version (@smithy/credential-provider-imds 4.5) does with expired instance credentials is
  // "static stability": it does not reject them but returns them with the Expiration moved 5 to 10 minutes
  // ahead, keeps the real one as `originalExpiration`, and logs a warning. The app keeps signing with them,
  // and real S3 would refuse them (ExpiredToken) until IMDS serves fresh ones.
  test('when the service serves expired credentials, then the SDK extends them by a few minutes and warns', async (t) => {
    const imds = await startImds(t);
    useOnlyInstanceMetadata(imds);
    await imds.setFault('expired');
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (message: string) => warnings.push(message), error() {} };

    const credentials = await fromInstanceMetadata({ logger })();

    const { originalExpiration } = credentials as { originalExpiration?: Date };
    assert.ok(originalExpiration !== undefined && originalExpiration.getTime() < Date.now());
    const extensionMs = credentials.expiration!.getTime() - Date.now();
    assert.ok(extensionMs > 4 * MINUTE && extensionMs <= 10 * MINUTE, `extended by ${extensionMs} ms`);
    assert.match(warnings.join('\n'), /credential expiration extension/);
    assert.equal(credentials.accessKeyId, imds.currentCredentials().accessKeyId);
  });

  test('when the instance has no role, then the SDK rejects with the 404', async (t) => {
    const imds = await startImds(t);
    useOnlyInstanceMetadata(imds);
    await imds.setFault('no-role');

    await assert.rejects(fromInstanceMetadata()(), { statusCode: 404 });
    await assert.rejects(fromNodeProviderChain()(), /Could not load credentials from any providers/);
  });
});

describe('with the S3 emulator', () => {
  const BUCKET = 'photos';
  let s3: S3Emulator;
  let s3Directory: string;

  beforeEach(async () => {
    s3Directory = await mkdtemp(path.join(tmpdir(), 'imds-s3-'));
    s3 = await startS3Emulator({ directory: s3Directory, buckets: [BUCKET] });
  });
  afterEach(async () => {
    await s3.close();
    await rm(s3Directory, { recursive: true, force: true });
  });

  /** As the app runs on EC2: no keys anywhere, only the endpoints and the emulators' settings. */
  async function startConnectedImds(t: TestContext, options: ImdsEmulatorOptions = {}): Promise<ImdsEmulator> {
    const imds = await startImds(t, options);
    t.after(connectImdsToS3Emulator(imds, s3));
    useOnlyInstanceMetadata(imds, {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    });
    return imds;
  }

  function putPhoto(client: S3Client, key: string) {
    return client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'photo bytes' }));
  }

  test('when a client has no credentials of its own, then it signs with the instance role and S3 accepts it', async (t) => {
    const imds = await startConnectedImds(t);

    await putPhoto(new S3Client({ forcePathStyle: true }), 'first.jpg');

    assert.deepEqual(s3.signedBy, [imds.currentCredentials().accessKeyId]);
  });

  test('when a client signs with an ASIA key the IMDS never issued, then S3 refuses it with 403', async (t) => {
    await startConnectedImds(t);
    const credentials = { accessKeyId: 'ASIAAAAAAAAAAAAAAAAA', secretAccessKey: 'never-issued', sessionToken: 'never-issued' };

    const refusal = putPhoto(new S3Client({ forcePathStyle: true, credentials }), 'forged.jpg');

    await assert.rejects(refusal, (error: { name: string; $metadata: { httpStatusCode?: number } }) => {
      assert.equal(error.name, 'InvalidAccessKeyId');
      assert.equal(error.$metadata.httpStatusCode, 403);
      return true;
    });
  });

  test('when the old key has expired after a rotation, then it is refused and new clients sign with the new key', async (t) => {
    const clock = fakeClock();
    const imds = await startConnectedImds(t, { now: clock.now });
    const oldCredentials = imds.currentCredentials();

    clock.advance(oldCredentials.expiration.getTime() - clock.now());
    const newCredentials = imds.currentCredentials();
    const withOldKey = new S3Client({ forcePathStyle: true, credentials: oldCredentials });
    await assert.rejects(putPhoto(withOldKey, 'late.jpg'), { name: 'InvalidAccessKeyId' });
    await putPhoto(new S3Client({ forcePathStyle: true }), 'after-rotation.jpg');

    assert.notEqual(newCredentials.accessKeyId, oldCredentials.accessKeyId);
    assert.deepEqual(s3.signedBy, [oldCredentials.accessKeyId, newCredentials.accessKeyId]);
  });

  // The SDK decides when to refresh from Date.now() and the Expiration it was given, so this test mocks Date,
  // which the emulator's default clock, the SDK and s3rver all read.
  test('when a long-running client nears its expiration, then it moves to the new key before the old one is revoked', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const imds = await startConnectedImds(t);
    const client = new S3Client({ forcePathStyle: true });
    ignoreServerDateHeader(client);
    await putPhoto(client, 'at-start.jpg');
    const oldCredentials = imds.currentCredentials();

    // Past the rotation (15 minutes before expiry) and into the SDK's own refresh window (5 minutes before).
    t.mock.timers.tick(oldCredentials.expiration.getTime() - Date.now() - 4 * MINUTE);
    await putPhoto(client, 'in-overlap.jpg');
    t.mock.timers.tick(4 * MINUTE);
    await putPhoto(client, 'after-expiry.jpg');

    const newCredentials = imds.currentCredentials();
    assert.notEqual(newCredentials.accessKeyId, oldCredentials.accessKeyId);
    assert.deepEqual(s3.signedBy, [oldCredentials.accessKeyId, oldCredentials.accessKeyId, newCredentials.accessKeyId]);
  });
});

/**
 * Node writes the HTTP Date response header from its own clock, which mocking Date does not reach. The SDK
 * would "correct" its clock back to real time from it and sign requests that s3rver, on the mocked Date,
 * refuses as skewed.
 */
function ignoreServerDateHeader(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      delete (result.response as { headers: Record<string, string> }).headers.date;
      return result;
    },
    { step: 'deserialize', name: 'ignoreServerDateHeader' },
  );
}
