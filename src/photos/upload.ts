// Receives uploads: each file is streamed to S3 while its type is checked and a temporary copy kept
// for image processing; then the served images are made and the photo saved. All or nothing: a failed
// or aborted upload leaves no object behind.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import type { Request } from 'express';
import multer from 'multer';
import type { Logger } from 'pino';
import { HttpError } from '../http/errors.js';
import { MAX_CAPTION_LENGTH } from './captions.js';
import { ACCEPTED_IMAGE_TYPES, detectImageType, SNIFF_BYTES, type ImageType } from './image-type.js';
import { processImage } from './image-processing.js';
import { newPhotoId } from './photo-id.js';
import type { PhotoStore } from './store.js';

/** What the storage engine knows of a file once it is safely in S3. */
export interface ReceivedFile {
  photoId: string;
  imageType: ImageType;
  size: number;
  /** The temporary copy, removed once the photo is saved or given up. */
  path: string;
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

  async function receiveFile(file: Express.Multer.File): Promise<ReceivedFile> {
    const photoId = newPhotoId();
    const tempPath = path.join(tempDir, photoId);
    await mkdir(tempDir, { recursive: true });
    const tee = new SniffingTee(createWriteStream(tempPath));
    const controller = new AbortController();
    inFlight.add(controller);
    // multer answers an oversize file with its own LIMIT_FILE_SIZE error; this only stops the stream
    // before it ends, so the truncated file is never completed in S3.
    file.stream.once('limit', () => tee.destroy(new Error('file size limit reached')));
    file.stream.once('error', (error) => tee.destroy(error));
    file.stream.pipe(tee);
    try {
      const head = await tee.head;
      const imageType = detectImageType(head);
      if (head.length === 0) throw new HttpError(400, 'Empty file', `"${file.originalname}" is empty (0 bytes).`, 'Choose the image file again.');
      if (!imageType) throw notAnAcceptedImage(file.originalname);
      await store.uploadOriginal(photoId, imageType, tee, controller.signal);
      await tee.copyWritten;
      return { photoId, imageType, size: tee.bytes, path: tempPath };
    } catch (error) {
      file.stream.unpipe(tee);
      file.stream.resume();
      tee.destroy();
      await rm(tempPath, { force: true });
      // A stream failure (client gone, limit reached) is the real cause of the S3 upload failing.
      throw tee.errored ?? error;
    } finally {
      inFlight.delete(controller);
    }
  }

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
      await Promise.all(files.map((file) => rm(file.path, { force: true })));
    }
  }

  /** Removes every trace of received files: their objects in S3 and their temporary copies. */
  async function discardPhotos(files: ReceivedFile[]): Promise<void> {
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
    /** On shutdown: stops every upload still streaming, which aborts its multipart upload. */
    abortAll(): void {
      for (const controller of inFlight) controller.abort();
    },
  };
}

export function receivedFiles(req: Request): ReceivedFile[] {
  return (req.files ?? []) as unknown as ReceivedFile[];
}

export function notAnAcceptedImage(filename: string): HttpError {
  const accepted = ACCEPTED_IMAGE_TYPES.map((type) => type.label).join(', ');
  return new HttpError(
    415,
    'Not an accepted image',
    `"${filename}" is not a ${accepted} image.`,
    `Accepted types: ${accepted}. The type is read from the file's content, not its name.`,
  );
}

/**
 * Passes an upload through to S3 unchanged while (1) keeping its first bytes for type sniffing and
 * (2) writing a copy to a temporary file, with back-pressure from both sides.
 */
class SniffingTee extends Transform {
  bytes = 0;
  readonly head: Promise<Buffer>;
  readonly copyWritten: Promise<void>;
  private headChunks: Buffer[] = [];
  private resolveHead!: (head: Buffer) => void;

  constructor(private readonly copy: Writable) {
    super();
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.once('error', reject);
      this.once('close', () => reject(new Error('upload stream closed')));
    });
    this.head.catch(() => {}); // the receiver awaits it; this only keeps a rejection from going unhandled
    this.copyWritten = once(copy, 'finish').then(() => undefined);
    this.copyWritten.catch(() => {});
    copy.once('error', (error) => this.destroy(error));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes - chunk.length < SNIFF_BYTES) {
      this.headChunks.push(chunk);
      if (this.bytes >= SNIFF_BYTES) this.resolveHead(Buffer.concat(this.headChunks));
    }
    if (this.copy.write(chunk)) callback(null, chunk);
    else this.copy.once('drain', () => callback(null, chunk));
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes < SNIFF_BYTES) this.resolveHead(Buffer.concat(this.headChunks));
    this.copy.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.copy.destroy();
    callback(error);
  }
}
