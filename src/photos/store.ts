// The photo store: the only module that talks to S3. It knows where each part of a photo lives
// under the key prefix, and turns S3 failures into StorageUnavailableError.
import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { HttpError, StorageUnavailableError } from '../http/errors.js';
import { decodeCaption, encodeCaption } from './captions.js';
import { imageTypeByExtension, type ImageType } from './image-type.js';
import { isPhotoId, uploadedAt } from './photo-id.js';

export const PHOTOS_PER_PAGE = 24;

/** What a photo page needs, all read from one HeadObject on the thumbnail, the photo's record. */
export interface PhotoRecord {
  id: string;
  caption: string;
  uploadedAt: Date;
  width: number;
  height: number;
  originalBytes: number;
  originalType: ImageType;
  /** True when the original carried metadata (EXIF, GPS…), so a cleaned copy is served as the full-size image. */
  hasCleanCopy: boolean;
  /** Hash of the uploading browser's key (see browser-session.ts): only that browser may delete the photo. */
  uploaderHash: string;
}

export interface PhotoSummary {
  id: string;
  uploadedAt: Date;
  thumbnailUrl: string;
}

export interface PhotoPage {
  photos: PhotoSummary[];
  nextPageToken: string | undefined;
}

/** A photo next to another in gallery order, and the `from` id that a link to it carries (see findNeighbours). */
export interface Neighbour {
  id: string;
  from: string;
}

export interface PhotoNeighbours {
  newer: Neighbour | undefined;
  older: Neighbour | undefined;
}

/**
 * How many photos newer than the one shown a neighbours listing may start before it. Walking towards
 * newer photos works this far back from where the visitor entered (the start of a gallery page).
 */
const NEIGHBOUR_CONTEXT = PHOTOS_PER_PAGE;

export interface ViewUrls {
  thumbnail: string;
  display: string;
  fullSize: string;
}

export interface PhotoVariants {
  thumbnail: Buffer;
  display: Buffer;
  /** The full-size image without its metadata; absent when the original has none to remove. */
  cleanCopy: ImageBody | undefined;
}

/** A body streamed to S3 with a known length, so a large image need not be held in memory. */
export interface ImageBody {
  open: () => Readable;
  length: number;
}

export interface PhotoStoreOptions {
  bucket: string;
  keyPrefix: string;
  /** How long the next presigned URLs may live: the configured lifetime, capped by the credentials' own. */
  urlLifetimeSeconds: () => Promise<number>;
}

export type PhotoStore = ReturnType<typeof createPhotoStore>;

