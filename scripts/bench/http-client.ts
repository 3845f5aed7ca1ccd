// The benchmark's browser: uploads photos through an HTML form endpoint as the gallery's form does,
// with the cookies and hidden fields (the CSRF token) of the page that holds the form.
import { TooManyRequests } from '../../src/errors.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../src/http/keep-alive.js';
import { REFUSED_BODY_BOUNDS } from '../../src/http/refused-body.js';
import { StorageUnavailable } from '../../src/storage/errors.js';
import { ClientImagesWaiting, ImageQueueFull, UploadQuotaExceeded, UploadsBusy } from '../../src/photos/errors.js';
import { hiddenFormFields } from '../support/html.js';
import type { BenchPhoto } from './photos.js';

/** What a browser sends back with a form it was given: the cookies set with the page, and its hidden fields. */
export interface FormPass {
  cookie: string | undefined;
  hiddenFields: Record<string, string>;
  /** The visitor's address as the app's proxy reports it (X-Forwarded-For), when the app trusts one. */
  forwardedFor?: string;
}

/** For the peer, which has no page and no token: a bare multipart POST. */
export const NO_FORM_PASS: FormPass = { cookie: undefined, hiddenFields: {} };

/** Opens the gallery (GET /), which holds the upload form, and keeps what posting the form needs. */
export async function openUploadForm(baseUrl: string, { forwardedFor }: { forwardedFor?: string } = {}): Promise<FormPass> {
  const response = await fetch(new URL('/', baseUrl), { headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });
  const html = await response.text();
  if (!response.ok) throw new Error(`GET / answered ${response.status}: cannot open the upload form`);
  const cookies = response.headers.getSetCookie().map((setCookie) => setCookie.split(';')[0]!);
  return { cookie: cookies.length > 0 ? cookies.join('; ') : undefined, hiddenFields: hiddenFormFields(html, 'upload-form'), forwardedFor };
}

/**
 * POSTs one photo (`copies` times in one form) as multipart/form-data to `/photos`; resolves with the JSON
 * answer once it has fully arrived.
 */
export async function uploadPhoto(baseUrl: string, photo: BenchPhoto, pass: FormPass, copies = 1): Promise<unknown> {
  const form = new FormData();
  // Hidden fields first, as in the page: the app checks the CSRF token before it stores any file.
  for (const [name, value] of Object.entries(pass.hiddenFields)) form.append(name, value);
  form.append('caption', photo.name);
  for (let copy = 0; copy < copies; copy++) form.append('photos', new Blob([photo.bytes], { type: 'image/jpeg' }), photo.name);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (pass.cookie) headers.cookie = pass.cookie;
  if (pass.forwardedFor) headers['x-forwarded-for'] = pass.forwardedFor;
  const response = await fetch(new URL('/photos', baseUrl), { method: 'POST', body: form, headers, redirect: 'manual' }).catch(
    (error: unknown) => {
      throw new Error(`POST /photos got no answer: ${describeLostConnection(error)}`, { cause: error });
    },
  );
  const body = await response.text();
  if (response.status !== 201) throw new Error(`POST /photos answered ${response.status}: ${describeRefusal(body)}`);
  return JSON.parse(body);
}

/**
 * The app's limits a benchmark can run into, each known by the title of its refusal (taken from the app's own
 * errors, so a renamed title cannot go unnoticed here), with what to change when a benchmark passes one.
 */
const LIMITS_BY_TITLE = new Map<string, string>([
  [new TooManyRequests('uploads', 0).title, 'the uploads per address per hour: raise UPLOADS_PER_HOUR in BENCH_APP_SETTINGS'],
  [
    new UploadQuotaExceeded(0).title,
    'the bytes of uploads in progress per address (UPLOAD_MB_IN_PROGRESS_PER_CLIENT): send concurrent uploads from more addresses',
  ],
  [
    new ClientImagesWaiting(0).title,
    "the photos per address waiting for their images (one upload's worth, MAX_FILES_PER_UPLOAD): send concurrent uploads from more addresses",
  ],
  [new UploadsBusy().title, 'the bytes of uploads in progress on the server (UPLOAD_MB_IN_PROGRESS)'],
  [
    new ImageQueueFull().title,
    'the photos waiting for their images on the server (fixed in src/photos/upload/image-queue.ts): send fewer at once',
  ],
  [
    new StorageUnavailable('', undefined).title,
    'the deadline of each S3 operation, retries included (S3_TIMEOUT_SECONDS), or S3 could not be reached or lost the connection: the cause is in the app log line before this error',
  ],
]);

/**
 * A connection closed under an upload, with the app's limits that close one: the bound on a refused body's
 * rest, the keep-alive of an idle connection, and Node's own time limit for receiving a request.
 */
export function describeLostConnection(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const what = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  const { maxBytes, maxMs } = REFUSED_BODY_BOUNDS;
  return (
    `the connection was closed while the upload was being sent (${what}). The app closes one when it has refused the ` +
    `upload and the rest of the body passes ${maxBytes / 2 ** 20} MiB or ${maxMs / 1000} s (REFUSED_BODY_BOUNDS, ` +
    `src/http/refused-body.ts), when a request starts on it as it has been idle for ${KEEP_ALIVE_TIMEOUT_MS / 1000} s ` +
    `(KEEP_ALIVE_TIMEOUT_MS, src/http/keep-alive.ts), or when the request has not arrived whole in Node's ` +
    `requestTimeout (300 s); the app's log at LOG_LEVEL=info says which request it refused.`
  );
}

/** The app's refusal in its own words, and the limit behind it when it is one. */
export function describeRefusal(body: string): string {
  let error: { title?: string; message?: string } | undefined;
  try {
    error = (JSON.parse(body) as { error?: { title?: string; message?: string } }).error;
  } catch {
    // not the app's JSON answer: shown as it came
  }
  if (!error?.title) return body.slice(0, 300);
  const limit = LIMITS_BY_TITLE.get(error.title);
  return `"${error.title}": ${error.message}${limit ? ` The limit passed is ${limit}.` : ''}`;
}
