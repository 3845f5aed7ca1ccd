// Owns an upload from its first byte to its last object: the form is received to temporary files (its
// token checked before the first file is written, every file's type sniffed from its bytes, the bytes
// counted against the client's budget), checked whole, turned into images, and only then stored, each
// photo's record last. All or nothing: whatever fails, the upload removes what it wrote, and answers.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Request, Response } from 'express';
import multer from 'multer';
import type { Logger } from 'pino';
import { limitConcurrency } from '../concurrency.js';
import { AppError, ServerShuttingDown } from '../errors.js';
import { clientKey } from '../http/client-key.js';
import { CAPTION_FIELD_BYTES, captionLength, cleanCaption, MAX_CAPTION_LENGTH } from './captions.js';
import {
  CaptionTooLong,
  EmptyFile,
  FileTooLarge,
  FileWithoutName,
  MalformedUpload,
  UploadNotKept,
  NoPhotoChosen,
  NotAnAcceptedImage,
  NotAnUploadForm,
  TooManyFiles,
  UnexpectedFileField,
  ClientImagesWaiting,
  ImageQueueFull,
} from './errors.js';
import { streamPieces } from './file-pieces.js';
import type { ProcessedImage, ProcessImage } from './image-processing.js';
import { ACCEPTED_IMAGE_TYPES, detectImageType, SNIFF_BYTES, type ImageType } from './image-type.js';
import { newPhotoId } from './photo-id.js';
import type { ImageBody, PhotoStore } from './store.js';
import type { UploadBudget, UploadReservation } from './upload-budget.js';

/** Photos being written to S3 at once, across all requests: bounds the S3 connections and open files in use. */
const MAX_PHOTOS_TO_S3 = 4;
/** The form's field that holds its files. */
const FILE_FIELD = 'photos';
/** The form's text fields: `_csrf` and `caption`. */
const MAX_TEXT_FIELDS = 4;
/**
 * Images waiting for (or in) the one image worker. Past this, a new upload is refused at once (503) rather
 * than queued behind the others: an upload never waits for more than a few full uploads ahead of it.
 */
const MAX_IMAGES_WAITING = 30;

export interface UploadLimits {
  maxUploadBytes: number;
  maxFilesPerUpload: number;
}

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

/** A file of the form, received whole to a temporary file and sniffed. */
interface ReceivedFile {
  path: string;
  size: number;
  type: ImageType;
  filename: string;
}

