// Removes a JPEG's metadata without decoding it: the EXIF (camera, GPS), XMP, IPTC and comment segments
// are dropped and every image byte is kept, so the full-size copy loses no quality and costs no CPU.
// Only the orientation survives, in a minimal EXIF block, so viewers still show the photo upright.

import { open } from 'node:fs/promises';

const SOI = 0xd8;
const SOS = 0xda;
const APP1 = 0xe1; // EXIF and XMP
const APP13 = 0xed; // IPTC (Photoshop)
const COM = 0xfe;
const DROPPED = new Set([APP1, APP13, COM]);

/** A metadata-free JPEG as its new header and where, in the original file, the image data to append starts. */
export interface StrippedJpeg {
  header: Buffer;
  imageDataOffset: number;
}

/** Metadata segments are at most 64 KiB each; a header longer than this is not a camera's. */
const MAX_HEADER_BYTES = 1024 * 1024;

/**
 * Reads only the header of the JPEG at `path` and returns it without metadata, or undefined when its
 * segment structure is not what this expects (the caller then re-encodes instead). `orientation` is the
 * EXIF orientation to keep (1 = none).
 */
export async function stripJpegFileMetadata(path: string, orientation: number): Promise<StrippedJpeg | undefined> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(MAX_HEADER_BYTES), 0, MAX_HEADER_BYTES, 0);
    return stripJpegHeader(buffer.subarray(0, bytesRead), orientation);
  } finally {
    await file.close();
  }
}

/** The whole metadata-free JPEG in memory: for small images and tests. */
export function stripJpegMetadata(jpeg: Buffer, orientation: number): Buffer | undefined {
  const stripped = stripJpegHeader(jpeg, orientation);
  return stripped && Buffer.concat([stripped.header, jpeg.subarray(stripped.imageDataOffset)]);
}

function stripJpegHeader(jpeg: Buffer, orientation: number): StrippedJpeg | undefined {
  if (jpeg[0] !== 0xff || jpeg[1] !== SOI) return undefined;
  const kept: Buffer[] = [jpeg.subarray(0, 2)];
  let offset = 2;
  let orientationWritten = false;
  while (offset + 4 <= jpeg.length) {
    if (jpeg[offset] !== 0xff) return undefined;
    const marker = jpeg[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === SOS) {
      // Entropy-coded data follows up to the end of the image: all of it is kept as it is.
      return { header: Buffer.concat(kept), imageDataOffset: offset };
    }
    const length = jpeg.readUInt16BE(offset + 2);
    if (length < 2 || offset + 2 + length > jpeg.length) return undefined;
    const segment = jpeg.subarray(offset, offset + 2 + length);
    if (DROPPED.has(marker)) {
      if (!orientationWritten && orientation !== 1) {
        kept.push(orientationOnlyExif(orientation));
        orientationWritten = true;
      }
    } else {
      kept.push(segment);
    }
    offset += 2 + length;
  }
  return undefined;
}

/** An APP1 EXIF segment holding one tag, Orientation (0x0112), in big-endian TIFF. */
function orientationOnlyExif(orientation: number): Buffer {
  const tiff = Buffer.from([
    0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, // "MM", 42, first IFD at offset 8
    0x00, 0x01, // one entry
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, orientation, 0x00, 0x00, // Orientation, SHORT, 1 value
    0x00, 0x00, 0x00, 0x00, // no next IFD
  ]);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const header = Buffer.from([0xff, APP1, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}
