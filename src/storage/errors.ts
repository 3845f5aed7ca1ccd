// What an S3 failure means for the user: S3 unreachable, slow or failing (try again later), or the
// app's credentials refused or missing (an operator must act). Errors are told apart by the SDK's own
// classes and codes; anything else is rethrown as it is, because it is a bug, not an outage.
import { S3ServiceException } from '@aws-sdk/client-s3';
import { AppError, type AppErrorDetails } from '../errors.js';

const READYZ_HINT = 'Check /readyz and /about, and the app log.';

/** A failed S3 operation, in the user's words; the SDK's error stays in `cause`, for the log and /readyz. */
abstract class StorageFailure extends AppError {
  constructor(
    readonly operation: string,
    details: Omit<AppErrorDetails, 'kind' | 'refused'>,
  ) {
    super({ kind: 'unavailable', ...details });
  }
}

/** S3 could not be reached, did not answer in time, or failed on its side. */
export class StorageUnavailable extends StorageFailure {
  constructor(operation: string, cause: unknown) {
    super(operation, {
      title: 'Storage unavailable',
      message: 'The photo storage cannot be reached right now, so nothing was changed.',
      hint: `Try again in a minute. If it persists: ${READYZ_HINT}`,
      cause,
    });
  }
}

/** S3 answered, but refused the app's credentials (wrong, expired, or not allowed): retrying will not help. */
export class CredentialsRefused extends StorageFailure {
  constructor(operation: string, cause: unknown) {
    super(operation, {
      title: "Storage refused the app's credentials",
      message: "The photo storage refused the app's AWS credentials, so nothing was changed.",
      hint: `The operator must fix the app's role or credentials. ${READYZ_HINT}`,
      cause,
    });
  }
}

/** The default credential chain found no credentials (no role attached, IMDS unreachable, nothing configured). */
export class CredentialsUnavailable extends StorageFailure {
  constructor(operation: string, cause: unknown) {
    super(operation, {
      title: 'No AWS credentials',
      message: 'The app could not get AWS credentials to reach the photo storage, so nothing was changed.',
      hint: `The operator must attach the app's role or configure credentials. ${READYZ_HINT}`,
      cause,
    });
  }
}

/** S3 error codes that mean "these credentials are not accepted here", not "S3 is down". */
const REFUSED_CREDENTIAL_CODES = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'ExpiredToken',
  'InvalidAccessKeyId',
  'InvalidToken',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
]);

/** Network-level failures: the request never got an answer. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const TIMEOUT_ERROR_NAMES = new Set(['TimeoutError', 'AbortError', 'RequestTimeout']);

/** Turns a failed S3 call into the error the user should see; rethrows what is not an S3 or network failure. */
export function toStorageError(operation: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof S3ServiceException) {
    return REFUSED_CREDENTIAL_CODES.has(error.name) ? new CredentialsRefused(operation, error) : new StorageUnavailable(operation, error);
  }
  if (!(error instanceof Error)) throw error;
  if (error.name === 'CredentialsProviderError') return new CredentialsUnavailable(operation, error);
  const code = (error as { code?: unknown }).code;
  if (TIMEOUT_ERROR_NAMES.has(error.name) || (typeof code === 'string' && NETWORK_ERROR_CODES.has(code))) {
    return new StorageUnavailable(operation, error);
  }
  throw error;
}
