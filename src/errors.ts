// The app's own errors. Code below the routes throws these in the user's words; the one error handler
// (http/error-handler.ts) turns each kind into an HTTP status. Anything else that is thrown is a bug: a 500.
import { listInWords } from './format.js';

/** What went wrong, from the user's side; the error handler maps each kind to one HTTP status. */
export type FailureKind =
  | 'bad-input' // 400
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'method-not-allowed' // 405
  | 'too-large' // 413
  | 'unsupported-type' // 415
  | 'too-many-requests' // 429
  | 'internal' // 500: the app's own fault, explained
  | 'unavailable'; // 503

/** What an AppError says, and to whom: `message` and `hint` reach the user, `cause` only the log. */
export interface AppErrorDetails {
  kind: FailureKind;
  /** A few words, the page's heading. */
  title: string;
  /** What happened. */
  message: string;
  /** What to do about it. */
  hint?: string;
  cause?: unknown;
  /** The files of an upload that were refused, each with why: the answer lists them (names as the client chose them). */
  refused?: readonly RefusedFile[];
}

/**
 * A failure the app expected and can explain. `message` says what happened and `hint` what to do; both
 * reach the user, so neither may hold a path, a library's message or a secret (details go in `cause`,
 * which only the log sees). One options object: four strings in a row are easy to swap.
 */
export class AppError extends Error {
  readonly kind: FailureKind;
  readonly title: string;
  readonly hint: string | undefined;
  readonly refused: readonly RefusedFile[] | undefined;
  constructor({ kind, title, message, hint, cause, refused }: AppErrorDetails) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.kind = kind;
    this.title = title;
    this.hint = hint;
    this.refused = refused;
  }
}

/**
 * A file an upload did not store: its name as the client chose it, the reason in the user's words, and its place
 * among the request's files (from 1, as `caption-<n>` counts them): names repeat (every pasted image is
 * "image.png"), so a client tells its files apart by their places.
 */
export interface RefusedFile {
  file: string;
  reason: string;
  position: number;
}

export class PageNotFound extends AppError {
  constructor() {
    super({ kind: 'not-found', title: 'Page not found', message: 'There is nothing at this address.', hint: 'Go back to the gallery.' });
  }
}

/** A path the app knows, asked with a method it does not take (PUT on a page, say). */
export class MethodNotAllowed extends AppError {
  /** The methods the path does take: the answer's `Allow` header. */
  readonly allowedMethods: readonly string[];
  constructor(method: string, allowedMethods: readonly string[]) {
    super({
      kind: 'method-not-allowed',
      title: 'Method not allowed',
      message: `This address does not take a ${method} request.`,
      hint: `It takes ${listInWords(allowedMethods)}: use the links and forms of the gallery.`,
    });
    this.allowedMethods = allowedMethods;
  }
}

/** Too many requests from one client within the limiter's window. */
export class TooManyRequests extends AppError {
  constructor(what: string, retryAfterSeconds: number) {
    super({
      kind: 'too-many-requests',
      title: 'Too many requests',
      message: `This address has made too many ${what} in a short time.`,
      hint: `Wait about ${formatWait(retryAfterSeconds)} and try again.`,
    });
  }
}

/** The server is stopping (a deploy or restart): the request was not completed and nothing was kept. */
export class ServerShuttingDown extends AppError {
  constructor() {
    super({
      kind: 'unavailable',
      title: 'Server restarting',
      message: 'The server is restarting, so this request was stopped and nothing was stored.',
      hint: 'Try again in a minute.',
    });
  }
}

function formatWait(seconds: number): string {
  return seconds < 90 ? `${Math.max(1, Math.ceil(seconds))} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}
