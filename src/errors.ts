// The app's own errors. Code below the routes throws these in the user's words; the one error handler
// (http/error-handler.ts) turns each kind into an HTTP status. Anything else that is thrown is a bug: a 500.

/** What went wrong, from the user's side; the error handler maps each kind to one HTTP status. */
export type FailureKind =
  | 'bad-input' // 400
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'too-large' // 413
  | 'unsupported-type' // 415
  | 'too-many-requests' // 429
  | 'internal' // 500: the app's own fault, explained
  | 'unavailable'; // 503

/**
 * A failure the app expected and can explain. `message` says what happened and `hint` what to do; both
 * reach the user, so neither may hold a path, a library's message or a secret (details go in `cause`,
 * which only the log sees).
 */
export class AppError extends Error {
  /** The files of an upload that were refused, each with why: the answer lists them (names as the client chose them). */
  readonly refused: readonly RefusedFile[] | undefined;
  constructor(
    readonly kind: FailureKind,
    readonly title: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown; refused?: readonly RefusedFile[] },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.refused = options?.refused;
  }
}

/** A file an upload did not store: its name as the client chose it, and the reason in the user's words. */
export interface RefusedFile {
  file: string;
  reason: string;
}

export class PageNotFound extends AppError {
  constructor() {
    super('not-found', 'Page not found', 'There is nothing at this address.', 'Go back to the gallery.');
  }
}

/** Too many requests from one client within the limiter's window. */
export class TooManyRequests extends AppError {
  constructor(what: string, retryAfterSeconds: number) {
    super(
      'too-many-requests',
      'Too many requests',
      `This address has made too many ${what} in a short time.`,
      `Wait about ${formatWait(retryAfterSeconds)} and try again.`,
    );
  }
}

/** The server is stopping (a deploy or restart): the request was not completed and nothing was kept. */
export class ServerShuttingDown extends AppError {
  constructor() {
    super(
      'unavailable',
      'Server restarting',
      'The server is restarting, so this request was stopped and nothing was stored.',
      'Try again in a minute.',
    );
  }
}

function formatWait(seconds: number): string {
  return seconds < 90 ? `${Math.max(1, Math.ceil(seconds))} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}
