// The full-size copy of a JPEG, rebuilt from the segments that carry its pixels and nothing else, without
// decoding it: no quality is lost and no CPU is spent. An allow-list, not a block-list: camera metadata
// hides in many places (EXIF or XMP in APP segments, a second picture after the end marker, segments
// between the scans of a progressive JPEG), so every segment is dropped unless it is image data.
//
// Kept: SOI, the frame header, each scan with its entropy-coded data, the quantisation and Huffman tables
// those scans use (each rewritten as a segment of its own; a table no scan uses is dropped), DRI, DNL, EOI.
// Written fresh: the segments that declare its colours as the upload's did (a JFIF or Adobe segment, and the
// app's own copy of a recognised ICC profile: see jpeg-colour.ts) and an Orientation-only EXIF (so viewers
// show the photo upright). Nothing after EOI.
import { open, type FileHandle } from 'node:fs/promises';
import { type FilePiece, type PiecesPlan, planOf } from './file-pieces.js';
import { JpegColourDeclaration } from './jpeg-colour.js';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const DQT = 0xdb;
const DNL = 0xdc;
const DRI = 0xdd;
const DHT = 0xc4;
/**
 * Frame headers served: baseline, extended and progressive Huffman-coded JPEGs (SOF0–SOF2). Lossless
 * (SOF3), hierarchical (SOF5–7, 13–15) and arithmetic-coded ones (SOF9–11, whose DAC tables are free-form
 * and which browsers do not decode) are refused.
 */
const SOF = new Set([0xc0, 0xc1, 0xc2]);
const OTHER_CODINGS = new Set([0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf]);
const CHUNK_BYTES = 256 * 1024;

/**
 * Plans the pixel-only copy of the JPEG at `path`. Throws UnservableJpeg when its structure is not a JPEG
 * this can vouch for, or it has more scans than a photo needs (the caller refuses the upload rather than
 * serve what it cannot check, or decode what would hold the image worker for a minute). Returns undefined
 * when its colours cannot be carried over as they are (the caller converts it to sRGB instead).
 */
export async function planPixelOnlyJpeg(path: string, orientation: number): Promise<PiecesPlan | undefined> {
  const file = await open(path, 'r');
  try {
    const colour = new JpegColourDeclaration();
    const walked = await walkSegments(new FileReader(file, (await file.stat()).size), colour);
    const colourSegments = colour.headerSegments();
    if (!colourSegments) return undefined;
    const head = [
      Buffer.from([0xff, SOI]),
      ...colourSegments.map(({ marker, body }) => segment(marker, body)),
      ...(orientation >= 2 && orientation <= 8 ? [orientationOnlyExif(orientation)] : []),
    ];
    // Each table a scan uses becomes a segment of its own; tables no scan uses are dropped.
    const pieces = walked.flatMap((piece): FilePiece[] =>
      'marker' in piece ? (piece.used ? [segment(piece.marker, piece.bytes)] : []) : [piece],
    );
    return planOf([...head, ...pieces]);
  } finally {
    await file.close();
  }
}

/** A JPEG this does not serve, and why (the caller refuses the upload with it). */
export class UnservableJpeg extends Error {
  constructor(readonly reason: 'structure' | 'too-many-scans' | 'unsupported-coding') {
    super(
      reason === 'structure'
        ? 'JPEG structure not recognised by the pixel-only rebuild'
        : reason === 'too-many-scans'
          ? `more than ${MAX_SCANS} scans`
          : 'a lossless, hierarchical or arithmetic-coded JPEG',
    );
    this.name = 'UnservableJpeg';
  }
}

/** Progressive JPEGs have about ten scans; thousands of empty ones make a decoder spin for a minute. */
export const MAX_SCANS = 64;

/** A quantisation or Huffman table, kept only if a scan that decodes pixels uses it. */
interface TableDefinition {
  marker: number;
  bytes: Buffer;
  used: boolean;
}

