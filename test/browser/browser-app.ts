// The set-up every browser test file shares, written once: the app on the S3 emulator served on 127.0.0.1, one
// Chromium, watched pages that leave a screenshot when a step fails, and the teardown of all of it.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { startTestApp, type TestApp, type TestAppOptions } from '../support/test-app.js';
import { launchChromium, screenshotOnFailure, serveForBrowser, watchPage, type PageReports } from './chromium.js';

export interface BrowserAppOptions {
  /** How the app starts (its environment, its clock). */
  app?: TestAppOptions;
  /** When given, one page in a context of these options is opened for the whole file: `page` and `step` use it. */
  sharedPage?: BrowserContextOptions;
  /** How long a page waits for an element or a navigation, in ms. */
  timeout?: number;
}

export interface BrowserApp {
  readonly testApp: TestApp;
  /** The app's address, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly browser: Browser;
  /** The file's shared page (only with `sharedPage`). */
  readonly page: Page;
  readonly context: BrowserContext;
  /** A test on the shared page that saves a screenshot of it if it fails. */
  step(name: string, body: () => Promise<void>): void;
  /** Opens a new context (its own cookies and cache) and page, runs `body` in it, saves a screenshot if it fails, and closes it. */
  visit(name: string, options: BrowserContextOptions, body: (page: Page, reports: PageReports) => Promise<void>): Promise<void>;
  /** Adds the file's last test: no page it opened broke the Content Security Policy or raised a script error. */
  itFindsNoPageErrors(): void;
}

/**
 * Starts the app and Chromium before the enclosing `describe`'s tests and closes both after them. Call it inside
 * the `describe` (so a skipped suite starts nothing); a `before` the file adds after it runs once they are up.
 */
export function useBrowserApp({ app: appOptions, sharedPage, timeout = 15_000 }: BrowserAppOptions = {}): BrowserApp {
  let testApp: TestApp | undefined;
  let served: Awaited<ReturnType<typeof serveForBrowser>> | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const reports: PageReports[] = [];

  async function openPage(target: BrowserContext): Promise<{ page: Page; reports: PageReports }> {
    const opened = await target.newPage();
    opened.setDefaultTimeout(timeout);
    const watched = watchPage(opened);
    reports.push(watched);
    return { page: opened, reports: watched };
  }

  before(async () => {
    testApp = await startTestApp(appOptions);
    served = await serveForBrowser(testApp.app);
    browser = await launchChromium();
    if (sharedPage) page = (await openPage(await browser.newContext(sharedPage))).page;
  });

  after(async () => {
    await browser?.close();
    await served?.close();
    await testApp?.close();
  });

  /** The value once `before` has set it; a clear error for a file that reads it too early. */
  function defined<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`${what} is not there yet: read it in a test or in a before() after useBrowserApp()`);
    return value;
  }
  function sharedPageOrFail(): Page {
    if (!sharedPage) throw new Error('no shared page: pass useBrowserApp({ sharedPage: <context options> })');
    return defined(page, 'the shared page');
  }

  return {
    get testApp() {
      return defined(testApp, 'the test app');
    },
    get url() {
      return defined(served, 'the server').url;
    },
    get browser() {
      return defined(browser, 'Chromium');
    },
    get page() {
      return sharedPageOrFail();
    },
    get context() {
      return sharedPageOrFail().context();
    },
    step(name, body) {
      it(name, () => screenshotOnFailure(sharedPageOrFail(), name, body));
    },
    async visit(name, options, body) {
      const visitContext = await defined(browser, 'Chromium').newContext(options);
      try {
        const opened = await openPage(visitContext);
        await screenshotOnFailure(opened.page, name, () => body(opened.page, opened.reports));
      } finally {
        await visitContext.close();
      }
    },
    itFindsNoPageErrors() {
      it('then no page broke the Content Security Policy or raised a script error', () => {
        const all = (key: keyof PageReports) => reports.flatMap((report) => report[key]);
        const seen = `Console:\n${all('console').join('\n') || '(nothing)'}`;
        assert.deepEqual(all('cspViolations'), [], seen);
        assert.deepEqual(all('pageErrors'), [], seen);
      });
    },
  };
}
