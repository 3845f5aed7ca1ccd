// After the load: every acknowledged upload must be listed in the gallery (all pages walked through
// "Older"), with its caption, and its full-size image must have the size (and, for JPEG and PNG, the very pixels) that were sent.
import { BrowserSession } from './browser-session.js';
import { fullSizeLink, imageSources, olderPageLink, pageHeading, photoIdsLinked } from '../support/html.js';
import { summarizePixels } from './test-images.js';
import type { AcknowledgedPhoto } from './virtual-user.js';

const PARALLEL_CHECKS = 8;

export interface Verification {
  listed: number;
  pages: number;
  /** Acknowledged but not in the gallery. */
  lost: string[];
  /** Listed, but the page, caption or bytes are not what was sent. */
  corrupt: string[];
  /** In the gallery more than once. */
  duplicated: string[];
  /** In the gallery but never acknowledged: uploads whose answer was lost (a timeout) or that failed half-way. */
  unacknowledged: string[];
}

export async function verifyPhotos(appUrl: string, acknowledged: AcknowledgedPhoto[]): Promise<Verification> {
  const session = new BrowserSession(appUrl);
  const { ids: listedIds, pages } = await listEveryPhoto(session, acknowledged.length);
  const listed = new Set(listedIds);
  const lost = acknowledged.filter((photo) => !listed.has(photo.id)).map((photo) => photo.id);
  const acknowledgedIds = new Set(acknowledged.map((photo) => photo.id));

  const corrupt: string[] = [];
  const toCheck = acknowledged.filter((photo) => listed.has(photo.id));
  await Promise.all(
    Array.from({ length: PARALLEL_CHECKS }, async () => {
      for (let photo = toCheck.pop(); photo; photo = toCheck.pop()) {
        const problem = await checkPhoto(session, photo);
        if (problem) corrupt.push(`${photo.id}: ${problem}`);
      }
    }),
  );

  return {
    listed: listed.size,
    pages,
    lost,
    corrupt,
    duplicated: [...new Set(listedIds.filter((id, index) => listedIds.indexOf(id) !== index))],
    unacknowledged: [...listed].filter((id) => !acknowledgedIds.has(id)),
  };
}

async function listEveryPhoto(session: BrowserSession, expected: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  // A loop in the Older links would otherwise never end; the gallery shows 24 a page.
  const maxPages = Math.ceil(expected / 10) + 50;
  let next: string | undefined = '/';
  let pages = 0;
  while (next) {
    if (++pages > maxPages) throw new Error(`the gallery's Older links went on for more than ${maxPages} pages`);
    const page = await session.openGallery(next);
    if (page.status !== 200) throw new Error(`gallery page ${next} answered ${page.status}`);
    ids.push(...photoIdsLinked(page.html));
    next = olderPageLink(page.html);
  }
  return { ids, pages };
}

/** What is wrong with the photo as served, or undefined when it is intact. */
async function checkPhoto(session: BrowserSession, photo: AcknowledgedPhoto): Promise<string | undefined> {
  const page = await session.openPage(`/photos/${photo.id}`);
  if (page.status !== 200) return `its page answered ${page.status}`;
  const heading = pageHeading(page.html);
  if (heading !== photo.caption) return `caption is ${JSON.stringify(heading)}, sent ${JSON.stringify(photo.caption)}`;
  const viewerLink = fullSizeLink(page.html);
  if (!viewerLink) return 'its page has no full-size link';
  const viewer = await session.openPage(viewerLink);
  if (viewer.status !== 200) return `its full-size viewer answered ${viewer.status}`;
  const fullSize = imageSources(viewer.html)[0];
  if (!fullSize) return 'its full-size viewer shows no image';
  const image = await BrowserSession.fetchImage(fullSize);
  if (image.status !== 200) return `full-size image answered ${image.status}`;
  const served = await summarizePixels(image.bytes, photo.pixels.pixelDigest !== undefined).catch(() => undefined);
  if (!served) return 'full-size image does not decode';
  if (served.width !== photo.pixels.width || served.height !== photo.pixels.height) {
    return `full-size image is ${served.width} × ${served.height}, sent ${photo.pixels.width} × ${photo.pixels.height}`;
  }
  if (served.pixelDigest !== photo.pixels.pixelDigest) return 'full-size image has other pixels than were sent';
  return undefined;
}
