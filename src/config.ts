// Reads the app's configuration from the environment, once, and says at once everything that is wrong with it.
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { APP_SLUG } from './app-name.js';

export interface Config {
  /** The bucket that holds the photos. The app never creates it (except the dev script, on the emulator). */
  bucket: string;
  /** Every object the app writes or reads is under this key prefix, e.g. `photos/`. */
  keyPrefix: string;
  region: string;
  /** A non-AWS S3 endpoint (emulator, MinIO, LocalStack), from the SDK's own AWS_ENDPOINT_URL_S3. */
  endpointUrl: string | undefined;
  host: string;
  port: number;
  maxUploadBytes: number;
  maxFilesPerUpload: number;
  presignedUrlTtlSeconds: number;
  /** Per client IP, per hour; over it the app answers 429. */
  uploadsPerHour: number;
  deletesPerHour: number;
  /** Per client IP, per minute, for the pages that read from S3. */
  pageViewsPerMinute: number;
  /** Bytes of uploads in progress (on the server's disk) per client address, and in total. */
  uploadBytesInProgressPerClient: number;
  uploadBytesInProgressTotal: number;
  /** Where uploads wait while their images are made. */
  uploadTempDir: string;
  /** How many reverse proxies in front of the app to trust for the client's address and protocol (0: none). */
  trustProxyHops: number;
  /** How often the orphan sweep runs, and how old a part without a record must be before it is removed. */
  orphanSweepIntervalSeconds: number;
  orphanMinAgeSeconds: number;
  /** On SIGTERM, how long uploads in progress get before they are stopped and answered 503. */
  shutdownGraceSeconds: number;
  /** How long one S3 request may stall before the app gives up and answers 503. */
  s3TimeoutSeconds: number;
  /** Signs CSRF tokens. Unset: a random secret per process (fine for one instance; forms must be reloaded after a restart). */
  csrfSecret: string | undefined;
  /** An SSM Parameter Store SecureString holding the CSRF secret, read once at start with the app's own credentials. */
  csrfSecretParameter: string | undefined;
  /** Shown on /about only: the SDK reads AWS_EC2_METADATA_SERVICE_ENDPOINT itself (default http://169.254.169.254). */
  imdsEndpoint: string | undefined;
  /** Shown on /about only: with AWS_EC2_METADATA_V1_DISABLED=true the SDK never falls back from IMDSv2 tokens to v1. */
  imdsV1FallbackDisabled: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Thrown by loadConfig with every problem it found, so one failed start tells the operator everything to fix. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`The app cannot start: fix these environment variables.\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const BUCKET_NAME = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Folders of S3's safe key characters; none of them `.` or `..`, which a disk-backed emulator would walk out of its folder with. */
// At most 512 characters: an S3 key is at most 1,024 bytes, and the app's own part of a key is short.
const KEY_PREFIX = /^(?=.{1,512}$)(?!(?:.*\/)?\.{1,2}\/)([A-Za-z0-9!_.*'()-]+\/)+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env): Config {
  const problems: string[] = [];

  const { required, optional, integer } = envReader(env, problems);

  const bucket = required('S3_BUCKET', BUCKET_NAME, 'the name of the S3 bucket for photos (3-63 lowercase letters, digits, dots, hyphens)');
  const keyPrefix = optional(
    'S3_PREFIX',
    'photos/',
    KEY_PREFIX,
    "a key prefix of at most 512 characters that ends with '/', such as photos/",
  );
  const region = required('AWS_REGION', REGION, "the bucket's AWS region, such as eu-west-1");
  const endpointUrl = env.AWS_ENDPOINT_URL_S3?.trim() || undefined;
  if (endpointUrl && !isHttpUrl(endpointUrl)) {
    problems.push(
      `AWS_ENDPOINT_URL_S3="${endpointUrl}" is not valid: set it to an http(s) URL such as http://127.0.0.1:4568, or unset it for AWS S3.`,
    );
  } else if (endpointUrl && hasUserInfo(endpointUrl)) {
    // Shown on /about, and a password is a credential: those come from the default chain only.
    problems.push(
      'AWS_ENDPOINT_URL_S3 carries a user name or password: remove them from the URL; the S3 client takes its credentials from the default chain (for an emulator, its keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).',
    );
  }
  const host = env.HOST?.trim() || '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0)
    problems.push(
      `HOST="${host}" is not valid: set it to an IP address to listen on (0.0.0.0 for every interface), or unset it for 127.0.0.1.`,
    );
  const port = integer('PORT', 3000, 0, 65535, 'port');
  const maxUploadMb = integer('MAX_UPLOAD_MB', 25, 1, 200, 'megabytes (MiB)');
  const maxFilesPerUpload = integer('MAX_FILES_PER_UPLOAD', 10, 1, 50, 'files');
  const presignedUrlTtlSeconds = integer('PRESIGNED_URL_TTL_SECONDS', 900, 60, 43200, 'seconds');
  const uploadsPerHour = integer('UPLOADS_PER_HOUR', 60, 1, 100_000, 'uploads per client per hour');
  const deletesPerHour = integer('DELETES_PER_HOUR', 120, 1, 100_000, 'deletions per client per hour');
  const pageViewsPerMinute = integer('PAGE_VIEWS_PER_MINUTE', 120, 1, 100_000, 'page views per client per minute');
  const s3TimeoutSeconds = integer('S3_TIMEOUT_SECONDS', 15, 1, 300, 'seconds');
  const uploadMbPerClient = integer('UPLOAD_MB_IN_PROGRESS_PER_CLIENT', 256, 1, 100_000, 'megabytes (MiB)');
  const uploadMbTotal = integer('UPLOAD_MB_IN_PROGRESS', 1024, 1, 1_000_000, 'megabytes (MiB)');
  if (uploadMbPerClient < maxUploadMb) {
    problems.push(
      `UPLOAD_MB_IN_PROGRESS_PER_CLIENT (${uploadMbPerClient}) is less than MAX_UPLOAD_MB (${maxUploadMb}): no file that large could ever be uploaded. Raise it or lower MAX_UPLOAD_MB.`,
    );
  }
  if (uploadMbTotal < uploadMbPerClient) {
    problems.push(
      `UPLOAD_MB_IN_PROGRESS (${uploadMbTotal}) is less than UPLOAD_MB_IN_PROGRESS_PER_CLIENT (${uploadMbPerClient}): raise it, or lower the per-client value.`,
    );
  }
  // One folder per user: the temp folder is shared, and the folder must be its user's alone (photos/upload-temp-dir.ts).
  const uploadTempDir =
    env.UPLOAD_TEMP_DIR?.trim() || path.join(os.tmpdir(), `${APP_SLUG}-uploads-${process.getuid?.() ?? os.userInfo().username}`);
  if (!path.isAbsolute(uploadTempDir))
    problems.push(
      `UPLOAD_TEMP_DIR="${uploadTempDir}" is not valid: set it to an absolute path, or unset it for the system's temporary folder.`,
    );
  const trustProxyHops = integer('TRUST_PROXY', 0, 0, 10, 'proxy hops (1 behind one load balancer or nginx)');
  const orphanSweepIntervalSeconds = integer('ORPHAN_SWEEP_INTERVAL_SECONDS', 300, 1, 86_400, 'seconds');
  const orphanMinAgeSeconds = integer('ORPHAN_MIN_AGE_SECONDS', 900, 1, 86_400, 'seconds');
  // A photo's parts are written under two S3 deadlines (parts, then record): younger parts may still get theirs.
  if (orphanMinAgeSeconds < 4 * s3TimeoutSeconds) {
    problems.push(
      `ORPHAN_MIN_AGE_SECONDS (${orphanMinAgeSeconds}) must be at least 4 × S3_TIMEOUT_SECONDS (${4 * s3TimeoutSeconds}): an upload still storing its photos could lose its parts.`,
    );
  }
  const shutdownGraceSeconds = integer('SHUTDOWN_GRACE_SECONDS', 20, 1, 600, 'seconds');
  const csrfSecret = env.CSRF_SECRET?.trim() || undefined;
  if (csrfSecret !== undefined && csrfSecret.length < 32) {
    problems.push(
      'CSRF_SECRET is too short: set it to at least 32 random characters (for example `openssl rand -hex 32`), or unset it for a random secret per process.',
    );
  }
  const csrfSecretParameter = env.CSRF_SECRET_PARAMETER?.trim() || undefined;
  if (csrfSecretParameter !== undefined && !/^\/?[A-Za-z0-9_.\-/]{1,1011}$/.test(csrfSecretParameter)) {
    problems.push(
      `CSRF_SECRET_PARAMETER="${csrfSecretParameter}" is not valid: set it to an SSM parameter name such as /s3-photo-share/csrf-secret.`,
    );
  }
  if (csrfSecret !== undefined && csrfSecretParameter !== undefined) {
    problems.push('CSRF_SECRET and CSRF_SECRET_PARAMETER are both set: keep one (the parameter, for several instances).');
  }
  const logLevel = optional('LOG_LEVEL', 'info', new RegExp(`^(${LOG_LEVELS.join('|')})$`), `one of ${LOG_LEVELS.join(', ')}`);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    bucket,
    keyPrefix,
    region,
    endpointUrl,
    host,
    port,
    maxUploadBytes: maxUploadMb * 1024 * 1024,
    maxFilesPerUpload,
    presignedUrlTtlSeconds,
    uploadsPerHour,
    deletesPerHour,
    pageViewsPerMinute,
    uploadBytesInProgressPerClient: uploadMbPerClient * 1024 * 1024,
    uploadBytesInProgressTotal: uploadMbTotal * 1024 * 1024,
    uploadTempDir,
    trustProxyHops,
    orphanSweepIntervalSeconds,
    orphanMinAgeSeconds,
    shutdownGraceSeconds,
    s3TimeoutSeconds,
    csrfSecret,
    csrfSecretParameter,
    imdsEndpoint: env.AWS_EC2_METADATA_SERVICE_ENDPOINT?.trim() || undefined,
    imdsV1FallbackDisabled: env.AWS_EC2_METADATA_V1_DISABLED?.trim() === 'true',
    logLevel: logLevel as Config['logLevel'],
  };
}

