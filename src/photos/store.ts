// The photo store: the only module that talks to S3. Every call has a deadline (retries included), so a
// stalled S3 becomes a StorageUnavailable error within S3_TIMEOUT_SECONDS instead of a hang.
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
  NotFound,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Logger } from 'pino';
import { throwFirstFailure, untilAborted } from '../promises.js';
import { toStorageError } from '../storage/errors.js';
import { S3_MAX_ATTEMPTS } from '../storage/s3-client.js';
import { attachmentDisposition, downloadFileName } from './download-name.js';
import { InvalidPageToken, UnreadableRecord } from './errors.js';
import type { ImageType } from './image-type.js';
import { IMAGE_VARIANTS, type VariantImage } from './image-variants.js';
import { findNeighbours, type ListThumbnailIds, type PhotoNeighbours } from './neighbours.js';
import { type ObjectKeys, objectKeys, type PartFolder } from './object-keys.js';
import { PHOTOS_PER_PAGE } from './pagination.js';
import { isPhotoId, uploadedAt } from './photo-id.js';
import { type NewPhotoRecord, type PhotoRecord, metadataWithCaption, recordFromMetadata, recordToMetadata } from './photo-record.js';
import { REMEMBERED_SHAPES, rememberedShapes, type PhotoShape } from './photo-shapes.js';
import type { UrlValidity } from './url-lifetime.js';

export { PHOTOS_PER_PAGE };

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

/**
 * The failures the SDK sends a body in memory again for, and the store a file body: the connection was lost, or
 * S3 failed on its side (a 5xx: InternalError, SlowDown), which it answers now and then and asks to be retried.
 */
function worthSendingAgain(error: unknown): boolean {
  if (error instanceof S3ServiceException) return error.$fault === 'server';
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && LOST_CONNECTION_CODES.has(code);
}

/** DeleteObjects takes at most this many keys per call. */
const MAX_KEYS_PER_DELETE = 1000;

export type { NewPhotoRecord, PhotoRecord } from './photo-record.js';

/** A photo as the gallery shows it: its shape (from its record) lets a page lay it out before it loads. */
export interface PhotoSummary extends PhotoShape {
  id: string;
  uploadedAt: Date;
  thumbnailUrl: string;
  /** The 2× thumbnail's, when the photo has one. */
  largeThumbnailUrl: string | undefined;
}

export interface PhotoPage {
  photos: PhotoSummary[];
  /** The id the next (older) page starts after: the last photo on this one, when there are more. */
  nextPageToken: string | undefined;
}

export interface ViewUrls {
  thumbnail: string;
  display: string;
  fullSize: string;
  /** The display image's sharper copy, when the photo has one. */
  largeDisplay?: string;
}

/** An image to store: in memory, or streamed (from disk) so that large images are never held whole. */
export type ImageBody = { bytes: Buffer } | { open: () => Readable; length: number };

/** The objects of one photo, ready to store. */
export interface PhotoParts {
  original: { body: ImageBody; type: ImageType };
  display: Buffer;
  /** The sharper copies image processing made. */
  variants: VariantImage[];
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
  /** Rewrites the caption in the photo's record ('' removes it); false when there is no such photo. */
  replaceCaption(id: string, caption: string, signal?: AbortSignal): Promise<boolean>;
  presignPhotoUrls(record: PhotoRecord): Promise<ViewUrls>;
  /** A link that downloads the full-size image, saved under the uploader's file name (download-name.ts). */
  presignDownloadUrl(record: PhotoRecord): Promise<string>;
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
  /** Told, once per record, of a record this version cannot read (by its key: its contents may be anyone's). */
  logger: Pick<Logger, 'warn'>;
}

