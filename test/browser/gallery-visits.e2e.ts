// What a visit to the gallery costs and shows, in a real browser (Debian's Chromium), on a 390 × 844 phone, a
// 1280 × 800 laptop and a 1920 × 1080 desktop, light and dark: the bytes of a first and a second visit (within
// a signing window the gallery repeats its image links, S3 sent each image with a year-long Cache-Control, so
// Chromium takes every thumbnail from its cache), the largest contentful paint, and where the first photo is.
// Each is printed; each visit also passes axe-core, fits the window's width and is saved as a screenshot.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { CDPSession, Page } from 'playwright-core';
import { PHOTOS_PER_PAGE } from '../../src/photos/store.js';
import { seedScenes } from '../support/seed.js';
import { useBrowserApp } from './browser-app.js';
import { chromiumSkipReason } from './chromium.js';
import { assertPassesAndSave, inScreen, loadAllImages, SCREENS, saveScreenshot } from './page-checks.js';

const skip = chromiumSkipReason();
/** The app signs links as of the start of a window a third of PRESIGNED_URL_TTL_SECONDS (default 900) long. */
const SIGNING_WINDOW_MS = 300_000;
/** The most CSS pixels between the header and the first photo: room for a date heading, never a form. */
const FIRST_PHOTO_GAP = 80;

/** What the browser did for one visit, read from the DevTools protocol's network events and the page. */
interface Visit {
  thumbnailsShown: number;
  thumbnailsFromCache: number;
  thumbnailsDownloaded: number;
  /** Bytes that came over the network for the whole visit: page, styles, scripts and images. */
  bytesDownloaded: number;
  /** Largest contentful paint, ms after the navigation started, and what it painted. */
  lcp: { ms: number; isThumbnail: boolean; lazy: boolean; timing: string };
  /** The first photo's box, and the bottom of the header above it, in CSS pixels from the window's top. */
  firstPhoto: { top: number; bottom: number; headerBottom: number };
}

let appUrl: string;
/** A second into the current signing window. */
let appTime = Math.floor(Date.now() / SIGNING_WINDOW_MS) * SIGNING_WINDOW_MS + 1_000;

describe('a visit to the gallery, and a second one, in Chromium', { skip }, () => {
  // The app's clock is the test's: the visits fall in one window whatever the time of day (S3 still checks
  // each link's expiry against the real time).
  const app = useBrowserApp({ app: { now: () => appTime }, timeout: 20_000 });
  before(async () => {
    await seedScenes(app.testApp.store, PHOTOS_PER_PAGE, new Date());
    appUrl = app.url;
  });

  it('when the gallery is visited twice on each screen, light and dark, then the first photo leads, paints soon, and nothing is downloaded again', async (t) => {
    const lines: string[] = [];
    for (const screen of SCREENS) {
      const { viewport, colorScheme, where } = screen;
      // A new context each time: a first visit with an empty cache.
      await app.visit(`gallery-visits-${screen.name}`, { viewport, colorScheme, locale: 'en-GB', timezoneId: 'UTC' }, (page, reports) =>
        inScreen(screen, async () => {
          const network = await page.context().newCDPSession(page);
          await network.send('Network.enable');
          const first = await visitGallery(page, network);
          await assertPassesAndSave(page, screen, 'gallery-visit');
          if (viewport.width === 1280 && colorScheme === 'light') await saveScreenshot(page, 'readme-gallery', { fullPage: false });
          // Four minutes later, still in the window: links signed as of "now" would differ from the first visit's.
          appTime += 240_000;
          const second = await visitGallery(page, network);
          appTime -= 240_000;

          const line =
            `${where}: first photo at y = ${Math.round(first.firstPhoto.top)}–${Math.round(first.firstPhoto.bottom)} ` +
            `(header ends at ${Math.round(first.firstPhoto.headerBottom)}); LCP ${Math.round(first.lcp.ms)} ms (${first.lcp.timing}); ` +
            `first visit ${kib(first.bytesDownloaded)} (${first.thumbnailsDownloaded} thumbnails downloaded), ` +
            `second ${kib(second.bytesDownloaded)} (${second.thumbnailsDownloaded} downloaded, ${second.thumbnailsFromCache} from cache)`;
          lines.push(line);
          t.diagnostic(line);
          assert.ok(
            first.firstPhoto.top - first.firstPhoto.headerBottom <= FIRST_PHOTO_GAP,
            `the first photo starts ${first.firstPhoto.top - first.firstPhoto.headerBottom} px below the header`,
          );
          assert.ok(first.firstPhoto.bottom <= viewport.height, `the whole first photo is on the first screen`);
          assert.ok(first.lcp.ms > 0, `a largest contentful paint was reported`);
          assert.ok(first.lcp.isThumbnail, `the largest paint is a photo of the gallery: ${first.lcp.timing}`);
          assert.ok(!first.lcp.lazy, `the photo painted largest was not lazy-loaded`);
          assert.equal(first.thumbnailsShown, PHOTOS_PER_PAGE);
          assert.equal(first.thumbnailsDownloaded, PHOTOS_PER_PAGE, 'the first visit downloads each thumbnail');
          assert.equal(second.thumbnailsShown, PHOTOS_PER_PAGE);
          assert.equal(second.thumbnailsDownloaded, 0, "the second visit takes every thumbnail from the browser's cache");
          assert.equal(second.thumbnailsFromCache, PHOTOS_PER_PAGE);
          assert.ok(second.bytesDownloaded < first.bytesDownloaded / 4, `the second visit costs a fraction of the first`);
          assert.deepEqual([...reports.cspViolations, ...reports.pageErrors], [], reports.console.join('\n'));
        }),
      );
    }
    console.log(`The gallery of ${PHOTOS_PER_PAGE} photos, visited twice:\n  ${lines.join('\n  ')}`);
  });
});

