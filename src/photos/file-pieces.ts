// A file served as a plan rather than as it is on disk: new bytes from memory and ranges of the file,
// streamed in order, so a rebuilt image is never held whole in memory.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/** New bytes, or the bytes of the file from `start` up to (not including) `end`. */
export type FilePiece = Buffer | { start: number; end: number };

export interface PiecesPlan {
  pieces: FilePiece[];
  length: number;
}

export function planOf(pieces: FilePiece[]): PiecesPlan {
  return { pieces, length: pieces.reduce((sum, piece) => sum + (Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start), 0) };
}

/** The planned bytes of the file at `filePath`, as a stream. */
export function streamPieces(filePath: string, pieces: FilePiece[]): Readable {
  return Readable.from(readPieces(filePath, pieces));
}

async function* readPieces(filePath: string, pieces: FilePiece[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    if (Buffer.isBuffer(piece)) yield piece;
    else if (piece.end > piece.start) yield* createReadStream(filePath, { start: piece.start, end: piece.end - 1 });
  }
}
