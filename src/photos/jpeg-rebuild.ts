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
/** The file is read this much at a time: the longest segment (64 KiB) fits in it with room to spare. */
const WINDOW_BYTES = 256 * 1024;
/** A marker, its length field and the most that field can count. */
const MAX_SEGMENT_BYTES = 2 + 0xffff;

/**
 * Reads the segments of the JPEG at `path` and keeps those that carry its pixels. Throws UnservableJpeg
 * when its structure is not a JPEG this can vouch for, or it has more scans (or application segments)
 * than a photo needs: the caller refuses the upload rather than serve what it cannot check, or pass to a
 * decoder what would hold the image worker. Linear in the file's size, a window at a time; stops with
 * the signal's reason once `signal` aborts.
 */
export async function readPixelSegments(path: string, signal?: AbortSignal): Promise<PixelSegments> {
  const file = await open(path, 'r');
  try {
    return await walkSegments(new FileWindow(file, (await file.stat()).size, signal));
  } finally {
    await file.close();
  }
}

/** The segments of a JPEG that carry its pixels, in order, as read by readPixelSegments, and what it says about its colours. */
export interface PixelSegments {
  kept: (FilePiece | TableDefinition)[];
  colour: JpegColourDeclaration;
}

/**
 * Plans the pixel-only copy of a JPEG from its segments, with an Orientation-only EXIF for `orientation`.
 * Undefined when its colours cannot be carried over as they are (the caller converts it to sRGB instead).
 */
export function planPixelOnlyJpeg({ kept, colour }: PixelSegments, orientation: number): PiecesPlan | undefined {
  const colourSegments = colour.headerSegments();
  if (!colourSegments) return undefined;
  const pieces: FilePiece[] = [Buffer.from([0xff, SOI]), ...colourSegments.map(({ marker, body }) => segment(marker, body))];
  if (orientation >= 2 && orientation <= 8) pieces.push(orientationOnlyExif(orientation));
  // Each table a scan uses becomes a segment of its own; tables no scan uses are dropped.
  pieces.push(
    ...kept.flatMap((piece): FilePiece[] =>
      'marker' in piece
        ? piece.used
          ? [segmentHeader(piece.marker, piece.end - piece.start), { start: piece.start, end: piece.end }]
          : []
        : [piece],
    ),
  );
  return planOf(pieces);
}

/** A JPEG this does not serve, and why (the caller refuses the upload with it). */
export class UnservableJpeg extends Error {
  constructor(readonly reason: 'structure' | 'too-many-scans' | 'too-many-segments' | 'unsupported-coding') {
    super(
      reason === 'structure'
        ? 'JPEG structure not recognised by the pixel-only rebuild'
        : reason === 'too-many-scans'
          ? `more than ${MAX_SCANS} scans`
          : reason === 'too-many-segments'
            ? `more than ${MAX_APPLICATION_SEGMENTS} application segments`
            : 'a lossless, hierarchical or arithmetic-coded JPEG',
    );
    this.name = 'UnservableJpeg';
  }
}

/** Progressive JPEGs have about ten scans; thousands of empty ones make a decoder spin for a minute. */
export const MAX_SCANS = 64;
/**
 * Cameras write a few APPn segments, and a large ICC profile or extended XMP at most a few hundred (each
 * up to 64 KiB). The decoder's metadata reader holds every one it meets, so a file of millions of tiny
 * ones took it seconds and hundreds of MiB: refused before any decoder reads it.
 */
export const MAX_APPLICATION_SEGMENTS = 1000;

/** A quantisation or Huffman table (its bytes in the file, its marker), kept only if a scan that decodes pixels uses it. */
interface TableDefinition {
  marker: number;
  start: number;
  end: number;
  used: boolean;
}

