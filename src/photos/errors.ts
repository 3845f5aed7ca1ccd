// The photo feature's failures, in the user's words. Each names what was wrong and what to do; the error
// handler gives each kind its HTTP status. Library messages and paths stay in `cause`, for the log only.
import { AppError } from '../errors.js';
import { formatBytes } from '../view-helpers.js';

const NOTHING_STORED = 'Nothing was stored.';

export class InvalidPageToken extends AppError {
  constructor() {
    super(
      'bad-input',
      'Page link not valid',
      'This gallery page link is not one the app made, or it has expired.',
      'Start again from the newest photos.',
    );
  }
}

export class PhotoNotFound extends AppError {
  constructor() {
    super('not-found', 'Photo not found', 'There is no photo at this address; it may have been deleted.', 'Go back to the gallery.');
  }
}

export class NotPhotoOwner extends AppError {
  constructor() {
    super(
      'forbidden',
      'Not your photo',
      'Only the browser that uploaded this photo can change or delete it.',
      'Nothing was changed. Go back to the gallery.',
    );
  }
}

/** A photo's record in S3 lacks what the app wrote there: written by something else, or damaged. */
export class CorruptRecord extends AppError {
  constructor(photoId: string, missing: string) {
    super(
      'internal',
      'Photo damaged',
      "This photo's stored record is damaged, so it cannot be shown.",
      'The error has been logged. Go back to the gallery.',
      {
        cause: new Error(`photo ${photoId}: record has no valid ${missing}`),
      },
    );
  }
}

export class NotAnUploadForm extends AppError {
  constructor() {
    super(
      'bad-input',
      'Not an upload form',
      `Photos must be sent as multipart/form-data. ${NOTHING_STORED}`,
      'Use the upload form on the gallery page (or curl -F).',
    );
  }
}

export class MalformedUpload extends AppError {
  constructor(cause?: unknown) {
    super(
      'bad-input',
      'Malformed upload',
      `The upload form could not be read. ${NOTHING_STORED}`,
      'Use the upload form on the gallery page.',
      { cause },
    );
  }
}

export class UnexpectedFileField extends AppError {
  constructor() {
    super(
      'bad-input',
      'Unexpected file field',
      `Files must be sent in the "photos" field. ${NOTHING_STORED}`,
      'Use the upload form, or send the files as photos=@file.',
    );
  }
}

/** A part in the files' field with no filename: text, such as curl sends for `-F "photos=<file"` (without the @). */
export class FileWithoutName extends AppError {
  constructor() {
    super(
      'bad-input',
      'File without a name',
      `The "photos" field held a part with no file name, so it is text, not a file. ${NOTHING_STORED}`,
      'Use the upload form, or send each file as photos=@file (with curl, the @ sends a file).',
    );
  }
}

export class NoPhotoChosen extends AppError {
  constructor() {
    super(
      'bad-input',
      'No photo chosen',
      `The upload had no file in it. ${NOTHING_STORED}`,
      'Choose one or more images, then press Upload.',
    );
  }
}

export class CaptionTooLong extends AppError {
  constructor(limit: number) {
    super(
      'bad-input',
      'Caption too long',
      `The caption is longer than ${limit} characters. ${NOTHING_STORED}`,
      'Shorten the caption and send it again.',
    );
  }
}

/** The caption form sent no caption field, or several: not the form on the photo page. */
export class CaptionNotReadable extends AppError {
  constructor() {
    super(
      'bad-input',
      'Caption not readable',
      'The form sent no caption, or more than one, so nothing was changed.',
      'Use the caption form on the photo page; send an empty caption to remove it.',
    );
  }
}

export class EmptyFile extends AppError {
  constructor(filename: string) {
    super('bad-input', 'Empty file', `${quoteName(filename)} is empty (0 bytes). ${NOTHING_STORED}`, 'Choose the image file again.');
  }
}

export class NotAnAcceptedImage extends AppError {
  constructor(filename: string, acceptedLabels: readonly string[]) {
    const accepted = listInWords(acceptedLabels);
    super(
      'unsupported-type',
      'Not an accepted image',
      `${quoteName(filename)} is not a ${accepted} image. ${NOTHING_STORED}`,
      `Accepted types: ${accepted}. The type is read from the file's content, not its name.`,
    );
  }
}

export class UnreadableImage extends AppError {
  constructor(filename: string, typeLabel: string, cause: unknown) {
    super(
      'unsupported-type',
      'Not a readable image',
      `${quoteName(filename)} starts like a ${typeLabel} image but could not be decoded. ${NOTHING_STORED}`,
      'The file may be damaged or incomplete: try exporting it again.',
      { cause },
    );
  }
}

