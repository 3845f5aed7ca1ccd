// Owns an upload from its first byte to its last object: admits it, has its form read (form-reader.ts), its
// images made (image-queue.ts) and its photos stored (photo-writer.ts), in that order, and answers. All or
// nothing: whatever fails, the upload removes what it wrote. Stops every upload cleanly when the server does.
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { ServerShuttingDown } from '../../errors.js';
import { clientKey } from '../../http/client-key.js';
import type { ProcessImage } from '../image-processing.js';
import type { PhotoStore } from '../store.js';
import type { UploadBudget, UploadReservation } from '../upload-budget.js';
import { readUploadForm, type UploadLimits } from './form-reader.js';
import { createImageQueue } from './image-queue.js';
import { createPhotoWriter } from './photo-writer.js';
import { TempFiles } from './temp-files.js';

export interface SavedUpload {
  photoIds: string[];
  caption: string;
}

/** The one way into an upload. Routes call `receive`; server.ts calls `shutDown`. */
export interface UploadReceiver {
  /** Receives, checks and stores the upload form of `req`: all its photos, or none and an AppError. */
  receive(req: Request, res: Response): Promise<SavedUpload>;
  /**
   * Stops taking uploads; those in progress get until `graceMs` before the end to finish, then are stopped
   * and answered 503. Resolves once every upload has ended and removed what it wrote.
   */
  shutDown(graceMs: number): Promise<void>;
}

export interface UploadReceiverOptions {
  store: PhotoStore;
  limits: UploadLimits;
  budget: UploadBudget;
  tempDir: string;
  logger: Logger;
  processImage: ProcessImage;
  /** Throws (a FormExpired) unless the request carries this browser's form token. */
  checkFormToken: (req: Request) => void;
  /** The proof, stored with a photo, that this browser uploaded it. */
  ownerTag: (req: Request, photoId: string) => string;
}

/** One upload in progress: what it holds, and how to stop it. */
class UploadInProgress {
  readonly controller = new AbortController();
  readonly tempFiles = new TempFiles();
  /** Settles when the upload has answered and removed its temporary files. */
  readonly ended: Promise<void>;
  markEnded!: () => void;
  constructor(readonly reservation: UploadReservation) {
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
}

export function createUploadReceiver(options: UploadReceiverOptions): UploadReceiver {
  const { limits, budget, tempDir, checkFormToken, ownerTag } = options;
  const imageQueue = createImageQueue({ processImage: options.processImage, maxFilesPerUpload: limits.maxFilesPerUpload });
  const photoWriter = createPhotoWriter(options);
  const inProgress = new Set<UploadInProgress>();
  let closing = false;

  async function receive(req: Request, res: Response): Promise<SavedUpload> {
    const client = clientKey(req);
    const upload = new UploadInProgress(budget.reserveFor(client));
    inProgress.add(upload);
    try {
      if (closing) throw new ServerShuttingDown();
      imageQueue.admit(client);
      const { files, caption } = await readUploadForm(req, res, upload, { limits, tempDir, checkFormToken });
      const images = await imageQueue.makeImages(files, upload, client);
      const photos = files.map((file, index) => ({ file, image: images[index]! }));
      const photoIds = await photoWriter.storePhotos(photos, { caption, ownerTag: (id) => ownerTag(req, id) }, upload.signal);
      return { photoIds, caption };
    } catch (error) {
      // A stopped upload fails with whatever its stopped step threw; the reason it was stopped is the answer.
      throw upload.signal.aborted ? upload.signal.reason : error;
    } finally {
      // A failed file answers at once, while the form may still be arriving: files after it are stopped, so none
      // is written (nor counted against the budget) after the upload has removed its files and given back its bytes.
      upload.controller.abort(new UploadEnded());
      await upload.tempFiles.removeAll();
      upload.reservation.releaseAll();
      inProgress.delete(upload);
      upload.markEnded();
    }
  }

  return {
    receive,
    async shutDown(graceMs) {
      closing = true;
      const stopAll = setTimeout(() => {
        for (const upload of inProgress) upload.controller.abort(new ServerShuttingDown());
      }, graceMs);
      await Promise.all([...inProgress].map((upload) => upload.ended));
      clearTimeout(stopAll);
      // An image step cannot be interrupted (and keeps the process from exiting until it ends anyway).
      await imageQueue.abandonedStepsEnded();
    },
  };
}

/** Why files still arriving are stopped once their upload has answered; never an answer itself. */
class UploadEnded extends Error {
  constructor() {
    super('the upload has already answered');
  }
}