export function createPhotoStore(s3: S3Client, { bucket, keyPrefix, timeoutMs, urlValidity, logger }: PhotoStoreOptions): PhotoStore {
  const keys = objectKeys(keyPrefix);
  const shapes = rememberedShapes();
  /** Keys of the unreadable records already logged: a gallery page shown again logs nothing new. */
  const reportedUnreadable = new Set<string>();

  /**
   * A photo's shape: remembered (it never changes), else read from its record; undefined if it is gone, or its
   * record cannot be read (the gallery leaves it out rather than fail the page of every photo beside it).
   */
  async function readShape(id: string): Promise<PhotoShape | undefined> {
    const known = shapes.recall(id);
    if (known) return known;
    const record = await store.findPhoto(id).catch((error: unknown) => {
      if (error instanceof UnreadableRecord) return undefined;
      throw error;
    });
    if (record) shapes.remember(id, record);
    return record && shapes.recall(id);
  }

  /** The record in `metadata`; an unreadable one is logged by its key, once, and thrown. */
  function readRecord(id: string, metadata: Record<string, string>): PhotoRecord {
    try {
      return recordFromMetadata(id, metadata);
    } catch (error) {
      const key = keys.thumbnail(id);
      if (error instanceof UnreadableRecord && !reportedUnreadable.has(key)) {
        if (reportedUnreadable.size >= REMEMBERED_SHAPES) reportedUnreadable.clear();
        reportedUnreadable.add(key);
        // The field's name, never its value: a record may hold anything.
        logger.warn({ key, reason: (error.cause as Error).message }, 'photo record unreadable by this version: photo not shown');
      }
      throw error;
    }
  }

  /** Runs one S3 operation under the deadline (and the caller's signal), and names its failure for the user. */
  async function callS3<T>(operation: string, request: (abortSignal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      // The SDK stops its own request on the same signal, but a step outside it (fetching credentials from
      // IMDS, say) must not outlive the deadline either.
      return await untilAborted(request(signal ? AbortSignal.any([deadline, signal]) : deadline), deadline);
    } catch (error) {
      throw toStorageError(operation, error);
    }
  }

  const put = (key: string, body: ImageBody, contentType: string, signal?: AbortSignal, metadata?: Record<string, string>) =>
    callS3(
      'PutObject',
      (abortSignal) => putImage(s3, { Bucket: bucket, Key: key, ContentType: contentType, Metadata: metadata }, body, abortSignal),
      signal,
    );

  /** Presigns GETs for `objectKeys`, all with one validity (one credentials check per page, not per image). */
  function presignViewUrls(objectKeys: string[], responseContentDisposition?: string): Promise<string[]> {
    return callS3('presign', async () => {
      const validity = await urlValidity();
      return Promise.all(
        objectKeys.map((Key) =>
          getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key, ResponseContentDisposition: responseContentDisposition }), validity),
        ),
      );
    });
  }

  /** The served full-size image: the display image for a photo stored before full-size images were made from pixels. */
  const fullSizeKey = (record: PhotoRecord) =>
    record.fullSizeExtension ? keys.fullSize(record.id, record.fullSizeExtension) : keys.display(record.id);

  /** One ListObjectsV2 call on the bucket. */
  const listObjects = (input: Omit<ListObjectsV2CommandInput, 'Bucket'>) =>
    callS3('ListObjectsV2', (abortSignal) => s3.send(new ListObjectsV2Command({ Bucket: bucket, ...input }), { abortSignal }));
  const reads: BucketReads = { keys, listObjects, presignViewUrls, readShape };

  const store: PhotoStore = {
    /**
     * Answers whether the app can reach its photos with its credentials. Not HeadBucket: AWS authorises
     * that as s3:ListBucket on the whole bucket, which the app's role is rightly not given (infra/policies).
     */
    async checkBucket() {
      await listObjects({ Prefix: keyPrefix, MaxKeys: 1 });
    },

    /**
     * Stores everything of a photo but its record, in parallel. Each body is one streamed PutObject (S3 takes
     * up to 5 GB in one PUT): a PUT that fails or is aborted stores nothing. allSettled, not all: when one
     * fails, no other may still be in flight and land after the caller's clean-up.
     */
    async savePhotoParts(id, { original, display, variants, fullSize }, signal) {
      const writes = await Promise.allSettled([
        put(keys.original(id, original.type), original.body, original.type.mime, signal),
        put(keys.display(id), { bytes: display }, 'image/jpeg', signal),
        put(keys.fullSize(id, fullSize.extension), fullSize.body, fullSize.mime, signal),
        ...variants.map(({ variant, bytes }) => put(keys.variant(id, variant), { bytes }, IMAGE_VARIANTS[variant].mime, signal)),
      ]);
      throwFirstFailure(writes);
    },

    /** Writes the thumbnail with the photo's metadata: the record the gallery lists. The photo is now visible. */
    async saveRecord(record, thumbnail, signal) {
      await put(keys.thumbnail(record.id), { bytes: thumbnail }, 'image/webp', signal, recordToMetadata(record));
      shapes.remember(record.id, record);
    },

    listPhotoPage: (pageToken) => listPhotoPage(reads, pageToken),
    findNeighbours: (id, from) => findNeighbours(thumbnailIdLister(reads), id, from),

    /** The photo's record, or undefined when there is no such photo. */
    async findPhoto(id) {
      const head = await callS3('HeadObject', (abortSignal) =>
        s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.thumbnail(id) }), { abortSignal }).catch((error: unknown) => {
          if (error instanceof NotFound) return undefined;
          throw error;
        }),
      );
      if (!head) return undefined;
      return readRecord(id, head.Metadata ?? {});
    },

    async replaceCaption(id, caption, signal) {
      const replaced = await replaceRecordCaption({ s3, bucket, key: keys.thumbnail(id), caption, callS3 }, signal);
      if (replaced) shapes.forget(id);
      return replaced;
    },

    /** The uploaded original is never linked: it may carry metadata. */
    async presignPhotoUrls(record) {
      const hasLargeDisplay = record.variants.includes('display-2x');
      const [thumbnail, display, fullSize, largeDisplay] = await presignViewUrls([
        keys.thumbnail(record.id),
        keys.display(record.id),
        fullSizeKey(record),
        ...(hasLargeDisplay ? [keys.variant(record.id, 'display-2x')] : []),
      ]);
      return { thumbnail: thumbnail!, display: display!, fullSize: fullSize!, ...(largeDisplay && { largeDisplay }) };
    },

    async presignDownloadUrl(record) {
      const fileName = downloadFileName(record.fileName, record.id, record.fullSizeExtension ?? 'jpg');
      const [url] = await presignViewUrls([fullSizeKey(record)], attachmentDisposition(fileName));
      return url!;
    },

    /**
     * Deletes the parts first and the record last, in one call each: if the call fails, the photo is still
     * listed and can be deleted again, so no part is ever left without the record that leads to it.
     */
    async deletePhoto({ id, originalType, fullSizeExtension }, signal) {
      // An older photo's full-size copy, if it had one, kept the original's extension.
      const all = keys.allOf(id, originalType, fullSizeExtension ?? originalType.extension);
      const thumbnail = keys.thumbnail(id);
      await store.deleteKeys(
        all.filter((key) => key !== thumbnail),
        signal,
      );
      await store.deleteKeys([thumbnail], signal);
    },

    listStoredParts: (folder, newestId, oldestId) => listStoredParts(reads, folder, newestId, oldestId),

    async deleteKeys(objectKeys, signal) {
      for (let start = 0; start < objectKeys.length; start += MAX_KEYS_PER_DELETE) {
        const batch = objectKeys.slice(start, start + MAX_KEYS_PER_DELETE);
        await callS3('DeleteObjects', (abortSignal) => deleteObjects(s3, bucket, batch, abortSignal), signal);
      }
    },
  };
  return store;
}

