// The embedded S3 emulator used by `npm run dev`, the tests and the benchmarks:
// @20minutes/s3rver, with every setting and workaround it needs kept here.
import { mkdir, rename, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { getCiphers } from 'node:crypto';
import S3rver from '@20minutes/s3rver';
// s3rver keeps the key pairs it accepts in this account model; it rejects any other access key id.
import accountModel from '@20minutes/s3rver/lib/models/account.js';

/** The key pair s3rver accepts out of the box. Only ever used against the emulator. */
export const EMULATOR_KEY_PAIR = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3EmulatorOptions {
  /** Folder that holds the buckets; keep it to let photos survive a restart. */
  directory: string;
  /** 0 picks a free port. */
  port?: number;
  /** Buckets created at start if missing. */
  buckets?: string[];
  /** Print s3rver's own request log. */
  verbose?: boolean;
}

export interface S3Emulator {
  /** For AWS_ENDPOINT_URL_S3. An IP, not `localhost`, so the SDK uses path-style URLs. */
  endpoint: string;
  port: number;
  /** Access key id of each signed request, in arrival order (the emulator does not check signatures, so tests check who signed). */
  readonly signedBy: string[];
  /** Accept requests signed with this key pair from now on, as IAM would for newly issued credentials. */
  acceptKeyPair(accessKeyId: string, secretAccessKey: string): void;
  /** Refuse this access key id from now on (InvalidAccessKeyId). */
  revokeKeyPair(accessKeyId: string): void;
  /** Stop accepting connections and drop open ones. */
  close(): Promise<void>;
}

/** Environment for an SDK client that talks to this emulator (the default chain reads the keys from it). */
export function emulatorClientEnvironment(emulator: Pick<S3Emulator, 'endpoint'>): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: emulator.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: EMULATOR_KEY_PAIR.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_KEY_PAIR.secretAccessKey,
    // s3rver rejects the SDK's default CRC32 checksums on streamed, aws-chunked bodies.
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  };
}

/** A local run must not pick up the developer's own AWS settings (a profile, real keys): drop every AWS_ variable. */
export function withoutAwsSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_')));
}

const ACCESS_KEY_IN_AUTHORIZATION = /Credential=([A-Z0-9]+)\//;
const ACCESS_KEY_IN_QUERY = /[?&]X-Amz-Credential=([A-Z0-9]+)(%2F|\/)/;

