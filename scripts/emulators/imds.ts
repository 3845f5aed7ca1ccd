// A local EC2 instance metadata service (IMDSv2) that serves rotating instance-role credentials,
// so the SDK's default chain can be exercised, and broken on purpose, away from EC2.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Emulator } from './s3.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** AWS makes new role credentials available at least this long before the old ones expire. */
const MINIMUM_OVERLAP_MS = 5 * MINUTE;
const MAXIMUM_TOKEN_TTL_SECONDS = 21_600;
const TOKEN_TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'x-aws-ec2-metadata-token';

/**
 * - `down`: the port refuses connections (the server really stops listening).
 * - `hang`: requests are accepted and never answered.
 * - `expired`: credentials are served with an Expiration already in the past.
 * - `no-role`: no instance profile is attached, so the IAM paths answer 404.
 */
export type ImdsFault = 'none' | 'down' | 'hang' | 'expired' | 'no-role';

export interface ImdsEmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  roleName?: string;
  region?: string;
  accountId?: string;
  instanceId?: string;
  /** As the instance setting HttpTokens: `required` (the default) refuses GETs without a session token; `optional` also allows IMDSv1. */
  httpTokens?: 'required' | 'optional';
  /** How long each credential set is valid. Default 6 hours, as on EC2. */
  credentialLifetimeMs?: number;
  /** Time from issuing one credential set to issuing the next. Default: lifetime minus 15 minutes. */
  rotationPeriodMs?: number;
  /** Milliseconds since the epoch; tests pass their own clock to jump hours ahead without waiting. */
  now?: () => number;
  /** Receives one line per notable event, with keys masked, for a console. */
  onEvent?: (message: string) => void;
}

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  issuedAt: Date;
  expiration: Date;
}

export interface ImdsRequestLogEntry {
  method: string;
  /** As the client sent it, before repeated slashes are collapsed. */
  path: string;
  tokenPresented: boolean;
  /** `hung` when the `hang` fault swallowed the request. */
  status: number | 'hung';
}

export interface CredentialsWatcher {
  issued(credentials: RoleCredentials): void;
  expired(credentials: RoleCredentials): void;
}

export interface ImdsEmulator {
  /** For AWS_EC2_METADATA_SERVICE_ENDPOINT. Stays the same across the `down` fault. */
  endpoint: string;
  port: number;
  roleName: string;
  /** Every request that reached the server, in arrival order. */
  readonly requests: ImdsRequestLogEntry[];
  /** The newest credential set as of `now()` (rotating first if due). */
  currentCredentials(): RoleCredentials;
  /** Issues a new credential set immediately; the older sets stay valid until they expire. */
  rotateNow(): RoleCredentials;
  /** Calls `issued` for every set still valid (so a late watcher misses none) and for each new one, `expired` when one expires. Returns the unsubscribe function. */
  watchCredentials(watcher: CredentialsWatcher): () => void;
  setFault(fault: ImdsFault): Promise<void>;
  close(): Promise<void>;
}

