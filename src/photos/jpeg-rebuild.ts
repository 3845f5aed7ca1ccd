// The full-size copy of a JPEG, rebuilt from the segments that carry its pixels and nothing else, without
// decoding it: no quality is lost and no CPU is spent. An allow-list, not a block-list: camera metadata
// hides in many places (EXIF or XMP in APP segments, a second picture after the end marker, segments
// between the scans of a progressive JPEG), so every segment is dropped unless it is image data.
//
// Kept: SOI, DQT, DHT, DAC, DRI, DNL, SOFn, SOS with its entropy-coded data, EOI. Written fresh: a JFIF
// APP0, the Adobe APP14 colour transform (CMYK and RGB JPEGs need it to show the right colours) and an
// Orientation-only EXIF (so viewers show the photo upright). Nothing after EOI is kept.
import { open, type FileHandle } from 'node:fs/promises';

/** Where the rebuilt JPEG's bytes come from: new segments, and ranges of the uploaded file. */
export type JpegPiece = Buffer | { start: number; end: number };

export interface PixelOnlyJpeg {
  pieces: JpegPiece[];
  length: number;
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const DQT = 0xdb;
const DNL = 0xdc;
const DRI = 0xdd;
const DHT = 0xc4;
const DAC = 0xcc;
const APP14 = 0xee;
/** Frame headers (SOF0–SOF15 but DHT, JPG and DAC). Hierarchical ones (SOF5–7, 13–15) need DHP/EXP, refused below. */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc9, 0xca, 0xcb]);
const CHUNK_BYTES = 256 * 1024;

/**
 * Plans the pixel-only copy of the JPEG at `path`, or returns undefined when its structure is not a JPEG
 * this can vouch for (the caller refuses the upload rather than serve what it cannot check).
 */
export async function planPixelOnlyJpeg(path: string, orientation: number): Promise<PixelOnlyJpeg | undefined> {
  const file = await open(path, 'r');
  try {
    const pieces = await walkSegments(new FileReader(file, (await file.stat()).size), orientation);
    return pieces && { pieces, length: pieces.reduce((sum, piece) => sum + (Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start), 0) };
  } finally {
    await file.close();
  }
}

async function walkSegments(reader: FileReader, orientation: number): Promise<JpegPiece[] | undefined> {
  const soi = await reader.read(0, 2);
  if (soi[0] !== 0xff || soi[1] !== SOI) return undefined;
  const pieces: JpegPiece[] = [Buffer.from([0xff, SOI]), jfifSegment()];
  if (orientation >= 2 && orientation <= 8) pieces.push(orientationOnlyExif(orientation));
  let offset = 2;
  let sawFrame = false;
  while (offset < reader.size) {
    const marker = await reader.read(offset, 2);
    if (marker[0] !== 0xff || marker.length < 2) return undefined;
    const code = marker[1]!;
    if (code === 0xff) {
      offset += 1; // a fill byte before a marker
      continue;
    }
    if (code === EOI) {
      pieces.push(Buffer.from([0xff, EOI]));
      return sawFrame ? pieces : undefined;
    }
    const lengthBytes = await reader.read(offset + 2, 2);
    if (lengthBytes.length < 2) return undefined;
    const length = lengthBytes.readUInt16BE(0);
    const end = offset + 2 + length;
    if (length < 2 || end > reader.size) return undefined;
    const body = await reader.read(offset + 4, length - 2);
    if (SOF.has(code)) {
      if (!isFrameHeader(body)) return undefined;
      sawFrame = true;
      pieces.push({ start: offset, end });
    } else if (code === DQT ? isQuantizationTables(body) : code === DHT ? isHuffmanTables(body) : code === DRI || code === DNL ? body.length === 2 : code === DAC && body.length > 0 && body.length % 2 === 0) {
      pieces.push({ start: offset, end });
    } else if (code === APP14) {
      const transform = adobeColorTransform(body);
      if (transform !== undefined) pieces.push(adobeSegment(transform));
    } else if (code === SOS) {
      if (!sawFrame || !isScanHeader(body)) return undefined;
      const scanEnd = await reader.findMarkerAfterEntropyData(end);
      if (scanEnd === undefined) return undefined;
      pieces.push({ start: offset, end: scanEnd });
      offset = scanEnd;
      continue;
    } else if (!(code >= 0xe0 && code <= 0xef) && code !== 0xfe) {
      // Not image data, not an APPn or comment to drop: a JPEG this cannot vouch for (hierarchical, JPEG-LS…).
      return undefined;
    }
    // APPn and COM fall through: dropped.
    offset = end;
  }
  return undefined; // no EOI: a truncated file
}