export async function startS3Emulator(options: S3EmulatorOptions): Promise<S3Emulator> {
  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers
  // through its legacy provider; without it every second page answers 500.
  if (!getCiphers().includes('des-cbc')) {
    throw new Error(
      'The S3 emulator needs Node started with --openssl-legacy-provider (for its pagination tokens). ' +
        'Use the npm scripts, which set it.',
    );
  }
  const s3rver = new S3rver({
    directory: options.directory,
    silent: !options.verbose,
    // s3rver checks the signature against `/bucket` where the SDK signs `/bucket/`, so
    // bucket-level calls would fail; it never verifies signatures correctly anyway.
    allowMismatchedSignatures: true,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name, configs: [] })),
  });
  await s3rver.configureBuckets();
  writeObjectsWhole(s3rver);
  writeMetadataWhole(s3rver);
  const handleS3Request = s3rver.callback();
  const signedBy: string[] = [];

  const server = createServer((req, res) => {
    const accessKeyId =
      ACCESS_KEY_IN_AUTHORIZATION.exec(req.headers.authorization ?? '')?.[1] ?? ACCESS_KEY_IN_QUERY.exec(req.url ?? '')?.[1];
    if (accessKeyId) signedBy.push(accessKeyId);
    if (isAbortMultipartUpload(req)) {
      void abortMultipartUpload(req, res, options.directory);
      return;
    }
    if (hasContinuationToken(req)) answerBadTokensAsAwsDoes(res);
    handleS3Request(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    signedBy,
    acceptKeyPair: (accessKeyId, secretAccessKey) => accountModel.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey),
    revokeKeyPair: (accessKeyId) => accountModel.DUMMY_ACCOUNT.revokeAccessKey(accessKeyId),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// s3rver writes a PUT's body straight into the object's file, so a PUT cut short (client gone) would leave a
// partial object behind; S3 stores nothing in that case. Deleting the key after the failure is not the same: S3
// never lets a failed PUT touch what another PUT of the key stores, and the app sends a PUT whose connection was
// lost again at once (the SDK for a buffer, the store for a file), so the failed one's clean-up would land on the
// new one's object (gone, though answered 200) or under its feet (its metadata then fails, 500). The body is
// written beside its place and renamed over it once whole, as the metadata is (below): a failed PUT leaves nothing.
function writeObjectsWhole(s3rver: S3rver): void {
  const { store } = s3rver;
  let written = 0;
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    // Not a name s3rver lists: it lists only the files that end in its object suffix.
    const partialPath = `${objectPath}.${++written}.partial`;
    await mkdir(path.dirname(objectPath), { recursive: true });
    try {
      const [size, md5] = await store.putContent(partialPath, object.content);
      await store.putMetadata(object.bucket, object.key, object.metadata, md5);
      await rename(partialPath, objectPath);
      return { size, md5 };
    } catch (error) {
      await rm(partialPath, { force: true });
      throw error;
    }
  };
}

// s3rver rewrites an object's metadata file in place, so two writes at once (a CopyObject onto itself, which
// rewrites only metadata) can leave it mixed, and a read meanwhile can see it half-written: S3 keeps each
// write whole. The file is written beside its place and renamed over it, which replaces it in one step.
function writeMetadataWhole(s3rver: S3rver): void {
  const { store } = s3rver;
  const putMetadata = store.putMetadata;
  let written = 0;
  store.putMetadata = async (bucket, key, metadata, md5) => {
    const metadataPath = store.getResourcePath(bucket, key, 'metadata.json');
    // Not a name s3rver lists: it lists only the files that end in its object suffix.
    const partialPath = `${metadataPath}.${++written}.partial`;
    const writer = Object.create(store, {
      getResourcePath: {
        value: (b: string, k: string, resource: string) =>
          resource === 'metadata.json' ? partialPath : store.getResourcePath(b, k, resource),
      },
    }) as typeof store;
    try {
      await putMetadata.call(writer, bucket, key, metadata, md5);
      await rename(partialPath, metadataPath);
    } catch (error) {
      await rm(partialPath, { force: true });
      throw error;
    }
  };
}

// AWS answers 400 (InvalidArgument) to a ListObjectsV2 continuation token it did not issue; s3rver fails
// to decrypt it and answers 500, which would look like an outage. Its status is turned into AWS's.
function hasContinuationToken(req: IncomingMessage): boolean {
  return req.method === 'GET' && new URL(req.url ?? '/', 'http://x').searchParams.has('continuation-token');
}

function answerBadTokensAsAwsDoes(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => ServerResponse;
  res.writeHead = ((status: number, ...rest: unknown[]) => writeHead(status === 500 ? 400 : status, ...rest)) as typeof res.writeHead;
}

// s3rver answers AbortMultipartUpload with 405, so aborted uploads would pile up parts on disk.
function isAbortMultipartUpload(req: IncomingMessage): boolean {
  return req.method === 'DELETE' && new URL(req.url ?? '/', 'http://x').searchParams.has('uploadId');
}

async function abortMultipartUpload(req: IncomingMessage, res: ServerResponse, directory: string) {
  const url = new URL(req.url ?? '/', 'http://x');
  const bucket = decodeURIComponent(url.pathname.split('/')[1] ?? '');
  const uploadId = url.searchParams.get('uploadId') ?? '';
  // s3rver keeps the parts of an upload in <directory>/<bucket>/._S3rver_uploads/<uploadId>.
  if (/^[A-Za-z0-9._-]+$/.test(bucket) && /^[A-Za-z0-9]+$/.test(uploadId)) {
    await rm(path.join(directory, bucket, '._S3rver_uploads', uploadId), { recursive: true, force: true });
  }
  res.writeHead(204).end();
}
