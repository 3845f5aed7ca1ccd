// Receives uploads: each file is written to a temporary file while its type is checked, sent from there
// to S3, and used to make the served images; then the photo is saved. All or nothing: a failed or aborted
// upload leaves no object behind.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Request } from 'express';
import multer from 'multer';
import type { Logger } from 'pino';
import { HttpError } from '../http/errors.js';
import { MAX_CAPTION_LENGTH } from './captions.js';
import { ACCEPTED_IMAGE_TYPES, detectImageType, SNIFF_BYTES, type ImageType } from './image-type.js';
import { processImage } from './image-processing.js';
import { newPhotoId } from './photo-id.js';
import { limitConcurrency } from '../concurrency.js';
import type { PhotoStore } from './store.js';

/** Originals being sent from disk to S3 at once, across all requests (see receiveFile). */
const MAX_UPLOADS_TO_S3 = 4;

/** What the storage engine knows of a file once it is safely in S3. */
export interface ReceivedFile {
  photoId: string;
  imageType: ImageType;
  size: number;
  /** The temporary copy, removed once the photo is saved or given up. */
  path: string;
  /** Settles when the original is in S3 (or failed to get there); images are made meanwhile. */
  stored: Promise<void>;
}

export interface UploadLimits {
  maxUploadBytes: number;
  maxFilesPerUpload: number;
}

export interface UploadReceiverOptions {
  store: PhotoStore;
  limits: UploadLimits;
  tempDir: string;
  logger: Logger;
  /** Makes the served images; the benchmark swaps in a no-op to measure the upload path alone. */
  processImage?: typeof processImage;
  /** Throws to refuse an upload (a missing CSRF token) before any of its bytes are stored. */
  authorizeUpload: (req: Request) => void;
}

export type UploadReceiver = ReturnType<typeof createUploadReceiver>;

