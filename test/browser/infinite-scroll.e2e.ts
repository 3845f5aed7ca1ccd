// Older photos as the visitor scrolls, in a real browser (Debian's Chromium), on each screen (390 × 844,
// 1280 × 800, 1920 × 1080, light and dark): the gallery fetches the page its "Older" link names, its tiles join
// the days above in justified rows without a second heading for a day cut by the page's end, the address follows,
// screen readers hear what arrived, and the link stays a working link for a fetch that fails, for a browser
// without JavaScript and for crawlers.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { uploadedAt } from '../../src/photos/photo-id.js';
import { PHOTOS_PER_PAGE } from '../../src/photos/store.js';
import { seedPhotosAt } from '../support/seed.js';
import { useBrowserApp } from './browser-app.js';
import { chromiumSkipReason, type PageReports } from './chromium.js';
import { assertJustifiedRows, inScreen, SCREENS, type Screen } from './page-checks.js';

const skip = chromiumSkipReason();
/** Two full pages and a few more: the third page is the last. */
const PHOTO_COUNT = PHOTOS_PER_PAGE * 2 + 5;
/** Ten photos a day, two hours apart: every page ends in the middle of a day. */
const HOURS_APART = 2;

let appUrl: string;
/** Newest first. */
let newestFirst: string[];

describe('older photos as the visitor scrolls the gallery, in Chromium', { skip }, () => {
  const app = useBrowserApp();
  before(async () => {
    const moments = Array.from({ length: PHOTO_COUNT }, (_, i) => new Date(Date.UTC(2026, 0, 1, 1) + i * HOURS_APART * 3_600_000));
    newestFirst = (await seedPhotosAt(app.testApp.store, moments)).reverse();
    appUrl = app.url;
  });

  /** A fresh visitor, watched for CSP violations and script errors, whose failure leaves a screenshot. */
  function visit(
    name: string,
    body: (page: Page, reports: PageReports) => Promise<void>,
    { viewport, colorScheme }: Pick<Screen, 'viewport' | 'colorScheme'> = SCREENS.find((screen) => screen.name === '1280x800')!,
  ): Promise<void> {
    return app.visit(name, { viewport, colorScheme, locale: 'en-GB', timezoneId: 'UTC' }, body);
  }

  for (const screen of SCREENS) {
    it(`when the visitor scrolls to the end ${screen.where}, then every photo loads once, in order, under one heading per day, and "Older" is gone`, async () => {
      await visit(
        `infinite-scroll-to-the-end-${screen.name}`,
        (page, reports) =>
          inScreen(screen, async () => {
            const pageUrls = await olderPageUrls();
            assert.equal(pageUrls.length, 2, 'two older pages');
            await page.addInitScript(() => {
              const heard: string[] = [];
              (window as unknown as { heard: string[] }).heard = heard;
              new MutationObserver(() => {
                const text = document.querySelector('.pager + [role="status"]')?.textContent;
                if (text && text !== heard.at(-1)) heard.push(text);
              }).observe(document, { subtree: true, childList: true, characterData: true });
            });
            await page.goto(`${appUrl}/`);
            const older = page.getByRole('link', { name: 'Older →' });
            for (let scrolls = 0; (await older.count()) > 0; scrolls++) {
              assert.ok(scrolls < 5, 'the older pages load within five scrolls');
              const tiles = await page.locator('.grid > li').count();
              await scrollToEnd(page);
              await page.waitForFunction(
                (before) => document.querySelectorAll('.grid > li').length > before || !document.querySelector('.pager a[rel="next"]'),
                tiles,
              );
            }
            assert.equal(page.url(), pageUrls.at(-1), 'the address names the page last loaded');
            assert.deepEqual(await page.evaluate(() => (window as unknown as { heard: string[] }).heard), [
              `${PHOTOS_PER_PAGE} older photos loaded.`,
              '5 older photos loaded. These are all the photos.',
            ]);

            const shown = await page
              .locator('.grid > li > a')
              .evaluateAll((links) => links.map((link) => new URL((link as HTMLAnchorElement).href).pathname.split('/')[2]));
            assert.deepEqual(shown, newestFirst, 'each photo once, newest first');
            const headings = await page
              .locator('.days > h2 time')
              .evaluateAll((times) => times.map((time) => time.getAttribute('datetime')));
            assert.equal(new Set(headings).size, headings.length, `one heading per day across the pages' seams: ${headings.join(', ')}`);
            assert.equal(headings.length, new Set(newestFirst.map((id) => uploadedAt(id).toISOString().slice(0, 10))).size);
            const names = await page.locator('.grid .tile-label .visually-hidden').allTextContents();
            assert.deepEqual(
              names.map((name) => /^Photo (\d+)[:,]/.exec(name)?.[1]),
              newestFirst.map((_, index) => String(index + 1)),
              'the photos are numbered on across the pages',
            );
            await assertJustifiedRows(page, screen.viewport);
            assert.deepEqual([...reports.cspViolations, ...reports.pageErrors], []);
          }),
        screen,
      );
    });
  }

  it('when fetching the older page fails, then the visitor is told, and the "Older" link still leads there', async () => {
    await visit('infinite-scroll-fetch-fails', async (page) => {
      await page.route('**/?page=*', (route) => (route.request().resourceType() === 'fetch' ? route.abort() : route.continue()));
      await page.goto(`${appUrl}/`);
      const older = page.getByRole('link', { name: 'Older →' });
      const href = await older.getAttribute('href');
      await scrollToEnd(page);
      await page.getByText('Older photos could not be loaded.').waitFor({ state: 'attached' });
      assert.equal(await page.locator('.grid > li').count(), PHOTOS_PER_PAGE);
      assert.equal(await older.getAttribute('href'), href);
      assert.equal(new URL(page.url()).search, '', 'the address still names the newest page');

      await older.click();
      await page.waitForURL(new URL(href!, appUrl).href);
      assert.equal(await page.locator('.grid > li').count(), PHOTOS_PER_PAGE, 'the link opened the older page');
    });
  });
});

/** The addresses the "Older" links lead to, page after page, as a crawler would follow them. */
async function olderPageUrls(): Promise<string[]> {
  const urls: string[] = [];
  let url = `${appUrl}/`;
  for (;;) {
    const html = await (await fetch(url)).text();
    const href = /<a href="([^"]+)" rel="next">/.exec(html)?.[1];
    if (!href) return urls;
    url = new URL(href.replaceAll('&amp;', '&'), appUrl).href;
    urls.push(url);
  }
}

/** Scrolls to the bottom of the page, as a visitor's wheel or thumb would get there. */
async function scrollToEnd(page: Page): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
}
