// The full-size PNG as served: the re-encoded file's chunks that carry pixels, and nothing else. The
// encoder writes its own ancillary chunks (pHYs copies the upload's pixel density, a value an uploader
// chooses freely), so its output goes through the same allow-list as every served image.
import { open } from 'node:fs/promises';
import { type FilePiece, type PiecesPlan, planOf } from './file-pieces.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Header, palette, transparency, image data, end: what a decoder needs for the pixels. */
const PIXEL_CHUNKS = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND']);

/** Plans the PNG at `path` with only its pixel chunks (reads chunk headers only). */
export async function planPixelOnlyPng(path: string): Promise<PiecesPlan> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const pieces: FilePiece[] = [SIGNATURE];
    const header = Buffer.alloc(8);
    for (let offset = SIGNATURE.length; offset + 12 <= size; ) {
      await file.read(header, 0, 8, offset);
      const end = offset + 12 + header.readUInt32BE(0);
      if (PIXEL_CHUNKS.has(header.toString('latin1', 4, 8))) pieces.push({ start: offset, end: Math.min(end, size) });
      offset = end;
    }
    return planOf(pieces);
  } finally {
    await file.close();
  }
}