export function createUploadReceiver({ store, limits, tempDir, logger, authorizeUpload, processImage: makeImages = processImage }: UploadReceiverOptions) {
  const inFlight = new Set<AbortController>();

  /**
   * Two phases, so that neither a slow client nor many clients can hold memory: the file is written to a
   * temporary file at the client's pace (its type checked from the first bytes, so a wrong file is refused
   * before it is read whole), then sent from disk to S3 as one streamed PutObject, a few at a time, while
   * its images are made. A PutObject that fails stores nothing: no partial object, no multipart upload.
   */
  async function receiveFile(file: Express.Multer.File): Promise<ReceivedFile> {
    const photoId = newPhotoId();
    const tempPath = path.join(tempDir, photoId);
    await mkdir(tempDir, { recursive: true });
    const copy = new SniffingFileWriter(createWriteStream(tempPath));
    // A failure of the incoming stream (client gone, size limit reached) is the real cause of whatever fails after it.
    let streamFailure: Error | undefined;
    const stopCopy = (error: Error) => {
      streamFailure ??= error;
      copy.destroy(error);
    };
    // multer answers an oversize file with its own LIMIT_FILE_SIZE error; this stops the copy first.
    file.stream.once('limit', () => stopCopy(new Error('file size limit reached')));
    file.stream.once('error', stopCopy);
    file.stream.pipe(copy);
    try {
      const head = await copy.head;
      const imageType = detectImageType(head);
      if (head.length === 0) throw new HttpError(400, 'Empty file', `"${file.originalname}" is empty (0 bytes).`, 'Choose the image file again.');
      if (!imageType) throw notAnAcceptedImage(file.originalname);
      await finished(copy);
      const stored = sendOriginal(photoId, imageType, tempPath, copy.bytes);
      stored.catch(() => {}); // awaited by savePhotos or discardPhotos; this only keeps it from going unhandled
      return { photoId, imageType, size: copy.bytes, path: tempPath, stored };
    } catch (error) {
      file.stream.unpipe(copy);
      file.stream.resume();
      copy.destroy();
      // The file is opened asynchronously: removing it before its stream closes could race its creation.
      await copy.fileClosed;
      await rm(tempPath, { force: true });
      throw streamFailure ?? error;
    }
  }

  // Reading a local file is fast, so a small limit costs no throughput and bounds the S3 connections in use.
  const sendOriginal = limitConcurrency(MAX_UPLOADS_TO_S3, async (photoId: string, imageType: ImageType, tempPath: string, bytes: number) => {
    const controller = new AbortController();
    inFlight.add(controller);
    const body = createReadStream(tempPath);
    try {
      await store.putOriginal(photoId, imageType, body, bytes, controller.signal);
    } finally {
      body.destroy();
      inFlight.delete(controller);
    }
  });

  const storage: multer.StorageEngine = {
    _handleFile(req, file, callback) {
      try {
        // Fields sent before the file (the form puts its CSRF token first) are already in req.body.
        authorizeUpload(req);
      } catch (error) {
        callback(error as Error);
        return;
      }
      receiveFile(file).then((received) => callback(null, received), callback);
    },
    // multer calls this for files already stored when a later part of the same request fails.
    _removeFile(_req, file, callback) {
      discardPhotos([file as unknown as ReceivedFile]).then(() => callback(null), callback);
    },
  };

  /** Express middleware for the upload route only: parses the form and streams its files to S3. */
  const receiveForm = multer({
    storage,
    limits: {
      fileSize: limits.maxUploadBytes,
      files: limits.maxFilesPerUpload,
      fields: 4,
      // The longest caption is MAX_CAPTION_LENGTH characters of up to 4 UTF-8 bytes each.
      fieldSize: MAX_CAPTION_LENGTH * 4 + 64,
      parts: limits.maxFilesPerUpload + 4,
    },
  }).array('photos', limits.maxFilesPerUpload);

  /** Makes and saves the served images of every file; if any fails, removes every part of all of them. */
  async function savePhotos(files: ReceivedFile[], caption: string, uploaderHash: string): Promise<string[]> {
    try {
      const results = await Promise.allSettled(
        files.map(async (file) => {
          // The original is still being sent to S3 from the same temporary file: the two overlap.
          const { width, height, variants } = await makeImages(file.path, file.imageType);
          await store.saveVariants(
            {
              id: file.photoId,
              caption,
              width,
              height,
              originalBytes: file.size,
              originalType: file.imageType,
              hasCleanCopy: variants.cleanCopy !== undefined,
              uploaderHash,
            },
            variants,
            file.stored,
          );
        }),
      );
      const failure = results.find((result) => result.status === 'rejected');
      if (failure) {
        await discardPhotos(files);
        throw failure.reason;
      }
      return files.map((file) => file.photoId);
    } finally {
      await Promise.allSettled(files.map((file) => file.stored));
      await Promise.all(files.map((file) => rm(file.path, { force: true })));
    }
  }

  /** Removes every trace of received files: their objects in S3 and their temporary copies. */
  async function discardPhotos(files: ReceivedFile[]): Promise<void> {
    // An original still on its way would land after the deletion below: let it finish (or fail) first.
    await Promise.allSettled(files.map((file) => file.stored));
    await Promise.all(files.map((file) => rm(file.path, { force: true })));
    const results = await Promise.allSettled(files.map((file) => store.deletePhoto(file.photoId, file.imageType)));
    results.forEach((result, index) => {
      if (result.status === 'rejected') {
        logger.error({ err: result.reason, photoId: files[index]?.photoId }, 'could not remove the parts of a failed upload');
      }
    });
  }

  return {
    receiveForm,
    savePhotos,
    discardPhotos,
    /** On shutdown: stops every original still being sent to S3 (a PutObject cut short stores nothing). */
    abortAll(): void {
      for (const controller of inFlight) controller.abort();
    },
  };
}

export function receivedFiles(req: Request): ReceivedFile[] {
  return (req.files ?? []) as unknown as ReceivedFile[];
}

function notAnAcceptedImage(filename: string): HttpError {
  const accepted = ACCEPTED_IMAGE_TYPES.map((type) => type.label).join(', ');
  return new HttpError(
    415,
    'Not an accepted image',
    `"${filename}" is not a ${accepted} image.`,
    `Accepted types: ${accepted}. The type is read from the file's content, not its name.`,
  );
}

/** Writes an upload to its temporary file, one chunk at a time, keeping its first bytes for type sniffing. */
class SniffingFileWriter extends Writable {
  bytes = 0;
  readonly head: Promise<Buffer>;
  readonly fileClosed: Promise<void>;
  private headChunks: Buffer[] = [];
  private resolveHead!: (head: Buffer) => void;

  constructor(private readonly file: WriteStream) {
    super();
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.once('error', reject);
      this.once('close', () => reject(new Error('upload stream closed')));
    });
    this.head.catch(() => {}); // the receiver awaits it; this only keeps a rejection from going unhandled
    file.once('error', (error) => this.destroy(error));
    this.fileClosed = new Promise((resolve) => file.once('close', () => resolve()));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
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
