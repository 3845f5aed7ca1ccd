// The photo store: the only module that talks to S3. Every call has a deadline (retries included), so a
// stalled S3 becomes a StorageUnavailable error within S3_TIMEOUT_SECONDS instead of a hang.
import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { toStorageError } from '../storage/errors.js';
import { S3_MAX_ATTEMPTS } from '../storage/s3-client.js';
import { decodeCaption, encodeCaption } from './captions.js';
import { CorruptRecord, InvalidPageToken } from './errors.js';
import { imageTypeByExtension, type ImageType } from './image-type.js';
import { objectKeys, type PartFolder } from './object-keys.js';
import { isPhotoId, uploadedAt } from './photo-id.js';
import { rememberedShapes, type PhotoShape } from './photo-shapes.js';
import type { UrlValidity } from './url-lifetime.js';

export const PHOTOS_PER_PAGE = 24;
/** Keys per listing when sweeping: a listing past the window's end stops after at most this many. */
const SWEEP_PAGE_SIZE = 100;
/**
 * Stored with every image and sent back by S3 with it: a key never changes content (a new photo gets a new
 * id), so a browser may keep an image for a year and reuse it whenever a page repeats its link (url-lifetime.ts).
 * `private`: the photos are not public, so no shared cache (a proxy, a CDN) may keep a copy beyond the browser.
 */
const IMAGE_CACHE_CONTROL = 'private, max-age=31536000, immutable';
/** The connection went away under the request (closed or reset by the other end), before any answer. */
const LOST_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE']);

function connectionWasLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && LOST_CONNECTION_CODES.has(code);
}

/** DeleteObjects takes at most this many keys per call. */
const MAX_KEYS_PER_DELETE = 1000;

/** What a photo page needs, all read from one HeadObject on the thumbnail, the photo's record. */
export interface PhotoRecord {
  id: string;
  caption: string;
  uploadedAt: Date;
  width: number;
  height: number;
  /** More than 1 for an animation; 1 for a record written before frames were counted. */
  frames: number;
  originalBytes: number;
  originalType: ImageType;
  /**
   * The file extension of the served full-size image (its format may differ from the original's).
   * Undefined for a photo stored before full-size images were written from pixels only: the display image
   * is then linked as its full size, never the old copy.
   */
  fullSizeExtension: string | undefined;
  /** Proves which browser uploaded the photo without linking its photos (see browser-session.ts). */
  ownerTag: string;
}

/** What the app writes for a new photo: its time comes from its id, and it always has a full-size image. */
export type NewPhotoRecord = Omit<PhotoRecord, 'uploadedAt' | 'fullSizeExtension'> & { fullSizeExtension: string };

/** A photo as the gallery shows it: its shape (from its record) lets a page lay it out before it loads. */
export interface PhotoSummary extends PhotoShape {
  id: string;
  uploadedAt: Date;
  thumbnailUrl: string;
}

