// A visitor's side of the conversation with the app, as a browser has it: cookies the app set come back
// on later requests, and forms are posted with their hidden fields (a CSRF token, when the app has one).
import { hiddenFormFields } from '../support/html.js';

/** Per request: a slow answer is recorded as a failure rather than holding the run open. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface UploadFile {
  bytes: Buffer;
  mime: string;
  filename: string;
}

export class BrowserSession {
  private readonly cookies = new Map<string, string>();
  /** Hidden fields of the upload form on the last gallery page this visitor saw. */
  private uploadFormFields: Record<string, string> = {};

  constructor(readonly appUrl: string) {}

  /** A request to the app, with this visitor's cookies; redirects are returned, not followed. */
  async fetchApp(pathOrUrl: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('Cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(new URL(pathOrUrl, this.appUrl), {
      ...init,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    this.keepCookies(response);
    return response;
  }

  /** Loads a gallery page and remembers its upload form's hidden fields for the next upload. */
  async openGallery(pathOrUrl = '/'): Promise<{ status: number; html: string }> {
    const page = await this.openPage(pathOrUrl);
    if (page.status === 200) this.uploadFormFields = hiddenFormFields(page.html, 'upload-form');
    return page;
  }

  async openPage(pathOrUrl: string): Promise<{ status: number; html: string }> {
    const response = await this.fetchApp(pathOrUrl, { headers: { Accept: 'text/html' } });
    return { status: response.status, html: await response.text() };
  }

  /**
   * Posts the upload form with the hidden fields of the last gallery page seen, the caption and the files:
   * as the page's script does (`json`: 201 with the ids) or as a browser without JavaScript (`html`: 303).
   * Open a gallery page first, as a visitor must to see the form.
   */
  uploadPhotos(caption: string, files: UploadFile[], answer: 'json' | 'html'): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries(this.uploadFormFields)) form.append(name, value);
    form.append('caption', caption);
    for (const file of files) form.append('photos', new Blob([new Uint8Array(file.bytes)], { type: file.mime }), file.filename);
    return this.fetchApp('/photos', {
      method: 'POST',
      body: form,
      headers: { Accept: answer === 'json' ? 'application/json' : 'text/html' },
    });
  }

  /** A presigned S3 URL from a page: fetched without the app's cookies, as a browser would. */
  static async fetchImage(url: string): Promise<{ status: number; bytes: Buffer }> {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
  }

  private keepCookies(response: Response): void {
    for (const setCookie of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = setCookie.split(';');
      const separator = pair.indexOf('=');
      if (separator <= 0) continue;
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired =
        value === '' ||
        attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute) || /^\s*expires=Thu, 01 Jan 1970/i.test(attribute));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}