export async function startImdsEmulator(options: ImdsEmulatorOptions = {}): Promise<ImdsEmulator> {
  const roleName = options.roleName ?? 's3-photo-share-role';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const instanceId = options.instanceId ?? 'i-0123456789abcdef0';
  const tokensRequired = (options.httpTokens ?? 'required') === 'required';
  const { lifetimeMs, rotationPeriodMs } = validateRotation(options);
  // Read Date.now at call time, so a test that mocks Date moves this clock and the SDK's together.
  const now = options.now ?? (() => Date.now());
  /** Announced when a client first receives a credential set: that is when it starts signing with it. */
  let lastServedKeyId: string | undefined;
  const announce = options.onEvent ?? (() => {});
  const startedAt = now();
  const instanceProfileId = `AIPA${randomKeyIdSuffix()}`;

  const validSets: RoleCredentials[] = [];
  const watchers = new Set<CredentialsWatcher>();
  const tokenExpiries = new Map<string, number>();
  const requests: ImdsRequestLogEntry[] = [];
  let fault: ImdsFault = 'none';

  function issueCredentials(): RoleCredentials {
    // Whole seconds, because IMDS timestamps have no milliseconds.
    const issuedAtMs = Math.floor(now() / 1000) * 1000;
    const credentials: RoleCredentials = {
      accessKeyId: `ASIA${randomKeyIdSuffix()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(300).toString('base64'),
      issuedAt: new Date(issuedAtMs),
      expiration: new Date(issuedAtMs + lifetimeMs),
    };
    validSets.push(credentials);
    announce(`IMDS issued credentials ${maskKey(credentials.accessKeyId)} (expires ${imdsTime(credentials.expiration)})`);
    for (const watcher of watchers) watcher.issued(credentials);
    return credentials;
  }

  function newestCredentials(): RoleCredentials {
    return validSets[validSets.length - 1]!;
  }

  // Rotation is computed from the clock rather than scheduled, so an injected clock can jump ahead
  // (a jump over several rotation periods issues one new set, not one per period).
  function catchUpWithClock(): void {
    const current = now();
    if (current >= newestCredentials().issuedAt.getTime() + rotationPeriodMs) issueCredentials();
    for (const credentials of [...validSets]) {
      if (credentials.expiration.getTime() > current) continue;
      validSets.splice(validSets.indexOf(credentials), 1);
      announce(`IMDS credentials ${maskKey(credentials.accessKeyId)} expired`);
      for (const watcher of watchers) watcher.expired(credentials);
    }
  }

  function issueToken(ttlSeconds: number): string {
    for (const [token, expiresAt] of tokenExpiries) if (expiresAt <= now()) tokenExpiries.delete(token);
    const token = randomBytes(42).toString('base64url');
    tokenExpiries.set(token, now() + ttlSeconds * 1000);
    return token;
  }

  function isValidToken(token: string): boolean {
    const expiresAt = tokenExpiries.get(token);
    return expiresAt !== undefined && expiresAt > now();
  }

  function metadataAt(path: string): string | object | undefined {
    const credentialsListing = ['/latest/meta-data/iam/security-credentials', '/latest/meta-data/iam/security-credentials/'];
    if (fault === 'no-role' && path.startsWith('/latest/meta-data/iam')) return undefined;
    if (credentialsListing.includes(path)) return roleName;
    if (path === `/latest/meta-data/iam/security-credentials/${roleName}`) return credentialsDocument();
    if (path === '/latest/meta-data/iam/info') {
      return {
        Code: 'Success',
        LastUpdated: imdsTime(newestCredentials().issuedAt),
        InstanceProfileArn: `arn:aws:iam::${accountId}:instance-profile/${roleName}`,
        InstanceProfileId: instanceProfileId,
      };
    }
    if (path === '/latest/meta-data/instance-id') return instanceId;
    if (path === '/latest/meta-data/placement/region') return region;
    if (path === '/latest/meta-data/placement/availability-zone') return `${region}a`;
    if (path === '/latest/dynamic/instance-identity/document') {
      return {
        accountId,
        architecture: 'x86_64',
        availabilityZone: `${region}a`,
        imageId: 'ami-0123456789abcdef0',
        instanceId,
        instanceType: 't3.micro',
        pendingTime: imdsTime(new Date(startedAt)),
        privateIp: '172.31.0.10',
        region,
        version: '2017-09-30',
      };
    }
    return undefined;
  }

  function credentialsDocument(): object {
    const credentials = newestCredentials();
    if (credentials.accessKeyId !== lastServedKeyId) {
      lastServedKeyId = credentials.accessKeyId;
      announce(`IMDS served role ${roleName} credentials ${maskKey(credentials.accessKeyId)} to a client`);
    }
    const expiration = fault === 'expired' ? new Date(now() - MINUTE) : credentials.expiration;
    return {
      Code: 'Success',
      LastUpdated: imdsTime(credentials.issuedAt),
      Type: 'AWS-HMAC',
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.sessionToken,
      Expiration: imdsTime(expiration),
    };
  }

  function answerMetadataRequest(req: IncomingMessage, res: ServerResponse): number | 'hung' {
    if (fault === 'hang') return 'hung';
    catchUpWithClock();
    // Clients that join an endpoint ending in `/` to the path send `//latest/...`; real IMDS accepts that.
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/{2,}/g, '/');
    const token = req.headers[TOKEN_HEADER];

    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return answer(res, 405);
      const ttlSeconds = Number(req.headers[TOKEN_TTL_HEADER]);
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAXIMUM_TOKEN_TTL_SECONDS) return answer(res, 400);
      return answer(res, 200, issueToken(ttlSeconds), { [TOKEN_TTL_HEADER]: String(ttlSeconds) });
    }
    if (req.method !== 'GET') return answer(res, 405);
    // A presented token must be valid even when IMDSv1 is allowed, as on EC2.
    if (typeof token === 'string' ? !isValidToken(token) : tokensRequired) return answer(res, 401);
    const metadata = metadataAt(path);
    if (metadata === undefined) return answer(res, 404);
    return answer(res, 200, typeof metadata === 'string' ? metadata : JSON.stringify(metadata, null, 2));
  }

  const server = createServer((req, res) => {
    const status = answerMetadataRequest(req, res);
    requests.push({ method: req.method ?? '', path: req.url ?? '', tokenPresented: TOKEN_HEADER in req.headers, status });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  issueCredentials();
  await listen(options.port ?? 0);
  const { port } = server.address() as AddressInfo;
  // Lets credentials rotate and expire on time in a demo where nothing is asking.
  const clockWatch = setInterval(catchUpWithClock, 1000).unref();

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    roleName,
    requests,
    currentCredentials() {
      catchUpWithClock();
      return newestCredentials();
    },
    rotateNow: issueCredentials,
    watchCredentials(watcher) {
      for (const credentials of validSets) watcher.issued(credentials);
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
    async setFault(newFault) {
      const wasDown = fault === 'down';
      fault = newFault;
      if (newFault === 'down' && !wasDown) await stopListening();
      if (newFault !== 'down' && wasDown) await listen(port);
      announce(`IMDS fault mode: ${newFault}`);
    },
    async close() {
      clearInterval(clockWatch);
      watchers.clear();
      if (server.listening) await stopListening();
    },
  };
}

/** Makes the S3 emulator accept exactly the key pairs this IMDS has issued and that have not yet expired. */
export function connectImdsToS3Emulator(
  imds: Pick<ImdsEmulator, 'watchCredentials'>,
  s3Emulator: Pick<S3Emulator, 'acceptKeyPair' | 'revokeKeyPair'>,
): () => void {
  return imds.watchCredentials({
    issued: (credentials) => s3Emulator.acceptKeyPair(credentials.accessKeyId, credentials.secretAccessKey),
    expired: (credentials) => s3Emulator.revokeKeyPair(credentials.accessKeyId),
  });
}

/** `ASIA…WXYZ`: enough to tell keys apart in a log, never enough to use one. */
export function maskKey(key: string): string {
  return `${key.slice(0, 4)}…${key.slice(-4)}`;
}

function validateRotation(options: ImdsEmulatorOptions): { lifetimeMs: number; rotationPeriodMs: number } {
  const lifetimeMs = options.credentialLifetimeMs ?? 6 * HOUR;
  const rotationPeriodMs = options.rotationPeriodMs ?? lifetimeMs - 15 * MINUTE;
  if (!(rotationPeriodMs > 0 && rotationPeriodMs <= lifetimeMs - MINIMUM_OVERLAP_MS)) {
    throw new Error(
      `IMDS emulator: rotationPeriodMs (${rotationPeriodMs}) must be above 0 and at most credentialLifetimeMs ` +
        `(${lifetimeMs}) minus 5 minutes, because AWS issues new credentials at least 5 minutes before the old ones expire.` +
        (options.rotationPeriodMs === undefined ? ' Lifetimes of 15 minutes or less need an explicit rotationPeriodMs.' : ''),
    );
  }
  return { lifetimeMs, rotationPeriodMs };
}

const KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** 16 characters, so that with a 4-letter prefix the id has the 20 of a real access key id. */
function randomKeyIdSuffix(): string {
  return Array.from(randomBytes(16), (byte) => KEY_ID_ALPHABET[byte % KEY_ID_ALPHABET.length]).join('');
}

/** ISO 8601 without milliseconds, as IMDS writes its timestamps. */
function imdsTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function answer(res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): number {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body);
  return status;
}
