// Gallery paging. A page is named by the photo id it starts after (see store.listPhotoPage). S3 only lists
// forwards, so each page's URL carries the ids of the pages before it, which is what makes "Newer" possible.

/** Photos on a gallery page: one ListObjectsV2 of this many thumbnails. */
export const PHOTOS_PER_PAGE = 24;
/** Older pages than this are dropped from the trail, to keep links short; past them only "Newest" is offered. */
const MAX_TRAIL = 30;
const FIRST_PAGE = '';
/** Far longer than a photo id: such a link was not made by the app (the store refuses anything but an id). */
const MAX_TOKEN_LENGTH = 1024;

export interface PagePosition {
  /** Continuation token of this page; undefined for the newest page. */
  token: string | undefined;
  /** Tokens of the pages before this one, oldest first ('' stands for the newest page). */
  trail: string[];
}

export function readPagePosition(query: Record<string, unknown>): PagePosition {
  // A repeated ?page= is no link the app wrote: kept whole, it fails the photo-id check like any other bad token,
  // rather than silently meaning the newest page.
  const page = query.page;
  const token = page === undefined || page === '' ? undefined : Array.isArray(page) ? page.join(',') : String(page);
  const back = query.back;
  const trail = (Array.isArray(back) ? back : back === undefined ? [] : [back]).filter(
    (item): item is string => typeof item === 'string' && item.length <= MAX_TOKEN_LENGTH,
  );
  return { token, trail: trail.slice(-MAX_TRAIL) };
}

export function olderPageLink(position: PagePosition, nextToken: string): string {
  return pageLink(nextToken, [...position.trail, position.token ?? FIRST_PAGE].slice(-MAX_TRAIL));
}

/** The page just before this one; undefined on the newest page, and where the trail no longer reaches back. */
export function newerPageLink(position: PagePosition): string | undefined {
  if (position.token === undefined) return undefined;
  const previous = position.trail.at(-1);
  if (previous === undefined) return undefined;
  return previous === FIRST_PAGE ? '/' : pageLink(previous, position.trail.slice(0, -1));
}

/** The newest page, offered (instead of a "Newer" that would skip pages) where the trail no longer reaches back. */
export function newestPageLink(position: PagePosition): string | undefined {
  return position.token !== undefined && position.trail.length === 0 ? '/' : undefined;
}

function pageLink(token: string, trail: string[]): string {
  const params = new URLSearchParams({ page: token });
  for (const item of trail) params.append('back', item);
  return `/?${params}`;
}
