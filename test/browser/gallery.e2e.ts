// The photo experience in a real browser (Debian's Chromium): a visitor drops several photos on the upload
// form, sees their previews, uploads them, walks them with "Older"/"Newer" and the arrow keys, deletes one,
// pastes an image and is told why a wrong file is refused. Then on each screen (390 × 844, 1280 × 800 and 1920 × 1080,
// light and dark) every page and the upload dialog pass axe-core, fit the window's width and are saved as screenshots,
// the gallery's justified rows and date headings hold, and /about stacks its diagram; and no page broke the CSP.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { seedPhotosAt } from '../support/seed.js';
import { fixturesDir } from '../support/test-app.js';
import { useBrowserApp } from './browser-app.js';
import { chromiumSkipReason, loadedImageWidth } from './chromium.js';
import {
  assertJustifiedRows,
  assertPassesAndSave,
  backdropLuminance,
  horizontalOverflow,
  loadAllImages,
  onEachScreen,
  SCREENS,
  saveScreenshot,
  tileBoxes,
} from './page-checks.js';
import { dropFiles } from './visitor.js';

/** An Arabic caption with a dash: in its own direction, the dash sits between the words, not at an end. */
const CAPTION = 'غروب الشمس - البحر';
const PHOTO_PAGE = /\/photos\/(\d{13}-[0-9a-f]{12})(\?from=[0-9a-f-]+)?$/;
/** Not the test machine's zone, so a time left in UTC would show. */
// No daylight saving and a 45-minute offset, so a time shown in UTC or in the machine's zone cannot match by chance.
const VIEWER_TIME_ZONE = 'Asia/Kathmandu';
const VIEWER_UTC_OFFSET_MINUTES = 5 * 60 + 45;

/** What en-GB's short time style shows in the viewer's zone for `utc` ("14:05"), worked out without Intl. */
function viewerClock(utc: Date): string {
  const local = new Date(utc.getTime() + VIEWER_UTC_OFFSET_MINUTES * 60_000);
  return `${String(local.getUTCHours()).padStart(2, '0')}:${String(local.getUTCMinutes()).padStart(2, '0')}`;
}
const DROPPED = [
  { name: 'landscape.jpg', type: 'image/jpeg' },
  { name: 'portrait.webp', type: 'image/webp' },
  { name: 'square.png', type: 'image/png' },
];

// Without Chromium the test is skipped where a developer runs it, and fails in CI (`launchChromium` says why).
const skip = chromiumSkipReason();

/** The file's one page and the app's address, once useBrowserApp has them. */
let page: Page;
let appUrl: string;
/** Newest first, once uploaded. */
let photoIds: string[] = [];

