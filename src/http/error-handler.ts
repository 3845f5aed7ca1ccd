// The one place where failures become HTTP answers: a page for browsers, JSON for scripts. AppErrors
// carry the user's words and a kind, mapped to a status here; anything else is a bug and answers 500.
// Details (causes, stacks) go to the log only, never to the page.
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { AppError, MethodNotAllowed, PageNotFound, type FailureKind, type RefusedFile } from '../errors.js';
import { describeError } from '../logging.js';
import { discardRestOfBody } from './refused-body.js';

const STATUS_BY_KIND: Record<FailureKind, number> = {
  'bad-input': 400,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'too-large': 413,
  'unsupported-type': 415,
  'too-many-requests': 429,
  internal: 500,
  unavailable: 503,
};

/** Headers that describe the content a failed handler meant to send, not the error answer. */
const HEADERS_OF_ANOTHER_ANSWER = ['Content-Type', 'Content-Disposition', 'Content-Range', 'Accept-Ranges', 'ETag', 'Last-Modified'];

/** What a page or JSON answer shows. */
interface Answer {
  status: number;
  title: string;
  message: string;
  hint?: string;
  /** An upload's refused files, each with its reason: beside the error in JSON, listed on the page. */
  refused?: readonly RefusedFile[];
  /** A 405's `Allow` header: the methods the path does take. */
  allow?: readonly string[];
}

export const notFound: RequestHandler = (_req, _res, next) => next(new PageNotFound());

export const handleError: ErrorRequestHandler = function handleError(error: unknown, req, res, _next) {
  const answer = toAnswer(error);
  const clientGone = clientHasGone(req);
  logFailure(req, error, answer, clientGone);
  if (clientGone) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  respond(req, res, answer);
};

/**
 * The app's own fault (a 500) is an error with its stack whether or not its client is still there: a client that
 * left hides no bug. Anything else whose client left is only that, an info line, as a refusal answered is.
 */
function logFailure(req: Request, error: unknown, answer: Answer, clientGone: boolean): void {
  if (answer.status === 500) {
    req.log.error({ err: error, ...(clientGone && { clientGone }) }, answer.title);
  } else if (clientGone) {
    // The title, as for a refusal answered: an AppError's message may name what the client chose (a file's name).
    const reason = error instanceof AppError ? answer.title : describeError(error).message;
    req.log.info({ reason }, 'client went away before the answer');
  } else if (answer.status >= 500) {
    req.log.warn({ err: error, status: answer.status }, answer.title);
  } else {
    req.log.info({ status: answer.status, reason: answer.title }, 'request refused');
  }
}

function toAnswer(error: unknown): Answer {
  if (error instanceof AppError) {
    const { kind, title, message, hint, refused } = error;
    const allow = error instanceof MethodNotAllowed ? error.allowedMethods : undefined;
    return { status: STATUS_BY_KIND[kind], title, message, hint, refused, allow };
  }
  // Express's body parsers mark the client's mistakes (a form too large, a bad encoding) with a 4xx status.
  const status = (error as { status?: unknown } | undefined)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, title: 'Bad request', message: 'The request could not be read.', hint: 'Use the forms on the gallery page.' };
  }
  return {
    status: 500,
    title: 'Something went wrong',
    message: 'The app failed while answering this request. The error has been logged.',
    hint: 'Try again; if it keeps happening, check the app log.',
  };
}

/** A client that closed its connection can be answered no more: that is not the app's failure. */
function clientHasGone(req: Request): boolean {
  return req.socket.destroyed;
}

function respond(req: Request, res: Response, answer: Answer): void {
  res.status(answer.status);
  // A failed request changes nothing in the browser either: no new browser key (a cross-site form POST arrives
  // without it, and a key set in its answer would replace the visitor's own), no notice cleared, no token replaced.
  res.removeHeader('Set-Cookie');
  // What failed may have described another answer (express.static sets a file's type, caching and validators
  // before a Range or a precondition fails): the error page is its own, and is never kept.
  for (const header of HEADERS_OF_ANOTHER_ANSWER) res.removeHeader(header);
  res.set('Cache-Control', 'no-store');
  if (answer.status === 503) res.set('Retry-After', '30');
  if (answer.allow) res.set('Allow', answer.allow.join(', '));
  // A refused upload may not have been read to its end: the client is still sending, and must see this answer.
  discardRestOfBody(req);
  if (req.accepts(['html', 'json']) === 'json') {
    const { refused, allow: _inTheHeader, ...error } = answer;
    res.json(refused ? { error, refused } : { error });
  } else {
    res.render('error', { error: answer });
  }
}