/**
 * The record is gone: the copy's source no longer exists (NoSuchKey), or If-Match found no record with the
 * ETag just read (PreconditionFailed): a thumbnail's bytes never change, so the record was deleted meanwhile.
 */
function isGone(error: unknown): boolean {
  return error instanceof NoSuchKey || (error instanceof S3ServiceException && error.name === 'PreconditionFailed');
}

/**
 * Copies the record onto itself with its metadata replaced: the thumbnail's bytes stay, and every other
 * field is sent back exactly as S3 holds it. A copy, like any write, is all or nothing. Its source must
 * exist, and the record must still be the one just read (If-Match), so a photo deleted meanwhile is
 * never brought back as a record without its images. Two edits at once: the last one wins, whole.
 * False when the record is gone.
 */
async function replaceRecordCaption(
  { s3, bucket, key, caption, callS3 }: { s3: S3Client; bucket: string; key: string; caption: string; callS3: CallS3 },
  signal?: AbortSignal,
): Promise<boolean> {
  const head = await callS3(
    'HeadObject',
    (abortSignal) =>
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }).catch((error: unknown) => {
        if (error instanceof NotFound) return undefined;
        throw error;
      }),
    signal,
  );
  if (!head) return false;
  const copy = new CopyObjectCommand({
    Bucket: bucket,
    Key: key,
    // Keys hold only URL-safe characters (S3_PREFIX's pattern, generated ids): nothing to encode.
    CopySource: `${bucket}/${key}`,
    CopySourceIfMatch: head.ETag,
    IfMatch: head.ETag,
    MetadataDirective: 'REPLACE',
    // REPLACE replaces these headers too: sent back as they were.
    ContentType: head.ContentType,
    CacheControl: head.CacheControl,
    Metadata: metadataWithCaption(head.Metadata ?? {}, caption),
  });
  return callS3(
    'CopyObject',
    (abortSignal) =>
      s3.send(copy, { abortSignal }).then(
        () => true,
        (error: unknown) => {
          if (isGone(error)) return false;
          throw error;
        },
      ),
    signal,
  );
}