export interface PhotoPage {
  photos: PhotoSummary[];
  /** The id the next (older) page starts after: the last photo on this one, when there are more. */
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

/** An image to store: in memory, or streamed (from disk) so that large images are never held whole. */
export type ImageBody = { bytes: Buffer } | { open: () => Readable; length: number };

/** The objects of one photo, ready to store. */
export interface PhotoParts {
  original: { body: ImageBody; type: ImageType };
  display: Buffer;
  fullSize: { body: ImageBody; extension: string; mime: string };
}

/** One object found by listStoredParts. */
export interface StoredPart {
  key: string;
  photoId: string;
}

/** The S3 operations the app uses, written out so a reader (or a fake in a test) sees the whole surface. */
export interface PhotoStore {
  checkBucket(): Promise<void>;
  savePhotoParts(id: string, parts: PhotoParts, signal?: AbortSignal): Promise<void>;
  saveRecord(record: NewPhotoRecord, thumbnail: Buffer, signal?: AbortSignal): Promise<void>;
  /** The photos after `pageToken` (a photo id: the last one on the page before), or the newest ones. */
  listPhotoPage(pageToken: string | undefined): Promise<PhotoPage>;
  /** The photos just newer and just older than `id` (see the method). */
  findNeighbours(id: string, from?: string): Promise<PhotoNeighbours>;
  findPhoto(id: string): Promise<PhotoRecord | undefined>;
  presignPhotoUrls(record: PhotoRecord): Promise<ViewUrls>;
  deletePhoto(record: Pick<PhotoRecord, 'id' | 'originalType' | 'fullSizeExtension'>, signal?: AbortSignal): Promise<void>;
  /** Objects of `folder` whose photo ids lie between `newestId` and `oldestId` (ids sort newest first). */
  listStoredParts(folder: PartFolder | 'thumbnails', newestId: string, oldestId: string): Promise<StoredPart[]>;
  deleteKeys(keys: string[], signal?: AbortSignal): Promise<void>;
}

export interface PhotoStoreOptions {
  bucket: string;
  keyPrefix: string;
  /** Deadline of each S3 operation, retries included. */
  timeoutMs: number;
  /** When the next presigned URLs are signed as of, and how long they live (see url-lifetime.ts). */
  urlValidity: () => Promise<UrlValidity>;
}

export function createPhotoStore(s3: S3Client, { bucket, keyPrefix, timeoutMs, urlValidity }: PhotoStoreOptions): PhotoStore {
  const keys = objectKeys(keyPrefix);
  const shapes = rememberedShapes();

  /** A photo's shape: remembered (it never changes), else read from its record; undefined if it is gone. */
  async function readShape(id: string): Promise<PhotoShape | undefined> {
    const known = shapes.recall(id);
    if (known) return known;
    const record = await store.findPhoto(id);
    if (record) shapes.remember(id, record);
    return record && shapes.recall(id);
  }

  /** Runs one S3 operation under the deadline (and the caller's signal), and names its failure for the user. */
  async function callS3<T>(operation: string, request: (abortSignal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      return await withDeadline(request(signal ? AbortSignal.any([deadline, signal]) : deadline), deadline);
    } catch (error) {
      throw toStorageError(operation, error);
    }
  }

  /**
   * The SDK retries a lost connection for a body in memory, but not for a file stream, which it cannot rewind: one
   * connection that S3 (or the emulator) closed as a PUT started on it, an idle keep-alive race, failed the upload.
   * A file body is opened again for each attempt instead, as many as the SDK gives a body in memory, all under the
   * one deadline: a PUT is whole or not stored, so sending it again is safe.
   */
  function put(key: string, body: ImageBody, contentType: string, signal?: AbortSignal, metadata?: Record<string, string>) {
    return callS3(
      'PutObject',
      async (abortSignal) => {
        for (let attempt = 1; ; attempt++) {
          const [Body, ContentLength] = 'bytes' in body ? [body.bytes, body.bytes.length] : [body.open(), body.length];
          try {
            await s3.send(
              new PutObjectCommand({
                Bucket: bucket,
                Key: key,
                Body,
                ContentLength,
                ContentType: contentType,
                CacheControl: IMAGE_CACHE_CONTROL,
                Metadata: metadata,
              }),
              { abortSignal },
            );
            return;
          } catch (error) {
            const sendAgain = !Buffer.isBuffer(Body) && attempt < S3_MAX_ATTEMPTS && !abortSignal.aborted && connectionWasLost(error);
            if (!sendAgain) throw error;
          } finally {
            if (!Buffer.isBuffer(Body)) Body.destroy();
          }
        }
      },
      signal,
    );
  }

  /** Presigns GETs for `objectKeys`, all with one validity (one credentials check per page, not per image). */
  function presignViewUrls(objectKeys: string[]): Promise<string[]> {
    return callS3('presign', async () => {
      const validity = await urlValidity();
      return Promise.all(objectKeys.map((Key) => getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key }), validity)));
    });
  }

  const store: PhotoStore = {
    /**
     * Answers whether the app can reach its photos with its credentials. Not HeadBucket: AWS authorises
     * that as s3:ListBucket on the whole bucket, which the app's role is rightly not given (infra/policies).
     */
    async checkBucket() {
      await callS3('ListObjectsV2', (abortSignal) =>
        s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix, MaxKeys: 1 }), { abortSignal }),
      );
    },

    /**
     * Stores everything of a photo but its record, in parallel. Each body is one streamed PutObject (S3 takes
     * up to 5 GB in one PUT): a PUT that fails or is aborted stores nothing. allSettled, not all: when one
     * fails, no other may still be in flight and land after the caller's clean-up.
     */
    async savePhotoParts(id, { original, display, fullSize }, signal) {
      const writes = await Promise.allSettled([
        put(keys.original(id, original.type), original.body, original.type.mime, signal),
        put(keys.display(id), { bytes: display }, 'image/jpeg', signal),
        put(keys.fullSize(id, fullSize.extension), fullSize.body, fullSize.mime, signal),
      ]);
      const failure = writes.find((write) => write.status === 'rejected');
      if (failure) throw failure.reason;
    },

    /** Writes the thumbnail with the photo's metadata: the record the gallery lists. The photo is now visible. */
    async saveRecord(record, thumbnail, signal) {
      await put(keys.thumbnail(record.id), { bytes: thumbnail }, 'image/webp', signal, {
        caption: encodeCaption(record.caption),
        width: String(record.width),
        height: String(record.height),
        frames: String(record.frames),
        'original-bytes': String(record.originalBytes),
        'original-type': record.originalType.extension,
        'full-size-type': record.fullSizeExtension,
        'owner-tag': record.ownerTag,
      });
      shapes.remember(record.id, record);
    },

    /**
     * One ListObjectsV2 call per page: everything the gallery shows comes from the keys. A page starts after
     * a photo id rather than at an S3 continuation token: ids are short (a page's link can carry many of
     * them, for "Newer"), anyone can check them before S3 is asked, and the id before a page's first photo
     * is what its photo links need to find that photo's newer neighbour.
     */
    async listPhotoPage(pageToken) {
      if (pageToken !== undefined && !isPhotoId(pageToken)) throw new InvalidPageToken();
      const listing = await callS3('ListObjectsV2', (abortSignal) =>
        s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: keys.thumbnailFolder,
            MaxKeys: PHOTOS_PER_PAGE,
            StartAfter: pageToken === undefined ? undefined : keys.thumbnail(pageToken),
          }),
          { abortSignal },
        ),
      );
      const ids = (listing.Contents ?? []).map((object) => keys.idIn(keys.thumbnailFolder, object.Key ?? '') ?? '').filter(isPhotoId);
      const [thumbnailUrls, shapes] = await Promise.all([presignViewUrls(ids.map(keys.thumbnail)), Promise.all(ids.map(readShape))]);
      const photos = ids.flatMap((id, index) => {
        const shape = shapes[index];
        // Deleted between the listing and its record's lookup: not shown.
        return shape ? [{ id, uploadedAt: uploadedAt(id), thumbnailUrl: thumbnailUrls[index]!, ...shape }] : [];
      });
      return { photos, nextPageToken: listing.IsTruncated ? ids.at(-1) : undefined };
    },

    /**
     * The photos just newer and just older than `id`, with one ListObjectsV2. S3 lists only forwards, from
     * newest to oldest, so the newer photo shows only when the listing starts before `id`: at `from`, a
     * photo the link to this page named (the first of the gallery page it came from). Without it, only
     * the older photo is known. Each neighbour comes with the `from` its own link should carry.
     */
    async findNeighbours(id, from = id) {
      const start = isPhotoId(from) && from < id ? from : id;
      const listing = await callS3('ListObjectsV2', (abortSignal) =>
        s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: keys.thumbnailFolder,
            // The key without its extension sorts just before the key itself, so `start` is listed too.
            StartAfter: keys.thumbnailFolder + start,
            MaxKeys: start === id ? 2 : NEIGHBOUR_CONTEXT + 2,
          }),
          { abortSignal },
        ),
      );
      const ids = (listing.Contents ?? []).map((object) => keys.idIn(keys.thumbnailFolder, object.Key ?? '') ?? '').filter(isPhotoId);
      const index = ids.indexOf(id);
      // Not listed: `from` lies too far back (an edited link); the neighbours are then unknown.
      if (index === -1) return { newer: undefined, older: undefined };
      const neighbour = (at: number): Neighbour | undefined =>
        at >= 0 && at < ids.length ? { id: ids[at]!, from: ids[Math.max(0, at - NEIGHBOUR_CONTEXT)]! } : undefined;
      return { newer: neighbour(index - 1), older: neighbour(index + 1) };
    },

    /** The photo's record, or undefined when there is no such photo. */
    async findPhoto(id) {
      const head = await callS3('HeadObject', (abortSignal) =>
        s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.thumbnail(id) }), { abortSignal }).catch((error: unknown) => {
          if (error instanceof NotFound) return undefined;
          throw error;
        }),
      );
      if (!head) return undefined;
      const metadata = head.Metadata ?? {};
      const originalType = imageTypeByExtension(metadata['original-type'] ?? '');
      if (!originalType) throw new CorruptRecord(id, 'original-type');
      const fullSizeExtension = metadata['full-size-type'];
      if (fullSizeExtension !== undefined && !/^[a-z]{3,4}$/.test(fullSizeExtension)) throw new CorruptRecord(id, 'full-size-type');
      return {
        id,
        caption: decodeCaption(metadata.caption),
        uploadedAt: uploadedAt(id),
        width: Number(metadata.width),
        height: Number(metadata.height),
        frames: Number(metadata.frames ?? 1),
        originalBytes: Number(metadata['original-bytes']),
        originalType,
        fullSizeExtension,
        ownerTag: metadata['owner-tag'] ?? '',
      };
    },

    /** The uploaded original is never linked: it may carry metadata. */
    async presignPhotoUrls(record) {
      const fullSizeKey = record.fullSizeExtension ? keys.fullSize(record.id, record.fullSizeExtension) : keys.display(record.id);
      const [thumbnail, display, fullSize] = await presignViewUrls([keys.thumbnail(record.id), keys.display(record.id), fullSizeKey]);
      return { thumbnail: thumbnail!, display: display!, fullSize: fullSize! };
    },

    /**
     * Deletes the parts first and the record last, in one call each: if the call fails, the photo is still
     * listed and can be deleted again, so no part is ever left without the record that leads to it.
     */
    async deletePhoto({ id, originalType, fullSizeExtension }, signal) {
      // An older photo's full-size copy, if it had one, kept the original's extension.
      const [original, display, fullSize, thumbnail] = keys.allOf(id, originalType, fullSizeExtension ?? originalType.extension);
      await store.deleteKeys([original!, display!, fullSize!], signal);
      await store.deleteKeys([thumbnail!], signal);
    },

    async listStoredParts(folder, newestId, oldestId) {
      const prefix = folder === 'thumbnails' ? keys.thumbnailFolder : keys.folder(folder);
      const found: StoredPart[] = [];
      let token: string | undefined;
      do {
        const listing = await callS3('ListObjectsV2', (abortSignal) =>
          s3.send(
            // Keys sort by id, and ids newest first: the listing starts at the window and stops after it.
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              StartAfter: token ? undefined : `${prefix}${newestId}`,
              ContinuationToken: token,
              MaxKeys: SWEEP_PAGE_SIZE,
            }),
            { abortSignal },
          ),
        );
        for (const object of listing.Contents ?? []) {
          const photoId = keys.idIn(prefix, object.Key ?? '');
          if (!photoId || !isPhotoId(photoId)) continue;
          if (photoId > oldestId) return found;
          found.push({ key: object.Key!, photoId });
        }
        token = listing.IsTruncated ? listing.NextContinuationToken : undefined;
      } while (token);
      return found;
    },

    async deleteKeys(objectKeys, signal) {
      for (let start = 0; start < objectKeys.length; start += MAX_KEYS_PER_DELETE) {
        const batch = objectKeys.slice(start, start + MAX_KEYS_PER_DELETE);
        await callS3(
          'DeleteObjects',
          async (abortSignal) => {
            const result = await s3.send(
              new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
              { abortSignal },
            );
            if (result.Errors?.length) throw new DeleteRefused(result.Errors.map((error) => `${error.Key}: ${error.Code}`).join(', '));
          },
          signal,
        );
      }
    },
  };
  return store;
}

/** DeleteObjects answers 200 and lists the keys it could not delete: a failure all the same. */
class DeleteRefused extends S3ServiceException {
  constructor(details: string) {
    super({ name: 'DeleteRefused', $fault: 'server', $metadata: {}, message: `could not delete ${details}` });
  }
}

/**
 * Settles with `work`, or rejects when `deadline` aborts: the SDK stops its own request on the same
 * signal, but a step outside it (fetching credentials from IMDS, say) must not outlive the deadline either.
 */
function withDeadline<T>(work: Promise<T>, deadline: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(deadline.reason);
    if (deadline.aborted) onAbort();
    deadline.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => deadline.removeEventListener('abort', onAbort));
  });
}