/** One upload in progress: what it holds, and how to stop it. */
class UploadInProgress {
  readonly controller = new AbortController();
  readonly tempFiles: { path: string; closed: Promise<void> }[] = [];
  formTokenChecked = false;
  oversizeFilename: string | undefined;
  /** The first file that failed: the form is answered at once, not when a slow client finishes sending it. */
  readonly fileFailure: Promise<never>;
  failFile!: (error: unknown) => void;
  /** Settles when the upload has answered and removed its temporary files. */
  readonly ended: Promise<void>;
  markEnded!: () => void;
  constructor(readonly reservation: UploadReservation) {
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    this.fileFailure = new Promise<never>((_, reject) => (this.failFile = reject));
    this.fileFailure.catch(() => {}); // raced in receiveForm; this only keeps it from going unhandled
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
}

export function createUploadReceiver(options: UploadReceiverOptions): UploadReceiver {
  const { store, limits, budget, tempDir, logger, processImage, checkFormToken, ownerTag } = options;
  const inProgress = new Set<UploadInProgress>();
  /** Image steps that went on after their upload was stopped, with the removal of what they write. */
  const abandonedSteps = new Set<Promise<unknown>>();
  let closing = false;
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

  /** Checks the form token once per upload, before the first file is written (the form sends it first). */
  function requireFormToken(req: Request, upload: UploadInProgress): void {
    if (upload.formTokenChecked) return;
    checkFormToken(req);
    upload.formTokenChecked = true;
  }

  /** multer hands each file here: written to disk at the client's pace, its type read from its first bytes. */
  function storageEngine(upload: UploadInProgress): multer.StorageEngine {
    return {
      _handleFile(req, file, callback) {
        receiveFile(req as Request, file, upload).then(
          (received) => callback(null, received as Partial<Express.Multer.File>),
          (error: unknown) => {
            upload.failFile(error);
            callback(error as Error);
          },
        );
      },
      // Called for files already received when a later part fails: the upload removes all its files itself.
      _removeFile(_req, _file, callback) {
        callback(null);
      },
    };
  }

  async function receiveFile(req: Request, file: Express.Multer.File, upload: UploadInProgress): Promise<ReceivedFile> {
    requireFormToken(req, upload);
    upload.signal.throwIfAborted();
    await mkdir(tempDir, { recursive: true, mode: 0o700 });
    // The upload may have answered meanwhile (another file failed): its temporary files are being removed.
    upload.signal.throwIfAborted();
    const tempPath = path.join(tempDir, randomUUID());
    const writer = new CountedFileWriter(createWriteStream(tempPath), upload.reservation);
    upload.tempFiles.push({ path: tempPath, closed: writer.fileClosed });
    const stop = (error: Error) => writer.destroy(error);
    // multer raises its own LIMIT_FILE_SIZE; the copy stops here first, and the name is kept for the message.
    file.stream.once('limit', () => {
      upload.oversizeFilename = file.originalname;
      stop(new FileTooLarge(file.originalname, limits.maxUploadBytes));
    });
    file.stream.once('error', stop);
    const onAbort = () => stop(upload.signal.reason as Error);
    upload.signal.addEventListener('abort', onAbort, { once: true });
    file.stream.pipe(writer);
    try {
      const head = await writer.head;
      if (head.length === 0) throw new EmptyFile(file.originalname);
      const type = detectImageType(head);
      if (!type)
        throw new NotAnAcceptedImage(
          file.originalname,
          ACCEPTED_IMAGE_TYPES.map((accepted) => accepted.label),
        );
      await writer.done;
      return { path: tempPath, size: writer.bytes, type, filename: file.originalname };
    } catch (error) {
      file.stream.unpipe(writer);
      file.stream.resume();
      writer.destroy();
      throw error;
    } finally {
      upload.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Parses the multipart form into temporary files; settles early, with the reason, if the upload is stopped. */
  function receiveForm(req: Request, res: Response, upload: UploadInProgress): Promise<ReceivedFile[]> {
    const parse = multer({
      storage: storageEngine(upload),
      // Browsers send file names as raw UTF-8 (busboy's default, Latin-1, garbles "Фото.jpg" in messages).
      defParamCharset: 'utf8',
      limits: {
        fileSize: limits.maxUploadBytes,
        files: limits.maxFilesPerUpload,
        fields: MAX_TEXT_FIELDS,
        fieldSize: CAPTION_FIELD_BYTES,
        parts: limits.maxFilesPerUpload + MAX_TEXT_FIELDS,
      },
    }).array(FILE_FIELD, limits.maxFilesPerUpload);
    const parsed = new Promise<ReceivedFile[]>((resolve, reject) => {
      parse(req, res, (error?: unknown) =>
        error ? reject(formError(error, upload)) : resolve((req.files ?? []) as unknown as ReceivedFile[]),
      );
    });
    const stopped = new Promise<never>((_, reject) => {
      if (upload.signal.aborted) reject(upload.signal.reason);
      upload.signal.addEventListener('abort', () => reject(upload.signal.reason), { once: true });
    });
    // multer answers a failed file only once the whole request has arrived; a slow client must not hold it.
    return Promise.race([parsed, stopped, upload.fileFailure.catch((error: unknown) => Promise.reject(formError(error, upload)))]);
  }

  function formError(error: unknown, upload: UploadInProgress): unknown {
    if (error instanceof AppError) return error;
    if (error instanceof multer.MulterError) {
      switch (error.code) {
        case 'LIMIT_FILE_SIZE':
          return new FileTooLarge(upload.oversizeFilename, limits.maxUploadBytes);
        case 'LIMIT_FILE_COUNT':
          return new TooManyFiles(limits.maxFilesPerUpload);
        case 'LIMIT_FIELD_VALUE':
          // busboy takes a part without a filename for a text field, whatever its name and size.
          if (error.field === FILE_FIELD) return new FileWithoutName();
          return error.field === 'caption' ? new CaptionTooLong(MAX_CAPTION_LENGTH) : new MalformedUpload(error);
        case 'LIMIT_UNEXPECTED_FILE':
          return new UnexpectedFileField();
        default:
          return new MalformedUpload(error);
      }
    }
    // A system call failed (ENOSPC, EACCES, …): the temp folder, not the form.
    if (error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string') return new UploadNotKept(error);
    // busboy's parse errors ("Unexpected end of form", "Malformed part header", …).
    return new MalformedUpload(error);
  }

  /** Sends each photo's parts, then every record: no photo is listed before all parts of all of them are stored. */
  async function storePhotos(
    req: Request,
    files: ReceivedFile[],
    images: ProcessedImage[],
    caption: string,
    signal: AbortSignal,
  ): Promise<string[]> {
    const photoIds: string[] = [];
    const written: { id: string; file: ReceivedFile; fullSizeExtension: string }[] = [];
    try {
      const parts = await Promise.allSettled(
        files.map((file, index) =>
          storeParts(file, images[index]!, signal, (id, fullSizeExtension) => {
            photoIds[index] = id;
            written.push({ id, file, fullSizeExtension });
          }),
        ),
      );
      throwFirstFailure(parts);
      const records = await Promise.allSettled(
        files.map((file, index) => {
          const image = images[index]!;
          const id = photoIds[index]!;
          return store.saveRecord(
            {
              id,
              caption,
              width: image.width,
              height: image.height,
              frames: image.frames,
              originalBytes: file.size,
              originalType: file.type,
              fullSizeExtension: image.fullSize.extension,
              ownerTag: ownerTag(req, id),
              variants: image.variants.map((made) => made.variant),
              fileName: file.filename,
            },
            image.thumbnail,
            signal,
          );
        }),
      );
      throwFirstFailure(records);
      return photoIds;
    } catch (error) {
      // Answer first; the clean-up has its own deadline, and the orphan sweep takes what it leaves.
      void removeStoredPhotos(written.map(({ id, file, fullSizeExtension }) => ({ id, originalType: file.type, fullSizeExtension })));
      throw error;
    }
  }

  /** Photos start their S3 writes a few at a time; a photo's id (its time) is given when its writes begin. */
  const storeParts = limitConcurrency(
    MAX_PHOTOS_TO_S3,
    async (file: ReceivedFile, image: ProcessedImage, signal: AbortSignal, onIdGiven: (id: string, fullSizeExtension: string) => void) => {
      signal.throwIfAborted();
      const id = newPhotoId();
      onIdGiven(id, image.fullSize.extension);
      await store.savePhotoParts(
        id,
        {
          original: { body: fileBody(file.path, file.size), type: file.type },
          display: image.display,
          variants: image.variants,
          fullSize: {
            body: { open: () => streamPieces(image.fullSize.sourcePath, image.fullSize.pieces), length: image.fullSize.length },
            extension: image.fullSize.extension,
            mime: image.fullSize.mime,
          },
        },
        signal,
      );
    },
  );

  async function removeStoredPhotos(
    photos: { id: string; originalType: ImageType; fullSizeExtension: string | undefined }[],
  ): Promise<void> {
    const results = await Promise.allSettled(photos.map((photo) => store.deletePhoto(photo)));
    const failed = photos.filter((_, index) => results[index]!.status === 'rejected').map((photo) => photo.id);
    if (failed.length > 0)
      logger.warn({ photoIds: failed }, 'the parts of a failed upload could not be removed now: the orphan sweep will remove them');
  }

  async function removeTempFiles(upload: UploadInProgress): Promise<void> {
    // A file is opened asynchronously: removing it before its stream closes could race its creation.
    await Promise.all(
      upload.tempFiles.map(async (file) => {
        await file.closed;
        await rm(file.path, { force: true });
      }),
    );
  }

  /**
   * Makes the images of every file, one file after the other: a large upload does not queue all its images
   * ahead of other people's. An image step cannot be interrupted; a stopped upload answers without waiting
   * for it, and what the step writes after that is removed when it ends.
   */
  async function makeImages(files: ReceivedFile[], upload: UploadInProgress, client: string): Promise<ProcessedImage[]> {
    const images: ProcessedImage[] = [];
    if (waitingOf(client) + files.length > limits.maxFilesPerUpload) throw new ClientImagesWaiting(limits.maxFilesPerUpload);
    countWaiting(client, files.length);
    try {
      for (const file of files) {
        upload.signal.throwIfAborted();
        const fullSizePath = `${file.path}.full`;
        upload.tempFiles.push({ path: fullSizePath, closed: Promise.resolve() });
        const processing = processImage({ path: file.path, type: file.type, filename: file.filename, fullSizePath, signal: upload.signal });
        const image = await untilStopped(processing, upload.signal).catch((error: unknown) => {
          if (upload.signal.aborted) {
            const removal = processing.catch(() => {}).then(() => rm(fullSizePath, { force: true }));
            abandonedSteps.add(removal);
            void removal.finally(() => abandonedSteps.delete(removal));
          }
          throw error;
        });
        // A re-encoded full-size image is on the disk too: it counts against the same budget.
        if (image.fullSize.sourcePath !== file.path) upload.reservation.take(image.fullSize.length);
        images.push(image);
        countWaiting(client, -1);
      }
      return images;
    } finally {
      countWaiting(client, -(files.length - images.length));
    }
  }

  async function receive(req: Request, res: Response): Promise<SavedUpload> {
    const client = clientKey(req);
    const upload = new UploadInProgress(budget.reserveFor(client));
    // Every file being received, and the form itself, listen for the upload being stopped.
    setMaxListeners(limits.maxFilesPerUpload + MAX_TEXT_FIELDS, upload.signal);
    inProgress.add(upload);
    try {
      if (closing) throw new ServerShuttingDown();
      if (waitingOf(client) >= limits.maxFilesPerUpload) throw new ClientImagesWaiting(limits.maxFilesPerUpload);
      if (imagesWaiting() >= MAX_IMAGES_WAITING) throw new ImageQueueFull();
      if (!req.is('multipart/form-data')) throw new NotAnUploadForm();
      const files = await receiveForm(req, res, upload);
      requireFormToken(req, upload);
      if ((req.body as Record<string, unknown> | undefined)?.[FILE_FIELD] !== undefined) throw new FileWithoutName();
      const captionField = (req.body as { caption?: unknown } | undefined)?.caption;
      // Two caption fields are not from the form: refuse rather than keep one silently.
      if (Array.isArray(captionField)) throw new MalformedUpload();
      const caption = cleanCaption(captionField);
      if (captionLength(caption) > MAX_CAPTION_LENGTH) throw new CaptionTooLong(MAX_CAPTION_LENGTH);
      if (files.length === 0) throw new NoPhotoChosen();
      const images = await makeImages(files, upload, client);
      const photoIds = await storePhotos(req, files, images, caption, upload.signal);
      return { photoIds, caption };
    } catch (error) {
      // A stopped upload fails with whatever its stopped step threw; the reason it was stopped is the answer.
      throw upload.signal.aborted ? upload.signal.reason : error;
    } finally {
      // A failed file answers at once, while the form may still be arriving: files after it are stopped, so none
      // is written (nor counted against the budget) after the upload has removed its files and given back its bytes.
      upload.controller.abort(new UploadEnded());
      await removeTempFiles(upload);
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
      await Promise.allSettled([...abandonedSteps]);
    },
  };
}

/** Why files still arriving are stopped once their upload has answered; never an answer itself. */
class UploadEnded extends Error {
  constructor() {
    super('the upload has already answered');
  }
}

/** Settles with `work`, or rejects with the signal's reason as soon as it is aborted. */
function untilStopped<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {}); // it may settle after the upload has given up on it
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function throwFirstFailure(results: PromiseSettledResult<unknown>[]): void {
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
}

function fileBody(filePath: string, length: number): ImageBody {
  return { open: () => createReadStream(filePath), length };
}

/**
 * Writes an upload to its temporary file one chunk at a time, each chunk counted against the upload's
 * budget before it is written, and keeps the first bytes for type sniffing.
 */
class CountedFileWriter extends Writable {
  bytes = 0;
  readonly head: Promise<Buffer>;
  readonly done: Promise<void>;
  readonly fileClosed: Promise<void>;
  private headChunks: Buffer[] = [];
  private resolveHead!: (head: Buffer) => void;

  constructor(
    private readonly file: WriteStream,
    private readonly reservation: UploadReservation,
  ) {
    super();
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.once('error', reject);
      this.once('close', () => reject(new Error('upload stream closed')));
    });
    this.done = new Promise((resolve, reject) => {
      this.once('finish', resolve);
      this.once('error', reject);
      this.once('close', () => reject(new Error('upload stream closed')));
    });
    // Awaited by the receiver; these only keep a rejection from going unhandled meanwhile.
    this.head.catch(() => {});
    this.done.catch(() => {});
    file.once('error', (error) => this.destroy(error));
    this.fileClosed = new Promise((resolve) => file.once('close', () => resolve()));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.reservation.take(chunk.length);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (this.bytes < SNIFF_BYTES) {
      this.headChunks.push(chunk);
      if (this.bytes + chunk.length >= SNIFF_BYTES) this.resolveHead(Buffer.concat(this.headChunks));
    }
    this.bytes += chunk.length;
    this.file.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.resolveHead(Buffer.concat(this.headChunks));
    this.file.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.file.destroy();
    callback(error);
  }
}