/** The pieces after SOI; what the JPEG says about its colours before its first scan goes to `colour`. */
async function walkSegments(reader: FileReader, colour: JpegColourDeclaration): Promise<(FilePiece | TableDefinition)[]> {
  const soi = await reader.read(0, 2);
  if (soi[0] !== 0xff || soi[1] !== SOI) throw new UnservableJpeg('structure');
  const pieces: (FilePiece | TableDefinition)[] = [];
  // The table each slot holds now ("q0".."q3", "dc0".., "ac0"..): a scan uses the tables current when it starts.
  const current = new Map<string, TableDefinition>();
  let frame: { progressive: boolean; quantTableOf: Map<number, number> } | undefined;
  let scans = 0;
  let offset = 2;
  const define = (marker: number, slot: string, bytes: Buffer) => {
    const table = { marker, bytes, used: false };
    current.set(slot, table);
    pieces.push(table);
  };
  while (offset < reader.size) {
    const marker = await reader.read(offset, 2);
    if (marker[0] !== 0xff || marker.length < 2) throw new UnservableJpeg('structure');
    const code = marker[1]!;
    if (code === 0xff) {
      offset += 1; // a fill byte before a marker
      continue;
    }
    if (code === EOI) {
      if (!frame || scans === 0) throw new UnservableJpeg('structure');
      pieces.push(Buffer.from([0xff, EOI]));
      return pieces;
    }
    const lengthBytes = await reader.read(offset + 2, 2);
    if (lengthBytes.length < 2) throw new UnservableJpeg('structure');
    const length = lengthBytes.readUInt16BE(0);
    const end = offset + 2 + length;
    if (length < 2 || end > reader.size) throw new UnservableJpeg('structure');
    const body = await reader.read(offset + 4, length - 2);
    if (OTHER_CODINGS.has(code)) throw new UnservableJpeg('unsupported-coding');
    if (SOF.has(code)) {
      if (frame || !isFrameHeader(body)) throw new UnservableJpeg('structure');
      const quantTableOf = new Map<number, number>();
      for (let index = 0; index < body[5]!; index++) quantTableOf.set(body[6 + 3 * index]!, body[8 + 3 * index]! & 0x0f);
      frame = { progressive: code === 0xc2, quantTableOf };
      colour.noteFrame(body);
      pieces.push({ start: offset, end });
    } else if (code === DQT) {
      const tables = splitQuantizationTables(body);
      if (!tables) throw new UnservableJpeg('structure');
      for (const table of tables) define(DQT, `q${table[0]! & 0x0f}`, table);
    } else if (code === DHT) {
      const tables = splitHuffmanTables(body);
      if (!tables) throw new UnservableJpeg('structure');
      for (const table of tables) define(DHT, `${table[0]! >> 4 === 0 ? 'dc' : 'ac'}${table[0]! & 0x0f}`, table);
    } else if (code === DRI || code === DNL) {
      if (body.length !== 2) throw new UnservableJpeg('structure');
      pieces.push({ start: offset, end });
    } else if (code === SOS) {
      if (!frame || !isScanHeader(body)) throw new UnservableJpeg('structure');
      if (++scans > MAX_SCANS) throw new UnservableJpeg('too-many-scans');
      markTablesUsedBy(body, frame, current);
      const scanEnd = await reader.findMarkerAfterEntropyData(end);
      if (scanEnd === undefined) throw new UnservableJpeg('structure');
      pieces.push({ start: offset, end: scanEnd });
      offset = scanEnd;
      continue;
    } else if (!(code >= 0xe0 && code <= 0xef) && code !== 0xfe) {
      // Not image data, not an APPn or comment to drop: a JPEG this cannot vouch for (hierarchical, JPEG-LS…).
      throw new UnservableJpeg('structure');
    }
    // APPn and COM fall through: dropped, once what they say about colours is noted.
    if (code >= 0xe0 && code <= 0xef && scans === 0) colour.noteSegment(code, body);
    offset = end;
  }
  throw new UnservableJpeg('structure'); // no EOI: a truncated file
}

