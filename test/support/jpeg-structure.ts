// JPEGs built segment by segment: a JPEG split into its segments and scans (to insert, repeat or reorder
// them), and files whose structure alone is the attack (fill runs, floods of tiny segments, the most scans).
import sharp from 'sharp';

export function jpegSegment(code: number, body: Buffer): Buffer {
  const header = Buffer.from([0xff, code, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}

/** One unit of a JPEG's structure: SOI, EOI, a marker segment, or a scan (its header and its entropy-coded data). */
export interface JpegUnit {
  code: number;
  bytes: Buffer;
}

/** Splits a well-formed JPEG into its units, in order, up to and including EOI; throws if it is not one. */
export function jpegUnits(jpeg: Buffer): JpegUnit[] {
  const units: JpegUnit[] = [{ code: 0xd8, bytes: jpeg.subarray(0, 2) }];
  let at = 2;
  while (at < jpeg.length) {
    const code = jpeg[at + 1]!;
    if (code === 0xd9) {
      units.push({ code, bytes: jpeg.subarray(at, at + 2) });
      return units;
    }
    let end = at + 2 + jpeg.readUInt16BE(at + 2);
    if (code === 0xda)
      while (!(jpeg[end] === 0xff && jpeg[end + 1] !== 0 && !(jpeg[end + 1]! >= 0xd0 && jpeg[end + 1]! <= 0xd7)))
        if (++end >= jpeg.length) throw new Error('a scan with no marker after it');
    units.push({ code, bytes: jpeg.subarray(at, end) });
    at = end;
  }
  throw new Error('no EOI');
}

/**
 * A small photo-like JPEG of noise (so its entropy-coded data holds stuffed 0xFF bytes), the same bytes on
 * every run: its pixels come from a fixed pseudo-random sequence, not libvips' random noise.
 */
export function noiseJpeg(width: number, height: number, options: sharp.JpegOptions = {}): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let state = 0x2545f491;
  for (let index = 0; index < pixels.length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    pixels[index] = 64 + ((state >>> 16) % 128);
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg(options)
    .toBuffer();
}

/** `jpeg` with `inserted` placed right before its first segment of type `code`. */
export function insertBefore(jpeg: Buffer, code: number, inserted: Buffer): Buffer {
  const unit = jpegUnits(jpeg).find((candidate) => candidate.code === code);
  if (!unit) throw new Error(`no marker 0x${code.toString(16)}`);
  const at = unit.bytes.byteOffset - jpeg.byteOffset;
  return Buffer.concat([jpeg.subarray(0, at), inserted, jpeg.subarray(at)]);
}

/** `copies` copies of `unit`, as one buffer. */
export function repeated(unit: Buffer, copies: number): Buffer {
  const out = Buffer.allocUnsafe(unit.length * copies);
  for (let index = 0; index < copies; index++) unit.copy(out, index * unit.length);
  return out;
}

/**
 * A 64 × 64 progressive JPEG with exactly `scans` scans (a DC scan, then one AC band per scan for the first
 * component), each scan followed by `between(index)`: the structure around the scans is the attack.
 */
export function progressiveJpeg(scans: number, between: (index: number) => Buffer = () => Buffer.alloc(0)): Buffer {
  const size = 64;
  const blocks = (size / 8) * (size / 8);
  const frame = [8, 0, size, 0, size, 3];
  for (let component = 1; component <= 3; component++) frame.push(component, 0x11, 0);
  const dcCounts = new Array(16).fill(0);
  dcCounts[0] = 1; // one code, "0", for a DC difference of 0
  const acCounts = new Array(16).fill(0);
  acCounts[0] = 1; // one code, "0", for end of band
  const parts = [
    Buffer.from([0xff, 0xd8]),
    jpegSegment(0xdb, Buffer.from([0, ...new Array(64).fill(1)])),
    jpegSegment(0xc2, Buffer.from(frame)),
    jpegSegment(0xc4, Buffer.from([0x00, ...dcCounts, 0])),
    jpegSegment(0xc4, Buffer.from([0x10, ...acCounts, 0x00])),
    jpegSegment(0xda, Buffer.from([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 0, 0x00])),
    zeroBits(blocks * 3),
    between(0),
  ];
  for (let index = 1; index < scans; index++)
    parts.push(jpegSegment(0xda, Buffer.from([1, 1, 0x00, index, index, 0x00])), zeroBits(blocks), between(index));
  parts.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

/** `count` zero bits of entropy-coded data, padded with ones to a whole byte. */
function zeroBits(count: number): Buffer {
  const bytes = Buffer.alloc(Math.ceil(count / 8));
  if (count % 8) bytes[bytes.length - 1] = (1 << (8 - (count % 8))) - 1;
  return bytes;
}