/** The store's way to run one S3 operation under its deadline (see `callS3` in createPhotoStore). */
type CallS3 = <T>(operation: string, request: (abortSignal: AbortSignal) => Promise<T>, signal?: AbortSignal) => Promise<T>;

/** What the listings below use of the store: its keys, and its S3 calls bound to its bucket and deadline. */
interface BucketReads {
  keys: ObjectKeys;
  listObjects(input: Omit<ListObjectsV2CommandInput, 'Bucket'>): Promise<ListObjectsV2CommandOutput>;
  presignViewUrls(objectKeys: string[]): Promise<string[]>;
  readShape(id: string): Promise<PhotoShape | undefined>;
}

/**
 * One ListObjectsV2 call per page: everything the gallery shows comes from the keys. A page starts after
 * a photo id rather than at an S3 continuation token: ids are short (a page's link can carry many of
 * them, for "Newer"), anyone can check them before S3 is asked, and the id before a page's first photo
 * is what its photo links need to find that photo's newer neighbour.
 */
async function listPhotoPage(
  { keys, listObjects, presignViewUrls, readShape }: BucketReads,
  pageToken: string | undefined,
): Promise<PhotoPage> {
  if (pageToken !== undefined && !isPhotoId(pageToken)) throw new InvalidPageToken();
  const listing = await listObjects({
    Prefix: keys.thumbnailFolder,
    MaxKeys: PHOTOS_PER_PAGE,
    StartAfter: pageToken === undefined ? undefined : keys.thumbnail(pageToken),
  });
  const ids = (listing.Contents ?? []).map((object) => keys.idIn(keys.thumbnailFolder, object.Key ?? '') ?? '').filter(isPhotoId);
  const shapes = await Promise.all(ids.map(readShape));
  const largeThumbnailIds = ids.filter((_, index) => shapes[index]?.largeThumbnail);
  const urls = await presignViewUrls([...ids.map(keys.thumbnail), ...largeThumbnailIds.map((id) => keys.variant(id, 'thumbnail-2x'))]);
  const largeThumbnailUrls = new Map(largeThumbnailIds.map((id, index) => [id, urls[ids.length + index]!]));
  const photos = ids.flatMap((id, index) => {
    const shape = shapes[index];
    // Deleted between the listing and its record's lookup, or unreadable by this version: not shown.
    return shape
      ? [{ id, uploadedAt: uploadedAt(id), thumbnailUrl: urls[index]!, largeThumbnailUrl: largeThumbnailUrls.get(id), ...shape }]
      : [];
  });
  return { photos, nextPageToken: listing.IsTruncated ? ids.at(-1) : undefined };
}

