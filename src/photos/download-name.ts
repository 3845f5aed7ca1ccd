// The name a downloaded photo is saved under: the uploader's file name, cleaned so that it can act as nothing
// but a name (no folder, quote, line break or direction change), with the extension of the file served, in a
// Content-Disposition header that S3 sends with the download (RFC 6266, with RFC 5987 for non-ASCII).

/** In UTF-8 bytes, base64 in S3 metadata: with the longest caption the record stays under S3's 2 KB (photo-record.test.ts). */
export const MAX_FILE_NAME_BYTES = 120;

/**
 * Characters that end a name's place in a header or a path, or change what a reader sees: controls (line
 * breaks among them), format characters (the bidirectional overrides and isolates that turn "gpj.exe" round,
 * zero-width characters), lone surrogates, line and paragraph separators, quotes, backslashes, and what Windows refuses.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}"\\/:*?<>|]/gu;

/**
 * The uploader's file name as it is stored: its last path segment only, unsafe characters removed, without
 * leading or trailing dots and spaces, at most MAX_FILE_NAME_BYTES (the extension kept). Cleaning a clean name
 * changes nothing, so a stored name is cleaned again on the way out as a caption is. '' when nothing is left.
 */
export function cleanFileName(raw: string): string {
  const lastSegment = raw.split(/[/\\]/).at(-1) ?? '';
  const safe = lastSegment.normalize('NFC').replace(UNSAFE, '');
  // An extension alone (".jpg", once a quote or an override before it is gone) is no name.
  if (/^[\s.]*\.[^.]*$/u.test(safe)) return '';
  const name = trimName(safe);
  if (Buffer.byteLength(name) <= MAX_FILE_NAME_BYTES) return name;
  const extension = /\.[\p{L}\p{N}]{1,10}$/u.exec(name)?.[0] ?? '';
  return (
    trimName(truncateUtf8(name.slice(0, name.length - extension.length), MAX_FILE_NAME_BYTES - Buffer.byteLength(extension))) + extension
  );
}

/** The name a download is saved under: the stored name with the served file's extension, or the photo's id. */
export function downloadFileName(storedName: string | undefined, photoId: string, extension: string): string {
  const stem = trimName(cleanFileName(storedName ?? '').replace(/\.[^.]*$/, ''));
  return `${stem || photoId}.${extension}`;
}

/**
 * `attachment`, with the name twice: in `filename*` exactly (UTF-8, percent-encoded), and in `filename` as
 * ASCII for the rare client that reads only that. The value is ASCII whatever the name: a header carries it.
 */
export function attachmentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\%]/gu, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Without the spaces and dots at either end. The lookbehind starts the trailing run only where a run begins: tried
 * from every position of a long run in the middle (a client's name of 16 KB of " ."), it would cost quadratic time.
 */
function trimName(name: string): string {
  return name.replace(/^[\s.]+|(?<![\s.])[\s.]+$/gu, '');
}

/** The longest start of `text` within `maxBytes` of UTF-8, never cutting a character in two. */
function truncateUtf8(text: string, maxBytes: number): string {
  let kept = '';
  let bytes = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    kept += char;
  }
  return kept;
}
