// A second visit in a real browser (Debian's Chromium): within a signing window the gallery repeats its image
// links, S3 sent each image with a year-long Cache-Control, and Chromium serves every thumbnail from its cache
// instead of downloading it again. Prints what each visit cost.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { PHOTOS_PER_PAGE } from '../../src/photos/store.js';
import { seedPhotos } from '../support/seed.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { chromiumSkipReason, launchChromium, screenshotOnFailure } from './chromium.js';
import { loadAllImages } from './page-checks.js';

const skip = chromiumSkipReason();
/** The app signs links as of the start of a window a third of PRESIGNED_URL_TTL_SECONDS (default 900) long. */
const SIGNING_WINDOW_MS = 300_000;

/** What the browser did for one visit, read from the DevTools protocol's network events. */
interface VisitCost {
  thumbnailsShown: number;
  thumbnailsFromCache: number;
  thumbnailsDownloaded: number;
  /** Bytes that came over the network for the whole visit: page, styles, scripts and images. */
  bytesDownloaded: number;
}

let testApp: TestApp;
let server: Server;
let appUrl: string;
let browser: Browser;
let page: Page;
let network: CDPSession;
/** A second into the current signing window. */
let appTime = Math.floor(Date.now() / SIGNING_WINDOW_MS) * SIGNING_WINDOW_MS + 1_000;

describe("the gallery's thumbnails on a second visit, in Chromium", { skip }, () => {
  before(async () => {
    // The app's clock is the test's: the visits fall in one window whatever the time of day (S3 still checks
    // each link's expiry against the real time).
    testApp = await startTestApp({ now: () => appTime });
    await seedPhotos(testApp.store, PHOTOS_PER_PAGE);
    server = testApp.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    appUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    network = await context.newCDPSession(page);
    await network.send('Network.enable');
  });

  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await testApp?.close();
  });

  it('when the gallery is visited again within the signing window, then no thumbnail is downloaded again', async (t) => {
    await screenshotOnFailure(page, 'image-cache-second-visit', async () => {
      const first = await visitGallery();
      // Four minutes later, still in the window: links signed as of "now" would differ from the first visit's.
      appTime += 240_000;
      const second = await visitGallery();
      t.diagnostic(`first visit: ${describeCost(first)}`);
      t.diagnostic(`second visit: ${describeCost(second)}`);
      assert.equal(first.thumbnailsShown, PHOTOS_PER_PAGE);
      assert.equal(first.thumbnailsDownloaded, PHOTOS_PER_PAGE, 'the first visit downloads each thumbnail');
      assert.equal(second.thumbnailsShown, PHOTOS_PER_PAGE);
      assert.equal(second.thumbnailsDownloaded, 0, "the second visit takes every thumbnail from the browser's cache");
      assert.equal(second.thumbnailsFromCache, PHOTOS_PER_PAGE);
    });
  });
});

/** Opens the gallery (a new navigation, as following a link to it would be), shows every thumbnail, and counts. */
async function visitGallery(): Promise<VisitCost> {
  const requests = new Map<string, { url: string; fromCache: boolean; bytes: number }>();
  const onRequest = ({ requestId, request }: { requestId: string; request: { url: string } }) =>
    requests.set(requestId, { url: request.url, fromCache: false, bytes: 0 });
  const onServedFromCache = ({ requestId }: { requestId: string }) => {
    const seen = requests.get(requestId);
    if (seen) seen.fromCache = true;
  };
  const onResponse = ({ requestId, response }: { requestId: string; response: { fromDiskCache?: boolean } }) => {
    const seen = requests.get(requestId);
    if (seen && response.fromDiskCache) seen.fromCache = true;
  };
  const onFinished = ({ requestId, encodedDataLength }: { requestId: string; encodedDataLength: number }) => {
    const seen = requests.get(requestId);
    if (seen) seen.bytes = encodedDataLength;
  };
  network.on('Network.requestWillBeSent', onRequest);
  network.on('Network.requestServedFromCache', onServedFromCache);
  network.on('Network.responseReceived', onResponse);
  network.on('Network.loadingFinished', onFinished);
  try {
    await page.goto(`${appUrl}/`);
    await loadAllImages(page);
    const thumbnailsShown = await page
      .locator('.grid img')
      .evaluateAll(
        (images) =>
          images.filter(
            (image) => (image as HTMLImageElement).naturalWidth > 0 && (image as HTMLImageElement).currentSrc.includes('/thumbnails/'),
          ).length,
      );
    const thumbnails = [...requests.values()].filter((request) => new URL(request.url).pathname.includes('/thumbnails/'));
    return {
      thumbnailsShown,
      thumbnailsFromCache: thumbnails.filter((request) => request.fromCache).length,
      thumbnailsDownloaded: thumbnails.filter((request) => !request.fromCache).length,
      bytesDownloaded: [...requests.values()].filter((request) => !request.fromCache).reduce((sum, request) => sum + request.bytes, 0),
    };
  } finally {
    network.off('Network.requestWillBeSent', onRequest);
    network.off('Network.requestServedFromCache', onServedFromCache);
    network.off('Network.responseReceived', onResponse);
    network.off('Network.loadingFinished', onFinished);
  }
}

function describeCost(cost: VisitCost): string {
  return (
    `${cost.thumbnailsShown} thumbnails shown, ${cost.thumbnailsFromCache} from the browser's cache, ` +
    `${cost.thumbnailsDownloaded} downloaded; ${(cost.bytesDownloaded / 1024).toFixed(1)} KiB over the network`
  );
}