/**
 * Opens the gallery (a new navigation, as following a link to it would be), reads the largest contentful
 * paint and the first photo's place before anything scrolls, then shows every thumbnail, and counts.
 */
async function visitGallery(page: Page, network: CDPSession): Promise<Visit> {
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
    await page.goto(`${appUrl}/`, { waitUntil: 'load' });
    const firstPhoto = await page.evaluate(() => {
      const photo = document.querySelector('.grid img')!.getBoundingClientRect();
      return { top: photo.top, bottom: photo.bottom, headerBottom: document.querySelector('.site-header')!.getBoundingClientRect().bottom };
    });
    const lcp = await largestContentfulPaint(page);
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
      lcp,
      firstPhoto,
    };
  } finally {
    network.off('Network.requestWillBeSent', onRequest);
    network.off('Network.requestServedFromCache', onServedFromCache);
    network.off('Network.responseReceived', onResponse);
    network.off('Network.loadingFinished', onFinished);
  }
}

/**
 * The page's largest contentful paint (buffered entries), once the images in the window have loaded: its
 * time, and what it painted (a gallery thumbnail or not, lazy-loaded or not), with when its image came.
 */
function largestContentfulPaint(page: Page): Promise<Visit['lcp']> {
  return page.evaluate(async () => {
    const inView = Array.from(document.images).filter((image) => image.getBoundingClientRect().top < window.innerHeight);
    await Promise.all(inView.map((image) => image.decode().catch(() => undefined)));
    // A frame after the last decode, so that its paint is reported.
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 100)));
    // Chromium reports an image's paint a few frames after it decodes, later still on a busy machine: the last
    // entry is taken once it is an image, or after 3 s, whatever it is then. (No named functions in here: the
    // test's compiler would wrap them in a helper the page does not have.)
    let last: (PerformanceEntry & { element: Element | null }) | undefined;
    await new Promise((resolve) => {
      const observer = new PerformanceObserver((list) => {
        last = (list.getEntries().at(-1) as typeof last) ?? last;
        if (last?.element instanceof HTMLImageElement) {
          observer.disconnect();
          resolve(undefined);
        }
      });
      observer.observe({ type: 'largest-contentful-paint', buffered: true });
      setTimeout(resolve, 3_000);
    });
    const element = last?.element;
    const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const image =
      element instanceof HTMLImageElement ? (performance.getEntriesByName(element.currentSrc)[0] as PerformanceResourceTiming) : undefined;
    return {
      ms: last?.startTime ?? 0,
      isThumbnail: element instanceof HTMLImageElement && element.matches('.grid img'),
      lazy: element instanceof HTMLImageElement && element.loading === 'lazy',
      timing:
        `${element?.tagName.toLowerCase() ?? 'nothing'}; HTML done at ${Math.round(navigation.responseEnd)} ms` +
        (image ? `, image requested at ${Math.round(image.startTime)} ms and done at ${Math.round(image.responseEnd)} ms` : ''),
    };
  });
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
