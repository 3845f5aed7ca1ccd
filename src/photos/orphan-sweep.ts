// Removes what failed uploads left behind: photo parts (original, display, full size) whose record (the
// thumbnail) never came, and temporary files of uploads that never ended (a crash, a kill -9). It runs at
// start and then periodically. Photo ids are time-ordered, so each sweep lists only the ids of the window
// it checks: its cost grows with the uploads of that window, never with the bucket.
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { PART_FOLDERS } from './object-keys.js';
import { photoIdBoundary } from './photo-id.js';
import type { PhotoStore } from './store.js';

/** At start the sweep looks this far back: a crash during the previous run left its orphans in it. */
const STARTUP_LOOKBACK_MS = 24 * 3600_000;

export interface OrphanSweepOptions {
  store: Pick<PhotoStore, 'listStoredParts' | 'deleteKeys'>;
  tempDir: string;
  logger: Logger;
  /**
   * Parts younger than this may belong to an upload still storing its photos, and are left alone. It must
   * be longer than an upload's S3 phase can last (config.ts requires several S3 timeouts).
   */
  minAgeMs: number;
  intervalMs: number;
  now?: () => number;
}

export interface SweepResult {
  removedKeys: string[];
  removedTempFiles: number;
}

export interface OrphanSweep {
  /** Checks photos uploaded between `lookbackMs` and `minAgeMs` ago, and the temporary folder. */
  sweepOnce(lookbackMs: number): Promise<SweepResult>;
  /**
   * Sweeps now (looking back a day), then every interval, each time from where the last sweep that
   * succeeded stopped: a failed sweep (S3 down) is logged, and the next one covers its window too.
   */
  start(): void;
  stop(): void;
}

export function createOrphanSweep({ store, tempDir, logger, minAgeMs, intervalMs, now = Date.now }: OrphanSweepOptions): OrphanSweep {
  let timer: NodeJS.Timeout | undefined;
  /** Uploads older than this were checked by a sweep that succeeded (with an interval of overlap). */
  let checkedUntil = now() - STARTUP_LOOKBACK_MS;

  async function removeOrphanedParts(lookbackMs: number): Promise<string[]> {
    const newestId = photoIdBoundary(new Date(now() - minAgeMs));
    const oldestId = photoIdBoundary(new Date(now() - lookbackMs));
    const records = new Set((await store.listStoredParts('thumbnails', newestId, oldestId)).map((part) => part.photoId));
    const orphans: string[] = [];
    for (const folder of PART_FOLDERS) {
      // A photo's id is its time when its first part was written: older than the minimum age, its upload is over.
      for (const part of await store.listStoredParts(folder, newestId, oldestId)) {
        if (!records.has(part.photoId)) orphans.push(part.key);
      }
    }
    if (orphans.length > 0) await store.deleteKeys(orphans);
    return orphans;
  }

  async function removeStaleTempFiles(): Promise<number> {
    const names = await readdir(tempDir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const filePath = path.join(tempDir, name);
      // An upload in progress writes to its file as its bytes arrive: a file untouched this long is abandoned.
      const info = await stat(filePath).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs <= now() - minAgeMs) {
        await rm(filePath, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async function sweepOnce(lookbackMs: number): Promise<SweepResult> {
    const [removedKeys, removedTempFiles] = await Promise.all([removeOrphanedParts(lookbackMs), removeStaleTempFiles()]);
    if (removedKeys.length > 0 || removedTempFiles > 0) {
      logger.info({ removedObjects: removedKeys.length, removedTempFiles }, 'removed what failed uploads left behind');
    }
    return { removedKeys, removedTempFiles };
  }

  function sweepFromLastCheck(): void {
    const startedAt = now();
    sweepOnce(startedAt - checkedUntil)
      .then(() => (checkedUntil = startedAt - minAgeMs - intervalMs))
      .catch((error: unknown) => logger.warn({ err: error }, 'orphan sweep failed: the next one will cover its window too'));
  }

  return {
    sweepOnce,
    start() {
      sweepFromLastCheck();
      timer = setInterval(sweepFromLastCheck, intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