describe('the photo experience in Chromium', { skip }, () => {
  const app = useBrowserApp({
    sharedPage: { viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: VIEWER_TIME_ZONE },
  });
  const { step } = app;
  before(() => {
    ({ page, url: appUrl } = app);
  });

  describe('when a visitor opens the upload dialog, drops three photos on it and gives them an Arabic caption', () => {
    step('then each shows a preview, and Upload sends them (XHR) with progress for each file, then opens the gallery', async () => {
      await page.goto(`${appUrl}/`);
      await openUploadDialog();
      await dropFiles(page, '.drop-zone', DROPPED);

      const previews = page.getByRole('list', { name: 'Chosen photos' }).getByRole('listitem');
      assert.equal(await previews.count(), 3);
      for (const { name } of DROPPED) await page.locator(`canvas.drawn[aria-label="Preview of ${name}"]`).waitFor();
      assert.ok(await previewHasPixels(0), 'the first preview shows the photo');

      await page.getByRole('textbox', { name: 'Caption (optional)' }).fill(CAPTION);
      await recordProgressValues();
      const uploadRequest = page.waitForRequest((request) => request.method() === 'POST' && new URL(request.url()).pathname === '/photos');
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      assert.equal((await uploadRequest).resourceType(), 'xhr', 'upload.js sent the form, not a plain form post');
      // The form is on the gallery page itself: the notice, not the address, says the new gallery has loaded.
      await page.locator('.notice').waitFor();
      const progress = await page.evaluate(() => JSON.parse(sessionStorage.getItem('progress') ?? '{}') as Record<string, number>);
      assert.deepEqual(
        Object.keys(progress).sort(),
        DROPPED.map((file) => `Upload of ${file.name}`).sort(),
        'each file had its own progress bar',
      );
      assert.ok(
        Object.values(progress).every((value) => value === 100),
        `every file reached 100%: ${JSON.stringify(progress)}`,
      );
    });

    step('then the gallery says "3 photos were uploaded." once, and each thumbnail has its own name and a local time', async () => {
      assert.equal((await page.getByRole('status').first().textContent())?.trim(), '3 photos were uploaded.');
      const links = page.locator('.grid a');
      assert.equal(await links.count(), 3);
      const names = await links.evaluateAll((elements) => elements.map((element) => element.textContent!.replace(/\s+/g, ' ').trim()));
      assert.equal(new Set(names).size, 3, `distinct names: ${names.join(' | ')}`);
      photoIds = await links.evaluateAll((elements) =>
        elements.map((element) => new URL((element as HTMLAnchorElement).href).pathname.split('/')[2]!),
      );

      const time = page.locator('.grid time').first();
      const [shown, moment] = await time.evaluate((element) => [element.textContent, element.getAttribute('datetime')!]);
      assert.equal(shown, viewerClock(new Date(moment!)), `shown in ${VIEWER_TIME_ZONE}, not UTC`);
      assert.doesNotMatch(shown!, /UTC/);

      await page.reload();
      assert.equal(await page.locator('.notice').count(), 0, 'a reload does not repeat the notice');
    });
  });

  describe('when the visitor opens the newest photo', () => {
    step('then it fits the window with its caption and actions, and its caption reads right to left', async () => {
      await page.locator('.grid a').first().click();
      await page.waitForURL(PHOTO_PAGE);
      assert.ok((await loadedImageWidth(page, 'figure img')) > 0, 'the photo loaded from its presigned URL');
      const heading = page.getByRole('heading', { level: 1 });
      assert.equal(await heading.textContent(), CAPTION);
      assert.equal(await heading.evaluate((element) => getComputedStyle(element).direction), 'rtl');
      const bottomOf = (selector: string) => page.locator(selector).evaluate((element) => element.getBoundingClientRect().bottom);
      const windowHeight = await page.evaluate(() => window.innerHeight);
      assert.ok((await bottomOf('figure img')) <= windowHeight, 'the whole photo is in the window');
      assert.ok((await bottomOf('.actions')) <= windowHeight, 'the full-size link and Delete are in the window');
      assert.equal(await page.getByRole('link', { name: '← Newer' }).count(), 0, 'the newest photo has nothing newer');
    });

    step('then "Older →", the right arrow key and the left arrow key walk the photos in gallery order', async () => {
      await page.getByRole('link', { name: 'Older →' }).click();
      await page.waitForURL(PHOTO_PAGE);
      assert.equal(photoIdOf(page.url()), photoIds[1]);

      await page.keyboard.press('ArrowRight');
      await page.waitForURL((url) => photoIdOf(url.href) === photoIds[2]);
      assert.equal(await page.getByRole('link', { name: 'Older →' }).count(), 0, 'the oldest photo has nothing older');

      await page.keyboard.press('ArrowLeft');
      await page.waitForURL((url) => photoIdOf(url.href) === photoIds[1]);
      await page.getByRole('link', { name: '← Newer' }).click();
      await page.waitForURL((url) => photoIdOf(url.href) === photoIds[0]);
    });
  });

  describe('when the visitor deletes the oldest photo', () => {
    step('then "Delete…" asks to confirm, "Delete photo" removes it, and the gallery says so once', async () => {
      const oldest = photoIds[2]!;
      await page.goto(`${appUrl}/photos/${oldest}`);
      await page.getByRole('link', { name: 'Delete…' }).click();
      await page.waitForURL(`${appUrl}/photos/${oldest}/delete`);
      await page.getByRole('heading', { name: 'Delete this photo?' }).waitFor();

      await page.getByRole('button', { name: 'Delete photo' }).click();
      await page.waitForURL(`${appUrl}/`);
      assert.equal((await page.getByRole('status').first().textContent())?.trim(), 'The photo was deleted.');
      assert.equal(await page.locator(`a[href^="/photos/${oldest}"]`).count(), 0);
      assert.equal(
        (await app.testApp.listAllKeys()).filter((key) => key.includes(oldest)).length,
        0,
        'nothing of it is left in the bucket',
      );
      await page.reload();
      assert.equal(await page.locator('.notice').count(), 0);
    });
  });

  describe('when the visitor pastes an image on the gallery page', () => {
    step('then the upload dialog opens with it added and previewed, and "Remove" takes it off again', async () => {
      await page.goto(`${appUrl}/`);
      const square = (await readFile(path.join(fixturesDir, 'square.png'))).toString('base64');
      await page.evaluate((base64) => {
        const transfer = new DataTransfer();
        transfer.items.add(
          new File([Uint8Array.from(atob(base64), (character) => character.charCodeAt(0))], 'pasted.png', { type: 'image/png' }),
        );
        document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
      }, square);
      await page.locator('canvas.drawn[aria-label="Preview of pasted.png"]').waitFor();
      assert.ok(await page.locator('#upload-dialog').evaluate((dialog) => (dialog as HTMLDialogElement).open), 'pasting opened the dialog');
      assert.equal(
        await page.locator('#photos').evaluate((input) => (input as HTMLInputElement).files?.length),
        1,
        'the form will send it',
      );

      await page.getByRole('button', { name: 'Remove pasted.png' }).click();
      assert.equal(await page.getByRole('list', { name: 'Chosen photos' }).isHidden(), true);
      assert.equal(await page.locator('#photos').evaluate((input) => (input as HTMLInputElement).files?.length), 0);
    });
  });

  describe('when the visitor drops a text file named like a photo anywhere on the gallery', () => {
    step(
      'then the upload dialog opens with it, Upload shows an alert that names it, the progress is reset, and nothing is stored',
      async () => {
        const keysBefore = await app.testApp.listAllKeys();
        await page.goto(`${appUrl}/`);
        await dropFiles(page, '.grid', [{ name: 'notes.jpg', type: 'image/jpeg', content: 'not a photo, just text' }]);
        await page.getByRole('dialog', { name: 'Share photos' }).waitFor();
        await page.getByRole('button', { name: 'Upload', exact: true }).click();

        const alert = page.getByRole('alert');
        await alert.waitFor();
        assert.match((await alert.textContent())!, /notes\.jpg/);
        assert.equal(
          await page.getByRole('progressbar', { name: 'Upload of notes.jpg' }).evaluate((bar) => (bar as HTMLProgressElement).value),
          0,
        );
        assert.ok(await page.getByRole('button', { name: 'Upload', exact: true }).isEnabled(), 'the form can be sent again');
        assert.deepEqual(await app.testApp.listAllKeys(), keysBefore);
      },
    );
  });

  describe('when JavaScript is off', () => {
    it("then the header's Upload link leads to /upload, whose form uploads the chosen files with a plain form post", async () => {
      const plainContext = await app.browser.newContext({ javaScriptEnabled: false });
      try {
        const plainPage = await plainContext.newPage();
        await plainPage.goto(`${appUrl}/`);
        await plainPage.getByRole('link', { name: 'Upload photos' }).click();
        await plainPage.waitForURL(`${appUrl}/upload`);
        await plainPage.locator('#photos').setInputFiles(['landscape.jpg', 'square.png'].map((name) => path.join(fixturesDir, name)));
        await plainPage.getByRole('button', { name: 'Upload', exact: true }).click();
        await plainPage.locator('.notice').waitFor();
        assert.equal((await plainPage.getByRole('status').first().textContent())?.trim(), '2 photos were uploaded.');
        assert.equal(await plainPage.locator('.grid a').count(), 4);
      } finally {
        await plainContext.close();
      }
    });
  });

  describe('when JavaScript is off, on each screen', () => {
    it("then the header's Upload link is in reach, and the /upload page it leads to has its form in reach and fits the width", async () => {
      await app.visit('upload-without-javascript', { javaScriptEnabled: false }, async (plainPage) => {
        await onEachScreen(plainPage, async (screen) => {
          await plainPage.goto(`${appUrl}/`);
          const link = plainPage.getByRole('link', { name: 'Upload photos' });
          const box = (await link.boundingBox())!;
          assert.ok(
            box.x >= 0 && box.x + box.width <= screen.viewport.width && box.y >= 0 && box.y + box.height <= screen.viewport.height,
            `the link is on the first screen: ${JSON.stringify(box)}`,
          );
          await link.click();
          await plainPage.waitForURL(`${appUrl}/upload`);
          for (const control of [plainPage.locator('#photos'), plainPage.getByRole('button', { name: 'Upload', exact: true })]) {
            const controlBox = (await control.boundingBox())!;
            assert.ok(
              controlBox.x >= 0 && controlBox.x + controlBox.width <= screen.viewport.width,
              `within the width: ${JSON.stringify(controlBox)}`,
            );
          }
          // axe-core cannot run here: it waits on timers, which a page without JavaScript never fires. The same
          // page with JavaScript passes it on each screen (the pages below), and its scripts change nothing it checks.
          assert.equal(await horizontalOverflow(plainPage), 0, 'pixels wider than the window');
          await saveScreenshot(plainPage, `upload-without-javascript-${screen.name}`);
        });
      });
    });
  });

  describe('when the visitor writes a caption of emoji', () => {
    step(
      'then 280 of them are accepted as the server counts characters, and a 281st stops the form with a message before anything is sent',
      async () => {
        await page.goto(`${appUrl}/`);
        await openUploadDialog();
        const caption = page.getByRole('textbox', { name: 'Caption (optional)' });
        await caption.fill('😀'.repeat(281));
        assert.equal(Array.from(await caption.inputValue()).length, 281, 'the field does not cut the caption at 140 emoji');
        assert.match(
          await caption.evaluate((field) => (field as HTMLInputElement).validationMessage),
          /up to 280 characters; this one has 281/,
        );
        await caption.fill('😀'.repeat(280));
        assert.equal(await caption.evaluate((field) => (field as HTMLInputElement).validationMessage), '');
        await dropFiles(page, '.drop-zone', [{ name: 'square.png', type: 'image/png' }]);
        await page.getByRole('button', { name: 'Upload', exact: true }).click();
        await page.waitForURL(PHOTO_PAGE);
        // A caption this long is body text below the photo, under a plain heading (photo.ejs).
        assert.equal((await page.locator('.photo .caption').textContent())?.trim(), '😀'.repeat(280));
      },
    );
  });

  describe("when photos were uploaded on other days and the visitor's clock reads 20 November 2026, 23:00 in Auckland", () => {
    step(
      "then on each screen the gallery groups them under the visitor's own days: Today, Yesterday, 4 November, 3 December 2025",
      async () => {
        await seedPhotosAt(app.testApp.store, [
          new Date('2026-11-20T09:00:00Z'), // 22:00 on the 20th in Auckland
          new Date('2026-11-19T11:30:00Z'), // 00:30 on the 20th in Auckland, still the 19th in UTC
          new Date('2026-11-19T10:30:00Z'), // 23:30 on the 19th in Auckland
          new Date('2026-11-03T12:00:00Z'), // 01:00 on 4 November in Auckland
          new Date('2025-12-03T00:00:00Z'), // 13:00 on 3 December 2025 in Auckland
        ]);
        const visitor = { viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Pacific/Auckland' };
        await app.visit('gallery-days', visitor, async (visitorPage) => {
          await visitorPage.context().clock.setFixedTime(new Date('2026-11-20T10:00:00Z'));
          await onEachScreen(visitorPage, async (screen) => {
            await visitorPage.goto(`${appUrl}/`);
            const days = await visitorPage.locator('.days > h2').evaluateAll((headings) =>
              headings.map((heading) => ({
                day: heading.textContent,
                date: heading.querySelector('time')!.getAttribute('datetime'),
                times: Array.from(heading.nextElementSibling!.querySelectorAll('li time'), (time) => time.textContent),
              })),
            );
            assert.deepEqual(days.slice(-4), [
              { day: 'Today', date: '2026-11-20', times: ['22:00', '00:30'] },
              { day: 'Yesterday', date: '2026-11-19', times: ['23:30'] },
              { day: '4 November', date: '2026-11-04', times: ['01:00'] },
              { day: '3 December 2025', date: '2025-12-03', times: ['13:00'] },
            ]);
            assert.equal(new Set(days.map((day) => day.date)).size, days.length, `each day has one heading: ${JSON.stringify(days)}`);
            const misplaced = await visitorPage.locator('.days > h2').evaluateAll((headings) =>
              headings
                .map((heading) => ({ heading: heading.getBoundingClientRect(), grid: heading.nextElementSibling!.getBoundingClientRect() }))
                .filter(({ heading, grid }) => heading.height === 0 || heading.right > window.innerWidth || heading.bottom > grid.top)
                .map(({ heading }) => JSON.stringify(heading)),
            );
            assert.deepEqual(misplaced, [], 'each heading is shown within the window, above its photos');
            await assertPassesAndSave(visitorPage, screen, 'gallery-days');
          });
        });
      },
    );
  });

  describe('when each page is shown on a 390 × 844 phone, a 1280 × 800 laptop and a 1920 × 1080 desktop, light and dark', () => {
    const pages = [
      { name: 'gallery', path: () => '/' },
      { name: 'upload', path: () => '/upload' },
      { name: 'photo', path: () => `/photos/${photoIds[1]}?from=${photoIds[0]}` },
      { name: 'delete', path: () => `/photos/${photoIds[1]}/delete` },
      { name: 'about', path: () => '/about' },
      { name: 'not-found', path: () => '/no-such-page' },
    ];
    for (const { name, path: pathOf } of pages) {
      step(
        `then the ${name} page, light and dark, has no axe-core violation and no sideways scrolling, and is saved as a screenshot`,
        async () => {
          await onEachScreen(page, async (screen) => {
            await page.goto(`${appUrl}${pathOf()}`);
            await loadAllImages(page);
            const backdrop = await backdropLuminance(page);
            assert.ok(screen.colorScheme === 'dark' ? backdrop < 0.05 : backdrop > 0.8, `the backdrop's luminance is ${backdrop}`);
            await assertPassesAndSave(page, screen, name);
          });
        },
      );
    }

    step(
      "then the header's Upload link opens the dialog, which has no axe-core violation and no sideways scrolling, and is saved as a screenshot",
      async () => {
        await onEachScreen(page, async (screen) => {
          await page.goto(`${appUrl}/`);
          await openUploadDialog();
          await assertPassesAndSave(page, screen, 'upload-dialog');
        });
      },
    );

    step("then the gallery's rows use the window's width, each photo in its own shape, and nothing moves as the photos load", async () => {
      await onEachScreen(page, async (screen) => {
        await page.goto(`${appUrl}/`);
        const before = await tileBoxes(page);
        await loadAllImages(page);
        const loaded = await tileBoxes(page);
        assert.deepEqual(loaded, before, 'the tiles kept their places and sizes while the images loaded');
        await assertJustifiedRows(page, screen.viewport);
      });
    });

    step("then in dark, at each size, the photo page's backdrop is near black, darker than the gallery's", async () => {
      await onEachScreen(
        page,
        async () => {
          await page.goto(`${appUrl}/`);
          const gallery = await backdropLuminance(page);
          await page.goto(`${appUrl}/photos/${photoIds[1]}?from=${photoIds[0]}`);
          const photo = await backdropLuminance(page);
          assert.ok(photo < 0.005 && photo < gallery, `photo page ${photo}, gallery ${gallery}`);
        },
        SCREENS.filter((screen) => screen.colorScheme === 'dark'),
      );
    });
  });

  describe('when the about page is read on each screen', () => {
    step(
      'then the path from a role to S3 is stacked within the screen, nothing is cut off in a scroll box, and the answering link is marked',
      async () => {
        await onEachScreen(page, async (screen) => {
          await page.goto(`${appUrl}/about`);
          const clipped = await page
            .locator('main')
            .evaluate((main) =>
              [main, ...main.querySelectorAll('*')]
                .filter((element) => element.scrollWidth > element.clientWidth + 1 && getComputedStyle(element).overflowX !== 'visible')
                .map((element) => `${element.tagName.toLowerCase()}.${element.className}`),
            );
          assert.deepEqual(clipped, [], 'no box on /about hides part of its content sideways');
          const steps = page.locator('.role-path > li');
          assert.equal(await steps.count(), 7);
          const boxes = await steps.evaluateAll((items) => items.map((item) => item.getBoundingClientRect().toJSON() as DOMRect));
          for (const [index, box] of boxes.entries()) {
            assert.ok(
              box.left >= 0 && box.right <= screen.viewport.width,
              `step ${index + 1} lies within the screen: ${box.left}–${box.right}`,
            );
            if (index > 0) assert.ok(box.top >= boxes[index - 1]!.bottom - 0.5, `step ${index + 1} is below step ${index}`);
          }
          assert.equal(await horizontalOverflow(page), 0);
          const answered = page.locator('.credential-chain [aria-current="true"]');
          assert.equal(await answered.count(), 1);
          assert.match((await answered.textContent())!, /^Environment variables.*answered/);
          await page.getByText('npm run dev:ec2').waitFor();
        });
        await page.setViewportSize({ width: 1280, height: 800 });
      },
    );
  });

  app.itFindsNoPageErrors();
});

function photoIdOf(url: string): string | undefined {
  return PHOTO_PAGE.exec(new URL(url).pathname + new URL(url).search)?.[1];
}

/** Opens the upload dialog with the header's link, as a visitor would. */
async function openUploadDialog(): Promise<void> {
  await page.getByRole('link', { name: 'Upload photos' }).click();
  await page.getByRole('dialog', { name: 'Share photos' }).waitFor();
}

async function previewHasPixels(index: number): Promise<boolean> {
  return page
    .locator('#upload-previews canvas')
    .nth(index)
    .evaluate((canvas) => {
      const pixels = (canvas as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 160, 160).data;
      return pixels.some((value, offset) => offset % 4 === 3 && value > 0);
    });
}

/** Notes each progress bar's highest value in sessionStorage, which outlives the navigation after the upload. */
async function recordProgressValues(): Promise<void> {
  await page.locator('#upload-previews').evaluate((list) => {
    new MutationObserver(() => {
      const seen = JSON.parse(sessionStorage.getItem('progress') ?? '{}') as Record<string, number>;
      for (const bar of list.querySelectorAll('progress')) {
        const name = bar.getAttribute('aria-label')!;
        seen[name] = Math.max(seen[name] ?? 0, bar.value);
      }
      sessionStorage.setItem('progress', JSON.stringify(seen));
    }).observe(list, { attributes: true, subtree: true, attributeFilter: ['value'] });
  });
}
