// Which link of the SDK's default credential chain supplied the app's credentials, and when they expire.
// The chain is the SDK's own; this only listens to it: the chain reports each provider it tries to the
// client's logger, and the last one tried before success is the one that answered. (Credentials from
// instance metadata carry no `$source` marker in today's SDK, so the trace is what tells them apart.)
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger as SdkLogger } from '@smithy/types';
import type { Logger } from 'pino';
import { describeError } from '../logging.js';

export type CredentialSource =
  | 'environment'
  | 'sso'
  | 'shared-profile'
  | 'credential-process'
  | 'web-identity'
  | 'container'
  | 'instance-metadata';

export const CREDENTIAL_SOURCE_LABELS: Record<CredentialSource, string> = {
  environment: 'Environment variables (AWS_ACCESS_KEY_ID and friends)',
  sso: 'IAM Identity Center (SSO) profile',
  'shared-profile': 'Shared config or credentials file (~/.aws, a profile)',
  'credential-process': 'A credential_process command in the AWS config file',
  'web-identity': 'A web identity token file (EKS, IRSA)',
  container: 'The container credentials endpoint (ECS, EKS Pod Identity)',
  'instance-metadata': "EC2 instance metadata (IMDS): the instance profile's role",
};

// The debug lines @aws-sdk/credential-provider-node writes as it walks the chain.
const CHAIN_STEPS: [RegExp, CredentialSource][] = [
  [/defaultProvider::fromEnv$/, 'environment'],
  [/defaultProvider::fromSSO$/, 'sso'],
  [/defaultProvider::fromIni$/, 'shared-profile'],
  [/defaultProvider::fromProcess$/, 'credential-process'],
  [/defaultProvider::fromTokenFile$/, 'web-identity'],
  [/remoteProvider::fromHttp\/fromContainerMetadata$/, 'container'],
  [/remoteProvider::fromInstanceMetadata$/, 'instance-metadata'],
];

/** The links of the chain in the order the SDK tries them (for /about's list). */
export const CREDENTIAL_CHAIN: CredentialSource[] = CHAIN_STEPS.map(([, source]) => source);

/** When the SDK fetches new credentials: 5 minutes before they expire, on the next request that needs them. */
const SDK_REFRESH_WINDOW_MS = 5 * 60_000;

export interface CredentialChainTrace {
  /** Give this to the S3 client as its `logger`: the chain writes to it. */
  sdkLogger: SdkLogger;
  /** The provider the chain tried last: the one that supplied the current credentials. */
  lastSource(): CredentialSource | undefined;
  /** Why the last attempt to get credentials failed, in the SDK's words, if it did. */
  lastFailure(): string | undefined;
}

export function traceCredentialChain(logger: Logger): CredentialChainTrace {
  let source: CredentialSource | undefined;
  let failure: string | undefined;
  const sdkLogger: SdkLogger = {
    debug: (...content: unknown[]) => {
      const line = content.map(String).join(' ');
      const step = CHAIN_STEPS.find(([pattern]) => pattern.test(line));
      if (step) {
        source = step[1];
        failure = undefined;
      } else if (/@smithy\/property-provider (->|\(!\))/.test(line) && source === 'instance-metadata') {
        failure = line.replace(/^@smithy\/property-provider (->|\(!\)) /, '');
      }
    },
    // The SDK logs each command with its input and output: bodies (images) and headers must not reach the
    // log, and a failed command is logged by the app itself with its context, so this keeps a summary.
    info: (...content: unknown[]) => logger.debug({ sdk: content.map(summarizeSdkLogEntry) }, 'AWS SDK'),
    warn: (...content: unknown[]) => logger.warn({ sdk: content.map(summarizeSdkLogEntry) }, 'AWS SDK warning'),
    error: (...content: unknown[]) => logger.debug({ sdk: content.map(summarizeSdkLogEntry) }, 'AWS SDK command failed'),
  };
  return { sdkLogger, lastSource: () => source, lastFailure: () => failure };
}

function summarizeSdkLogEntry(entry: unknown): unknown {
  if (typeof entry === 'string') return entry.slice(0, 300);
  if (entry instanceof Error) return describeError(entry);
  if (typeof entry !== 'object' || entry === null) return String(entry);
  const { clientName, commandName, error } = entry as { clientName?: unknown; commandName?: unknown; error?: unknown };
  return { clientName, commandName, ...(error !== undefined && { error: describeError(error) }) };
}

export interface CredentialSummary {
  source: CredentialSource | undefined;
  /** First four and last four characters: enough to tell keys apart, useless to an attacker. */
  maskedAccessKeyId: string;
  /** ASIA… keys with a session token are temporary (STS); AKIA… keys are long-term. */
  temporary: boolean;
  expiration: Date | undefined;
  /** When the SDK will fetch new credentials (lazily, on the first request after this time). */
  refreshAfter: Date | undefined;
}

/** Reads the client's current credentials (memoized by the SDK: no extra call to IMDS unless they are due). */
export async function summarizeCredentials(s3: S3Client, trace: CredentialChainTrace): Promise<CredentialSummary> {
  const credentials = await s3.config.credentials();
  const expiration = credentials.expiration;
  return {
    source: trace.lastSource(),
    maskedAccessKeyId: maskAccessKeyId(credentials.accessKeyId),
    temporary: credentials.accessKeyId.startsWith('ASIA') || Boolean(credentials.sessionToken),
    expiration,
    refreshAfter: expiration && new Date(expiration.getTime() - SDK_REFRESH_WINDOW_MS),
  };
}

function maskAccessKeyId(accessKeyId: string): string {
  return accessKeyId.length <= 8 ? '****' : `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}

/** For /readyz and the log: why S3 cannot be used, naming a missing-credentials cause plainly. */
export function describeStorageFailure(error: unknown, trace: CredentialChainTrace): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (!(cause instanceof Error)) return String(cause);
  if (cause.name === 'CredentialsProviderError') {
    const where =
      trace.lastSource() === 'instance-metadata'
        ? 'IMDS unreachable, or no IAM role attached to the instance (the default chain reached instance metadata and got no credentials)'
        : 'the default credential chain found none';
    return `no credentials: ${where}. SDK: ${cause.message}`;
  }
  return `${cause.name}: ${cause.message}`.slice(0, 300);
}
