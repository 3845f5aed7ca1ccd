// Stores an upload's photos: every part of every photo first, then their records, so no photo is listed before
// all its parts are in S3. If any write fails, what the upload wrote is removed (or left for the orphan sweep).
import { createReadStream } from 'node:fs';
import type { Logger } from 'pino';
import { limitConcurrency } from '../../concurrency.js';
import { throwFirstFailure } from '../../promises.js';
import { streamPieces } from '../file-pieces.js';
import type { ProcessedImage } from '../image-processing.js';
import type { ImageType } from '../image-type.js';
import { newPhotoId } from '../photo-id.js';
import type { ImageBody, PhotoStore } from '../store.js';
import type { ReceivedFile } from './form-reader.js';

/** Photos being written to S3 at once, across all requests: bounds the S3 connections and open files in use. */
const MAX_PHOTOS_TO_S3 = 4;

/** A photo ready to store: its uploaded file and the images made from it. */
export interface PhotoToStore {
  file: ReceivedFile;
  image: ProcessedImage;
}

export interface PhotoWriter {
  /** Stores every photo, each with its file's caption; resolves to their ids, in order. All of them, or none and the first failure. */
  storePhotos(photos: PhotoToStore[], ownerTag: (photoId: string) => string, signal: AbortSignal): Promise<string[]>;
}

export function createPhotoWriter({ store, logger }: { store: PhotoStore; logger: Logger }): PhotoWriter {
  /** Photos start their S3 writes a few at a time; a photo's id (its time) is given when its writes begin. */
  const storeParts = limitConcurrency(
    MAX_PHOTOS_TO_S3,
    async ({ file, image }: PhotoToStore, signal: AbortSignal, onIdGiven: (id: string) => void) => {
      signal.throwIfAborted();
      const id = newPhotoId();
      onIdGiven(id);
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

  return {
    async storePhotos(photos, ownerTag, signal) {
      const photoIds: string[] = [];
      const written: { id: string; originalType: ImageType; fullSizeExtension: string }[] = [];
      try {
        const parts = await Promise.allSettled(
          photos.map((photo, index) =>
            storeParts(photo, signal, (id) => {
              photoIds[index] = id;
              written.push({ id, originalType: photo.file.type, fullSizeExtension: photo.image.fullSize.extension });
            }),
          ),
        );
        throwFirstFailure(parts);
        const records = await Promise.allSettled(
          photos.map(({ file, image }, index) => {
            const id = photoIds[index]!;
            return store.saveRecord(
              {
                id,
                caption: file.caption,
                width: image.width,
                height: image.height,
                frames: image.frames,
                originalBytes: file.size,
                originalType: file.type,
                fullSizeExtension: image.fullSize.extension,
                ownerTag: ownerTag(id),
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
        void removeStoredPhotos(written);
        throw error;
      }
    },
  };
}

function fileBody(filePath: string, length: number): ImageBody {
  return { open: () => createReadStream(filePath), length };
}
