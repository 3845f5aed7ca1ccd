// Reads an upload form into temporary files: the form token checked before the first file is written, every file
// written at the client's pace with each chunk counted against the upload's budget, its type sniffed from its
// first bytes. Returns the received files and the caption; a form that is wrong in any way is an AppError.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Request, Response } from 'express';
import multer from 'multer';
import { AppError } from '../../errors.js';
import { CAPTION_FIELD_BYTES, captionLength, cleanCaption, MAX_CAPTION_LENGTH } from '../captions.js';
import {
  CaptionTooLong,
  EmptyFile,
  FileTooLarge,
  FileWithoutName,
  MalformedUpload,
  NoPhotoChosen,
  NotAnAcceptedImage,
  NotAnUploadForm,
  TooManyFiles,
  UnexpectedFileField,
  UploadNotKept,
} from '../errors.js';
import { ACCEPTED_IMAGE_TYPES, detectImageType, type ImageType, SNIFF_BYTES } from '../image-type.js';
import type { UploadReservation } from '../upload-budget.js';
import type { TempFiles } from './temp-files.js';

/** The form's field that holds its files. */
const FILE_FIELD = 'photos';
/** The form's text fields: `_csrf` and `caption`. */
const MAX_TEXT_FIELDS = 4;

export interface UploadLimits {
  maxUploadBytes: number;
  maxFilesPerUpload: number;
}

/** A file of the form, received whole to a temporary file and sniffed. */
export interface ReceivedFile {
  path: string;
  size: number;
  type: ImageType;
  filename: string;
}

export interface ReceivedForm {
  /** At least one, in the form's order. */
  files: ReceivedFile[];
  caption: string;
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

/** Reads the multipart form of `req`; settles early, with the reason, if a file fails or the upload is stopped. */
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
  let oversizeFilename: string | undefined;
  let failFile!: (error: unknown) => void;
  /** The first file that failed: the form is answered at once, not when a slow client finishes sending it. */
  const fileFailure = new Promise<never>((_, reject) => (failFile = reject));
  fileFailure.catch(() => {}); // raced below; this only keeps it from going unhandled

  const receiveFile = async (file: Express.Multer.File): Promise<ReceivedFile> => {
    requireFormToken();
    upload.signal.throwIfAborted();
    await mkdir(tempDir, { recursive: true, mode: 0o700 });
    // The upload may have answered meanwhile (another file failed): its temporary files are being removed.
    upload.signal.throwIfAborted();
    const tempPath = path.join(tempDir, randomUUID());
    const writer = new CountedFileWriter(createWriteStream(tempPath), upload.reservation);
    upload.tempFiles.add(tempPath, writer.fileClosed);
    const stop = (error: Error) => writer.destroy(error);
    // multer raises its own LIMIT_FILE_SIZE; the copy stops here first, and the name is kept for the message.
    file.stream.once('limit', () => {
      oversizeFilename = file.originalname;
      stop(new FileTooLarge(file.originalname, limits.maxUploadBytes));
    });
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
      file.stream.resume();
      writer.destroy();
      throw error;
    } finally {
      upload.signal.removeEventListener('abort', onAbort);
    }
  };

  /** multer hands each file here: written to disk at the client's pace, its type read from its first bytes. */
  const storage: multer.StorageEngine = {
    _handleFile(_req, file, callback) {
      receiveFile(file).then(
        (received) => callback(null, received as Partial<Express.Multer.File>),
        (error: unknown) => {
          failFile(error);
          callback(error as Error);
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
    limits: {
      fileSize: limits.maxUploadBytes,
      files: limits.maxFilesPerUpload,
      fields: MAX_TEXT_FIELDS,
      fieldSize: CAPTION_FIELD_BYTES,
      parts: limits.maxFilesPerUpload + MAX_TEXT_FIELDS,
    },
  }).array(FILE_FIELD, limits.maxFilesPerUpload);
  const parsed = new Promise<ReceivedFile[]>((resolve, reject) => {
    parse(req, res, (error?: unknown) =>
      error ? reject(formError(error, limits, oversizeFilename)) : resolve((req.files ?? []) as unknown as ReceivedFile[]),
    );
  });
  const stopped = new Promise<never>((_, reject) => {
    if (upload.signal.aborted) reject(upload.signal.reason);
    upload.signal.addEventListener('abort', () => reject(upload.signal.reason), { once: true });
  });
  // multer answers a failed file only once the whole request has arrived; a slow client must not hold it.
  const files = await Promise.race([
    parsed,
    stopped,
    fileFailure.catch((error: unknown) => Promise.reject(formError(error, limits, oversizeFilename))),
  ]);
  requireFormToken();
  return { files, caption: readCaption(req.body, files) };
}

/** The form's failure in the user's words: multer's and busboy's errors, and the temp folder's. */
function formError(error: unknown, limits: UploadLimits, oversizeFilename: string | undefined): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof multer.MulterError) {
    switch (error.code) {
      case 'LIMIT_FILE_SIZE':
        return new FileTooLarge(oversizeFilename, limits.maxUploadBytes);
      case 'LIMIT_FILE_COUNT':
        return new TooManyFiles(limits.maxFilesPerUpload);
      case 'LIMIT_FIELD_VALUE':
        // busboy takes a part without a filename for a text field, whatever its name and size.
        if (error.field === FILE_FIELD) return new FileWithoutName();
        return error.field === 'caption' ? new CaptionTooLong(MAX_CAPTION_LENGTH) : new MalformedUpload(error);
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

/** The form's caption, checked; and the form's other checks that need all of it. */
function readCaption(body: Record<string, unknown> | undefined, files: ReceivedFile[]): string {
  if (body?.[FILE_FIELD] !== undefined) throw new FileWithoutName();
  const captionField = body?.caption;
  // Two caption fields are not from the form: refuse rather than keep one silently.
  if (Array.isArray(captionField)) throw new MalformedUpload();
  const caption = cleanCaption(captionField);
  if (captionLength(caption) > MAX_CAPTION_LENGTH) throw new CaptionTooLong(MAX_CAPTION_LENGTH);
  if (files.length === 0) throw new NoPhotoChosen();
  return caption;
}

/**
 * Writes an upload to its temporary file one chunk at a time, each chunk counted against the upload's
 * budget before it is written, and keeps the first bytes for type sniffing.
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