/** SOFn: precision, height, width, component count, then 3 bytes per component, and nothing else. */
function isFrameHeader(body: Buffer): boolean {
  return body.length >= 6 && body.length === 6 + 3 * body[5]!;
}

/** SOS: component count, 2 bytes per component, then 3 bytes of spectral selection and approximation. */
function isScanHeader(body: Buffer): boolean {
  return body.length >= 1 && body.length === 1 + 2 * body[0]! + 3;
}

/** DQT: tables of 64 values (8- or 16-bit) that fill the segment exactly. */
function isQuantizationTables(body: Buffer): boolean {
  let at = 0;
  while (at < body.length) at += 1 + (body[at]! >> 4 === 0 ? 64 : 128);
  return at === body.length && body.length > 0;
}

/** DHT: tables of 16 code counts then that many symbols, filling the segment exactly. */
function isHuffmanTables(body: Buffer): boolean {
  let at = 0;
  while (at + 17 <= body.length) {
    let symbols = 0;
    for (let index = 1; index <= 16; index++) symbols += body[at + index]!;
    at += 17 + symbols;
  }
  return at === body.length && body.length > 0;
}

/** The colour transform byte of an Adobe APP14 segment, or undefined when the segment is not one. */
function adobeColorTransform(body: Buffer): number | undefined {
  return body.length >= 12 && body.toString('latin1', 0, 5) === 'Adobe' && body[11]! <= 2 ? body[11] : undefined;
}

function segment(code: number, body: Buffer): Buffer {
  const header = Buffer.from([0xff, code, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}

/** JFIF 1.01, no units, 1:1 pixel aspect, no embedded thumbnail. */
function jfifSegment(): Buffer {
  return segment(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]));
}

function adobeSegment(transform: number): Buffer {
  return segment(APP14, Buffer.from([0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, transform]));
}

/** An APP1 EXIF segment holding one tag, Orientation (0x0112), in big-endian TIFF. */
export function orientationOnlyExif(orientation: number): Buffer {
  const tiff = Buffer.from([
    0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, // "MM", 42, first IFD at offset 8
    0x00, 0x01, // one entry
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, orientation, 0x00, 0x00, // Orientation, SHORT, 1 value
    0x00, 0x00, 0x00, 0x00, // no next IFD
  ]);
  return segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]));
}

/** Reads an open file by position, a chunk at a time, so a large upload is never held whole. */
class FileReader {
  constructor(
    private readonly file: FileHandle,
    readonly size: number,
  ) {}

  async read(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(Math.max(0, Math.min(length, this.size - position)));
    if (buffer.length > 0) await this.file.read(buffer, 0, buffer.length, position);
    return buffer;
  }

  /**
   * Entropy-coded data runs until a marker: 0xFF followed by a byte that is neither 0x00 (a stuffed
   * 0xFF) nor a restart marker (0xD0–0xD7), which belong to the data. Returns that marker's offset.
   */
  async findMarkerAfterEntropyData(start: number): Promise<number | undefined> {
    for (let chunkStart = start; chunkStart < this.size; chunkStart += CHUNK_BYTES) {
      // One byte of overlap, so a 0xFF at the end of a chunk is read with the byte after it.
      const chunk = await this.read(chunkStart, CHUNK_BYTES + 1);
      let at = chunk.indexOf(0xff);
      while (at !== -1 && at + 1 < chunk.length) {
        const next = chunk[at + 1]!;
        if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7) && next !== 0xff) return chunkStart + at;
        at = chunk.indexOf(0xff, at + 1);
      }
    }
    return undefined;
  }
}
