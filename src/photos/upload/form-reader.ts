// Reads an upload form into temporary files: the form token checked before the first file is written, every file
// written at the client's pace with each chunk counted against the upload's budget, its type sniffed from its
// first bytes. Returns the received files, each with its caption, and those refused for what they are; a form that
// is wrong as a whole is an AppError.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Request, Response } from 'express';
import multer from 'multer';
import { AppError } from '../../errors.js';
import { acceptCaption, CAPTION_FIELD_BYTES, MAX_CAPTION_LENGTH } from '../captions.js';
import {
  CaptionForNoFile,
  CaptionInParts,
  CaptionTooLong,
  EmptyFile,
  FileTooLarge,
  FileRefused,
  FileWithoutName,
  MalformedUpload,
  NoPhotoChosen,
  NotAnAcceptedImage,
  NotAnUploadForm,
  TooManyFiles,
  UnexpectedFileField,
  UploadNotKept,
  UploadTooLarge,
} from '../errors.js';
import { ACCEPTED_IMAGE_TYPES, detectImageType, type ImageType, SNIFF_BYTES } from '../image-type.js';
import type { UploadReservation } from '../upload-budget.js';
import type { TempFiles } from './temp-files.js';

/** The form's field that holds its files. */
const FILE_FIELD = 'photos';
/** The form's text fields besides each file's own caption: `_csrf` and `caption`. */
const MAX_TEXT_FIELDS = 4;
/** A file's own caption: `caption-1` for the first file of the form, and so on. */
const FILE_CAPTION_FIELD = /^caption-([1-9][0-9]{0,3})$/;

export interface UploadLimits {
  maxUploadBytes: number;
  maxFilesPerUpload: number;
}

/** A file of the form, received whole to a temporary file and sniffed. */
export interface ReceivedFile {
  path: string;
  size: number;
  type: ImageType;
  /** The client's name for the file. */
  filename: string;
  /** Its place among the form's files, from 1. */
  position: number;
  /** Its own caption (`caption-<n>`), else the form's (`caption`), cleaned and checked. */
  caption: string;
}

/** A file of the form refused for what it is: nothing of it is kept. */
export interface RefusedPart {
  position: number;
  refused: FileRefused;
}

export interface ReceivedForm {
  /** In the form's order; with `refused`, at least one file. */
  files: ReceivedFile[];
  refused: RefusedPart[];
}

export interface FormReaderOptions {
  limits: UploadLimits;
  tempDir: string;
  /** Throws (a FormExpired) unless the request carries this browser's form token. */
  checkFormToken: (req: Request) => void;
}

/** What the form reader needs of the upload it reads for. */
export interface UploadUnderWay {
  /** Stops the reading: it then rejects with the signal's reason. */
  signal: AbortSignal;
  reservation: UploadReservation;
  tempFiles: TempFiles;
}

/**
 * Reads the multipart form of `req`. A file refused for what it is (see FileRefused) is set aside, its bytes read
 * and thrown away, and the others are read on; any other failure settles the reading early, with the reason,
 * without waiting for a slow client to send the rest: so does the upload being stopped.
 */