/** Lossless, hierarchical and arithmetic-coded JPEGs: valid, but browsers do not show them. */
export class UnsupportedJpegCoding extends AppError {
  constructor(filename: string) {
    super(
      'unsupported-type',
      'JPEG coding not supported',
      `${quoteName(filename)} is a JPEG coded in a way browsers do not show (lossless, hierarchical or arithmetic coding). ${NOTHING_STORED}`,
      'Export it again as a standard JPEG.',
    );
  }
}

export class ImageTooLarge extends AppError {
  constructor(filename: string, typeLabel: string, width: number, height: number, frames: number, maxPixels: number) {
    const size = frames > 1 ? `${width} × ${height} pixels in ${frames} frames` : `${width} × ${height} pixels`;
    super(
      'too-large',
      'Image too large',
      `${quoteName(filename)} is ${size}; the limit for a ${typeLabel} image is ${formatMegapixels(maxPixels)} megapixels in all. ${NOTHING_STORED}`,
      'Resize it (or export it as JPEG, which has the highest limit) before uploading.',
    );
  }
}

/** Built to keep a decoder busy (thousands of scans, say), or simply too slow to process. */
export class ImageTooComplex extends AppError {
  constructor(filename: string, cause: unknown) {
    super(
      'too-large',
      'Image too complex',
      `${quoteName(filename)} would take too long to process. ${NOTHING_STORED}`,
      'Export it again (as a baseline JPEG, for example) before uploading.',
      { cause },
    );
  }
}

export class FileTooLarge extends AppError {
  constructor(filename: string | undefined, maxBytes: number) {
    super(
      'too-large',
      'File too large',
      `${filename ? quoteName(filename) : 'A file'} is larger than the limit of ${formatBytes(maxBytes)} per file. ${NOTHING_STORED}`,
      'Resize or compress the image, then upload it again.',
    );
  }
}

export class TooManyFiles extends AppError {
  constructor(maxFiles: number) {
    super(
      'too-large',
      'Too many files',
      `One upload can hold at most ${maxFiles} files. ${NOTHING_STORED}`,
      'Upload fewer files at a time.',
    );
  }
}

/** This client already has as many bytes of uploads in progress as it may hold at once. */
export class UploadQuotaExceeded extends AppError {
  constructor(maxBytes: number) {
    super(
      'too-many-requests',
      'Too many uploads at once',
      `This address already has ${formatBytes(maxBytes)} of uploads in progress. ${NOTHING_STORED}`,
      'Wait for your other uploads to finish, then try again.',
    );
  }
}

/** The server holds as many bytes of uploads in progress as its disk allows. */
export class UploadsBusy extends AppError {
  constructor() {
    super(
      'unavailable',
      'Too busy receiving uploads',
      `The server is receiving as many uploads as it can hold right now. ${NOTHING_STORED}`,
      'Try again in a minute.',
    );
  }
}

/** The image queue is full: more photos wait for their images, from all clients, than the server makes at once. */
export class ImageQueueFull extends AppError {
  constructor() {
    super(
      'unavailable',
      'Too busy making images',
      `The server is making the images of as many photos as it can queue right now. ${NOTHING_STORED}`,
      'Try again in a minute.',
    );
  }
}

/** This client already has as many photos waiting for their images as one upload may hold. */
export class ClientImagesWaiting extends AppError {
  constructor(maxWaiting: number) {
    super(
      'too-many-requests',
      'Too many photos at once',
      `This address already has photos waiting for their images to be made (up to ${maxWaiting} at a time). ${NOTHING_STORED}`,
      'Wait for your other upload to finish, then try again.',
    );
  }
}

/** The server's own disk refused the upload while it arrived (full, or not writable): a fault, not the user's. */
export class UploadNotKept extends AppError {
  constructor(cause: unknown) {
    super(
      'unavailable',
      'Upload not kept',
      `The server could not keep the upload while receiving it. ${NOTHING_STORED}`,
      'Try again later.',
      { cause },
    );
  }
}

function quoteName(filename: string): string {
  // The client chose the name: keep it short and printable.
  const printable = filename.replace(/[\p{C}]/gu, '').slice(0, 80);
  return printable ? `"${printable}"` : 'The file';
}

export function listInWords(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function formatMegapixels(pixels: number): string {
  return String(Math.round(pixels / 100_000) / 10);
}
