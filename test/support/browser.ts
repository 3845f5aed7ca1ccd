// A test client that behaves like one browser: it keeps cookies, and reads the CSRF token from the
// gallery page the way the upload and delete forms carry it, so tests post forms as a real visitor would.
import type { Express } from 'express';
import request from 'supertest';
import { formToken } from '../../scripts/support/html.js';

export type Browser = Awaited<ReturnType<typeof openBrowser>>;

/** Visits the gallery once, as a browser would before using its forms. */
export async function openBrowser(app: Express) {
  const agent = request.agent(app);
  const page = await agent.get('/');
  const token = formToken(page.text);
  if (page.status !== 200 || !token) throw new Error(`the gallery page gave no form token (HTTP ${page.status})`);

  return {
    agent,
    token,
    get: (path: string) => agent.get(path),
    /** A multipart POST to /photos with the token as its first field, as the form sends it. */
    upload: () => agent.post('/photos').field('_csrf', token),
    /** The delete form's POST. */
    delete: (photoId: string) => agent.post(`/photos/${photoId}/delete`).type('form').send({ _csrf: token }),
  };
}
