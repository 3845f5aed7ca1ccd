// The results of an upload sent without JavaScript, carried in the address of the page that shows them
// (Post/Redirect/Get): reloading that page stores nothing. They are sealed for the uploading browser (see
// BrowserSession.sealForBrowser), so the address shows no file name and no other browser can read or forge it.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { RefusedFile } from '../errors.js';
import { printableFileName } from '../format.js';
import { UploadResultsNotReadable } from './errors.js';
import { isPhotoId } from './photo-id.js';

/** Where the results are shown; the sealed results are its `results` query. */
export const UPLOAD_RESULTS_PATH = '/uploaded';
/** The longest address of a results page: well within what browsers, proxies (nginx: 8 KB a line) and S3 links allow. */
export const MAX_UPLOAD_RESULTS_ADDRESS = 4096;
const MAX_TOKEN_LENGTH = MAX_UPLOAD_RESULTS_ADDRESS - `${UPLOAD_RESULTS_PATH}?results=`.length;
/** Far more than any token of MAX_TOKEN_LENGTH inflates to: a bound on what opening one may cost. */
const MAX_INFLATED_BYTES = 256 * 1024;

export interface UploadResults {
  photos: { id: string; filename: string }[];
  refused: RefusedFile[];
  /** Files left out of the lists to keep the address short: counted, not named. */
  morePhotos: number;
  moreRefused: number;
}

/** Seals and opens bytes for the browser of the request (BrowserSession.sealForBrowser / openForBrowser). */
export interface BrowserSeal {
  seal(data: Buffer): string;
  open(token: string): Buffer | undefined;
}

/**
 * The address of the page that shows these results. Names are kept as the page shows them (printable, at most
 * 80 characters); when the lists do not fit MAX_UPLOAD_RESULTS_ADDRESS, the last refused files, then the last
 * photos, are only counted.
 */
export function uploadResultsAddress(
  sealer: BrowserSeal,
  photos: readonly { id: string; filename: string }[],
  refused: readonly RefusedFile[],
): string {
  const results: UploadResults = {
    photos: photos.map(({ id, filename }) => ({ id, filename: printableFileName(filename) })),
    refused: refused.map(({ file, reason, position }) => ({ file: printableFileName(file), reason, position })),
    morePhotos: 0,
    moreRefused: 0,
  };
  for (;;) {
    const token = sealer.seal(deflateRawSync(JSON.stringify(results)));
    if (token.length <= MAX_TOKEN_LENGTH) return `${UPLOAD_RESULTS_PATH}?results=${token}`;
    if (results.refused.pop()) results.moreRefused++;
    else if (results.photos.pop()) results.morePhotos++;
    else throw new Error('upload results too large even when empty');
  }
}

/** The results sealed in `token` for this browser; UploadResultsNotReadable for anything else. */
export function openUploadResults(sealer: BrowserSeal, token: unknown): UploadResults {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new UploadResultsNotReadable();
  const sealed = sealer.open(token);
  if (!sealed) throw new UploadResultsNotReadable();
  const results: unknown = JSON.parse(inflateRawSync(sealed, { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8'));
  if (!isUploadResults(results)) throw new UploadResultsNotReadable();
  return results;
}

/** Sealed by this app, but perhaps by another version of it: checked before it is shown. */
function isUploadResults(value: unknown): value is UploadResults {
  const results = value as UploadResults;
  return (
    Array.isArray(results?.photos) &&
    results.photos.every((photo) => typeof photo?.id === 'string' && isPhotoId(photo.id) && typeof photo.filename === 'string') &&
    Array.isArray(results.refused) &&
    results.refused.every(
      (file) => typeof file?.file === 'string' && typeof file.reason === 'string' && Number.isSafeInteger(file.position),
    ) &&
    Number.isSafeInteger(results.morePhotos) &&
    Number.isSafeInteger(results.moreRefused)
  );
}
