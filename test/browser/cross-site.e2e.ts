// Another site in a real browser (Chromium): a page on 127.0.0.2, a different site from the app on 127.0.0.1,
// auto-submits forms to the app and links to it. Its forms are refused, yet cost the visitor nothing: their
// photo keeps its Delete link. Arriving through its link does not expire the forms open in the visitor's other tabs.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { fixturesDir } from '../support/test-app.js';
import { useBrowserApp } from './browser-app.js';
import { chromiumSkipReason } from './chromium.js';

const skip = chromiumSkipReason();

let appUrl: string;
let otherSite: Server;
let otherSiteUrl: string;
/** Pages of the other site, by path: its forms post to the app as soon as they load. */
const otherSitePages = new Map<string, string>();
/** A fresh visitor (no cookies) with one tab. */
const VISITOR = { viewport: { width: 1280, height: 800 } };

describe('when a page on another site sends the visitor to the app', { skip }, () => {
  const app = useBrowserApp();

  before(async () => {
    appUrl = app.url;
    otherSite = createServer((req, res) => {
      const html = otherSitePages.get(req.url ?? '');
      res.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' }).end(html ?? 'not here');
    });
    otherSite.listen(0, '127.0.0.2');
    await once(otherSite, 'listening');
    otherSiteUrl = `http://127.0.0.2:${(otherSite.address() as { port: number }).port}`;
  });

  after(async () => {
    otherSite?.closeAllConnections();
    await new Promise((resolve) => otherSite?.close(resolve));
  });

  /** Uploads one photo with the gallery's form, as the visitor would; the address of its page. */
  async function uploadPhoto(page: Page): Promise<string> {
    await page.goto(`${appUrl}/`);
    await page.getByRole('link', { name: 'Upload photos' }).click();
    await page.locator('#photos').setInputFiles(path.join(fixturesDir, 'square.png'));
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.waitForURL(/\/photos\/\d{13}-[0-9a-f]{12}$/);
    return page.url();
  }

  function deleteLink(page: Page) {
    return page.getByRole('link', { name: 'Delete…' });
  }

  /** An auto-submitting form on the other site; resolves with the app's answer to it. */
  async function submitFromOtherSite(page: Page, name: string, form: string): Promise<number> {
    otherSitePages.set(`/${name}`, `<!doctype html><title>Win a prize</title>${form}<script>document.forms[0].submit()</script>`);
    const answer = page.waitForResponse((response) => response.url().startsWith(appUrl) && response.request().method() === 'POST');
    await page.goto(`${otherSiteUrl}/${name}`);
    return (await answer).status();
  }

  it("then its auto-submitted forms are refused, and the visitor's photo still shows its Delete link", async () => {
    await app.visit('cross-site forms keep the browser key', VISITOR, async (page) => {
      const photoUrl = await uploadPhoto(page);
      assert.equal(await deleteLink(page).count(), 1, 'the uploader sees Delete');
      const photoPath = new URL(photoUrl).pathname;
      const keysBefore = await app.testApp.listAllKeys();
      const forms: [string, string][] = [
        [
          'upload-multipart',
          `<form method="post" action="${appUrl}/photos" enctype="multipart/form-data"><input name="caption" value="spam"></form>`,
        ],
        ['upload-urlencoded', `<form method="post" action="${appUrl}/photos"><input name="_csrf" value="forged"></form>`],
        ['delete', `<form method="post" action="${appUrl}${photoPath}/delete"><input name="_csrf" value="forged"></form>`],
        ['nowhere', `<form method="post" action="${appUrl}/nowhere"><input name="a" value="b"></form>`],
      ];
      for (const [name, form] of forms) {
        const status = await submitFromOtherSite(page, name, form);
        assert.ok(status >= 400 && status < 500, `${name}: the app answered ${status}`);
      }
      assert.deepEqual(await app.testApp.listAllKeys(), keysBefore, 'nothing was stored or deleted');

      await page.goto(photoUrl);
      assert.equal(await deleteLink(page).count(), 1, 'the uploader still sees Delete');
      await deleteLink(page).click();
      await page.getByRole('button', { name: 'Delete photo' }).click();
      await page.waitForURL(`${appUrl}/`);
      assert.equal((await page.getByRole('status').first().textContent())?.trim(), 'The photo was deleted.');
    });
  });

  it('then following its link to the app leaves the upload form open in another tab working', async () => {
    await app.visit('cross-site arrival keeps open forms', VISITOR, async (formTab) => {
      await formTab.goto(`${appUrl}/`);
      await formTab.getByRole('link', { name: 'Upload photos' }).click();
      await formTab.locator('#photos').setInputFiles(path.join(fixturesDir, 'square.png'));

      const otherTab = await formTab.context().newPage();
      otherSitePages.set('/link', `<!doctype html><title>Look at this</title><a href="${appUrl}/">A photo gallery</a>`);
      await otherTab.goto(`${otherSiteUrl}/link`);
      await otherTab.getByRole('link', { name: 'A photo gallery' }).click();
      await otherTab.getByRole('link', { name: 'Upload photos' }).waitFor();

      await formTab.getByRole('button', { name: 'Upload', exact: true }).click();
      const refusal = formTab.locator('#upload-alert');
      await Promise.race([formTab.waitForURL(/\/photos\/\d{13}-[0-9a-f]{12}$/), refusal.waitFor({ state: 'visible' })]);
      if (await refusal.isVisible()) assert.fail(`the upload was refused: ${await refusal.textContent()}`);
      assert.equal(await deleteLink(formTab).count(), 1);
    });
  });
});
