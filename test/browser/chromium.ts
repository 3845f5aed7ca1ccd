// A local Chromium driven by playwright-core, for the end-to-end tests: launched headless with nothing
// that reaches the internet, pages watched for CSP violations and script errors, a screenshot when a step fails.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * The browser to drive: Debian's package by default (`apt-get install chromium`); CHROMIUM_PATH names another
 * Chromium or Chrome, such as the one on GitHub's runners. The tests never download a browser.
 */
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const screenshotDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results');

/**
 * Why the browser tests are skipped, or false when they run. A missing browser skips them on a developer's
 * machine but not in CI (CI=true), where launchChromium then fails and says what to install or set.
 */
export function chromiumSkipReason(): string | false {
  if (existsSync(chromiumPath) || process.env.CI === 'true') return false;
  return `no Chromium at ${chromiumPath}: apt-get install chromium, or set CHROMIUM_PATH to a Chromium or Chrome`;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`No Chromium at ${chromiumPath}: apt-get install chromium, or set CHROMIUM_PATH to a Chromium or Chrome.`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    // Headless, and quiet: no updates, sync, QUIC or first-run requests to Google's servers.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

/** What a page reported while the test drove it. */
export interface PageReports {
  /** Console messages and `securitypolicyviolation` events about the Content Security Policy. */
  cspViolations: string[];
  /** Uncaught exceptions in the page's scripts. */
  pageErrors: string[];
  /** Every console message, to explain a failure. */
  console: string[];
}

export function watchPage(page: Page): PageReports {
  const reports: PageReports = { cspViolations: [], pageErrors: [], console: [] };
  page.on('console', (message) => {
    const line = `[${message.type()}] ${message.text()} (${message.location().url})`;
    reports.console.push(line);
    if (/Content Security Policy|Refused to/i.test(message.text())) reports.cspViolations.push(line);
  });
  page.on('pageerror', (error) => reports.pageErrors.push(`${error.name}: ${error.message}`));
  // Chromium logs most violations to the console; the DOM event catches any it words differently.
  void page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`);
    });
  });
  return reports;
}

/** Runs a test step; if it fails, saves a full-page screenshot to test-results/ and names it in the error. */
export async function screenshotOnFailure<T>(page: Page, stepName: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    await mkdir(screenshotDir, { recursive: true });
    const file = path.join(screenshotDir, `${stepName.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80)}.png`);
    const saved = await page.screenshot({ path: file, fullPage: true }).then(
      () => `screenshot: ${path.relative(process.cwd(), file)}`,
      (screenshotError: Error) => `no screenshot (${screenshotError.message})`,
    );
    if (error instanceof Error) error.message += `\n  at ${page.url()}; ${saved}`;
    throw error;
  }
}

/** Waits for an <img> to load and decode; its natural width, or 0 if it is broken. */
export function loadedImageWidth(page: Page, selector: string): Promise<number> {
  return page.locator(selector).evaluate((element) => {
    const image = element as HTMLImageElement;
    return image.decode().then(
      () => image.naturalWidth,
      () => 0,
    );
  });
}

/** Serves `app` on a free port of 127.0.0.1 for the browser to visit; `close` drops any connection left open. */
export async function serveForBrowser(app: Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