export async function readUploadForm(
  req: Request,
  res: Response,
  upload: UploadUnderWay,
  { limits, tempDir, checkFormToken }: FormReaderOptions,
): Promise<ReceivedForm> {
  if (!req.is('multipart/form-data')) throw new NotAnUploadForm();
  // Every file being received, and the form itself, listen for the upload being stopped.
  setMaxListeners(limits.maxFilesPerUpload + MAX_TEXT_FIELDS, upload.signal);
  let formTokenChecked = false;
  /** Checks the form token once, before the first file is written (the form sends it first). */
  const requireFormToken = () => {
    if (formTokenChecked) return;
    checkFormToken(req);
    formTokenChecked = true;
  };
  let failForm!: (error: unknown) => void;
  /** The first failure that ends the form: it is answered at once, not when a slow client finishes sending it. */
  const formFailure = new Promise<never>((_, reject) => (failForm = reject));
  formFailure.catch(() => {}); // raced below; this only keeps it from going unhandled
  const receiving = { upload, tempDir, maxBytes: limits.maxUploadBytes, requireFormToken };
  /** What a legitimate form could carry in all: refused files' bytes, read and thrown away, may not pass it. */
  const maxDiscardedBytes = limits.maxFilesPerUpload * limits.maxUploadBytes;
  let discardedBytes = 0;
  /** The client's name of each file handled so far, by its place (from 1): for the messages about its caption. */
  const fileNames: string[] = [];

  /** multer hands each file here, in the form's order; a refused one is drained so that the next can be read. */
  const storage: multer.StorageEngine = {
    _handleFile(_req, file, callback) {
      const position = fileNames.push(file.originalname);
      receiveFile(file, receiving).then(
        (received) => callback(null, { ...received, position } as Partial<Express.Multer.File>),
        (error: unknown) => {
          if (!(error instanceof FileRefused) || upload.signal.aborted) {
            file.stream.resume();
            failForm(error);
            callback(error as Error);
            return;
          }
          file.stream.on('data', (chunk: Buffer) => {
            discardedBytes += chunk.length;
            if (discardedBytes > maxDiscardedBytes) failForm(new UploadTooLarge(maxDiscardedBytes));
          });
          file.stream.resume();
          callback(null, { position, refused: error } as unknown as Partial<Express.Multer.File>);
        },
      );
    },
    // Called for files already received when a later part fails: the upload removes all its files itself.
    _removeFile(_req, _file, callback) {
      callback(null);
    },
  };

  const parse = multer({
    storage,
    // Browsers send file names as raw UTF-8 (busboy's default, Latin-1, garbles "Фото.jpg" in messages).
    defParamCharset: 'utf8',
    // No fileSize: multer would end the whole form at a file over it; the writer refuses that file alone.
    limits: {
      files: limits.maxFilesPerUpload,
      fields: MAX_TEXT_FIELDS + limits.maxFilesPerUpload,
      fieldSize: CAPTION_FIELD_BYTES,
      parts: 2 * limits.maxFilesPerUpload + MAX_TEXT_FIELDS,
    },
  }).array(FILE_FIELD, limits.maxFilesPerUpload);
  const parsed = new Promise<HandledFile[]>((resolve, reject) => {
    parse(req, res, (error?: unknown) =>
      error ? reject(formError(error, limits, fileNames)) : resolve((req.files ?? []) as unknown as HandledFile[]),
    );
  });
  const stopped = new Promise<never>((_, reject) => {
    if (upload.signal.aborted) reject(upload.signal.reason);
    upload.signal.addEventListener('abort', () => reject(upload.signal.reason), { once: true });
  });
  // multer answers a failed file only once the whole request has arrived; a slow client must not hold it.
  const handled = await Promise.race([
    parsed,
    stopped,
    formFailure.catch((error: unknown) => Promise.reject(formError(error, limits, fileNames))),
  ]);
  requireFormToken();
  const captions = readCaptions(req.body, fileNames);
  if (handled.length === 0) throw new NoPhotoChosen();
  return {
    files: handled.flatMap((file) => ('refused' in file ? [] : [{ ...file, caption: captions[file.position - 1]! }])),
    refused: handled.filter((file): file is RefusedPart => 'refused' in file),
  };
}

/** What the storage engine gives multer for each file. */
type HandledFile = Omit<ReceivedFile, 'caption'> | RefusedPart;

interface FileReceiving {
  upload: UploadUnderWay;
  tempDir: string;
  maxBytes: number;
  requireFormToken: () => void;
}

/** Writes one file to a temporary file at the client's pace, its type read from its first bytes. */
async function receiveFile(
  file: Express.Multer.File,
  { upload, tempDir, maxBytes, requireFormToken }: FileReceiving,
): Promise<Omit<ReceivedFile, 'position' | 'caption'>> {
  requireFormToken();
  upload.signal.throwIfAborted();
  await mkdir(tempDir, { recursive: true, mode: 0o700 });
  // The upload may have answered meanwhile (another file failed): its temporary files are being removed.
  upload.signal.throwIfAborted();
  const tempPath = path.join(tempDir, randomUUID());
  const writer = new CountedFileWriter(
    createWriteStream(tempPath),
    upload.reservation,
    () => new FileTooLarge(file.originalname, maxBytes),
    maxBytes,
  );
  upload.tempFiles.add(tempPath, writer.fileClosed);
  const stop = (error: Error) => writer.destroy(error);
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
    writer.destroy();
    throw error;
  } finally {
    file.stream.off('error', stop);
    upload.signal.removeEventListener('abort', onAbort);
  }
}

