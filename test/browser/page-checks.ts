// What every page must pass in the browser, at a phone's, a laptop's and a desktop's size, in light and dark: no accessibility
// violation that axe-core finds, nothing wider than the window, and a screenshot kept for reviewers.
import assert from 'node:assert/strict';
import { readFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

/** Where each run leaves its screenshots (named in docs/tests.md); git keeps only the README's, docs/gallery.png. */
export const screenshotsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');

export const VIEWPORTS = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'laptop', width: 1280, height: 800 },
  { name: 'desktop', width: 1920, height: 1080 },
] as const;

/** Both values of `prefers-color-scheme`: each page is checked in each. */
export const COLOR_SCHEMES = ['light', 'dark'] as const;

/** One of the six screens every check runs on: a size and a colour scheme. */
export interface Screen {
  viewport: (typeof VIEWPORTS)[number];
  colorScheme: (typeof COLOR_SCHEMES)[number];
  /** For messages: "at 390 × 844, dark". */
  where: string;
  /** For screenshot names: "390x844", "390x844-dark". */
  name: string;
}

/** Each size in each scheme: 390 × 844, 1280 × 800 and 1920 × 1080, light and dark. */
export const SCREENS: readonly Screen[] = VIEWPORTS.flatMap((viewport) =>
  COLOR_SCHEMES.map((colorScheme) => ({
    viewport,
    colorScheme,
    where: `at ${viewport.width} × ${viewport.height}, ${colorScheme}`,
    name: `${viewport.width}x${viewport.height}${colorScheme === 'dark' ? '-dark' : ''}`,
  })),
);

/**
 * Runs `check` on `page` at each of the six screens (or those given), its size and scheme set first; a failure
 * names the screen.
 * The page is left in the light scheme.
 */
export async function onEachScreen(
  page: Page,
  check: (screen: Screen) => Promise<void>,
  screens: readonly Screen[] = SCREENS,
): Promise<void> {
  try {
    for (const screen of screens) {
      await page.setViewportSize(screen.viewport);
      await page.emulateMedia({ colorScheme: screen.colorScheme });
      await inScreen(screen, () => check(screen));
    }
  } finally {
    await page.emulateMedia({ colorScheme: 'light' });
  }
}

/** Runs `check`; if it fails, its message starts with the screen it failed on. */
export async function inScreen<T>(screen: Screen, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof Error) error.message = `${screen.where}: ${error.message}`;
    throw error;
  }
}

/** The checks every page passes on every screen: no axe-core violation, nothing wider than the window; then its screenshot. */
export async function assertPassesAndSave(page: Page, screen: Screen, name: string): Promise<void> {
  assert.deepEqual(await accessibilityViolations(page), [], 'axe-core');
  assert.equal(await horizontalOverflow(page), 0, 'pixels wider than the window');
  await saveScreenshot(page, `${name}-${screen.name}`);
}

let axeSource: Promise<string> | undefined;

/**
 * Runs axe-core in the page and returns its violations, one line each. The script is evaluated through
 * the DevTools protocol, which the Content-Security-Policy does not govern: the app's CSP stays as strict
 * as in production, and the test still sees any violation the app's own pages cause.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const results = await (window as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe.run();
    return results.violations.map((violation) => ({
      id: violation.id,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  });
  return violations.map((violation) => `${violation.id} (${violation.help}): ${violation.targets.join(', ')}`);
}

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[] }[];
}

/** How many CSS pixels the page is wider than the window (0 when it fits). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));
}

/**
 * The relative luminance (WCAG: 0 black, 1 white) of what the page's text sits on: the body's background,
 * or the root's when the body's is transparent.
 */
export async function backdropLuminance(page: Page): Promise<number> {
  const color = await page.evaluate(() => {
    const body = getComputedStyle(document.body).backgroundColor;
    return body === 'rgba(0, 0, 0, 0)' ? getComputedStyle(document.documentElement).backgroundColor : body;
  });
  const [red = 0, green = 0, blue = 0, alpha = 1] = (/rgba?\(([^)]+)\)/.exec(color)?.[1] ?? '').split(',').map(Number);
  if (alpha === 0) return 1; // Nothing painted: the canvas is white.
  const linear = (channel: number) => (channel / 255 <= 0.04045 ? channel / 255 / 12.92 : ((channel / 255 + 0.055) / 1.055) ** 2.4);
  return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue);
}

/** Loads every image now (thumbnails are lazy) and waits for them, so a screenshot shows them. */
export async function loadAllImages(page: Page): Promise<void> {
  await page.evaluate(() =>
    Promise.all(
      Array.from(document.images, (image) => {
        image.loading = 'eager';
        return image.decode().catch(() => undefined);
      }),
    ),
  );
}

/** Saves the whole page (or, with `fullPage: false`, the window) as test/browser/screenshots/<name>.png. */
export async function saveScreenshot(page: Page, name: string, { fullPage = true } = {}): Promise<string> {
  await mkdir(screenshotsDir, { recursive: true });
  const file = path.join(screenshotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

export interface TileBox {
  /** Its day's grid and its top in that grid: tiles with the same `row` share a row. */
  row: string;
  right: number;
  width: number;
  height: number;
  /** The photo's width / height, from the record. */
  ratio: number;
}

/** Each gallery thumbnail's box (rounded to the pixel), its row, and its photo's width / height. */
export function tileBoxes(page: Page): Promise<TileBox[]> {
  return page.locator('.grid li').evaluateAll((tiles) => {
    const grids = [...new Set(tiles.map((tile) => tile.parentElement!))];
    return tiles.map((tile) => {
      const grid = tile.parentElement!.getBoundingClientRect();
      const box = tile.querySelector('img')!.getBoundingClientRect();
      return {
        row: `day ${grids.indexOf(tile.parentElement!) + 1}, ${Math.round(box.top - grid.top)} px down`,
        right: Math.round(box.right - grid.left),
        width: Math.round(box.width),
        height: Math.round(box.height),
        ratio: Number(tile.getAttribute('data-ratio')),
      };
    });
  });
}

/**
 * Checks the gallery's justified rows: each grid about the window's width, each photo in its own shape, one
 * height per row, every row but a day's last filling the width, and several photos to a row.
 */
export async function assertJustifiedRows(page: Page, viewport: { width: number; height: number }): Promise<void> {
  const where = `at ${viewport.width} × ${viewport.height}`;
  const boxes = await tileBoxes(page);
  const gridWidth = await page
    .locator('.grid')
    .first()
    .evaluate((grid) => grid.getBoundingClientRect().width);
  assert.ok(gridWidth >= viewport.width - 40, `${where}, the grid is ${gridWidth} px wide`);
  const rows = new Map<string, TileBox[]>();
  for (const box of boxes) rows.set(box.row, [...(rows.get(box.row) ?? []), box]);
  const lastRows = new Set([...rows.keys()].filter((row, index, all) => all[index + 1]?.split(',')[0] !== row.split(',')[0]));
  for (const row of rows.values()) {
    for (const box of row) {
      assert.ok(
        Math.abs(box.width / box.height - box.ratio) / box.ratio < 0.02,
        `${where}: ${JSON.stringify(box)} keeps its photo's shape`,
      );
      assert.ok(Math.abs(box.height - row[0]!.height) <= 1, `${where}, ${row[0]!.row}: one height`);
    }
    if (!lastRows.has(row[0]!.row)) assert.ok(Math.abs(row.at(-1)!.right - gridWidth) <= 1, `${where}, ${row[0]!.row} fills the width`);
  }
  assert.ok(rows.size < boxes.length, `${where}, several photos share a row`);
}
