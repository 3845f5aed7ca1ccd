// Removes a JPEG's metadata without decoding it: the EXIF (camera, GPS), XMP, IPTC and comment segments
// are dropped and every image byte is kept, so the full-size copy loses no quality and costs no CPU.
// Only the orientation survives, in a minimal EXIF block, so viewers still show the photo upright.

const SOI = 0xd8;
const SOS = 0xda;
const APP1 = 0xe1; // EXIF and XMP
const APP13 = 0xed; // IPTC (Photoshop)
const COM = 0xfe;
const DROPPED = new Set([APP1, APP13, COM]);

/**
 * The JPEG without its metadata, or undefined when its segment structure is not what this expects
 * (the caller then re-encodes instead). `orientation` is the EXIF orientation to keep (1 = none).
 */
export function stripJpegMetadata(jpeg: Buffer, orientation: number): Buffer | undefined {
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
      // Entropy-coded data follows up to the end of the image: keep all of it.
      kept.push(jpeg.subarray(offset));
      return Buffer.concat(kept);
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