/**
 * Marks the tables a scan decodes with: the quantisation table of each of its components, and the Huffman
 * tables its kind of scan reads (a sequential scan both; in a progressive JPEG, a first DC scan its DC
 * table, an AC scan its AC table; a DC refinement none).
 */
function markTablesUsedBy(
  scanHeader: Buffer,
  frame: { progressive: boolean; quantTableOf: Map<number, number> },
  current: Map<string, TableDefinition>,
): void {
  const components = scanHeader[0]!;
  const spectralStart = scanHeader[1 + 2 * components]!;
  const approximationHigh = scanHeader[3 + 2 * components]! >> 4;
  const readsDc = !frame.progressive || (spectralStart === 0 && approximationHigh === 0);
  const readsAc = !frame.progressive || spectralStart > 0;
  const use = (slot: string) => {
    const table = current.get(slot);
    if (table) table.used = true;
  };
  for (let index = 0; index < components; index++) {
    const componentId = scanHeader[1 + 2 * index]!;
    const tables = scanHeader[2 + 2 * index]!;
    const quantTable = frame.quantTableOf.get(componentId);
    if (quantTable !== undefined) use(`q${quantTable}`);
    if (readsDc) use(`dc${tables >> 4}`);
    if (readsAc) use(`ac${tables & 0x0f}`);
  }
}

/** SOFn: precision, height, width, component count, then 3 bytes per component, and nothing else. */
function isFrameHeader(body: Buffer): boolean {
  return body.length >= 6 && body.length === 6 + 3 * body[5]!;
}

/** SOS: component count, 2 bytes per component, then 3 bytes of spectral selection and approximation. */
function isScanHeader(body: Buffer): boolean {
  return body.length >= 1 && body.length === 1 + 2 * body[0]! + 3;
}

/** DQT: tables of 64 values (8- or 16-bit) that fill the segment exactly; each returned with its Pq/Tq byte. */
function splitQuantizationTables(body: Buffer): Buffer[] | undefined {
  const tables: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const precision = body[at]! >> 4;
    if (precision > 1 || (body[at]! & 0x0f) > 3) return undefined;
    const next = at + 1 + (precision === 0 ? 64 : 128);
    tables.push(body.subarray(at, next));
    at = next;
  }
  return at === body.length && tables.length > 0 ? tables : undefined;
}

/** DHT: tables of 16 code counts then that many symbols (at most 256), filling the segment exactly. */
function splitHuffmanTables(body: Buffer): Buffer[] | undefined {
  const tables: Buffer[] = [];
  let at = 0;
  while (at + 17 <= body.length) {
    if (body[at]! >> 4 > 1 || (body[at]! & 0x0f) > 3) return undefined;
    let symbols = 0;
    for (let index = 1; index <= 16; index++) symbols += body[at + index]!;
    if (symbols > 256) return undefined;
    const next = at + 17 + symbols;
    tables.push(body.subarray(at, next));
    at = next;
  }
  return at === body.length && tables.length > 0 ? tables : undefined;
}

function segment(code: number, body: Buffer): Buffer {
  const header = Buffer.from([0xff, code, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}

/** An APP1 EXIF segment holding one tag, Orientation (0x0112), in big-endian TIFF. */
export function orientationOnlyExif(orientation: number): Buffer {
  const tiff = Buffer.from([
    0x4d,
    0x4d,
    0x00,
    0x2a,
    0x00,
    0x00,
    0x00,
    0x08, // "MM", 42, first IFD at offset 8
    0x00,
    0x01, // one entry
    0x01,
    0x12,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    orientation,
    0x00,
    0x00, // Orientation, SHORT, 1 value
    0x00,
    0x00,
    0x00,
    0x00, // no next IFD
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
