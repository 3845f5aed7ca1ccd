// Who is this browser, without user accounts or server state: a random key in an HttpOnly cookie.
// It binds CSRF tokens to the browser (csrf-csrf's double-submit cookie), and it proves who uploaded a
// photo: each photo stores an HMAC of the photo's id keyed with the browser's key. Any app instance can
// check it, S3 never holds the key, and two photos of one browser carry unrelated tags (unlinkable).
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import cookieParser from 'cookie-parser';
import { doubleCsrf } from 'csrf-csrf';
import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.js';

const BROWSER_KEY_COOKIE = 'browser_key';
/**
 * Over HTTPS the key lives in a `__Host-` cookie, which browsers accept only from this host itself (Secure, no
 * Domain, Path=/): a sibling subdomain cannot plant a key it knows in a visitor's browser and later delete the
 * photos uploaded with it. Plain HTTP (the demo without a certificate, local runs) cannot use the prefix.
 */
const SECURE_BROWSER_KEY_COOKIE = '__Host-browser_key';

function browserKeyCookie(req: Request): string {
  return req.secure ? SECURE_BROWSER_KEY_COOKIE : BROWSER_KEY_COOKIE;
}
const CSRF_COOKIE = 'csrf_token';
/**
 * Over HTTPS the form token's cookie is a `__Host-` cookie too: a sibling subdomain could otherwise set a
 * `csrf_token` for the parent domain with a longer Path, which browsers send first, and every form of the
 * visitor's would fail ("Form expired"), reloaded or not.
 */
const SECURE_CSRF_COOKIE = '__Host-csrf_token';
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

/** The form's security token is missing, from another browser, or out of date. */
export class FormExpired extends AppError {
  constructor() {
    super({
      kind: 'forbidden',
      title: 'Form expired',
      message: 'This form could not be verified (its security token is missing or out of date), so nothing was changed.',
      hint: 'Reload the page and submit the form again. Scripts must first GET a page and send its cookies and the _csrf value.',
    });
  }
}

export interface BrowserSession {
  /** Mount before the routes: parses cookies. */
  middleware: RequestHandler[];
  /**
   * The token for the forms of the page being rendered; a browser without a key gets one here, and only here.
   * Call it from a GET (or HEAD) handler that renders a form, once nothing else can fail: a cross-site form POST
   * arrives without the key cookie (SameSite=Lax), and a key set in any other answer would replace the visitor's
   * own, taking away their right to delete their photos.
   */
  issueFormToken(req: Request, res: Response): string;
  /** Throws FormExpired unless the request carries this browser's form token. Nothing may be stored before this passes. */
  requireFormToken(req: Request): void;
  /** Stored with a photo: proves this browser uploaded it, and reveals nothing else. */
  ownerTag(req: Request, photoId: string): string;
  isOwner(req: Request, photoId: string, storedTag: string): boolean;
  /**
   * `data` encrypted and authenticated (AES-256-GCM) with a key derived from the app's secret, this browser's key
   * and `purpose`: a base64url token only this browser can have opened, by any instance.
   */
  sealForBrowser(req: Request, purpose: string, data: Buffer): string;
  /** What sealForBrowser sealed for this browser and purpose; undefined for any other token (altered, forged, another's). */
  openForBrowser(req: Request, purpose: string, token: string): Buffer | undefined;
}

