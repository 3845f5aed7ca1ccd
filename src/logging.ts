// The app's log: JSON lines (pino). Errors are written as a few named fields, never as the whole object:
// an SDK error carries its request, whose body (an image) or headers (a signature) must not reach the log.
import { pino, type DestinationStream, type Logger } from 'pino';
import { AppError } from './errors.js';

const MAX_MESSAGE_CHARS = 300;
const MAX_STACK_FRAMES = 6;
const MAX_CAUSE_DEPTH = 3;

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino({ level, serializers: { err: describeError } }, destination);
}

export interface ErrorDescription {
  type: string;
  message: string;
  code?: string;
  /** The S3 operation that failed (PutObject, ListObjectsV2…). */
  operation?: string;
  /** S3's answer, when there was one: its status and request id are what AWS support asks for. */
  httpStatus?: number;
  requestId?: string;
  stack?: string;
  cause?: ErrorDescription;
}

export function describeError(error: unknown, depth = 0): ErrorDescription {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error).slice(0, MAX_MESSAGE_CHARS) };
  const { code, operation, $metadata } = error as {
    code?: unknown;
    operation?: unknown;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  return {
    type: error.name,
    message: error.message.slice(0, MAX_MESSAGE_CHARS),
    ...(typeof code === 'string' && { code }),
    ...(typeof operation === 'string' && { operation }),
    ...($metadata?.httpStatusCode !== undefined && { httpStatus: $metadata.httpStatusCode }),
    ...($metadata?.requestId && { requestId: $metadata.requestId }),
    // An AppError is expected and says what happened; anything else is a bug, and where it was thrown matters.
    ...(!(error instanceof AppError) &&
      error.stack && {
        stack: error.stack
          .split('\n')
          .slice(0, MAX_STACK_FRAMES + 1)
          .join('\n'),
      }),
    ...(depth < MAX_CAUSE_DEPTH && error.cause !== undefined && { cause: describeError(error.cause, depth + 1) }),
  };
}

/** Query parameters whose values the log keeps (cut short): the app's own paging links. Others show as `…`. */
const LOGGED_QUERY_VALUES = new Set(['page', 'back', 'from']);
const MAX_LOGGED_VALUE_CHARS = 80;
const MAX_LOGGED_URL_CHARS = 512;

/**
 * The request URL as the log keeps it: the path, the names of its query parameters, and the values of the
 * app's paging parameters only, so a token or anything else a client puts in a query stays out of the log.
 */
export function loggableUrl(url: string): string {
  const [path = '', query] = url.split('?', 2) as [string, string | undefined];
  if (query === undefined) return path.slice(0, MAX_LOGGED_URL_CHARS);
  const parameters = [...new URLSearchParams(query)].map(
    ([name, value]) =>
      `${encodeURIComponent(name.slice(0, 40))}=${LOGGED_QUERY_VALUES.has(name) ? encodeURIComponent(value.slice(0, MAX_LOGGED_VALUE_CHARS)) : '…'}`,
  );
  return `${path}?${parameters.join('&')}`.slice(0, MAX_LOGGED_URL_CHARS);
}
