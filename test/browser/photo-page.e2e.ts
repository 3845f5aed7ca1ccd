// "Sharp on every screen" and "Full size stays in the app", in a real browser (Debian's Chromium) at a phone's,
// a laptop's and a desktop's size: the srcset image Chromium picks at 1× and 2× (deviceScaleFactor), the
// gallery's first row loaded at once, a panorama zoomed to 100 % by keyboard and click, swipes on a touch
// screen (real touch input, through the DevTools protocol), and the full-size viewer whose Download saves
// under the uploaded file's name; each page light and dark with no axe-core violation and no sideways scrolling.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { BrowserContextOptions, Page } from 'playwright-core';
import sharp from 'sharp';
import { openBrowser } from '../support/browser.js';
import { seedPhotos } from '../support/seed.js';
import { useBrowserApp } from './browser-app.js';
import { chromiumSkipReason, loadedImageWidth } from './chromium.js';
import {
  accessibilityViolations,
  assertJustifiedRows,
  assertPassesAndSave,
  horizontalOverflow,
  loadAllImages,
  onEachScreen,
  SCREENS,
  saveScreenshot,
  VIEWPORTS,
} from './page-checks.js';
import { animatedGif } from '../support/made-images.js';

const skip = chromiumSkipReason();
/** Sent with quotes: the download saves it without them. */
const PANORAMA_NAME = 'Панорама "Alps" 2026.jpg';
const PANORAMA_SAVED_AS = 'Панорама Alps 2026.jpg';

/** Newest first: a 3000 × 2000 photo, the panorama, another 3000 × 2000 photo, a 400 × 300 animated GIF. */
let uploaded: { landscape: string; panorama: string; older: string; animation: string };

