// Uploads that forgive, in a real browser (Debian's Chromium): more files than one request may carry go in
// batches with one progress for all; a refused file is named with its reason while the others are stored; a
// failed request keeps the chosen files and captions; each file may have its own caption; the new photos are
// marked in the gallery; and on each screen (390 × 844, 1280 × 800, 1920 × 1080, light and dark) the Upload button
// stays in reach with ten previews, which pass axe-core.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { useBrowserApp } from './browser-app.js';
import { chromiumSkipReason } from './chromium.js';
import { assertPassesAndSave, inScreen, SCREENS, VIEWPORTS } from './page-checks.js';
import { dropFiles } from './visitor.js';

const skip = chromiumSkipReason();

let maxFiles: number;

describe('uploads that forgive, in Chromium', { skip }, () => {
  const app = useBrowserApp({ timeout: 20_000 });
  before(() => {
    maxFiles = app.testApp.config.maxFilesPerUpload;
  });

  /** A fresh visitor on the gallery with the upload dialog open; fails on any CSP violation or script error. */
  async function withDialog(name: string, body: (page: Page) => Promise<void>): Promise<void> {
    await app.visit(name, { viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'UTC' }, async (page, reports) => {
      await page.goto(`${app.url}/`);
      await page.getByRole('link', { name: 'Upload photos' }).click();
      await page.getByRole('dialog', { name: 'Share photos' }).waitFor();
      await body(page);
      assert.deepEqual([...reports.cspViolations, ...reports.pageErrors], [], reports.console.join('\n'));
    });
  }

  it('when more files are chosen than one request carries, then all are sent in batches with one progress, and the gallery marks them', async () => {
    await withDialog('upload-in-batches', async (page) => {
      const count = maxFiles + 2;
      const files = Array.from({ length: count }, (_, i) => ({ name: `photo-${i + 1}.png`, type: 'image/png', fixture: 'square.png' }));
      await dropFiles(page, '.drop-zone', files);
      assert.equal(await page.getByRole('list', { name: 'Chosen photos' }).getByRole('listitem').count(), count, 'every file is chosen');
      assert.equal(await page.getByRole('alert').isHidden(), true, 'no file was turned away');

      const posts: string[] = [];
      page.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/photos') posts.push(request.url());
      });
      await recordHighestValue(page, 'progress[aria-label="Upload of all chosen photos"]');
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await page.locator('.notice').waitFor();

      assert.equal(posts.length, Math.ceil(count / maxFiles), 'one request per batch');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('highest')), '100', 'the one progress for all reached 100 %');
      assert.equal((await page.getByRole('status').first().textContent())?.trim(), `${count} photos were uploaded.`);
      assert.equal((await app.testApp.listAllKeys()).filter((key) => key.includes('/thumbnails/')).length, count);
      const marked = page.locator('.grid > li.just-uploaded');
      assert.equal(await marked.count(), count, 'each new photo is marked');
      assert.match((await marked.first().getByRole('link').textContent()) ?? '', /^New/, 'and says so to a screen reader');
      await page.reload();
      assert.equal(await page.locator('.just-uploaded').count(), 0, 'a reload no longer marks them');
    });
  });

  it('when a request fails, then the alert says so, and the chosen files and captions stay to send again', async () => {
    await withDialog('upload-fails-then-succeeds', async (page) => {
      await dropFiles(page, '.drop-zone', [
        { name: 'landscape.jpg', type: 'image/jpeg' },
        { name: 'portrait.webp', type: 'image/webp' },
      ]);
      await page.locator('#caption').fill('Harbour at dusk');
      await page.getByLabel('Caption of portrait.webp').fill('The lighthouse');
      await page.route('**/photos', (route) => route.abort('connectionreset'), { times: 1 });
      await page.getByRole('button', { name: 'Upload', exact: true }).click();

      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match((await alert.textContent())!, /The connection was lost\. Nothing was stored\. Press Upload to try again\./);
      assert.equal(await page.getByRole('list', { name: 'Chosen photos' }).getByRole('listitem').count(), 2);
      assert.equal(await page.locator('#caption').inputValue(), 'Harbour at dusk');
      assert.equal(await page.getByLabel('Caption of portrait.webp').inputValue(), 'The lighthouse');
      assert.ok(await page.getByRole('button', { name: 'Upload', exact: true }).isEnabled());

      // Sent again, as they were.
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await page.locator('.notice').waitFor();
      assert.equal(new URL(page.url()).pathname, '/');
      assert.equal(await page.locator('.grid > li.just-uploaded').count(), 2);
    });
  });

  it('when one of two photos has its own caption, then it gets that one, and the other the caption of the form', async () => {
    await withDialog('upload-own-captions', async (page) => {
      await dropFiles(page, '.drop-zone', [
        { name: 'landscape.jpg', type: 'image/jpeg' },
        { name: 'portrait.webp', type: 'image/webp' },
      ]);
      await page.locator('#caption').fill('Harbour at dusk');
      await page.getByLabel('Caption of portrait.webp').fill('The lighthouse');
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await page.locator('.notice').waitFor();
      const hrefs = await page
        .locator('.grid > li.just-uploaded a')
        .evaluateAll((links) => links.map((link) => link.getAttribute('href')!));
      const captionsBySize = await Promise.all(
        hrefs.map(async (href) => {
          const photo = await (await fetch(`${app.url}${href}`)).text();
          return `${/(\d+ × \d+) pixels/.exec(photo)?.[1]}: ${/<h1[^>]*>([^<]*)<\/h1>/.exec(photo)?.[1]}`;
        }),
      );
      assert.deepEqual(captionsBySize.sort(), ['300 × 400: The lighthouse', '640 × 480: Harbour at dusk']);
    });
  });

  it('when one file among good ones is not an image, then the good ones are stored and the bad one is named with its reason', async () => {
    await withDialog('upload-one-refused', async (page) => {
      await dropFiles(page, '.drop-zone', [
        { name: 'landscape.jpg', type: 'image/jpeg' },
        { name: 'notes.jpg', type: 'image/jpeg', content: 'not a photo, just text' },
        { name: 'square.png', type: 'image/png' },
      ]);
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match((await alert.textContent())!, /^A file was not stored\. 2 of 3 stored\./);
      assert.match((await alert.getByRole('listitem').textContent())!, /^notes\.jpg: \S/);
      const left = page.getByRole('list', { name: 'Chosen photos' }).getByRole('listitem');
      assert.equal(await left.count(), 1, 'only the refused file is still chosen');
      assert.match((await left.textContent())!, /notes\.jpg.*Not stored: \S/s);
      const loaded = page.waitForEvent('load');
      await alert.getByRole('link', { name: 'See the photos that were stored' }).click();
      await loaded;
      assert.equal(await page.locator('.grid > li.just-uploaded').count(), 2);
    });
  });

  // Pasted images are all "image.png", and two folders may each hold an IMG_0001.JPG: a name does not tell
  // which file of a request was refused, its place does.
  it('when two chosen files share a name and one is refused, then the refused one stays chosen and the stored one is not sent again', async () => {
    await withDialog('upload-same-names', async (page) => {
      await dropFiles(page, '.drop-zone', [
        { name: 'image.png', type: 'image/png', content: 'not a photo, just text' },
        { name: 'image.png', type: 'image/png', fixture: 'square.png' },
      ]);
      const captions = page.getByRole('list', { name: 'Chosen photos' }).getByRole('textbox');
      await captions.nth(0).fill('The text file');
      await captions.nth(1).fill('The photo');
      const thumbnails = async () => (await app.testApp.listAllKeys()).filter((key) => key.includes('/thumbnails/')).length;
      const before = await thumbnails();
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match((await alert.textContent())!, /^A file was not stored\. 1 of 2 stored\./);
      const left = page.getByRole('list', { name: 'Chosen photos' }).getByRole('listitem');
      assert.equal(await left.count(), 1, 'only the refused file is still chosen');
      assert.equal(await left.getByRole('textbox').inputValue(), 'The text file', 'the one left is the refused file, with its caption');
      assert.match((await left.textContent())!, /Not stored: \S/);
      assert.equal(await thumbnails(), before + 1, 'the photo was stored once');
    });
  });

  it('when ten photos are chosen on each screen, then the Upload button is on the screen and takes the tap', async () => {
    for (const screen of SCREENS) {
      const phone = screen.viewport === VIEWPORTS[0];
      const device = { viewport: screen.viewport, colorScheme: screen.colorScheme, hasTouch: true, isMobile: phone };
      await app.visit(`upload-ten-previews-${screen.name}`, device, (page) =>
        inScreen(screen, async () => {
          await page.goto(`${app.url}/`);
          await page.getByRole('link', { name: 'Upload photos' }).click();
          await dropFiles(
            page,
            '.drop-zone',
            Array.from({ length: 10 }, (_, i) => ({ name: `phone-${i + 1}.png`, type: 'image/png', fixture: 'square.png' })),
          );
          await page.locator('canvas.drawn').nth(9).waitFor();
          const upload = page.getByRole('button', { name: 'Upload', exact: true });
          const box = (await upload.boundingBox())!;
          assert.ok(
            box.y >= 0 && box.y + box.height <= screen.viewport.height,
            `the button lies within the screen: ${JSON.stringify(box)}`,
          );
          const onTop = await page.evaluate(({ x, y }) => document.elementFromPoint(x, y)?.closest('button')?.textContent, {
            x: box.x + box.width / 2,
            y: box.y + box.height / 2,
          });
          assert.equal(onTop, 'Upload', 'nothing covers it');
          await assertPassesAndSave(page, screen, 'upload-dialog-ten-previews');
        }),
      );
    }
  });

  app.itFindsNoPageErrors();
});

/** Notes the highest value `selector`'s progress bar reaches in sessionStorage, which outlives the navigation after the upload. */
async function recordHighestValue(page: Page, selector: string): Promise<void> {
  await page.locator(selector).evaluate((bar) => {
    new MutationObserver(() => {
      const highest = Math.max(Number(sessionStorage.getItem('highest') ?? 0), (bar as HTMLProgressElement).value);
      sessionStorage.setItem('highest', String(highest));
    }).observe(bar, { attributes: true, attributeFilter: ['value'] });
  });
}