/** The form's failure in the user's words: multer's and busboy's errors, and the temp folder's. */
function formError(error: unknown, limits: UploadLimits, fileNames: readonly string[]): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof multer.MulterError) {
    switch (error.code) {
      case 'LIMIT_FILE_COUNT':
        return new TooManyFiles(limits.maxFilesPerUpload);
      case 'LIMIT_FIELD_VALUE':
        // busboy takes a part without a filename for a text field, whatever its name and size.
        if (error.field === FILE_FIELD) return new FileWithoutName();
        if (error.field === 'caption') return new CaptionTooLong(MAX_CAPTION_LENGTH, { by: 'field-size' });
        return FILE_CAPTION_FIELD.test(error.field ?? '') ? captionPastFieldLimit(error.field!, fileNames) : new MalformedUpload(error);
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

/** A file's own caption past the field's size limit, naming its file: by its place when its name has not arrived yet. */
function captionPastFieldLimit(field: string, fileNames: readonly string[]): CaptionTooLong {
  const position = Number(FILE_CAPTION_FIELD.exec(field)![1]);
  const filename = fileNames[position - 1];
  return new CaptionTooLong(MAX_CAPTION_LENGTH, { by: 'field-size' }, filename === undefined ? { position } : { filename });
}

/**
 * The caption of each file, by its place: its own (`caption-<n>`) unless empty, else the form's (`caption`), each
 * cleaned and checked; and the form's other check that needs all of it.
 */
function readCaptions(body: Record<string, unknown> | undefined, fileNames: readonly string[]): string[] {
  if (body?.[FILE_FIELD] !== undefined) throw new FileWithoutName();
  const forAll = readCaption('caption', body?.caption);
  const own = new Map<number, string>();
  for (const [field, value] of Object.entries(body ?? {})) {
    if (!field.startsWith('caption-')) continue;
    const position = Number(FILE_CAPTION_FIELD.exec(field)?.[1]);
    if (!(position <= fileNames.length)) throw new CaptionForNoFile(field, fileNames.length);
    const caption = readCaption(field, value, fileNames[position - 1]);
    // Empty means "the caption for all", as a field left out does: the upload script leaves out an empty one, and
    // a script sending every field must not remove the shared caption from a file it left blank.
    if (caption) own.set(position, caption);
  }
  return fileNames.map((_, index) => own.get(index + 1) ?? forAll);
}

/** One caption field, cleaned and checked; `filename` when it is that file's own. */
function readCaption(name: string, field: unknown, filename?: string): string {
  // Two fields of one name are not from the form: refuse rather than keep one silently.
  if (Array.isArray(field)) throw new MalformedUpload();
  // `caption[x]` arrives as an object (multer reads brackets as nesting); a name the form does not have is
  // ignored, but this one is a caption, and read as text it would be stored empty.
  if (field !== undefined && typeof field !== 'string') throw new CaptionInParts(name);
  return acceptCaption(field, filename);
}

/**
 * Writes an upload to its temporary file one chunk at a time, each chunk counted against the upload's
 * budget before it is written, and keeps the first bytes for type sniffing. A file past `maxBytes` fails with `tooLarge()`.
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
    private readonly tooLarge: () => Error,
    private readonly maxBytes: number,
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
    // Awaited by the reader; these only keep a rejection from going unhandled meanwhile.
    this.head.catch(() => {});
    this.done.catch(() => {});
    file.once('error', (error) => this.destroy(error));
    this.fileClosed = new Promise((resolve) => file.once('close', () => resolve()));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.bytes + chunk.length > this.maxBytes) {
      callback(this.tooLarge());
      return;
    }
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
