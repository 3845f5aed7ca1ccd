// Text the app shows, formatted the same on every page and in every message. A leaf: it imports nothing.

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/** The longest file name shown; a longer one is cut, with an ellipsis. */
const MAX_SHOWN_NAME_LENGTH = 80;

/**
 * A name the client chose (a file's), as it may be shown: without control or format characters (directional
 * overrides and isolates among them, which could reorder the page around it), its line and paragraph separators
 * spaces (a paragraph separator ends every isolate around it, as in a caption), and at most 80 characters long.
 */
export function printableFileName(name: string): string {
  const printable = [...name.replace(/[\u2028\u2029]/g, ' ').replace(/\p{C}/gu, '')];
  return printable.length > MAX_SHOWN_NAME_LENGTH ? `${printable.slice(0, MAX_SHOWN_NAME_LENGTH).join('')}…` : printable.join('');
}

/** "A, B or C": a choice in words. */
export function listInWords(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
