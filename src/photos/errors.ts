// The photo feature's failures, in the user's words. Each names what was wrong and what to do; the error
// handler gives each kind its HTTP status. Library messages and paths stay in `cause`, for the log only.
import { AppError, type AppErrorDetails, type RefusedFile } from '../errors.js';
import { formatBytes, listInWords, printableFileName } from '../format.js';

const NOTHING_STORED = 'Nothing was stored.';

export class InvalidPageToken extends AppError {
  constructor() {
    super({
      kind: 'bad-input',
      title: 'Page link not valid',
      message: 'This gallery page link is not one the app made, or it has expired.',
      hint: 'Start again from the newest photos.',
    });
  }
}

/** A results page address (after an upload without JavaScript) not sealed for this browser: altered, forged or another's. */
export class UploadResultsNotReadable extends AppError {
  constructor() {
    super({
      kind: 'bad-input',
      title: 'Upload results not found',
      message: 'This results page was not made for this browser, or its address was changed.',
      hint: 'The photos that were stored are in the gallery.',
    });
  }
}

export class PhotoNotFound extends AppError {
  constructor() {
    super({
      kind: 'not-found',
      title: 'Photo not found',
      message: 'There is no photo at this address; it may have been deleted.',
      hint: 'Go back to the gallery.',
    });
  }
}

export class NotPhotoOwner extends AppError {
  constructor() {
    super({
      kind: 'forbidden',
      title: 'Not your photo',
      message: 'Only the browser that uploaded this photo can change or delete it.',
      hint: 'Nothing was changed. Go back to the gallery.',
    });
  }
}

/**
 * A photo's record in S3 that this version cannot read: written by a newer or older version (during a rolling
 * deploy), by hand, or damaged. Not the visitor's doing and not a fault of this request: the photo is not
 * here for this version, so its page is a 404 (the store logs the record's key, once).
 */
export class UnreadableRecord extends AppError {
  constructor(photoId: string, field: string) {
    super({
      kind: 'not-found',
      title: 'Photo cannot be shown',
      message: "This photo's stored record cannot be read by this version of the app, so the photo cannot be shown.",
      hint: 'If the app is being updated, try again in a few minutes; otherwise go back to the gallery.',
      cause: new Error(`photo ${photoId}: record has no valid ${field}`),
    });
  }
}

export class NotAnUploadForm extends AppError {
  constructor() {
    super({
      kind: 'bad-input',
      title: 'Not an upload form',
      message: `Photos must be sent as multipart/form-data. ${NOTHING_STORED}`,
      hint: 'Use the upload form on the gallery page (or curl -F).',
    });
  }
}

export class MalformedUpload extends AppError {
  constructor(cause?: unknown) {
    super({
      kind: 'bad-input',
      title: 'Malformed upload',
      message: `The upload form could not be read. ${NOTHING_STORED}`,
      hint: 'Use the upload form on the gallery page.',
      cause,
    });
  }
}

export class UnexpectedFileField extends AppError {
  constructor() {
    super({
      kind: 'bad-input',
      title: 'Unexpected file field',
      message: `Files must be sent in the "photos" field. ${NOTHING_STORED}`,
      hint: 'Use the upload form, or send the files as photos=@file.',
    });
  }
}

/** A part in the files' field with no filename: text, such as curl sends for `-F "photos=<file"` (without the @). */
export class FileWithoutName extends AppError {
  constructor() {
    super({
      kind: 'bad-input',
      title: 'File without a name',
      message: `The "photos" field held a part with no file name, so it is text, not a file. ${NOTHING_STORED}`,
      hint: 'Use the upload form, or send each file as photos=@file (with curl, the @ sends a file).',
    });
  }
}

export class NoPhotoChosen extends AppError {
  constructor() {
    super({
      kind: 'bad-input',
      title: 'No photo chosen',
      message: `The upload had no file in it. ${NOTHING_STORED}`,
      hint: 'Choose one or more images, then press Upload.',
    });
  }
}

/**
 * The file whose own caption (`caption-<n>`) it is: by its name, or by its place (from 1) when the caption came
 * before the file, as the upload form sends it, and the form ended before the file's name arrived.
 */
export type CaptionOwner = { filename: string } | { position: number };

export class CaptionTooLong extends AppError {
  /** `owner`: the file whose own caption it is (see `caption-<n>`), when it is not the caption for all. */
  constructor(limit: number, over: CaptionOverLimit, owner?: CaptionOwner) {
    super({
      kind: 'bad-input',
      title: 'Caption too long',
      message: `The caption${captionOwnerInWords(owner)} ${captionExcessInWords(limit, over)} ${NOTHING_STORED}`,
      hint: 'Shorten the caption and upload again.',
    });
  }
}

/**
 * How a caption is over its limits: it has too many characters; its characters take more bytes than S3 keeps (emoji
 * families, letters with several marks); or its field was too big to read at all.
 */
