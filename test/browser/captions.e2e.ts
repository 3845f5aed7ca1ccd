// Captions in a real browser (Debian's Chromium): the uploader edits a caption through the photo page's form and
// sees it; on each screen (390 × 844, 1280 × 800, 1920 × 1080, light and dark) a 280-character caption is body text
// that leaves the photo in the first screenful, the gallery's link to the photo is named by its caption (as
// Chromium computes the name), and the photo page and gallery pass axe-core; and no page broke the CSP.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';
import { MAX_CAPTION_LENGTH } from '../../src/photos/captions.js';
import { fixture } from '../support/test-app.js';
import { useBrowserApp } from './browser-app.js';
import { chromiumSkipReason } from './chromium.js';
import { assertPassesAndSave, horizontalOverflow, onEachScreen, VIEWPORTS } from './page-checks.js';

const skip = chromiumSkipReason();
/** Exactly the limit, in words, so it wraps as a real caption would. */
const LONG_CAPTION = 'Low tide at the old pier, gulls over the sand bar and the lighthouse beyond: '
  .repeat(4)
  .slice(0, MAX_CAPTION_LENGTH)
  .trim();
const SHORT_CAPTION = 'Pier at dusk';

let photoId: string;

describe('captions in Chromium', { skip }, () => {
  const app = useBrowserApp({ sharedPage: { viewport: VIEWPORTS[0], locale: 'en-GB' } });
  const { step } = app;

  before(async () => {
    // Uploaded by this browser (its cookies, its form token), so this browser may edit the caption.
    const { page, url: appUrl } = app;
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

  /** Opens the photo page's caption form, types `caption` over the old one and saves it, as a visitor would. */
  async function editCaptionThroughTheForm(caption: string): Promise<void> {
    const { page, url: appUrl } = app;
    await page.goto(`${appUrl}/photos/${photoId}`);
    await page.locator('.caption-edit summary').click();
    await page.getByLabel('Caption').fill(caption);
    await Promise.all([page.waitForURL(`${appUrl}/photos/${photoId}`), page.getByRole('button', { name: 'Save caption' }).click()]);
  }

  /** The photo's box relative to the window, with the page scrolled to its top. */
  function photoBox() {
    return app.page.locator('.photo figure img').evaluate((image) => {
      window.scrollTo(0, 0);
      const box = image.getBoundingClientRect();
      return { top: box.top, bottom: box.bottom, height: box.height, windowHeight: window.innerHeight };
    });
  }

  /** Names of the gallery's links as Chromium's accessibility tree has them. */
  async function linkNames(): Promise<string[]> {
    const session = await app.context.newCDPSession(app.page);
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
      const { page } = app;
      await editCaptionThroughTheForm(SHORT_CAPTION);
      assert.equal(await page.locator('.notice').textContent(), 'The caption was saved.');
      assert.equal(await page.locator('h1').textContent(), SHORT_CAPTION);
      assert.equal(await page.title(), `\u2068${SHORT_CAPTION}\u2069 · S3 Photo Share`);
    });
  });

  describe(`when the uploader saves a ${MAX_CAPTION_LENGTH}-character caption`, () => {
    step('then it is shown whole, and the page has one sensible heading', async () => {
      const { page } = app;
      await editCaptionThroughTheForm(LONG_CAPTION);
      assert.equal(await page.locator('.photo .caption').textContent(), LONG_CAPTION);
      assert.deepEqual(await page.locator('h1').allTextContents(), ['Photo']);
    });

    step(`then ${MAX_CAPTION_LENGTH} emoji fit too: the field counts characters as the server does, not UTF-16 units`, async () => {
      const emoji = '😀'.repeat(MAX_CAPTION_LENGTH);
      await editCaptionThroughTheForm(emoji);
      assert.equal(await app.page.locator('.photo .caption').textContent(), emoji);
      await editCaptionThroughTheForm(LONG_CAPTION);
    });

    step('then on each screen it is normal-weight body text below the whole photo, which is in the first screenful', async () => {
      const { page, url: appUrl } = app;
      await onEachScreen(page, async () => {
        await page.goto(`${appUrl}/photos/${photoId}`);
        const text = await page.locator('.photo .caption').evaluate((element) => {
          const style = getComputedStyle(element);
          return { weight: style.fontWeight, size: style.fontSize };
        });
        assert.deepEqual(text, { weight: '400', size: '16px' });
        const box = await photoBox();
        assert.ok(box.height > 100, `the photo is shown (${box.height} px high)`);
        assert.ok(box.top >= 0 && box.bottom <= box.windowHeight, `the photo spans ${box.top}–${box.bottom} of ${box.windowHeight} px`);
        const captionTop = await page.locator('.photo .caption').evaluate((element) => element.getBoundingClientRect().top);
        assert.ok(captionTop >= box.bottom, 'the caption comes after the photo');
        assert.equal(await horizontalOverflow(page), 0);
      });
    });

    step("then on each screen the gallery's link to the photo is named by its caption", async () => {
      const { page, url: appUrl } = app;
      await onEachScreen(page, async () => {
        await page.goto(`${appUrl}/`);
        const names = await linkNames();
        const photoLink = names.find((name) => name.startsWith('Photo 1')) ?? '';
        assert.ok(photoLink.includes(LONG_CAPTION), `the photo's link is named ${JSON.stringify(photoLink)} (links: ${names.join(' | ')})`);
        assert.match(photoLink, /, uploaded /, 'and still says when it was uploaded');
      });
    });
  });

  describe('when the caption pages are checked', () => {
    step('then on each screen the photo page (form open) and the gallery have 0 axe violations and no sideways scrolling', async () => {
      const { page, url: appUrl } = app;
      await onEachScreen(page, async (screen) => {
        await page.goto(`${appUrl}/photos/${photoId}`);
        await page.locator('.caption-edit summary').click();
        await assertPassesAndSave(page, screen, 'caption-photo');
        await page.goto(`${appUrl}/`);
        await assertPassesAndSave(page, screen, 'caption-gallery');
      });
    });

    app.itFindsNoPageErrors();
  });
});