/** A JPEG with some detail (a flat image would compress to nothing). */
function photo(width: number, height: number, fill: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${fill}"/>
    <circle cx="${width / 3}" cy="${height / 2}" r="${height / 3}" fill="#fff"/><rect x="${width / 2}" y="${height / 4}" width="${width / 4}" height="${height / 2}" fill="#123"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

/** Which srcset image Chromium should pick for an image shown `shownWidth` CSS pixels wide at `scale` (html_srcset_parser.cc). */
function expectedCandidate(widths: number[], shownWidth: number, scale: number): number {
  const densities = widths.map((width) => width / shownWidth);
  let index = 0;
  for (; index < densities.length - 1; index++) {
    if (densities[index + 1]! < scale) continue;
    const mean = Math.sqrt(densities[index]! * densities[index + 1]!);
    if ((scale <= 1 && scale > densities[index]!) || mean <= scale) return index + 1;
    break;
  }
  return index;
}

/** The image's srcset widths, its shown width, and the index of the candidate it shows. */
function shownCandidate(page: Page, selector: string) {
  return page.locator(selector).evaluate(async (element) => {
    const image = element as HTMLImageElement;
    await image.decode().catch(() => undefined);
    const candidates = image.srcset.split(/,\s+/).map((candidate) => {
      const [url, width] = candidate.trim().split(/\s+/);
      return { url: url!, width: Number.parseInt(width!, 10) };
    });
    return {
      widths: candidates.map((candidate) => candidate.width),
      // The photo's own width in its box: the box may be wider, the photo fitted in it (object-fit: contain).
      shownWidth: Math.min(
        image.getBoundingClientRect().width,
        (image.getBoundingClientRect().height * Number(image.getAttribute('width'))) / Number(image.getAttribute('height')),
      ),
      chosen: candidates.findIndex((candidate) => candidate.url === image.currentSrc),
      currentSrc: new URL(image.currentSrc).pathname,
    };
  });
}

describe('the photo page, its 2× images and the full-size viewer in Chromium', { skip }, () => {
  const app = useBrowserApp({ app: { env: { UPLOADS_PER_HOUR: '1000', PAGE_VIEWS_PER_MINUTE: '10000' } } });

  before(async () => {
    // Older photos first, stored as an earlier version did (no 2× copies): the gallery mixes both kinds.
    await seedPhotos(app.testApp.store, 12);
    const visitor = await openBrowser(app.testApp.app);
    const ids: string[] = [];
    for (const [bytes, name] of [
      [await animatedGif(400, 300), 'moving.gif'],
      [await photo(3000, 2000, '#4a7'), 'older.jpg'],
      [await photo(6000, 1000, '#47a'), PANORAMA_NAME],
      [await photo(3000, 2000, '#a74'), 'landscape.jpg'],
    ] as const) {
      const response = await visitor.upload().set('Accept', 'application/json').attach('photos', bytes, name).expect(201);
      ids.push(response.body.photos[0].id);
    }
    uploaded = { animation: ids[0]!, older: ids[1]!, panorama: ids[2]!, landscape: ids[3]! };
  });

  /** A step with its own page: a screenshot in test-results/ if it fails. */
  function step(name: string, options: BrowserContextOptions, body: (page: Page) => Promise<void>) {
    it(name, () => app.visit(name, { locale: 'en-GB', ...options }, body));
  }

  for (const viewport of VIEWPORTS) {
    const where = `${viewport.width} × ${viewport.height}`;
    for (const scale of [1, 2]) {
      step(
        `when the photo page is shown at ${where} at ${scale}×, then Chromium picks the srcset image its width needs`,
        { viewport, deviceScaleFactor: scale },
        async (page) => {
          await page.goto(`${app.url}/photos/${uploaded.landscape}`);
          const shown = await shownCandidate(page, '.photo-frame img');
          assert.deepEqual(shown.widths, [1600, 2560]);
          // Chromium's rule may take a smaller image a little short of the screen's density; the next larger one is
          // as right (it has taken either from run to run). Never a smaller one, never a needlessly larger one.
          const expected = expectedCandidate(shown.widths, shown.shownWidth, scale);
          const shortOfDensity = shown.widths[expected]! / shown.shownWidth < scale && expected + 1 < shown.widths.length;
          assert.ok(
            shown.chosen === expected || (shortOfDensity && shown.chosen === expected + 1),
            `expected candidate ${expected}${shortOfDensity ? ` or ${expected + 1}` : ''}: ${JSON.stringify(shown)}`,
          );
          if (scale === 2 && viewport.width === 1920)
            assert.match(shown.currentSrc, /\/display-2x\//, 'a large 2× screen gets the 2560 px copy');
          if (viewport.width === 390) assert.match(shown.currentSrc, /\/display\//, 'a phone never downloads the 2560 px copy');
        },
      );

      step(
        `when the gallery is shown at ${where} at ${scale}×, then its first row loads at once with the thumbnail the screen needs`,
        { viewport, deviceScaleFactor: scale },
        async (page) => {
          await page.goto(`${app.url}/`);
          const tiles = await page.locator('.grid img').evaluateAll((images) =>
            images.map((image) => ({
              top: Math.round(image.getBoundingClientRect().top),
              loading: image.getAttribute('loading'),
              priority: image.getAttribute('fetchpriority'),
              srcset: image.hasAttribute('srcset'),
            })),
          );
          const firstRow = tiles.filter((tile) => tile.top === tiles[0]!.top);
          assert.ok(firstRow.length > 0 && firstRow.length < tiles.length, `a first row of ${firstRow.length}`);
          assert.deepEqual(
            firstRow.map((tile) => tile.loading),
            firstRow.map(() => 'eager'),
            'the first row is not lazy',
          );
          assert.deepEqual(
            tiles.map((tile) => tile.priority),
            tiles.map((_, index) => (index === 0 ? 'high' : null)),
            'the first photo is fetched first',
          );
          assert.equal(tiles.at(-1)!.loading, 'lazy', 'the rest wait until they come near');
          // The newest photo has a 2× thumbnail: a 2× screen shows it, a 1× screen the 320 px one.
          const first = await shownCandidate(page, '.grid img >> nth=0');
          assert.match(first.currentSrc, scale === 2 ? /\/thumbnail-2x\// : /\/thumbnails\//, JSON.stringify(first));
          assert.equal(await horizontalOverflow(page), 0);
        },
      );
    }
  }

  step(
    'when a panorama is zoomed by keyboard on each screen, then Enter and Space toggle 100 %, Escape leaves it, a click zooms too, and the page never scrolls sideways',
    {},
    async (page) => {
      await onEachScreen(page, async (screen) => {
        await page.goto(`${app.url}/photos/${uploaded.panorama}`);
        const zoom = page.getByRole('button', { name: 'Zoom to 100 %' });
        await zoom.waitFor();
        const imageWidth = () => page.locator('.photo-frame img').evaluate((image) => Math.round(image.getBoundingClientRect().width));
        const fitted = await imageWidth();
        assert.ok(fitted < 2560, `fitted to the window: ${fitted} px`);

        await zoom.focus();
        await page.keyboard.press('Enter');
        assert.equal(await zoom.getAttribute('aria-pressed'), 'true');
        assert.equal(await imageWidth(), 2560, 'one pixel of the 2560 px copy per CSS pixel');
        assert.match(await loadedSource(page), /\/display-2x\//, 'the sharper copy is shown at 100 %');
        const frame = await page
          .locator('.photo-frame')
          .evaluate((element) => ({ scrollable: element.scrollWidth > element.clientWidth, left: element.scrollLeft }));
        assert.ok(frame.scrollable && frame.left > 0, `the frame scrolls, from the middle: ${JSON.stringify(frame)}`);
        assert.equal(await horizontalOverflow(page), 0, 'the page itself does not widen');
        assert.deepEqual(await accessibilityViolations(page), [], 'axe-core, zoomed');
        await saveScreenshot(page, `photo-zoomed-${screen.name}`);

        await page.keyboard.press('Space');
        assert.equal(await zoom.getAttribute('aria-pressed'), 'false');
        assert.equal(await imageWidth(), fitted);

        await page.keyboard.press('Enter');
        assert.equal(await zoom.getAttribute('aria-pressed'), 'true');
        // Arrow keys scroll the zoomed photo rather than leave it.
        await page.keyboard.press('ArrowRight');
        assert.match(page.url(), new RegExp(`/photos/${uploaded.panorama}$`));
        await page.keyboard.press('Escape');
        assert.equal(await zoom.getAttribute('aria-pressed'), 'false');
        assert.equal(await imageWidth(), fitted);
        assert.ok(await zoom.evaluate((button) => button === document.activeElement), 'focus stays on the button');

        await page.locator('.photo-frame img').click();
        assert.equal(await zoom.getAttribute('aria-pressed'), 'true', 'a click on the photo zooms too');
        await page.locator('.photo-frame img').click();
        assert.equal(await zoom.getAttribute('aria-pressed'), 'false');
      });
    },
  );

  for (const screen of SCREENS) {
    step(
      `when the visitor swipes the photo on a ${screen.viewport.width} × ${screen.viewport.height} touch screen in ${screen.colorScheme}, then left goes to Older and right to Newer`,
      {
        viewport: screen.viewport,
        colorScheme: screen.colorScheme,
        deviceScaleFactor: 2,
        hasTouch: true,
        isMobile: screen.viewport === VIEWPORTS[0],
      },
      async (page) => {
        await page.goto(`${app.url}/`);
        await page.locator(`a[href^="/photos/${uploaded.panorama}"]`).click();
        await page.waitForURL(new RegExp(`/photos/${uploaded.panorama}`));
        const touch = await page.context().newCDPSession(page);
        const box = (await page.locator('.photo-frame').boundingBox())!;
        const y = box.y + box.height / 2;
        async function swipe(fromX: number, toX: number) {
          await touch.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: fromX, y }] });
          for (let step = 1; step <= 8; step++)
            await touch.send('Input.dispatchTouchEvent', {
              type: 'touchMove',
              touchPoints: [{ x: fromX + ((toX - fromX) * step) / 8, y }],
            });
          await touch.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
        }
        // From near one edge of the photo to near the other, whatever its width.
        const [left, middle, right] = [box.x + 0.13 * box.width, box.x + 0.5 * box.width, box.x + 0.87 * box.width];
        // A short drag is not a swipe.
        await swipe(middle, middle - 30);
        assert.match(page.url(), new RegExp(`/photos/${uploaded.panorama}`));

        await swipe(right, left);
        await page.waitForURL(new RegExp(`/photos/${uploaded.older}`));
        await swipe(left, right);
        await page.waitForURL(new RegExp(`/photos/${uploaded.panorama}`));
        await swipe(left, right);
        await page.waitForURL(new RegExp(`/photos/${uploaded.landscape}`));
      },
    );
  }

  step(
    'when "Full-size image" is followed on each screen, then the viewer in the app shows the whole photo and Download, in reach, saves it under its uploaded name',
    {},
    async (page) => {
      await onEachScreen(page, async () => {
        await page.goto(`${app.url}/photos/${uploaded.panorama}`);
        await page.getByRole('link', { name: 'Full-size image' }).click();
        await page.waitForURL(`${app.url}/photos/${uploaded.panorama}/full`);
        assert.equal(await loadedImageWidth(page, '.photo-frame img'), 6000, 'the full-size image, from its presigned link');
        const shown = await page.locator('.photo-frame img').evaluate((image) => {
          const box = image.getBoundingClientRect();
          return {
            left: box.left,
            right: box.right,
            top: box.top,
            bottom: box.bottom,
            width: window.innerWidth,
            height: window.innerHeight,
          };
        });
        assert.ok(
          shown.left >= 0 && shown.right <= shown.width && shown.top >= 0 && shown.bottom <= shown.height,
          `the whole photo is in the window: ${JSON.stringify(shown)}`,
        );
        const download = page.getByRole('link', { name: 'Download' });
        const downloadBox = (await download.boundingBox())!;
        assert.ok(
          downloadBox.y >= 0 && downloadBox.y + downloadBox.height <= shown.height,
          `Download is on the first screen: ${JSON.stringify(downloadBox)}`,
        );
        const [saved] = await Promise.all([page.waitForEvent('download'), download.click()]);
        assert.equal(saved.suggestedFilename(), PANORAMA_SAVED_AS);
        assert.ok((await saved.failure()) === null, 'the download completed');
        await page.getByRole('button', { name: 'Zoom to 100 %' }).click();
        assert.equal(await page.locator('.photo-frame img').evaluate((image) => Math.round(image.getBoundingClientRect().width)), 6000);
        assert.equal(await horizontalOverflow(page), 0);
      });
    },
  );

  for (const { name, path } of [
    { name: 'photo-panorama', path: () => `/photos/${uploaded.panorama}` },
    { name: 'full-size', path: () => `/photos/${uploaded.panorama}/full` },
  ]) {
    step(`then the ${name} page, light and dark, at each size, has no axe-core violation and no sideways scrolling`, {}, async (page) => {
      await onEachScreen(page, async (screen) => {
        await page.goto(`${app.url}${path()}`);
        await loadAllImages(page);
        await assertPassesAndSave(page, screen, name);
      });
    });
  }

  step("then on each screen the photo page uses the window's width, not a column", {}, async (page) => {
    await onEachScreen(page, async (screen) => {
      await page.goto(`${app.url}/photos/${uploaded.panorama}`);
      const width = await page.locator('.photo-frame img').evaluate((image) => image.getBoundingClientRect().width);
      assert.ok(width >= screen.viewport.width - 40, `the panorama is ${width} px wide in a ${screen.viewport.width} px window`);
    });
  });

  step(
    "then on each screen the gallery's rows keep each photo's shape, the panorama's too, and the animation's badge sits on its photo's corner",
    {},
    async (page) => {
      await onEachScreen(page, async (screen) => {
        await page.goto(`${app.url}/`);
        await assertJustifiedRows(page, screen.viewport);
        const tile = page.locator(`.grid > li:has(a[href^="/photos/${uploaded.animation}"])`);
        const [image, badge] = await Promise.all(
          ['img', '.badge'].map((part) => tile.locator(part).evaluate((element) => element.getBoundingClientRect().toJSON() as DOMRect)),
        );
        assert.equal(await tile.locator('.badge').textContent(), 'Animated');
        assert.ok(badge!.width > 0 && badge!.height > 0, 'the badge is shown');
        const inset = { left: badge!.left - image!.left, top: badge!.top - image!.top };
        assert.ok(
          inset.left >= 0 && inset.left <= 12 && inset.top >= 0 && inset.top <= 12,
          `the badge is at the top-left: ${JSON.stringify(inset)}`,
        );
        assert.ok(badge!.right <= image!.right && badge!.bottom <= image!.bottom, 'the badge lies on the photo');
        assert.match((await tile.locator('.visually-hidden').textContent()) ?? '', /, animated,/, 'and its name says so');
      });
    },
  );

  app.itFindsNoPageErrors();
});

/** The photo's shown image, once loaded. */
function loadedSource(page: Page): Promise<string> {
  return page.locator('.photo-frame img').evaluate(async (element) => {
    const image = element as HTMLImageElement;
    await image.decode().catch(() => undefined);
    return new URL(image.currentSrc).pathname;
  });
}
