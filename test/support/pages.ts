// What the tests need beyond reading a page (scripts/support/html.ts): the image URLs a photo page must have, and their bytes.
import assert from 'node:assert/strict';
import { fullSizeLink, imageSources } from '../../scripts/support/html.js';

export function fullSizeUrl(html: string): string {
  const url = fullSizeLink(html);
  assert.ok(url, 'the photo page links the full-size image');
  return url;
}

/** GETs a presigned URL over real HTTP and returns its body. */
export async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Every image a photo page serves: display size, thumbnail in the gallery, full size. */
export function servedImageUrls(photoPageHtml: string): string[] {
  return [...imageSources(photoPageHtml), fullSizeUrl(photoPageHtml)];
}