/** Reads the variables of `env`; what is wrong with each is added to `problems`, so that all are reported at once. */
function envReader(env: Env, problems: string[]) {
  return {
    required(name: string, pattern: RegExp, what: string): string {
      const value = env[name]?.trim();
      if (!value) problems.push(`${name} is not set: set it to ${what}.`);
      else if (!pattern.test(value)) problems.push(`${name}="${value}" is not valid: set it to ${what}.`);
      return value ?? '';
    },

    optional(name: string, fallback: string, pattern: RegExp, what: string): string {
      const value = env[name]?.trim() || fallback;
      if (!pattern.test(value)) problems.push(`${name}="${value}" is not valid: set it to ${what}, or unset it for ${fallback}.`);
      return value;
    },

    integer(name: string, fallback: number, min: number, max: number, unit: string): number {
      const raw = env[name]?.trim();
      if (!raw) return fallback;
      const value = Number(raw);
      if (!/^\d+$/.test(raw) || value < min || value > max) {
        problems.push(
          `${name}="${raw}" is not valid: set it to a whole number of ${unit} from ${min} to ${max}, or unset it for ${fallback}.`,
        );
      }
      return value;
    },
  };
}

/** Whether an http(s) URL names a user or password (http://user:secret@host), which the message must not repeat. */
function hasUserInfo(value: string): boolean {
  const url = new URL(value);
  return url.username !== '' || url.password !== '';
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
