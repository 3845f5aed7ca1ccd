// A photo's neighbours in gallery order, for the photo page's "Newer" and "Older", found by listing thumbnail
// keys alone. S3 lists only forwards, from newest to oldest, so the older photo is always one short listing
// away, and the newer one is too when the listing can start before the photo: at the `from` its link carries.
import { PHOTOS_PER_PAGE } from './pagination.js';
import { isPhotoId, photoIdBoundary, uploadedAt } from './photo-id.js';

/** A photo next to another in gallery order, and the `from` id that a link to it carries (see findNeighbours). */
export interface Neighbour {
  id: string;
  from: string;
}

export interface PhotoNeighbours {
  newer: Neighbour | undefined;
  older: Neighbour | undefined;
}

/**
 * The photo ids of up to `maxKeys` thumbnails after `startAfter` (a key, or a photo id's leading digits under
 * the thumbnail folder; from the newest when undefined), and whether more follow: one ListObjectsV2.
 */
export type ListThumbnailIds = (startAfter: string | undefined, maxKeys: number) => Promise<{ ids: string[]; truncated: boolean }>;

/**
 * How many photos newer than the one shown a neighbours listing may start before it. Walking towards
 * newer photos works this far back from where the visitor entered (the start of a gallery page).
 */
const NEIGHBOUR_CONTEXT = PHOTOS_PER_PAGE;
/** The most listings a bare link's photo page spends looking for the photo newer than it (see findNewer). */
export const MAX_NEWER_LISTINGS = 8;
/** How far past a photo's upload time the listings of findNewer start, in turn: a minute, an hour, a day, a year. */
const NEWER_SEARCH_REACHES_MS = [60_000, 3_600_000, 86_400_000, 31_557_600_000];

/**
 * The photos just newer and just older than `id`. One listing finds both when it starts at `from`, a photo
 * the link to this page named (the first of the gallery page it came from). A bare link (shared, bookmarked)
 * names none: the older photo then costs one listing, and the newer one a search of at most
 * MAX_NEWER_LISTINGS more (findNewer). So does a `from` that is no longer there (deleted since the link was made),
 * which leaves the photo first in its listing. Each neighbour comes with the `from` its own link should carry.
 */
export async function findNeighbours(listIds: ListThumbnailIds, id: string, from?: string): Promise<PhotoNeighbours> {
  const start = from !== undefined && isPhotoId(from) && from < id ? from : id;
  const [{ ids }, newerWithoutFrom] = await Promise.all([
    // The id without its key's extension sorts just before the key itself, so `start` is listed too.
    listIds(start, start === id ? 2 : NEIGHBOUR_CONTEXT + 2),
    start === id ? findNewer(listIds, id) : undefined,
  ]);
  const index = ids.indexOf(id);
  // Not listed: `from` lies too far back (an edited link); the neighbours are then unknown.
  if (index === -1) return { newer: undefined, older: undefined };
  const neighbour = (at: number): Neighbour | undefined =>
    at >= 0 && at < ids.length ? { id: ids[at]!, from: ids[Math.max(0, at - NEIGHBOUR_CONTEXT)]! } : undefined;
  if (start === id) return { newer: newerWithoutFrom, older: neighbour(index + 1) };
  return { newer: index === 0 ? await findNewer(listIds, id) : neighbour(index - 1), older: neighbour(index + 1) };
}

/**
 * The photo just newer than `id` with no `from` to list from: a listing that starts some time after the
 * photo's upload (ids sort by time) holds it once fewer photos than a listing's length lie in between.
 * First from the newest photo (a recent photo: one listing), then from a minute, an hour, a day and a year
 * after it, and then halving the last span that held too many. It gives up (no "Newer" link; "Back to the
 * gallery" remains) after MAX_NEWER_LISTINGS: only more photos in one millisecond than a listing holds get there.
 */
async function findNewer(listIds: ListThumbnailIds, id: string): Promise<Neighbour | undefined> {
  const time = uploadedAt(id).getTime();
  let listings = 0;
  /** Listed from `reach` ms after the photo's time (from the newest when undefined): the newer photo, or where it lies. */
  async function listFrom(reach: number | undefined): Promise<Neighbour | 'nearer' | 'further' | 'gone'> {
    listings++;
    const { ids, truncated } = await listIds(
      reach === undefined ? undefined : photoIdBoundary(new Date(time + reach)),
      NEIGHBOUR_CONTEXT + 2,
    );
    const index = ids.indexOf(id);
    if (index > 0) return { id: ids[index - 1]!, from: ids[0]! };
    if (index === 0) return 'further';
    return truncated ? 'nearer' : 'gone';
  }

  const fromNewest = await listFrom(undefined);
  if (fromNewest !== 'nearer') return typeof fromNewest === 'object' ? fromNewest : undefined;
  let known = 0;
  let tooFar: number | undefined;
  for (const reach of NEWER_SEARCH_REACHES_MS) {
    const found = await listFrom(reach);
    if (typeof found === 'object') return found;
    if (found === 'gone') return undefined;
    if (found === 'nearer') {
      tooFar = reach;
      break;
    }
    known = reach;
  }
  // Nothing newer within a year, yet too many newer photos to list from the newest: past the year, up to now.
  tooFar ??= Date.now() - time;
  while (listings < MAX_NEWER_LISTINGS) {
    const reach = Math.floor((known + tooFar) / 2);
    if (reach === known) return undefined;
    const found = await listFrom(reach);
    if (typeof found === 'object') return found;
    if (found === 'gone') return undefined;
    if (found === 'nearer') tooFar = reach;
    else known = reach;
  }
  return undefined;
}