/** The thumbnail listing the neighbours search (neighbours.ts) walks: photo ids after `startAfter`, newest first. */
function thumbnailIdLister({ keys, listObjects }: BucketReads): ListThumbnailIds {
  return async (startAfter, maxKeys) => {
    const listing = await listObjects({
      Prefix: keys.thumbnailFolder,
      StartAfter: startAfter === undefined ? undefined : keys.thumbnailFolder + startAfter,
      MaxKeys: maxKeys,
    });
    const ids = (listing.Contents ?? []).map((object) => keys.idIn(keys.thumbnailFolder, object.Key ?? '') ?? '').filter(isPhotoId);
    return { ids, truncated: listing.IsTruncated === true };
  };
}

/** Objects of `folder` whose photo ids lie between `newestId` and `oldestId`, a page of keys at a time. */
async function listStoredParts(
  { keys, listObjects }: BucketReads,
  folder: PartFolder | 'thumbnails',
  newestId: string,
  oldestId: string,
): Promise<StoredPart[]> {
  const prefix = folder === 'thumbnails' ? keys.thumbnailFolder : keys.folder(folder);
  const found: StoredPart[] = [];
  let token: string | undefined;
  do {
    const listing = await listObjects({
      // Keys sort by id, and ids newest first: the listing starts at the window and stops after it.
      Prefix: prefix,
      StartAfter: token ? undefined : `${prefix}${newestId}`,
      ContinuationToken: token,
      MaxKeys: SWEEP_PAGE_SIZE,
    });
    for (const object of listing.Contents ?? []) {
      const photoId = keys.idIn(prefix, object.Key ?? '');
      if (!photoId || !isPhotoId(photoId)) continue;
      if (photoId > oldestId) return found;
      found.push({ key: object.Key!, photoId });
    }
    token = listing.IsTruncated ? listing.NextContinuationToken : undefined;
  } while (token);
  return found;
}

/**
 * One PutObject of an image: a body read from disk is opened for each attempt, and closed after it whatever
 * happens. The SDK retries a lost connection or a 5xx for a body in memory, but not for a file stream, which it
 * cannot rewind: one connection that S3 (or the emulator) closed as a PUT started on it, an idle keep-alive race,
 * or one InternalError, failed the upload. So a file body is sent again, as many times as the SDK gives a body in
 * memory, all under the caller's deadline: a PUT is whole or not stored, so sending it again is safe.
 */
async function putImage(
  s3: S3Client,
  input: Omit<PutObjectCommandInput, 'Body' | 'ContentLength' | 'CacheControl'>,
  body: ImageBody,
  abortSignal: AbortSignal,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const [Body, ContentLength] = 'bytes' in body ? [body.bytes, body.bytes.length] : [body.open(), body.length];
    try {
      await s3.send(new PutObjectCommand({ ...input, Body, ContentLength, CacheControl: IMAGE_CACHE_CONTROL }), { abortSignal });
      return;
    } catch (error) {
      const sendAgain = !Buffer.isBuffer(Body) && attempt < S3_MAX_ATTEMPTS && !abortSignal.aborted && worthSendingAgain(error);
      if (!sendAgain) throw error;
    } finally {
      if (!Buffer.isBuffer(Body)) Body.destroy();
    }
    // Between attempts, as the SDK's standard retry waits (full jitter, from 100 ms, doubling): S3's SlowDown asks for it.
    await sleep(Math.random() * 100 * 2 ** attempt, undefined, { signal: abortSignal });
  }
}

/** One DeleteObjects call (at most MAX_KEYS_PER_DELETE keys); a key it could not delete is a failure. */
async function deleteObjects(s3: S3Client, bucket: string, keys: string[], abortSignal: AbortSignal): Promise<void> {
  const result = await s3.send(
    new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
    {
      abortSignal,
    },
  );
  if (result.Errors?.length) throw new DeleteRefused(result.Errors.map((error) => `${error.Key}: ${error.Code}`).join(', '));
}

/** DeleteObjects answers 200 and lists the keys it could not delete: a failure all the same. */
class DeleteRefused extends S3ServiceException {
  constructor(details: string) {
    super({ name: 'DeleteRefused', $fault: 'server', $metadata: {}, message: `could not delete ${details}` });
  }
}
