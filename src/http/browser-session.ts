// Who is this browser, without user accounts or server state: a random key in an HttpOnly cookie.
// It binds CSRF tokens to the browser (csrf-csrf's double-submit cookie), and it proves who uploaded a
// photo: only its hash is stored with the photo, so any app instance can check it and S3 never holds it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import cookieParser from 'cookie-parser';
import { doubleCsrf } from 'csrf-csrf';
import type { Request, RequestHandler } from 'express';
import { HttpError } from './errors.js';

const BROWSER_KEY_COOKIE = 'browser_key';
const CSRF_COOKIE = 'csrf_token';
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

export type BrowserSession = ReturnType<typeof createBrowserSession>;

export function createBrowserSession({ csrfSecret }: { csrfSecret: string }) {
  const csrf = doubleCsrf({
    getSecret: () => csrfSecret,
    getSessionIdentifier: (req) => browserKeyOf(req) ?? '',
    cookieName: CSRF_COOKIE,
    // Secure is decided per request (below): the EC2 demo is served over plain HTTP.
    cookieOptions: { sameSite: 'strict', httpOnly: true, secure: false },
    // Forms send a hidden `_csrf` field (first, before any file); the upload script also sends a header.
    getCsrfTokenFromRequest: (req) => req.get('x-csrf-token') ?? (req.body as { _csrf?: string } | undefined)?._csrf,
  });

  /** Gives every browser a key on its first visit, and every page the CSRF token its forms need. */
  const identifyBrowser: RequestHandler = (req, res, next) => {
    if (!browserKeyOf(req)) {
      const key = randomBytes(32).toString('base64url');
      res.cookie(BROWSER_KEY_COOKIE, key, { httpOnly: true, sameSite: 'lax', secure: req.secure, maxAge: ONE_YEAR_MS, path: '/' });
      req.cookies[BROWSER_KEY_COOKIE] = key;
    }
    if (req.method === 'GET') {
      res.locals.csrfToken = csrf.generateCsrfToken(req, res, { cookieOptions: { secure: req.secure } });
    }
    next();
  };

  return {
    /** Mount before the routes: parses cookies and identifies the browser. */
    middleware: [cookieParser(), identifyBrowser] as RequestHandler[],

    /** Throws 403 unless the request carries this browser's CSRF token. Nothing may be stored before this passes. */
    requireCsrfToken(req: Request): void {
      if (!csrf.validateRequest(req)) {
        throw new HttpError(
          403,
          'Form expired',
          'This form could not be verified (its security token is missing or out of date), so nothing was changed.',
          'Reload the page and submit the form again. Scripts must first GET a page and send its cookies and the _csrf value.',
        );
      }
    },

    /** Stored with each photo; reveals nothing about the key. */
    uploaderHash(req: Request): string {
      return hashKey(browserKeyOf(req) ?? '');
    },

    isUploader(req: Request, storedHash: string | undefined): boolean {
      const key = browserKeyOf(req);
      if (!key || !storedHash) return false;
      const actual = Buffer.from(hashKey(key), 'hex');
      const expected = Buffer.from(storedHash, 'hex');
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
  };
}

function browserKeyOf(req: Request): string | undefined {
  const key: unknown = req.cookies?.[BROWSER_KEY_COOKIE];
  return typeof key === 'string' && /^[A-Za-z0-9_-]{43}$/.test(key) ? key : undefined;
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