export function createBrowserSession({ csrfSecret }: { csrfSecret: string }): BrowserSession {
  // One for each scheme, as the cookie's name differs: the EC2 demo is served over plain HTTP.
  const csrfWithCookie = (cookieName: string, secure: boolean) =>
    doubleCsrf({
      getSecret: () => csrfSecret,
      getSessionIdentifier: (req) => browserKeyOf(req) ?? '',
      cookieName,
      // Lax, not Strict: a visitor arriving by a link from another site must bring the token cookie along, or that
      // page's new token would expire the forms open in their other tabs. Lax is as safe here: a token is bound to
      // the browser key (an HMAC of it), and a cross-site POST carries neither cookie.
      cookieOptions: { sameSite: 'lax', httpOnly: true, secure, path: '/' },
      // Forms send a hidden `_csrf` field (first, before any file); the upload script also sends a header.
      getCsrfTokenFromRequest: (req) => req.get('x-csrf-token') ?? (req.body as { _csrf?: string } | undefined)?._csrf,
    });
  const csrfOverHttp = csrfWithCookie(CSRF_COOKIE, false);
  const csrfOverHttps = csrfWithCookie(SECURE_CSRF_COOKIE, true);
  const csrfFor = (req: Request) => (req.secure ? csrfOverHttps : csrfOverHttp);

  return {
    middleware: [cookieParser()],

    issueFormToken(req, res) {
      if (!browserKeyOf(req)) {
        const key = randomBytes(32).toString('base64url');
        res.cookie(browserKeyCookie(req), key, { httpOnly: true, sameSite: 'lax', secure: req.secure, maxAge: ONE_YEAR_MS, path: '/' });
        req.cookies[browserKeyCookie(req)] = key;
      }
      return csrfFor(req).generateCsrfToken(req, res);
    },

    requireFormToken(req) {
      if (!csrfFor(req).validateRequest(req)) throw new FormExpired();
      if (req.res) markFormTokenAccepted(req.res);
    },

    ownerTag(req, photoId) {
      const key = browserKeyOf(req);
      if (!key) throw new FormExpired(); // the form token check already requires the key
      return ownerTagOf(key, photoId);
    },

    sealForBrowser(req, purpose, data) {
      const key = browserKeyOf(req);
      if (!key) throw new FormExpired(); // only a form post, whose token check requires the key, seals
      const iv = randomBytes(SEAL_IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealingKey(csrfSecret, key, purpose), iv);
      const sealed = Buffer.concat([cipher.update(data), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
    },

    openForBrowser(req, purpose, token) {
      const key = browserKeyOf(req);
      const bytes = Buffer.from(token, 'base64url');
      if (!key || bytes.toString('base64url') !== token || bytes.length <= SEAL_IV_BYTES + SEAL_TAG_BYTES) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', sealingKey(csrfSecret, key, purpose), bytes.subarray(0, SEAL_IV_BYTES));
      decipher.setAuthTag(bytes.subarray(SEAL_IV_BYTES, SEAL_IV_BYTES + SEAL_TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(bytes.subarray(SEAL_IV_BYTES + SEAL_TAG_BYTES)), decipher.final()]);
      } catch {
        return undefined; // the tag does not match: not sealed with this key
      }
    },

    isOwner(req, photoId, storedTag) {
      const key = browserKeyOf(req);
      if (!key || !/^[0-9a-f]{64}$/.test(storedTag)) return false;
      return timingSafeEqual(Buffer.from(ownerTagOf(key, photoId), 'hex'), Buffer.from(storedTag, 'hex'));
    },
  };
}

/**
 * Whether this request carried its browser's form token. Only such requests count against a client's upload and
 * delete limits: a forged cross-site POST (which cannot carry the token) must not use up its victim's allowance.
 */
export function formTokenWasAccepted(res: Response): boolean {
  return res.locals.formTokenAccepted === true;
}

function markFormTokenAccepted(res: Response): void {
  res.locals.formTokenAccepted = true;
}

function browserKeyOf(req: Request): string | undefined {
  const key: unknown = req.cookies?.[browserKeyCookie(req)];
  return typeof key === 'string' && /^[A-Za-z0-9_-]{43}$/.test(key) ? key : undefined;
}

const SEAL_IV_BYTES = 12;
const SEAL_TAG_BYTES = 16;

/** One key per secret, browser and purpose: a token sealed for one purpose opens for no other. */
function sealingKey(secret: string, browserKey: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`seal:${purpose}:${browserKey}`).digest();
}

function ownerTagOf(browserKey: string, photoId: string): string {
  return createHmac('sha256', browserKey).update(`photo-owner:${photoId}`).digest('hex');
}
