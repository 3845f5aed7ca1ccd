// A notice shown once, on the page a form redirects to ("The photo was deleted."): kept in a short-lived
// cookie that the next page reads and clears, so a reload, the back button or a shared link never repeats it.
import type { Request, Response } from 'express';

const NOTICE_COOKIE = 'notice';
/**
 * Over HTTPS a `__Host-` cookie, as the browser key is (browser-session.ts): a sibling subdomain could otherwise set
 * a `notice` for the parent domain, which clearing this host's cookie never removes, and it would show on every page.
 */
const SECURE_NOTICE_COOKIE = '__Host-notice';

function noticeCookie(req: Request): string {
  return req.secure ? SECURE_NOTICE_COOKIE : NOTICE_COOKIE;
}
/** Long enough for the redirect to be followed, short enough that a notice never shows up a day later. */
const NOTICE_LIFETIME_MS = 60_000;
/** The upload script sends a large choice of files in batches: their counts add up, to this many. */
const MAX_UPLOAD_COUNT = 999;

export type Notice = { kind: 'photo-deleted' | 'caption-saved' | 'caption-removed' } | { kind: 'photos-uploaded'; count: number };

/** The notices that need no count: each cookie value is its kind. */
const FIXED_NOTICES: Record<string, string> = {
  'photo-deleted': 'The photo was deleted.',
  'caption-saved': 'The caption was saved.',
  'caption-removed': 'The caption was removed.',
};

/**
 * Remembers the notice for the next page this browser opens. Photos uploaded while an upload notice waits
 * (the upload script's batches of one choice of files) are added to its count, so that page says them all.
 */
export function rememberNotice(req: Request, res: Response, notice: Notice): void {
  const waiting = uploadCount(req.cookies?.[noticeCookie(req)]) ?? 0;
  const value = notice.kind === 'photos-uploaded' ? `photos-uploaded:${Math.min(MAX_UPLOAD_COUNT, waiting + notice.count)}` : notice.kind;
  res.cookie(noticeCookie(req), value, { httpOnly: true, sameSite: 'lax', secure: req.secure, maxAge: NOTICE_LIFETIME_MS, path: '/' });
}

/** The remembered notice as a sentence, or undefined; either way it will not show again. */
export function takeNotice(req: Request, res: Response): string | undefined {
  const value: unknown = req.cookies?.[noticeCookie(req)];
  if (value === undefined) return undefined;
  res.clearCookie(noticeCookie(req), { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' });
  return typeof value === 'string' ? noticeText(value) : undefined;
}

/** The cookie holds a code, not the text, so a cookie set by someone else can only pick among these sentences. */
function noticeText(value: string): string | undefined {
  if (Object.hasOwn(FIXED_NOTICES, value)) return FIXED_NOTICES[value];
  const count = uploadCount(value);
  if (count === 1) return 'The photo was uploaded.';
  return count === undefined ? undefined : `${count} photos were uploaded.`;
}

/** The count of an upload notice the app could have set, else undefined. */
function uploadCount(value: unknown): number | undefined {
  const count = Number(/^photos-uploaded:(\d{1,3})$/.exec(typeof value === 'string' ? value : '')?.[1]);
  return Number.isInteger(count) && count >= 1 && count <= MAX_UPLOAD_COUNT ? count : undefined;
}
