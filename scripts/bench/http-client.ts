// The benchmark's browser: uploads photos through an HTML form endpoint as the gallery's form does,
// with the cookies and hidden fields (the CSRF token) of the page that holds the form.
import { hiddenFormFields } from '../support/html.js';
import type { BenchPhoto } from './photos.js';

/** What a browser sends back with a form it was given: the cookies set with the page, and its hidden fields. */
export interface FormPass {
  cookie: string | undefined;
  hiddenFields: Record<string, string>;
}

/** For the peer, which has no page and no token: a bare multipart POST. */
export const NO_FORM_PASS: FormPass = { cookie: undefined, hiddenFields: {} };

/** Opens the gallery (GET /), which holds the upload form, and keeps what posting the form needs. */
export async function openUploadForm(baseUrl: string): Promise<FormPass> {
  const response = await fetch(new URL('/', baseUrl));
  const html = await response.text();
  if (!response.ok) throw new Error(`GET / answered ${response.status}: cannot open the upload form`);
  const cookies = response.headers.getSetCookie().map((setCookie) => setCookie.split(';')[0]!);
  return { cookie: cookies.length > 0 ? cookies.join('; ') : undefined, hiddenFields: hiddenFormFields(html, 'upload-form') };
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
  const response = await fetch(new URL('/photos', baseUrl), { method: 'POST', body: form, headers, redirect: 'manual' });
  const body = await response.text();
  if (response.status === 429) {
    throw new Error(`POST /photos answered 429 (rate limited): raise UPLOADS_PER_HOUR in BENCH_APP_SETTINGS (scripts/bench/servers.ts).`);
  }
  if (response.status !== 201) throw new Error(`POST /photos answered ${response.status}: ${body.slice(0, 300)}`);
  return JSON.parse(body);
}
