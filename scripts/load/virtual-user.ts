// One simulated visitor: until the deadline, either shares photos through the upload form or browses
// (gallery, older pages, a photo page, and the images they show), as fast as the app answers.
import { BrowserSession } from './browser-session.js';
import { imageSources, olderPageLink, photoIdsLinked } from '../support/html.js';
import type { LoadStats } from './stats.js';
import { keepsPixelsExactly, makeTestImage, summarizePixels, testCaption, type PixelSummary } from './test-images.js';

/** An upload the app acknowledged (201 with ids, or 303 to the photo): it must be in the gallery, intact. */
export interface AcknowledgedPhoto {
  id: string;
  caption: string;
  pixels: PixelSummary;
}

export interface VirtualUserOptions {
  appUrl: string;
  deadline: number;
  stats: LoadStats;
  acknowledged: AcknowledgedPhoto[];
  /** Numbers each upload, so every image and caption is different. */
  nextSequence: () => number;
}

/** The share of actions that are uploads; the rest are views. */
const UPLOAD_SHARE = 0.3;

export async function runVirtualUser(options: VirtualUserOptions): Promise<void> {
  const session = new BrowserSession(options.appUrl);
  while (Date.now() < options.deadline) {
    try {
      if (Math.random() < UPLOAD_SHARE) await sharePhotos(session, options);
      else await browse(session, options);
    } catch (error) {
      // A timeout or dropped connection is already counted by LoadStats.time; the visitor carries on.
      if (!isNetworkFailure(error)) console.error(`A visitor hit an unexpected answer: ${(error as Error).message}`);
    }
  }
}

async function sharePhotos(session: BrowserSession, { stats, acknowledged, nextSequence }: VirtualUserOptions): Promise<void> {
  // The form, and its CSRF token if the app has one, comes from the gallery page.
  await stats.time('gallery', () => session.openGallery('/'));
  // Half the uploads go as the page's script sends them (JSON, sometimes several files), half as a plain form post.
  const answer = Math.random() < 0.5 ? 'json' : 'html';
  const fileCount = answer === 'json' && Math.random() < 0.25 ? 2 + Math.floor(Math.random() * 2) : 1;
  const sequences = Array.from({ length: fileCount }, () => nextSequence());
  const files = await Promise.all(sequences.map((sequence) => makeTestImage(sequence)));
  const caption = testCaption(sequences[0]!);
  const result = await stats.time('upload', async () => {
    const response = await session.uploadPhotos(caption, files, answer);
    return { status: response.status, location: response.headers.get('location'), body: await response.text() };
  });
  const ids =
    result.status === 201
      ? (JSON.parse(result.body) as { photos: { id: string }[] }).photos.map((photo) => photo.id)
      : result.status === 303
        ? [/^\/photos\/([^/?]+)$/.exec(result.location ?? '')?.[1]]
        : [];
  for (const [index, id] of ids.entries()) {
    const file = files[index]!;
    acknowledged.push({
      id: id ?? `(no id in ${result.location})`,
      caption,
      pixels: await summarizePixels(file.bytes, keepsPixelsExactly(file.filename)),
    });
  }
}

async function browse(session: BrowserSession, { stats }: VirtualUserOptions): Promise<void> {
  let page = await stats.time('gallery', () => session.openGallery('/'));
  // Some visitors page back through older photos, a few pages at most.
  for (let depth = 0; depth < 3 && Math.random() < 0.4; depth++) {
    const older = olderPageLink(page.html);
    if (!older) break;
    page = await stats.time('older page', () => session.openGallery(older));
  }
  await fetchSomeImages(imageSources(page.html), 3, stats);
  const ids = photoIdsLinked(page.html);
  if (ids.length === 0) return;
  const photoPage = await stats.time('photo page', () => session.openPage(`/photos/${pickOne(ids)}`));
  await fetchSomeImages(imageSources(photoPage.html), 1, stats);
}

async function fetchSomeImages(urls: string[], count: number, stats: LoadStats): Promise<void> {
  const chosen = [...urls].sort(() => Math.random() - 0.5).slice(0, count);
  await Promise.all(chosen.map((url) => stats.time('image (S3)', () => BrowserSession.fetchImage(url))));
}

function isNetworkFailure(error: unknown): boolean {
  // fetch rejects with TypeError ("fetch failed") when the connection fails, TimeoutError when it times out.
  return error instanceof TypeError || (error as Error).name === 'TimeoutError';
}

function pickOne<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}
