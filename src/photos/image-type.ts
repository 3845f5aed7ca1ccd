// Decides what an upload is from its first bytes, never from the client's mimetype or filename.

export interface ImageType {
  mime: string;
  extension: string;
  label: string;
}

const JPEG: ImageType = { mime: 'image/jpeg', extension: 'jpg', label: 'JPEG' };
const PNG: ImageType = { mime: 'image/png', extension: 'png', label: 'PNG' };
const WEBP: ImageType = { mime: 'image/webp', extension: 'webp', label: 'WebP' };
const GIF: ImageType = { mime: 'image/gif', extension: 'gif', label: 'GIF' };
const AVIF: ImageType = { mime: 'image/avif', extension: 'avif', label: 'AVIF' };

/** Named in the 415 page. HEIC is not here: sharp's prebuilt libvips cannot decode it. */
export const ACCEPTED_IMAGE_TYPES: readonly ImageType[] = [JPEG, PNG, WEBP, GIF, AVIF];

/** Enough bytes to recognise every accepted type. */
export const SNIFF_BYTES = 32;

export function detectImageType(head: Buffer): ImageType | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return JPEG;
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return PNG;
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return WEBP;
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return GIF;
  // ISO base media: a `ftyp` box whose major brand names the format.
  if (ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (brand === 'avif' || brand === 'avis') return AVIF;
  }
  return undefined;
}

export function imageTypeByExtension(extension: string): ImageType | undefined {
  return ACCEPTED_IMAGE_TYPES.find((type) => type.extension === extension);
}

function startsWith(buffer: Buffer, bytes: number[]): boolean {
  return bytes.every((byte, index) => buffer[index] === byte);
}

function ascii(buffer: Buffer, start: number, end: number): string {
  return buffer.subarray(start, end).toString('latin1');
}
