// Captions in a real browser (Debian's Chromium), at a phone's and a laptop's size: the uploader edits a caption
// through the photo page's form and sees it; a 280-character caption is body text that leaves the photo in the
// first screenful; the gallery's link to the photo is named by its caption (as Chromium computes the name);
// and the photo page and gallery pass axe-core in light and dark, with no CSP violation.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { MAX_CAPTION_LENGTH } from '../../src/photos/captions.js';
import { fixture, startTestApp, type TestApp } from '../support/test-app.js';
import { chromiumSkipReason, launchChromium, screenshotOnFailure, watchPage, type PageReports } from './chromium.js';
import { accessibilityViolations, COLOR_SCHEMES, horizontalOverflow, saveScreenshot } from './page-checks.js';

const skip = chromiumSkipReason();
const SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'laptop', width: 1280, height: 800 },
] as const;
/** Exactly the limit, in words, so it wraps as a real caption would. */
const LONG_CAPTION = 'Low tide at the old pier, gulls over the sand bar and the lighthouse beyond: '
  .repeat(4)
  .slice(0, MAX_CAPTION_LENGTH)
  .trim();
const SHORT_CAPTION = 'Pier at dusk';

let testApp: TestApp;
let server: Server;
let appUrl: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let reports: PageReports;
let photoId: string;

describe('captions in Chromium', { skip }, () => {
  before(async () => {
    testApp = await startTestApp();
    server = testApp.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    appUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: SIZES[0], locale: 'en-GB' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    reports = watchPage(page);

    // Uploaded by this browser (its cookies, its form token), so this browser may edit the caption.
    await page.goto(`${appUrl}/upload`);
    const token = await page.locator('#upload-form input[name="_csrf"]').inputValue();
    const upload = await page.request.post(`${appUrl}/photos`, {
      headers: { accept: 'application/json' },
      multipart: {
        _csrf: token,
        caption: 'Uploaded caption',
        photos: { name: 'landscape.jpg', mimeType: 'image/jpeg', buffer: await fixture('landscape.jpg') },
      },
    });
    assert.equal(upload.status(), 201, await upload.text());
    photoId = ((await upload.json()) as { photos: { id: string }[] }).photos[0]!.id;
  });

  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await testApp?.close();
  });

  function step(name: string, body: () => Promise<void>) {
    it(name, () => screenshotOnFailure(page, name, body));
  }

  /** Opens the photo page's caption form, types `caption` over the old one and saves it, as a visitor would. */
  async function editCaptionThroughTheForm(caption: string): Promise<void> {
    await page.goto(`${appUrl}/photos/${photoId}`);
    await page.locator('.caption-edit summary').click();
    await page.getByLabel('Caption').fill(caption);
    await Promise.all([page.waitForURL(`${appUrl}/photos/${photoId}`), page.getByRole('button', { name: 'Save caption' }).click()]);
  }

  /** The photo's box relative to the window, with the page scrolled to its top. */
  function photoBox() {
    return page.locator('.photo figure img').evaluate((image) => {
      window.scrollTo(0, 0);
      const box = image.getBoundingClientRect();
      return { top: box.top, bottom: box.bottom, height: box.height, windowHeight: window.innerHeight };
    });
  }

  /** Names of the gallery's links as Chromium's accessibility tree has them. */
  async function linkNames(): Promise<string[]> {
    const session = await context.newCDPSession(page);
    try {
      const { nodes } = (await session.send('Accessibility.getFullAXTree')) as {
        nodes: { role?: { value?: string }; name?: { value?: string } }[];
      };
      return nodes.filter((node) => node.role?.value === 'link').map((node) => node.name?.value ?? '');
    } finally {
      await session.detach();
    }
  }

  describe('when the uploader edits a short caption on the phone', () => {
    step('then the page comes back with a notice and the caption as its heading', async () => {
      await editCaptionThroughTheForm(SHORT_CAPTION);
      assert.equal(await page.locator('.notice').textContent(), 'The caption was saved.');
      assert.equal(await page.locator('h1').textContent(), SHORT_CAPTION);
      assert.equal(await page.title(), `\u2068${SHORT_CAPTION}\u2069 · S3 Photo Share`);
    });
  });

  describe(`when the uploader saves a ${MAX_CAPTION_LENGTH}-character caption`, () => {
    step('then it is shown whole as normal-weight body text, and the page has one sensible heading', async () => {
      await editCaptionThroughTheForm(LONG_CAPTION);
      assert.equal(await page.locator('.photo .caption').textContent(), LONG_CAPTION);
      const text = await page.locator('.photo .caption').evaluate((element) => {
        const style = getComputedStyle(element);
        return { weight: style.fontWeight, size: style.fontSize };
      });
      assert.deepEqual(text, { weight: '400', size: '16px' });
      assert.deepEqual(await page.locator('h1').allTextContents(), ['Photo']);
    });

    step(`then ${MAX_CAPTION_LENGTH} emoji fit too: the field counts characters as the server does, not UTF-16 units`, async () => {
      const emoji = '😀'.repeat(MAX_CAPTION_LENGTH);
      await editCaptionThroughTheForm(emoji);
      assert.equal(await page.locator('.photo .caption').textContent(), emoji);
      await editCaptionThroughTheForm(LONG_CAPTION);
    });

    for (const size of SIZES) {
      step(`then at ${size.width}×${size.height} the whole photo is in the first screenful, above the caption`, async () => {
        await page.setViewportSize(size);
        await page.goto(`${appUrl}/photos/${photoId}`);
        const box = await photoBox();
        assert.ok(box.height > 100, `the photo is shown (${box.height} px high)`);
        assert.ok(box.top >= 0 && box.bottom <= box.windowHeight, `the photo spans ${box.top}–${box.bottom} of ${box.windowHeight} px`);
        const captionTop = await page.locator('.photo .caption').evaluate((element) => element.getBoundingClientRect().top);
        assert.ok(captionTop >= box.bottom, 'the caption comes after the photo');
        assert.equal(await horizontalOverflow(page), 0);
      });
    }

    step("then the gallery's link to the photo is named by its caption", async () => {
      await page.setViewportSize(SIZES[0]);
      await page.goto(`${appUrl}/`);
      const names = await linkNames();
      const photoLink = names.find((name) => name.startsWith('Photo 1')) ?? '';
      assert.ok(photoLink.includes(LONG_CAPTION), `the photo's link is named ${JSON.stringify(photoLink)} (links: ${names.join(' | ')})`);
      assert.match(photoLink, /, uploaded /, 'and still says when it was uploaded');
    });
  });

  describe('when the caption pages are checked', () => {
    for (const size of SIZES)
      for (const scheme of COLOR_SCHEMES) {
        step(
          `then at ${size.width}×${size.height} in ${scheme}, the photo page (form open) and the gallery have 0 axe violations`,
          async () => {
            await page.setViewportSize(size);
            await page.emulateMedia({ colorScheme: scheme });
            await page.goto(`${appUrl}/photos/${photoId}`);
            await page.locator('.caption-edit summary').click();
            assert.deepEqual(await accessibilityViolations(page), [], 'photo page');
            await saveScreenshot(page, `caption-photo-${size.name}-${scheme}`);
            await page.goto(`${appUrl}/`);
            assert.deepEqual(await accessibilityViolations(page), [], 'gallery');
          },
        );
      }

    step('then no page broke the Content-Security-Policy or threw', async () => {
      assert.deepEqual(reports.cspViolations, []);
      assert.deepEqual(reports.pageErrors, []);
    });
  });
});
