// The gallery in a real browser (Debian's Chromium): a visitor uploads a photo through the form with a
// caption in Japanese, sees it, opens it and deletes it, and no page breaks the Content Security Policy.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { fixturesDir, startTestApp, type TestApp } from '../support/test-app.js';
import { chromiumSkipReason, launchChromium, loadedImageWidth, screenshotOnFailure, watchPage, type PageReports } from './chromium.js';

const CAPTION = '富士山の朝焼け';
const PHOTO_PAGE = /\/photos\/(\d{13}-[0-9a-f]{12})$/;

let testApp: TestApp;
let server: Server;
let appUrl: string;
let browser: Browser;
let page: Page;
let reports: PageReports;
let photoId: string;
const skip = chromiumSkipReason();

before(async () => {
  if (skip) return;
  testApp = await startTestApp();
  server = testApp.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  appUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await launchChromium();
  page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  reports = watchPage(page);
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await testApp?.close();
});

/** A step of the visit: the test's own name for its screenshot if it fails. */
function step(name: string, body: () => Promise<void>) {
  it(name, () => screenshotOnFailure(page, name, body));
}

describe('when a visitor shares a photo with a Japanese caption through the gallery form, in Chromium', { skip }, () => {
  step('then the page script sends it (XHR, with progress) and opens its page, with the caption and the image loaded', async () => {
    await page.goto(`${appUrl}/`);
    await page.getByRole('heading', { name: 'Share photos' }).waitFor();
    await page.locator('#photos').setInputFiles(path.join(fixturesDir, 'landscape.jpg'));
    await page.getByLabel('Caption').fill(CAPTION);

    // The progress bar shows only while the upload is on its way: its showing is noted in sessionStorage,
    // which outlives the navigation to the photo page, so the check cannot race it.
    await page.locator('#upload-form .progress').evaluate((box) => {
      new MutationObserver(() => {
        if (!(box as HTMLElement).hidden) sessionStorage.setItem('progress-shown', 'yes');
      }).observe(box, { attributes: true, attributeFilter: ['hidden'] });
    });
    const uploadRequest = page.waitForRequest((request) => request.method() === 'POST' && new URL(request.url()).pathname === '/photos');
    await page.getByRole('button', { name: 'Upload' }).click();
    const upload = await uploadRequest;
    assert.equal(upload.resourceType(), 'xhr', 'upload.js sent the form, not a plain form post');
    await page.waitForURL(PHOTO_PAGE);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('progress-shown')), 'yes', 'the progress bar showed');

    photoId = PHOTO_PAGE.exec(page.url())![1]!;
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), CAPTION);
    assert.ok((await loadedImageWidth(page, 'figure img')) > 0, 'the photo loaded from its presigned URL');
  });

  step('then the gallery lists it with its thumbnail, and the thumbnail opens its page', async () => {
    await page.getByRole('link', { name: 'Back to the gallery' }).click();
    await page.waitForURL(`${appUrl}/`);
    const thumbnailLink = page.locator(`a[href="/photos/${photoId}"]`);
    assert.equal(await thumbnailLink.count(), 1);
    // Thumbnails load lazily: in view, as the visitor would scroll to it.
    await thumbnailLink.scrollIntoViewIfNeeded();
    assert.ok((await loadedImageWidth(page, `a[href="/photos/${photoId}"] img`)) > 0, 'the thumbnail loaded');

    await thumbnailLink.click();
    await page.waitForURL(`${appUrl}/photos/${photoId}`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), CAPTION);
  });

  step('then "Delete…" asks to confirm, "Delete photo" removes it, and the gallery says so and no longer shows it', async () => {
    await page.getByRole('link', { name: 'Delete…' }).click();
    await page.waitForURL(`${appUrl}/photos/${photoId}/delete`);
    await page.getByRole('heading', { name: 'Delete this photo?' }).waitFor();

    await page.getByRole('button', { name: 'Delete photo' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    assert.equal((await page.getByRole('status').first().textContent())?.trim(), 'The photo was deleted.');
    assert.equal(await page.locator(`a[href="/photos/${photoId}"]`).count(), 0);
    assert.deepEqual(await testApp.listAllKeys(), [], 'nothing of the photo is left in the bucket');
  });

  it('then no page broke the Content Security Policy or raised a script error', () => {
    const seen = `Console:\n${reports.console.join('\n') || '(nothing)'}`;
    assert.deepEqual(reports.cspViolations, [], seen);
    assert.deepEqual(reports.pageErrors, [], seen);
  });
});
