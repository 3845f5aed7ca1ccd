// Maps every error to one answer: a page for browsers, JSON for scripts. 4xx say what was wrong and what
// to do; 5xx details go to the log only.
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import { MAX_CAPTION_LENGTH } from '../photos/captions.js';
import { HttpError, StorageUnavailableError } from './errors.js';

export interface ErrorHandlerOptions {
  maxUploadBytes: number;
  maxFilesPerUpload: number;
}

export const notFound: RequestHandler = (_req, _res, next) => {
  next(new HttpError(404, 'Page not found', 'There is nothing at this address.', 'Go back to the gallery.'));
};

export function createErrorHandler(options: ErrorHandlerOptions): ErrorRequestHandler {
  return function handleError(error: unknown, req, res, _next) {
    const answer = toHttpError(error, options);
    if (answer.status >= 500) req.log.error({ err: error }, answer.title);
    else req.log.warn({ status: answer.status, reason: answer.message }, 'request refused');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    respond(req, res, answer);
  };
}

function toHttpError(error: unknown, { maxUploadBytes, maxFilesPerUpload }: ErrorHandlerOptions): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof StorageUnavailableError) {
    return new HttpError(503, 'Storage unavailable', 'The photo storage cannot be reached right now, so nothing was changed.', 'Try again in a minute. If it persists, check /readyz and the app log.');
  }
  if (error instanceof multer.MulterError) {
    switch (error.code) {
      case 'LIMIT_FILE_SIZE':
        return new HttpError(413, 'File too large', `${fileName(error)} is larger than the limit of ${formatBytes(maxUploadBytes)} per file. Nothing was stored.`, 'Resize or compress the image, then upload it again.');
      case 'LIMIT_FILE_COUNT':
        return new HttpError(413, 'Too many files', `One upload can hold at most ${maxFilesPerUpload} files. Nothing was stored.`, 'Upload fewer files at a time.');
      case 'LIMIT_FIELD_VALUE':
        return new HttpError(400, 'Caption too long', `The caption is longer than ${MAX_CAPTION_LENGTH} characters. Nothing was stored.`, 'Shorten the caption and upload again.');
      case 'LIMIT_UNEXPECTED_FILE':
        return new HttpError(400, 'Unexpected file field', `Files must be sent in the "photos" field. Nothing was stored.`, 'Use the upload form, or send the files as photos=@file.');
      default:
        return new HttpError(400, 'Malformed upload', `The upload form could not be read (${error.code}). Nothing was stored.`, 'Use the upload form on the gallery page.');
    }
  }
  // Errors raised by body parsers and busboy carry a client status.
  const status = (error as { status?: number; statusCode?: number }).status ?? (error as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, 'Bad request', 'The request could not be read.', 'Use the forms on the gallery page.');
  }
  if (error instanceof Error && /^(Malformed part header|Unexpected end of form|Multipart: Boundary not found)/.test(error.message)) {
    return new HttpError(400, 'Malformed upload', `The upload form could not be read (${error.message}). Nothing was stored.`, 'Use the upload form on the gallery page.');
  }
  return new HttpError(500, 'Something went wrong', 'The app failed while answering this request. The error has been logged.', 'Try again; if it keeps happening, check the app log.');
}

function respond(req: Request, res: Response, error: HttpError): void {
  res.status(error.status);
  if (error.status === 503) res.set('Retry-After', '30');
  if (req.accepts(['html', 'json']) === 'json') {
    res.json({ error: { status: error.status, title: error.title, message: error.message, hint: error.hint } });
  } else {
    res.render('error', { error });
  }
}

function fileName(error: multer.MulterError): string {
  const { filename } = error as { filename?: string };
  return filename ? `"${filename}"` : 'A file';
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}
