// Reading what the app's pages link to: presigned image URLs, the full-size link, and their bytes.
import assert from 'node:assert/strict';

/** The presigned image URLs a page shows (img src), unescaped. */
export function imageUrls(html: string): string[] {
  return [...html.matchAll(/<img src="([^"]+)"/g)].map((match) => match[1]!.replaceAll('&amp;', '&'));
}

export function fullSizeUrl(html: string): string {
  const match = /<a href="([^"]+)">Full-size image<\/a>/.exec(html);
  assert.ok(match, 'the photo page links the full-size image');
  return match[1]!.replaceAll('&amp;', '&');
}

/** GETs a presigned URL over real HTTP and returns its body. */
export async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Every image a photo page serves: display size, thumbnail in the gallery, full size. */
export function servedImageUrls(photoPageHtml: string): string[] {
  return [...imageUrls(photoPageHtml), fullSizeUrl(photoPageHtml)];
}
