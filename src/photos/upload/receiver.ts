// Owns an upload from its first byte to its last object: admits it, has its form read (form-reader.ts), its
// images made (image-queue.ts) and its photos stored (photo-writer.ts), in that order, and answers. A file refused
// for what it is is left out and named; any other failure stores nothing, and the upload removes what it wrote.
// Stops every upload cleanly when the server does.
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { type RefusedFile, ServerShuttingDown } from '../../errors.js';
import { clientKey } from '../../http/client-key.js';
import { NoPhotoStored } from '../errors.js';
import type { ProcessImage } from '../image-processing.js';
import type { PhotoStore } from '../store.js';
import type { UploadBudget, UploadReservation } from '../upload-budget.js';
import { readUploadForm, type UploadLimits } from './form-reader.js';
import { createImageQueue } from './image-queue.js';
import { createPhotoWriter } from './photo-writer.js';
import { TempFiles } from './temp-files.js';

export interface SavedUpload {
  /** The photos stored, in the form's order, each with its file's name as the client chose it and its place (from 1). */
  photos: { id: string; filename: string; position: number }[];
  /** The files refused for what they are, in the form's order, each with the reason in the user's words and its place. */
  refused: RefusedFile[];
}

/** The one way into an upload. Routes call `receive`; server.ts calls `shutDown`. */
export interface UploadReceiver {
  /**
   * Receives, checks and stores the upload form of `req`: every photo whose file is good, and the reasons for the
   * others. Rejects with an AppError when no photo is stored: a limit on the whole request, or every file refused.
   */
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
      const form = await readUploadForm(req, res, upload, { limits, tempDir, checkFormToken });
      const images = form.files.length > 0 ? await imageQueue.makeImages(form.files, upload, client) : { made: [], refused: [] };
      const refused = [...form.refused, ...images.refused].sort((a, b) => a.position - b.position);
      if (images.made.length === 0) throw new NoPhotoStored(refused);
      const photoIds = await photoWriter.storePhotos(images.made, (id) => ownerTag(req, id), upload.signal);
      return {
        photos: images.made.map(({ file }, index) => ({ id: photoIds[index]!, filename: file.filename, position: file.position })),
        refused: refused.map(({ position, refused: file }) => ({ file: file.filename, reason: file.reason, position })),
      };
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
