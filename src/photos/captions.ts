// Captions travel to S3 as user metadata, which is sent as HTTP headers. Node refuses header values
// outside Latin-1, and S3 mangles non-ASCII ones, so captions are stored as base64 of their UTF-8 bytes.
import { CaptionTooLong } from './errors.js';

/**
 * In characters as a reader counts them (grapheme clusters): an emoji family, a flag or a letter with its accents
 * is one, however many code points make it.
 */
export const MAX_CAPTION_LENGTH = 280;
/**
 * In UTF-8 bytes: 1,600 in base64, which with every other field of a record at its largest stays under S3's
 * 2 KB of user metadata (photo-record.test.ts adds it up). 280 emoji of 4 bytes fit; 280 emoji families do not.
 */
export const MAX_CAPTION_BYTES = 1200;
/**
 * The caption form field's size limit: twice the bytes a caption may have, so that spaces and controls that
 * cleaning removes still leave it to be counted and answered in characters; a bigger field is refused unread.
 */
export const CAPTION_FIELD_BYTES = MAX_CAPTION_BYTES * 2;

export function encodeCaption(caption: string): string {
  return Buffer.from(caption, 'utf8').toString('base64');
}

/** A stored caption, cleaned again on the way out: records written by an earlier version, or by hand, are shown safely too. */
export function decodeCaption(encoded: string | undefined): string {
  return encoded ? cleanCaption(Buffer.from(encoded, 'base64').toString('utf8')) : '';
}

/**
 * Trims the caption and normalises its Unicode form, so the same text typed on two systems is stored the same.
 * A caption is one line: line breaks and tabs become spaces (the paragraph separator too: it would end every
 * isolate around the caption), other control characters (NUL, escape, …) go. Its directional controls are balanced.
 */
export function cleanCaption(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  return balanceDirectionalControls(
    raw
      .normalize('NFC')
      .replace(/[\t\n\r\v\f\u0085\u2028\u2029]+/g, ' ')
      .replace(/\p{Cc}/gu, '')
      .trim(),
  );
}

const POP_DIRECTIONAL_FORMATTING = '\u202C';
const POP_DIRECTIONAL_ISOLATE = '\u2069';
/** LRE, RLE, LRO, RLO: each is closed by a PDF. */
const EMBEDDINGS_AND_OVERRIDES = new Set(['\u202A', '\u202B', '\u202D', '\u202E']);
/** LRI, RLI, FSI: each is closed by a PDI. */
const ISOLATES = new Set(['\u2066', '\u2067', '\u2068']);

/**
 * Pairs every directional embedding, override and isolate the text opens with its closer, so the text cannot
 * reach outside itself wherever it is shown: a page title wraps a caption in FSI … PDI, and a caption's own PDI
 * would end that isolate early, letting an RLO after it reverse the app's name. The rules are the Unicode
 * Bidirectional Algorithm's (UAX #9, X6a–X7): a PDF closes only an embedding opened inside the same isolate, a
 * PDI closes its isolate and every embedding still open inside it. Closers with nothing to close are dropped;
 * what is still open at the end is closed there, as the end of a paragraph would. The text a writer meant,
 * an English phrase isolated in Arabic say, is kept as it was typed.
 */
export function balanceDirectionalControls(text: string): string {
  /** The closers owed, innermost last. */
  const owed: string[] = [];
  let balanced = '';
  for (const char of text) {
    if (EMBEDDINGS_AND_OVERRIDES.has(char)) owed.push(POP_DIRECTIONAL_FORMATTING);
    else if (ISOLATES.has(char)) owed.push(POP_DIRECTIONAL_ISOLATE);
    else if (char === POP_DIRECTIONAL_FORMATTING) {
      if (owed.at(-1) !== POP_DIRECTIONAL_FORMATTING) continue;
      owed.pop();
    } else if (char === POP_DIRECTIONAL_ISOLATE) {
      const isolate = owed.lastIndexOf(POP_DIRECTIONAL_ISOLATE);
      if (isolate < 0) continue;
      // The embeddings still open inside the isolate are closed first, in order.
      balanced += owed.splice(isolate).slice(1).reverse().join('');
    }
    balanced += char;
  }
  return balanced + owed.reverse().join('');
}

/**
 * A caption as a form sent it, cleaned and checked against both limits: the one rule for uploads and edits.
 * `filename`: the file whose own caption it is, named in the refusal.
 */
export function acceptCaption(field: unknown, filename?: string): string {
  const caption = cleanCaption(field);
  const characters = captionCharacters(caption);
  const owner = filename === undefined ? undefined : { filename };
  if (characters.length > MAX_CAPTION_LENGTH) throw new CaptionTooLong(MAX_CAPTION_LENGTH, { by: 'characters' }, owner);
  if (Buffer.byteLength(caption, 'utf8') > MAX_CAPTION_BYTES) {
    const over = { by: 'room', characters: characters.length, fitting: charactersThatFit(characters) } as const;
    throw new CaptionTooLong(MAX_CAPTION_LENGTH, over, owner);
  }
  return caption;
}

/** Up to this many characters, a caption is the photo page's heading; a longer one is shown as body text. */
export const MAX_HEADING_CAPTION_LENGTH = 80;

export function captionLength(caption: string): number {
  return captionCharacters(caption).length;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The caption's characters as a reader sees them (grapheme clusters). */
function captionCharacters(caption: string): string[] {
  return Array.from(graphemes.segment(caption), ({ segment }) => segment);
}

/** How many of the first characters fit in MAX_CAPTION_BYTES: what the user may keep. */
function charactersThatFit(characters: readonly string[]): number {
  let bytes = 0;
  let fitting = 0;
  for (const character of characters) {
    bytes += Buffer.byteLength(character, 'utf8');
    if (bytes > MAX_CAPTION_BYTES) break;
    fitting++;
  }
  return fitting;
}
