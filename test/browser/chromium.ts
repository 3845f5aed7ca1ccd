// Debian's Chromium driven by playwright-core, for the end-to-end tests: launched headless with nothing
// that reaches the internet, pages watched for CSP violations and script errors, a screenshot when a step fails.
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's package; the tests never download a browser (`apt-get install chromium`). */
export const CHROMIUM = '/usr/bin/chromium';
const screenshotDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results');

export async function launchChromium(): Promise<Browser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium).`);
  });
  return chromium.launch({
    executablePath: CHROMIUM,
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
