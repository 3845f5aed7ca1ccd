// The queue in front of the image worker: how many images each client has waiting, and making an upload's
// images one file after the other. A full queue refuses a new upload at once rather than making it wait.
import { rm } from 'node:fs/promises';
import { untilAborted } from '../../promises.js';
import { ClientImagesWaiting, FileRefused, ImageQueueFull } from '../errors.js';
import type { ProcessedImage, ProcessImage } from '../image-processing.js';
import type { UploadReservation } from '../upload-budget.js';
import type { ReceivedFile, RefusedPart } from './form-reader.js';
import type { TempFiles } from './temp-files.js';

/**
 * Images waiting for (or in) the one image worker. Past this, a new upload is refused at once (503) rather
 * than queued behind the others: an upload never waits for more than a few full uploads ahead of it.
 */
const MAX_IMAGES_WAITING = 30;

export interface ImageQueue {
  /** Throws unless this client, and everyone together, may queue another upload's images now. */
  admit(client: string): void;
  /**
   * The images of every file, in order, and the files refused for what they are (see FileRefused); stops (with the
   * signal's reason) when the upload is stopped, and fails with any other failure.
   */
  makeImages(files: ReceivedFile[], upload: UploadMakingImages, client: string): Promise<MadeImages>;
  /** Settles once every image step that went on after its upload was stopped has ended, and its output is removed. */
  abandonedStepsEnded(): Promise<void>;
}

export interface MadeImages {
  made: { file: ReceivedFile; image: ProcessedImage }[];
  refused: RefusedPart[];
}

/** What the queue needs of the upload whose images it makes. */
export interface UploadMakingImages {
  signal: AbortSignal;
  reservation: UploadReservation;
  tempFiles: TempFiles;
}

export interface ImageQueueOptions {
  processImage: ProcessImage;
  /** One client may have as many images waiting as one upload holds. */
  maxFilesPerUpload: number;
}

export function createImageQueue({ processImage, maxFilesPerUpload }: ImageQueueOptions): ImageQueue {
  /**
   * Images waiting, by client (clientKey): one client may have as many waiting as one upload holds, so no single
   * address can fill the queue that everyone shares.
   */
  const imagesWaitingByClient = new Map<string, number>();
  const waitingOf = (client: string) => imagesWaitingByClient.get(client) ?? 0;
  const imagesWaiting = () => [...imagesWaitingByClient.values()].reduce((sum, count) => sum + count, 0);
  function countWaiting(client: string, change: number): void {
    const left = waitingOf(client) + change;
    if (left > 0) imagesWaitingByClient.set(client, left);
    else imagesWaitingByClient.delete(client);
  }
  /** Image steps that went on after their upload was stopped, with the removal of what they write. */
  const abandonedSteps = new Set<Promise<unknown>>();

  return {
    admit(client) {
      if (waitingOf(client) >= maxFilesPerUpload) throw new ClientImagesWaiting(maxFilesPerUpload);
      if (imagesWaiting() >= MAX_IMAGES_WAITING) throw new ImageQueueFull();
    },

    /**
     * One file after the other: a large upload does not queue all its images ahead of other people's. An image
     * step cannot be interrupted; a stopped upload answers without waiting for it, and what the step writes
     * after that is removed when it ends.
     */
    async makeImages(files, upload, client) {
      const made: MadeImages['made'] = [];
      const refused: RefusedPart[] = [];
      let ended = 0;
      if (waitingOf(client) + files.length > maxFilesPerUpload) throw new ClientImagesWaiting(maxFilesPerUpload);
      countWaiting(client, files.length);
      try {
        for (const file of files) {
          upload.signal.throwIfAborted();
          const fullSizePath = `${file.path}.full`;
          upload.tempFiles.add(fullSizePath);
          const processing = processImage({
            path: file.path,
            type: file.type,
            filename: file.filename,
            fullSizePath,
            signal: upload.signal,
          });
          const image = await untilAborted(processing, upload.signal).catch((error: unknown) => {
            if (upload.signal.aborted) {
              const removal = processing.catch(() => {}).then(() => rm(fullSizePath, { force: true }));
              abandonedSteps.add(removal);
              void removal.finally(() => abandonedSteps.delete(removal));
            } else if (error instanceof FileRefused) return error;
            throw error;
          });
          if (image instanceof FileRefused) refused.push({ position: file.position, refused: image });
          else {
            // A re-encoded full-size image is on the disk too: it counts against the same budget.
            if (image.fullSize.sourcePath !== file.path) upload.reservation.take(image.fullSize.length);
            made.push({ file, image });
          }
          ended++;
          countWaiting(client, -1);
        }
        return { made, refused };
      } finally {
        countWaiting(client, -(files.length - ended));
      }
    },

    async abandonedStepsEnded() {
      await Promise.allSettled([...abandonedSteps]);
    },
  };
}