async function walkSegments(file: FileWindow): Promise<PixelSegments> {
  if (!file.holds(0, 2)) await file.moveTo(0);
  if (file.byte(0) !== 0xff || file.byte(1) !== SOI) throw new UnservableJpeg('structure');
  const kept: (FilePiece | TableDefinition)[] = [];
  const colour = new JpegColourDeclaration();
  // The table each slot holds now ("q0".."q3", "dc0".., "ac0"..): a scan uses the tables current when it starts.
  const current = new Map<string, TableDefinition>();
  // DRI and DNL (by marker) met since the last scan: only the last of each counts when the next scan starts.
  const sinceLastScan = new Map<number, { start: number; end: number }>();
  let frame: { progressive: boolean; quantTableOf: Map<number, number> } | undefined;
  let scans = 0;
  let applicationSegments = 0;
  let offset = 2;
  // A table replaces the slot's previous one in place when no scan used that: a flood of redefinitions is held as one.
  const define = (marker: number, slot: string, start: number, end: number) => {
    const previous = current.get(slot);
    if (previous && !previous.used) {
      previous.start = start;
      previous.end = end;
    } else {
      const table = { marker, start, end, used: false };
      current.set(slot, table);
      kept.push(table);
    }
  };
  while (offset < file.size) {
    if (!file.holds(offset, MAX_SEGMENT_BYTES)) await file.moveTo(offset);
    if (file.byte(offset) !== 0xff || offset + 1 >= file.size) throw new UnservableJpeg('structure');
    const code = file.byte(offset + 1);
    if (code === 0xff) {
      // Fill bytes before a marker: the marker follows the run's last 0xFF.
      let runEnd = file.endOfFill(offset + 1);
      while (runEnd === file.windowEnd && runEnd < file.size) {
        await file.moveTo(runEnd);
        runEnd = file.endOfFill(runEnd);
      }
      offset = runEnd - 1;
      continue;
    }
    if (code === EOI) {
      if (!frame || scans === 0) throw new UnservableJpeg('structure');
      kept.push(Buffer.from([0xff, EOI]));
      return { kept, colour };
    }
    if (offset + 4 > file.size) throw new UnservableJpeg('structure');
    const length = file.uint16(offset + 2);
    const end = offset + 2 + length;
    if (length < 2 || end > file.size) throw new UnservableJpeg('structure');
    if (OTHER_CODINGS.has(code)) throw new UnservableJpeg('unsupported-coding');
    if ((code >= 0xe0 && code <= 0xef) || code === 0xfe) {
      // APPn and COM are dropped; APPn counted, since the decoder's metadata reader holds each one.
      if (code !== 0xfe && ++applicationSegments > MAX_APPLICATION_SEGMENTS) throw new UnservableJpeg('too-many-segments');
      // What they say about colours before the first scan is noted (later ones do not change the decode).
      if (code !== 0xfe && scans === 0) colour.noteSegment(code, file.bytes(offset + 4, length - 2));
      offset = end;
      continue;
    }
    if (code === DRI || code === DNL) {
      if (length !== 4) throw new UnservableJpeg('structure');
      // A run of them between two scans is kept as its last one, where the first was: a flood costs no memory.
      const earlier = sinceLastScan.get(code);
      if (earlier) {
        earlier.start = offset;
        earlier.end = end;
      } else {
        const piece = { start: offset, end };
        sinceLastScan.set(code, piece);
        kept.push(piece);
      }
      offset = end;
      continue;
    }
    const body = file.bytes(offset + 4, length - 2);
    if (SOF.has(code)) {
      if (frame || !isFrameHeader(body)) throw new UnservableJpeg('structure');
      const quantTableOf = new Map<number, number>();
      for (let index = 0; index < body[5]!; index++) quantTableOf.set(body[6 + 3 * index]!, body[8 + 3 * index]! & 0x0f);
      frame = { progressive: code === 0xc2, quantTableOf };
      colour.noteFrame(body);
      kept.push({ start: offset, end });
    } else if (code === DQT) {
      const starts = quantizationTableStarts(body);
      if (!starts) throw new UnservableJpeg('structure');
      for (let index = 0; index + 1 < starts.length; index++)
        define(DQT, `q${body[starts[index]!]! & 0x0f}`, offset + 4 + starts[index]!, offset + 4 + starts[index + 1]!);
    } else if (code === DHT) {
      const starts = huffmanTableStarts(body);
      if (!starts) throw new UnservableJpeg('structure');
      for (let index = 0; index + 1 < starts.length; index++) {
        const classAndId = body[starts[index]!]!;
        define(
          DHT,
          `${classAndId >> 4 === 0 ? 'dc' : 'ac'}${classAndId & 0x0f}`,
          offset + 4 + starts[index]!,
          offset + 4 + starts[index + 1]!,
        );
      }
    } else if (code === SOS) {
      if (!frame || !isScanHeader(body)) throw new UnservableJpeg('structure');
      if (++scans > MAX_SCANS) throw new UnservableJpeg('too-many-scans');
      markTablesUsedBy(body, frame, current);
      sinceLastScan.clear();
      const scanEnd = await file.findMarkerAfterEntropyData(end);
      if (scanEnd === undefined) throw new UnservableJpeg('structure');
      kept.push({ start: offset, end: scanEnd });
      offset = scanEnd;
      continue;
    } else {
      // Not image data, not an APPn or comment to drop: a JPEG this cannot vouch for (hierarchical, JPEG-LS…).
      throw new UnservableJpeg('structure');
    }
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

/** DQT: tables of 64 values (8- or 16-bit) that fill the segment exactly; where each starts (at its Pq/Tq byte), then the end. */
function quantizationTableStarts(body: Buffer): number[] | undefined {
  const starts = [0];
  let at = 0;
  while (at < body.length) {
    const precision = body[at]! >> 4;
    if (precision > 1 || (body[at]! & 0x0f) > 3) return undefined;
    at += 1 + (precision === 0 ? 64 : 128);
    starts.push(at);
  }
  return at === body.length && starts.length > 1 ? starts : undefined;
}

/** DHT: tables of 16 code counts then that many symbols (at most 256), filling the segment exactly; where each starts, then the end. */
function huffmanTableStarts(body: Buffer): number[] | undefined {
  const starts = [0];
  let at = 0;
  while (at + 17 <= body.length) {
    if (body[at]! >> 4 > 1 || (body[at]! & 0x0f) > 3) return undefined;
    let symbols = 0;
    for (let index = 1; index <= 16; index++) symbols += body[at + index]!;
    if (symbols > 256) return undefined;
    at += 17 + symbols;
    starts.push(at);
  }
  return at === body.length && starts.length > 1 ? starts : undefined;
}

function segment(code: number, body: Buffer): Buffer {
  return Buffer.concat([segmentHeader(code, body.length), body]);
}

/** A marker and the length field of a segment whose body is `bodyLength` bytes. */
function segmentHeader(code: number, bodyLength: number): Buffer {
  const header = Buffer.from([0xff, code, 0, 0]);
  header.writeUInt16BE(bodyLength + 2, 2);
  return header;
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

/**
 * An open file seen through a window of WINDOW_BYTES, moved forward as the walk goes: bytes are read from
 * memory, with one file read per window (never per byte or per segment), and at most one window held.
 * Each move checks the signal, so a walk stops within a window of its deadline.
 */
class FileWindow {
  private readonly window = Buffer.allocUnsafe(WINDOW_BYTES);
  private windowStart = 0;
  /** Where the bytes read into the window end, in the file. */
  windowEnd = 0;

  constructor(
    private readonly file: FileHandle,
    readonly size: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Whether the window holds the `length` bytes at `position` (or those of them before the end of the file). */
  holds(position: number, length: number): boolean {
    return position >= this.windowStart && Math.min(position + length, this.size) <= this.windowEnd;
  }

  /** Reads the file from `position` into the window. */
  async moveTo(position: number): Promise<void> {
    this.signal?.throwIfAborted();
    const { bytesRead } = await this.file.read(this.window, 0, Math.min(WINDOW_BYTES, this.size - position), position);
    this.windowStart = position;
    this.windowEnd = position + bytesRead;
  }

  /** The byte at `position`, which the window holds. */
  byte(position: number): number {
    return this.window[position - this.windowStart]!;
  }

  uint16(position: number): number {
    return this.window.readUInt16BE(position - this.windowStart);
  }

  /** A view of the window: valid until it moves. */
  bytes(position: number, length: number): Buffer {
    return this.window.subarray(position - this.windowStart, position - this.windowStart + length);
  }

  /** Where the run of 0xFF bytes at `position` ends, or the window's end if it runs that far. */
  endOfFill(position: number): number {
    let at = position - this.windowStart;
    const last = this.windowEnd - this.windowStart;
    while (at < last && this.window[at] === 0xff) at++;
    return this.windowStart + at;
  }

  /**
   * Entropy-coded data runs until a marker. In it, 0xFF (after any fill 0xFF bytes, as libjpeg reads
   * them) is followed by 0x00 (a stuffed 0xFF) or a restart marker (0xD0–0xD7), which belong to the
   * data; any other byte is a marker. Returns where that marker starts, its fill bytes included.
   */
  async findMarkerAfterEntropyData(start: number): Promise<number | undefined> {
    let position = start;
    while (position < this.size) {
      if (!this.holds(position, 1)) await this.moveTo(position);
      // A byte at a time rather than indexOf: data of stuffed 0xFF bytes is the worst case, and a call per 0xFF costs more.
      const held = this.windowEnd - this.windowStart;
      let at = position - this.windowStart;
      while (at < held) {
        if (this.window[at] !== 0xff) {
          at++;
          continue;
        }
        let runEnd = at + 1;
        while (runEnd < held && this.window[runEnd] === 0xff) runEnd++;
        if (runEnd === held) break;
        const next = this.window[runEnd]!;
        if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7)) return this.windowStart + at;
        at = runEnd + 1;
      }
      if (at >= held) {
        position = this.windowEnd;
        continue;
      }
      // A run of 0xFF that reaches the end of the window: read on to the byte after it.
      const runStart = this.windowStart + at;
      let runEnd = this.windowEnd;
      while (runEnd === this.windowEnd && runEnd < this.size) {
        await this.moveTo(runEnd);
        runEnd = this.endOfFill(runEnd);
      }
      if (runEnd === this.size) return undefined; // the file ends inside the data
      const next = this.byte(runEnd);
      if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7)) return runStart;
      position = runEnd + 1;
    }
    return undefined;
  }
}
