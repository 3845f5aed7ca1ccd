// A photo's record, and how it is written as S3 user metadata on the photo's thumbnail and read back from it.
// Metadata travels as HTTP headers (`x-amz-meta-*`): every value is ASCII text, the caption base64 (captions.ts).
import { decodeCaption, encodeCaption, MAX_CAPTION_BYTES } from './captions.js';
import { cleanFileName } from './download-name.js';
import { UnreadableRecord } from './errors.js';
import { type ImageType, imageTypeByExtension } from './image-type.js';
import { type ImageVariant, isImageVariant } from './image-variants.js';
import { uploadedAt } from './photo-id.js';

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
  /** The sharper copies it has; none for a photo stored before they were made. */
  variants: ImageVariant[];
  /**
   * The uploader's file name (cleaned: download-name.ts); undefined for a photo stored before names were kept.
   */
  fileName: string | undefined;
}

/** What the app writes for a new photo: its time comes from its id, and it always has a full-size image. */
export type NewPhotoRecord = Omit<PhotoRecord, 'uploadedAt' | 'fullSizeExtension'> & { fullSizeExtension: string };

/** The metadata that stores `record` (its id is the key's, its time the id's). A record without a full-size image stays without. */
export function recordToMetadata(record: Omit<PhotoRecord, 'id' | 'uploadedAt'>): Record<string, string> {
  return {
    caption: encodeCaption(record.caption),
    width: String(record.width),
    height: String(record.height),
    frames: String(record.frames),
    'original-bytes': String(record.originalBytes),
    'original-type': record.originalType.extension,
    ...(record.fullSizeExtension === undefined ? {} : { 'full-size-type': record.fullSizeExtension }),
    'owner-tag': record.ownerTag,
    variants: record.variants.join(' '),
    // Base64 of UTF-8, as the caption: metadata travels as HTTP headers.
    ...(record.fileName !== undefined && { 'file-name': Buffer.from(cleanFileName(record.fileName), 'utf8').toString('base64') }),
  };
}

/**
 * The record of photo `id` from its thumbnail's metadata (S3 gives the names in lower case). Throws UnreadableRecord
 * when a field the app needs is missing or not as some version wrote it: its keys and its page are built from these,
 * and a value read loosely (`Number('wide')`, a copy this version does not know) breaks the page. Fields it does not
 * know are ignored: they are how a newer version adds to a record.
 */
export function recordFromMetadata(id: string, metadata: Record<string, string>): PhotoRecord {
  const unreadable = (field: string) => new UnreadableRecord(id, field);
  const originalType = imageTypeByExtension(metadata['original-type'] ?? '');
  if (!originalType) throw unreadable('original-type');
  const fullSizeExtension = metadata['full-size-type'];
  if (fullSizeExtension !== undefined && !imageTypeByExtension(fullSizeExtension)) throw unreadable('full-size-type');
  const variants = (metadata.variants ?? '').split(' ').filter((variant) => variant !== '');
  if (!variants.every(isImageVariant)) throw unreadable('variants');
  if ((metadata.caption ?? '').length > MAX_ENCODED_CAPTION_LENGTH) throw unreadable('caption');
  const fileName = metadata['file-name'] && cleanFileName(Buffer.from(metadata['file-name'], 'base64').toString('utf8'));
  const count = (field: string, value: string | undefined, least: number) => {
    if (value === undefined || !WHOLE_NUMBER.test(value) || Number(value) < least) throw unreadable(field);
    return Number(value);
  };
  return {
    id,
    caption: decodeCaption(metadata.caption),
    uploadedAt: uploadedAt(id),
    width: count('width', metadata.width, 1),
    height: count('height', metadata.height, 1),
    frames: count('frames', metadata.frames ?? '1', 1),
    originalBytes: count('original-bytes', metadata['original-bytes'], 0),
    originalType,
    fullSizeExtension,
    ownerTag: metadata['owner-tag'] ?? '',
    variants,
    fileName: fileName || undefined,
  };
}

/** A count as recordToMetadata writes it: decimal digits, no sign, point or exponent, and a safe integer. */
const WHOLE_NUMBER = /^(0|[1-9][0-9]{0,14})$/;
/** The base64 of the longest caption the app stores (earlier versions stored less): a longer one it did not write. */
const MAX_ENCODED_CAPTION_LENGTH = Math.ceil(MAX_CAPTION_BYTES / 3) * 4;

/** `metadata` with its caption replaced ('' removes it), every other field kept as S3 holds it. */
export function metadataWithCaption(metadata: Record<string, string>, caption: string): Record<string, string> {
  const { caption: _replaced, ...kept } = metadata;
  return caption ? { ...kept, caption: encodeCaption(caption) } : kept;
}
