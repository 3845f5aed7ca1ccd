// What a visitor does in the browser that playwright has no single call for: dropping files from the desktop.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { fixturesDir } from '../support/test-app.js';

export interface FileToDrop {
  name: string;
  type: string;
  /** The fixture whose bytes it has; the file's own name when absent. */
  fixture?: string;
  /** Text instead of a fixture's bytes. */
  content?: string;
}

/** Drops files on `target` as a desktop drag would: dragover, then drop with the files. */
export async function dropFiles(page: Page, target: string, files: FileToDrop[]): Promise<void> {
  const payload = await Promise.all(
    files.map(async (file) => ({
      name: file.name,
      type: file.type,
      base64: (file.content !== undefined
        ? Buffer.from(file.content)
        : await readFile(path.join(fixturesDir, file.fixture ?? file.name))
      ).toString('base64'),
    })),
  );
  const dataTransfer = await page.evaluateHandle((items) => {
    const transfer = new DataTransfer();
    for (const item of items) {
      const bytes = Uint8Array.from(atob(item.base64), (character) => character.charCodeAt(0));
      transfer.items.add(new File([bytes], item.name, { type: item.type }));
    }
    return transfer;
  }, payload);
  await page.dispatchEvent(target, 'dragover', { dataTransfer });
  await page.dispatchEvent(target, 'drop', { dataTransfer });
}