export function createPhotoStore(s3: S3Client, options: PhotoStoreOptions) {
  const { bucket, keyPrefix } = options;

  // Each photo is several objects. The thumbnail is written last and deleted first: it is the
  // record the gallery lists, so a photo shows only once all its parts exist.
  const keys = {
    thumbnailFolder: `${keyPrefix}thumbnails/`,
    thumbnail: (id: string) => `${keyPrefix}thumbnails/${id}.webp`,
    display: (id: string) => `${keyPrefix}display/${id}.jpg`,
    original: (id: string, type: ImageType) => `${keyPrefix}originals/${id}.${type.extension}`,
    cleanCopy: (id: string, type: ImageType) => `${keyPrefix}full/${id}.${type.extension}`,
  };

  function idsOfThumbnails(objects: { Key?: string }[]): string[] {
    return objects.map((object) => object.Key?.slice(keys.thumbnailFolder.length).replace(/\.webp$/, '') ?? '').filter(isPhotoId);
  }

  async function callS3<T>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw new StorageUnavailableError(operation, error);
    }
  }

  /** Presigns GETs for `objectKeys`, all with one lifetime (one credentials check per page, not per image). */
  async function presignViewUrls(objectKeys: string[]): Promise<string[]> {
    return callS3('presign', async () => {
      const expiresIn = await options.urlLifetimeSeconds();
      return Promise.all(objectKeys.map((Key) => getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key }), { expiresIn })));
    });
  }

  return {
    keys,

    /**
     * Answers whether the app can reach its photos with its credentials. Not HeadBucket: AWS authorises
     * that as s3:ListBucket on the whole bucket, which the app's role is rightly not given (infra/policies).
     */
    async checkBucket(): Promise<void> {
      await callS3('ListObjectsV2', () => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix, MaxKeys: 1 })));
    },

    /**
     * Sends an original as one streamed PutObject: memory stays at the stream's buffer whatever the file
     * size (S3 takes up to 5 GB in one PUT), and a PUT that fails or is aborted stores nothing.
     */
    async putOriginal(id: string, type: ImageType, body: Readable, contentLength: number, signal: AbortSignal): Promise<void> {
      await callS3('PutObject', () =>
        s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: keys.original(id, type), Body: body, ContentLength: contentLength, ContentType: type.mime }),
          { abortSignal: signal },
        ),
      );
    },

    /**
     * Writes the derived images (while the original may still be on its way: `originalStored`), then, once
     * all of them are stored, the thumbnail with the record's metadata: the photo becomes visible.
     */
    async saveVariants(record: Omit<PhotoRecord, 'uploadedAt'>, variants: PhotoVariants, originalStored: Promise<void> = Promise.resolve()): Promise<void> {
      const { id, originalType } = record;
      const put = (key: string, body: Buffer | ImageBody, contentType: string, metadata?: Record<string, string>) =>
        callS3('PutObject', async () => {
          const [Body, ContentLength] = Buffer.isBuffer(body) ? [body, body.length] : [body.open(), body.length];
          try {
            return await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body, ContentLength, ContentType: contentType, Metadata: metadata }));
          } finally {
            if (!Buffer.isBuffer(Body)) Body.destroy();
          }
        });
      // allSettled, not all: on a failure, no write may still be in flight (and land after the clean-up).
      const writes = await Promise.allSettled([
        put(keys.display(id), variants.display, 'image/jpeg'),
        variants.cleanCopy && put(keys.cleanCopy(id, originalType), variants.cleanCopy, originalType.mime),
        originalStored,
      ]);
      const failure = writes.find((write) => write.status === 'rejected');
      if (failure) throw failure.reason;
      await put(keys.thumbnail(id), variants.thumbnail, 'image/webp', {
        caption: encodeCaption(record.caption),
        width: String(record.width),
        height: String(record.height),
        'original-bytes': String(record.originalBytes),
        'original-type': originalType.extension,
        'clean-copy': record.hasCleanCopy ? 'yes' : 'no',
        'uploader-sha256': record.uploaderHash,
      });
    },

    /** One ListObjectsV2 call per page: everything the gallery shows comes from the keys. */
    async listPhotoPage(pageToken: string | undefined): Promise<PhotoPage> {
      const listing = await s3
        .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keys.thumbnailFolder, MaxKeys: PHOTOS_PER_PAGE, ContinuationToken: pageToken }))
        .catch((error: { $metadata?: { httpStatusCode?: number } }) => {
          // S3 answers 400 to a continuation token it did not issue (an edited or stale link).
          if (pageToken && error.$metadata?.httpStatusCode === 400) {
            throw new HttpError(400, 'Page link not valid', 'This gallery page link is not one the app made, or it has expired.', 'Start again from the newest photos.');
          }
          throw new StorageUnavailableError('ListObjectsV2', error);
        });
      const ids = (listing.Contents ?? [])
        .map((object) => object.Key?.slice(keys.thumbnailFolder.length).replace(/\.webp$/, '') ?? '')
        .filter(isPhotoId);
      const thumbnailUrls = await presignViewUrls(ids.map(keys.thumbnail));
      const photos = ids.map((id, index) => ({ id, uploadedAt: uploadedAt(id), thumbnailUrl: thumbnailUrls[index]! }));
      return { photos, nextPageToken: listing.IsTruncated ? listing.NextContinuationToken : undefined };
    },

    /**
     * The photos just newer and just older than `id`, with one ListObjectsV2. S3 lists only forwards, from
     * newest to oldest, so the newer photo shows only when the listing starts before `id`: at `from`, a
     * photo the link to this page named (the first of the gallery page it came from). Without it, only
     * the older photo is known. Each neighbour comes with the `from` its own link should carry.
     */
    async findNeighbours(id: string, from: string = id): Promise<PhotoNeighbours> {
      const start = isPhotoId(from) && from < id ? from : id;
      const listing = await callS3('ListObjectsV2', () =>
        s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: keys.thumbnailFolder,
            // The key without its extension sorts just before the key itself, so `start` is listed too.
            StartAfter: keys.thumbnailFolder + start,
            MaxKeys: start === id ? 2 : NEIGHBOUR_CONTEXT + 2,
          }),
        ),
      );
      const ids = idsOfThumbnails(listing.Contents ?? []);
      const index = ids.indexOf(id);
      // Not listed: `from` lies too far back (an edited link); the neighbours are then unknown.
      if (index === -1) return { newer: undefined, older: undefined };
      const neighbour = (at: number): Neighbour | undefined =>
        at >= 0 && at < ids.length ? { id: ids[at]!, from: ids[Math.max(0, at - NEIGHBOUR_CONTEXT)]! } : undefined;
      return { newer: neighbour(index - 1), older: neighbour(index + 1) };
    },

    /** The photo's record, or undefined when there is no such photo. */
    async findPhoto(id: string): Promise<PhotoRecord | undefined> {
      let head;
      try {
        head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.thumbnail(id) }));
      } catch (error) {
        if ((error as { name?: string }).name === 'NotFound') return undefined;
        throw new StorageUnavailableError('HeadObject', error);
      }
      const metadata = head.Metadata ?? {};
      const originalType = imageTypeByExtension(metadata['original-type'] ?? '');
      if (!originalType) throw new StorageUnavailableError('HeadObject', new Error(`photo ${id} has no original type in its metadata`));
      return {
        id,
        caption: decodeCaption(metadata.caption),
        uploadedAt: uploadedAt(id),
        width: Number(metadata.width),
        height: Number(metadata.height),
        originalBytes: Number(metadata['original-bytes']),
        originalType,
        hasCleanCopy: metadata['clean-copy'] === 'yes',
        uploaderHash: metadata['uploader-sha256'] ?? '',
      };
    },

    async presignPhotoUrls(record: PhotoRecord): Promise<ViewUrls> {
      const fullSizeKey = record.hasCleanCopy
        ? keys.cleanCopy(record.id, record.originalType)
        : keys.original(record.id, record.originalType);
      const [thumbnail, display, fullSize] = await presignViewUrls([keys.thumbnail(record.id), keys.display(record.id), fullSizeKey]);
      return { thumbnail: thumbnail!, display: display!, fullSize: fullSize! };
    },

    /**
     * Deletes every object of a photo; the thumbnail first, so a photo never shows half-deleted.
     * Also used to clean up after a failed upload, where some of the objects may not exist.
     */
    async deletePhoto(id: string, originalType: ImageType): Promise<void> {
      const send = (objectKeys: string[]) =>
        callS3('DeleteObjects', async () => {
          const result = await s3.send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objectKeys.map((Key) => ({ Key })), Quiet: true } }),
          );
          if (result.Errors?.length) throw new Error(`could not delete ${result.Errors.map((e) => `${e.Key}: ${e.Code}`).join(', ')}`);
        });
      await send([keys.thumbnail(id)]);
      await send([keys.display(id), keys.cleanCopy(id, originalType), keys.original(id, originalType)]);
    },
  };
}
