// The upload form's caption counter in Chromium: it counts as the server does (src/photos/captions.ts), in
// characters as a reader sees them (an emoji family is one) and in the bytes S3 keeps, and says which limit a
// caption is over in the server's words, before anything is sent.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { after, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { useTestApp } from '../support/test-app.js';
import { chromiumSkipReason, launchChromium, watchPage, type PageReports } from './chromium.js';

const FAMILY = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}'; // 7 code points, 25 bytes

describe('the upload form counts a caption as the server does, in Chromium', { skip: chromiumSkipReason() }, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let reports: PageReports;
  const testApp = useTestApp(undefined, async () => {
    server = testApp.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    reports = watchPage(page);
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/upload`);
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function validationMessageFor(caption: string): Promise<string> {
    const field = page.locator('#caption');
    await field.fill(caption);
    assert.equal(await field.inputValue(), caption, 'the field keeps the whole caption (no maxlength cuts it)');
    return field.evaluate((element) => (element as HTMLInputElement).validationMessage);
  }

  it('then 45 emoji families (315 code points, 1,125 bytes) and 200 letters with two marks each are accepted', async () => {
    assert.equal(await validationMessageFor(FAMILY.repeat(45)), '');
    assert.equal(await validationMessageFor('a\u0332\u0333'.repeat(200)), '');
  });

  it('then 49 families are over the bytes: the message says how many fit, as the server would', async () => {
    assert.equal(
      await validationMessageFor(FAMILY.repeat(49)),
      'This caption is too long to store: emoji and letters with marks take the room of several plain letters, so only its first 48 of its 49 characters fit.',
    );
  });

  it('then 281 characters are over the count, whatever they are made of', async () => {
    assert.equal(await validationMessageFor('e\u0301'.repeat(281)), 'A caption may have up to 280 characters; this one has 281.');
  });

  it('then the page reported no script error or CSP violation', () => {
    assert.deepEqual(reports.pageErrors, []);
    assert.deepEqual(reports.cspViolations, []);
  });
});
