// An upload form sent by hand over HTTP, so a test decides when each byte arrives: piece by piece, stopping
// halfway, or never finishing. The tests of slow clients, disconnects and shutdown share it.
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { once } from 'node:events';

const BOUNDARY = 'hand-sent-upload';

/** A file part's header: what comes before its bytes. Parts after the first start with a line break. */
export function filePartHeader(filename: string, { first = true } = {}): Buffer {
  return Buffer.from(
    `${first ? '' : '\r\n'}--${BOUNDARY}\r\nContent-Disposition: form-data; name="photos"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`,
  );
}

/** The form up to the first file's bytes: the CSRF field, then the header of a JPEG file part. */
export function formHead(token: string, filename = 'a.jpg'): Buffer {
  return Buffer.concat([csrfField(token), Buffer.from('\r\n'), filePartHeader(filename)]);
}

/** Only the CSRF field, for a test that writes its file parts itself (each after filePartHeader(…, { first: false })). */
export function csrfField(token: string): Buffer {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}`);
}

/** What ends the form after the last file's bytes. */
export const FORM_TAIL = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

export interface HandSentUploadOptions {
  port: number;
  cookie: string;
  /** The body's announced length; without it the body is sent chunked. */
  contentLength?: number;
  /** The loopback address the client connects from, so each test client counts as its own address. */
  localAddress?: string;
  /** The client's address as a trusted proxy (TRUST_PROXY) reports it in X-Forwarded-For. */
  forwardedFor?: string;
  /** Ask for the JSON answer the page script gets, rather than a redirect. */
  json?: boolean;
  /** How long the answer may take before `answered` rejects. */
  answerTimeoutMs?: number;
}

export interface HandSentUpload {
  request: ClientRequest;
  /** The server's answer, whenever it comes: many tests expect it before the body is complete. */
  answered: Promise<IncomingMessage>;
}

/** Opens POST /photos; nothing of the body is sent yet. */
export function openHandSentUpload(options: HandSentUploadOptions): HandSentUpload {
  const { port, cookie, contentLength, localAddress, forwardedFor, json = false, answerTimeoutMs = 30_000 } = options;
  const request = httpRequest({
    host: '127.0.0.1',
    port,
    localAddress,
    method: 'POST',
    path: '/photos',
    headers: {
      cookie,
      ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      ...(json ? { accept: 'application/json' } : {}),
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
      ...(contentLength === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': contentLength }),
    },
  });
  // The server may answer and close the connection before the body is complete; the answer is what counts.
  request.on('error', () => {});
  const answered = once(request, 'response', { signal: AbortSignal.timeout(answerTimeoutMs) }).then(
    ([response]) => response as IncomingMessage,
  );
  answered.catch(() => {});
  return { request, answered };
}

/**
 * A whole upload form whose file names are written as `filename*` (RFC 5987), so every character of each arrives as
 * chosen (a browser or supertest would escape or drop some): for supertest's `.send(body)` with `contentType`.
 */
export function formWithExactFileNames(token: string, files: { name: string; bytes: Buffer }[]): { body: Buffer; contentType: string } {
  const fileParts = files.flatMap(({ name, bytes }) => [
    Buffer.from(
      `\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="photos"; filename*=UTF-8''${encodeURIComponent(name)}\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    bytes,
  ]);
  return { body: Buffer.concat([csrfField(token), ...fileParts, FORM_TAIL]), contentType: `multipart/form-data; boundary=${BOUNDARY}` };
}