export type CaptionOverLimit = { by: 'characters' } | { by: 'room'; characters: number; fitting: number } | { by: 'field-size' };

function captionExcessInWords(limit: number, over: CaptionOverLimit): string {
  switch (over.by) {
    case 'characters':
      return `is longer than ${limit} characters.`;
    case 'room':
      return `is too long to store: emoji and letters with marks take the room of several plain letters, so only its first ${over.fitting} of its ${over.characters} characters fit.`;
    case 'field-size':
      return `is too long to store: a caption may have up to ${limit} characters, fewer when they are emoji or letters with marks.`;
  }
}

/** The caption form sent no caption field, or several: not the form on the photo page. */
export class CaptionNotReadable extends AppError {
  constructor() {
    super({
      kind: 'bad-input',
      title: 'Caption not readable',
      message: 'The form sent no caption, or more than one, so nothing was changed.',
      hint: 'Use the caption form on the photo page; send an empty caption to remove it.',
    });
  }
}

/**
 * A caption field sent with a bracketed name (`caption[x]`, `caption-1[x]`), which the form parser reads as parts
 * of one field: no form sends it, and reading it as text would store an empty caption without a word.
 */
export class CaptionInParts extends AppError {
  constructor(field: string) {
    super({
      kind: 'bad-input',
      title: 'Caption not readable',
      message: `The form's field "${printableFileName(field)}" was sent in parts (with [brackets] in its name): a caption is one text field. ${NOTHING_STORED}`,
      hint: 'Send caption for all files, caption-1 for the first, caption-2 for the second, and so on, each as one text field.',
    });
  }
}

/** A `caption-<n>` field whose n is not the place of one of the form's files (1 for the first). */
export class CaptionForNoFile extends AppError {
  constructor(field: string, fileCount: number) {
    super({
      kind: 'bad-input',
      title: 'Caption for no file',
      message: `The form's field "${printableFileName(field)}" is a caption for no file of the upload (it has ${fileCount}). ${NOTHING_STORED}`,
      hint: 'Send caption-1 for the first file, caption-2 for the second, and so on; or one caption for all.',
    });
  }
}

/**
 * One file of an upload refused for what it is: the upload's other files may still be stored. `reason` says why
 * without the file's name, for a list that shows the name beside it; the message names it.
 */
export class FileRefused extends AppError {
  readonly filename: string;
  readonly reason: string;
  constructor({
    filename,
    predicate,
    ...details
  }: Omit<AppErrorDetails, 'message' | 'refused'> & {
    /** The client's name for the file. */
    filename: string;
    /** What is wrong with the file, as the end of a sentence that starts with its name ("is empty (0 bytes)"). */
    predicate: string;
  }) {
    super({ ...details, message: `${quoteName(filename)} ${predicate}. ${NOTHING_STORED}` });
    this.filename = filename;
    this.reason = `It ${predicate}.`;
  }
}

/** Every file of an upload was refused: with one file, its own error; with several, each is listed with its reason. */
export class NoPhotoStored extends AppError {
  /** `refused`: each file's refusal with its place among the request's files (from 1). */
  constructor(refused: readonly { position: number; refused: FileRefused }[]) {
    const first = refused[0]?.refused;
    if (!first) throw new Error('NoPhotoStored needs the refused files');
    const listed: RefusedFile[] = refused.map(({ position, refused: file }) => ({ file: file.filename, reason: file.reason, position }));
    if (refused.length === 1)
      super({ kind: first.kind, title: first.title, message: first.message, hint: first.hint, cause: first.cause, refused: listed });
    else
      super({
        kind: first.kind,
        title: 'No photo stored',
        message: `None of the ${refused.length} files could be stored. ${NOTHING_STORED}`,
        hint: 'Each file is listed with the reason it was refused. Choose images in an accepted type and size, then upload again.',
        refused: listed,
      });
  }
}

export class EmptyFile extends FileRefused {
  constructor(filename: string) {
    super({ kind: 'bad-input', title: 'Empty file', filename, predicate: 'is empty (0 bytes)', hint: 'Choose the image file again.' });
  }
}

export class NotAnAcceptedImage extends FileRefused {
  constructor(filename: string, acceptedLabels: readonly string[]) {
    const accepted = listInWords(acceptedLabels);
    super({
      kind: 'unsupported-type',
      title: 'Not an accepted image',
      filename,
      predicate: `is not a ${accepted} image`,
      hint: `Accepted types: ${accepted}. The type is read from the file's content, not its name.`,
    });
  }
}

export class UnreadableImage extends FileRefused {
  constructor(filename: string, typeLabel: string, cause: unknown) {
    super({
      kind: 'unsupported-type',
      title: 'Not a readable image',
      filename,
      predicate: `starts like a ${typeLabel} image but could not be decoded`,
      hint: 'The file may be damaged or incomplete: try exporting it again.',
      cause,
    });
  }
}

