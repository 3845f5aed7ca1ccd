// What the tests need beyond reading a page (scripts/support/html.ts): the image URLs a photo page must have, and their bytes.
import assert from 'node:assert/strict';
import type { Express } from 'express';
import request from 'supertest';
import { fullSizeLink, imageSources, srcsetSources } from '../../scripts/support/html.js';

/** The full-size image's URL: the image of the viewer page that the photo page's "Full-size image" opens. */
export async function fullSizeUrl(app: Express, photoPageHtml: string): Promise<string> {
  const viewer = fullSizeLink(photoPageHtml);
  assert.ok(viewer, 'the photo page links the full-size viewer');
  const [url] = imageSources((await request(app).get(viewer).expect(200)).text);
  assert.ok(url, 'the viewer shows the full-size image');
  return url;
}

/** GETs a presigned URL over real HTTP and returns its body. */
export async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Every image a photo page serves: display size and its sharper copy, full size. */
export async function servedImageUrls(app: Express, photoPageHtml: string): Promise<string[]> {
  return [...new Set([...imageSources(photoPageHtml), ...srcsetSources(photoPageHtml), await fullSizeUrl(app, photoPageHtml)])];
}
