// Gallery paging with S3 continuation tokens. S3 only lists forwards, so each page's URL carries the
// tokens of the pages before it (a few at most), which is what makes "Newer" possible.

/** Older pages than this are dropped from the trail; "Newer" then leads to the newest page. */
const MAX_TRAIL = 8;
const FIRST_PAGE = '';
/** Longer than any token S3 issues: such a link was not made by the app (the store refuses it as a page). */
const MAX_TOKEN_LENGTH = 1024;

export interface PagePosition {
  /** Continuation token of this page; undefined for the newest page. */
  token: string | undefined;
  /** Tokens of the pages before this one, oldest first ('' stands for the newest page). */
  trail: string[];
}

export function readPagePosition(query: Record<string, unknown>): PagePosition {
  const token = typeof query.page === 'string' && query.page !== '' ? query.page : undefined;
  const back = query.back;
  const trail = (Array.isArray(back) ? back : back === undefined ? [] : [back]).filter(
    (item): item is string => typeof item === 'string' && item.length <= MAX_TOKEN_LENGTH,
  );
  return { token, trail: trail.slice(-MAX_TRAIL) };
}

export function olderPageLink(position: PagePosition, nextToken: string): string {
  return pageLink(nextToken, [...position.trail, position.token ?? FIRST_PAGE].slice(-MAX_TRAIL));
}

/** undefined on the newest page. */
export function newerPageLink(position: PagePosition): string | undefined {
  if (position.token === undefined) return undefined;
  const previous = position.trail.at(-1);
  if (previous === undefined || previous === FIRST_PAGE) return '/';
  return pageLink(previous, position.trail.slice(0, -1));
}

function pageLink(token: string, trail: string[]): string {
  const params = new URLSearchParams({ page: token });
  for (const item of trail) params.append('back', item);
  return `/?${params}`;
}