/** Lossless, hierarchical and arithmetic-coded JPEGs: valid, but browsers do not show them. */
export class UnsupportedJpegCoding extends FileRefused {
  constructor(filename: string) {
    super({
      kind: 'unsupported-type',
      title: 'JPEG coding not supported',
      filename,
      predicate: 'is a JPEG coded in a way browsers do not show (lossless, hierarchical or arithmetic coding)',
      hint: 'Export it again as a standard JPEG.',
    });
  }
}

export class ImageTooLarge extends FileRefused {
  constructor(filename: string, typeLabel: string, width: number, height: number, frames: number, maxPixels: number) {
    const size = frames > 1 ? `${width} × ${height} pixels in ${frames} frames` : `${width} × ${height} pixels`;
    super({
      kind: 'too-large',
      title: 'Image too large',
      filename,
      predicate: `is ${size}; the limit for a ${typeLabel} image is ${formatMegapixels(maxPixels)} megapixels in all`,
      hint: 'Resize it (or export it as JPEG, which has the highest limit) before uploading.',
    });
  }
}

/** Built to keep a decoder busy (thousands of scans, say), or simply too slow to process. */
export class ImageTooComplex extends FileRefused {
  constructor(filename: string, cause: unknown) {
    super({
      kind: 'too-large',
      title: 'Image too complex',
      filename,
      predicate: 'would take too long to process',
      hint: 'Export it again (as a baseline JPEG, for example) before uploading.',
      cause,
    });
  }
}

export class FileTooLarge extends FileRefused {
  constructor(filename: string, maxBytes: number) {
    super({
      kind: 'too-large',
      title: 'File too large',
      filename,
      predicate: `is larger than the limit of ${formatBytes(maxBytes)} per file`,
      hint: 'Resize or compress the image, then upload it again.',
    });
  }
}

export class TooManyFiles extends AppError {
  constructor(maxFiles: number) {
    super({
      kind: 'too-large',
      title: 'Too many files',
      message: `One upload can hold at most ${maxFiles} files. ${NOTHING_STORED}`,
      hint: 'Upload fewer files at a time.',
    });
  }
}

/** The upload's refused files carry more bytes than a whole form of good ones could: the client is not sending a form. */
export class UploadTooLarge extends AppError {
  constructor(maxBytes: number) {
    super({
      kind: 'too-large',
      title: 'Upload too large',
      message: `The upload's files that could not be stored carry more than ${formatBytes(maxBytes)} in all. ${NOTHING_STORED}`,
      hint: 'Upload fewer files at a time, each under the size limit.',
    });
  }
}

/** This client already has as many bytes of uploads in progress as it may hold at once. */
export class UploadQuotaExceeded extends AppError {
  constructor(maxBytes: number) {
    super({
      kind: 'too-many-requests',
      title: 'Too many uploads at once',
      message: `This address already has ${formatBytes(maxBytes)} of uploads in progress. ${NOTHING_STORED}`,
      hint: 'Wait for your other uploads to finish, then try again.',
    });
  }
}

/** The server holds as many bytes of uploads in progress as its disk allows. */
export class UploadsBusy extends AppError {
  constructor() {
    super({
      kind: 'unavailable',
      title: 'Too busy receiving uploads',
      message: `The server is receiving as many uploads as it can hold right now. ${NOTHING_STORED}`,
      hint: 'Try again in a minute.',
    });
  }
}

/** The image queue is full: more photos wait for their images, from all clients, than the server makes at once. */
export class ImageQueueFull extends AppError {
  constructor() {
    super({
      kind: 'unavailable',
      title: 'Too busy making images',
      message: `The server is making the images of as many photos as it can queue right now. ${NOTHING_STORED}`,
      hint: 'Try again in a minute.',
    });
  }
}

/** This client already has as many photos waiting for their images as one upload may hold. */
export class ClientImagesWaiting extends AppError {
  constructor(maxWaiting: number) {
    super({
      kind: 'too-many-requests',
      title: 'Too many photos at once',
      message: `This address already has photos waiting for their images to be made (up to ${maxWaiting} at a time). ${NOTHING_STORED}`,
      hint: 'Wait for your other upload to finish, then try again.',
    });
  }
}

/** The server's own disk refused the upload while it arrived (full, or not writable): a fault, not the user's. */
export class UploadNotKept extends AppError {
  constructor(cause: unknown) {
    super({
      kind: 'unavailable',
      title: 'Upload not kept',
      message: `The server could not keep the upload while receiving it. ${NOTHING_STORED}`,
      hint: 'Try again later.',
      cause,
    });
  }
}

function captionOwnerInWords(owner: CaptionOwner | undefined): string {
  if (owner === undefined) return '';
  return 'filename' in owner ? ` for ${quoteName(owner.filename)}` : ` for file ${owner.position} of the upload`;
}

function quoteName(filename: string): string {
  const printable = printableFileName(filename);
  return printable ? `"${printable}"` : 'The file';
}

function formatMegapixels(pixels: number): string {
  return String(Math.round(pixels / 100_000) / 10);
}
