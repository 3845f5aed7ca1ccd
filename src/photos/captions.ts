// Captions travel to S3 as user metadata, which is sent as HTTP headers. Node refuses header values
// outside Latin-1, and S3 mangles non-ASCII ones, so captions are stored as base64 of their UTF-8 bytes.

/** In characters (code points). 280 emoji are 1,120 UTF-8 bytes, 1,496 in base64: under S3's 2 KB metadata limit. */
export const MAX_CAPTION_LENGTH = 280;
/** The caption form field's size limit: MAX_CAPTION_LENGTH characters of up to 4 UTF-8 bytes each, and some slack. */
export const CAPTION_FIELD_BYTES = MAX_CAPTION_LENGTH * 4 + 64;

export function encodeCaption(caption: string): string {
  return Buffer.from(caption, 'utf8').toString('base64');
}

export function decodeCaption(encoded: string | undefined): string {
  return encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
}

/**
 * Trims the caption and normalises its Unicode form, so the same text typed on two systems is stored the same.
 * A caption is one line: line breaks and tabs become spaces, other control characters (NUL, escape, …) go.
 */
export function cleanCaption(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  return raw
    .normalize('NFC')
    .replace(/[\t\n\r\v\f\u0085]+/g, ' ')
    .replace(/\p{Cc}/gu, '')
    .trim();
}

export function captionLength(caption: string): number {
  return [...caption].length;
}
