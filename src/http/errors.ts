// The errors the app answers with on purpose. The error handler turns them into pages or JSON.

/** A request the app refuses: `message` says what was wrong, `hint` what to do about it. Both reach the user. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** S3 (or the credentials to reach it) failed. The cause goes to the log; the user sees a 503. */
export class StorageUnavailableError extends Error {
  constructor(operation: string, cause: unknown) {
    super(`storage unavailable during ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StorageUnavailableError';
  }
}
