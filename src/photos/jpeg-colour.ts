// How a JPEG's colours are declared, read as libjpeg reads them, and declared again for its rebuilt copy in
// segments the app writes itself: a JFIF or Adobe segment for the colour transform, and the app's own
// copy of a recognised ICC profile. The uploader's own segments are never copied.
//
// libjpeg (jdapimin.c, default_decompress_parms; jdmarker.c) decides the transform when it reaches the
// first scan, from what came before it:
// - one component: greyscale;
// - three: YCbCr if a JFIF APP0 was seen (at least 14 bytes, "JFIF\0"), whatever else; else, if an Adobe
//   APP14 was seen (at least 12 bytes, "Adobe"), the last one's transform: 0 RGB, 1 YCbCr, any other
//   YCbCr with a warning (which sharp treats as an error); else component ids 'R','G','B' mean RGB,
//   anything else YCbCr;
// - four: the last Adobe transform: 0 CMYK, 2 YCCK, any other YCCK with a warning; no Adobe segment, CMYK.
// libvips reads every four-component JPEG as inverted (Adobe) CMYK, as browsers do, and takes the ICC
// profile from the APP2 "ICC_PROFILE" chunks before the first scan, in sequence order.
import { iccProfileOf, MAX_RECOGNISED_PROFILE_BYTES, recogniseProfile, type ColourSpaceName } from './icc-profiles.js';

const APP0 = 0xe0;
const APP2 = 0xe2;
const APP14 = 0xee;
const ICC_CHUNK_HEADER = Buffer.from('ICC_PROFILE\0', 'latin1');

type ColourTransform = 'greyscale' | 'YCbCr' | 'RGB' | 'CMYK' | 'YCCK';

/** A segment the rebuilt copy starts with: its marker and body. */
export interface HeaderSegment {
  marker: number;
  body: Buffer;
}

/** Collects what a JPEG says about its colours before its first scan, as the walk meets it. */
export class JpegColourDeclaration {
  private componentIds: number[] = [];
  private sawJfif = false;
  private adobeTransform: number | undefined;
  private readonly iccChunks: { sequence: number; count: number; data: Buffer }[] = [];
  private iccBytes = 0;
  /** ICC chunks libvips and browsers may assemble differently, or too large a profile to vouch for. */
  private iccUnvouched = false;

  /** The frame header (SOFn body): the component ids. */
  noteFrame(frameHeader: Buffer): void {
    this.componentIds = Array.from({ length: frameHeader[5]! }, (_, index) => frameHeader[6 + 3 * index]!);
  }

  /** An APPn segment before the first scan (later ones do not change how the image decodes). */
  noteSegment(marker: number, body: Buffer): void {
    if (marker === APP0 && body.length >= 14 && body.toString('latin1', 0, 5) === 'JFIF\0') this.sawJfif = true;
    if (marker === APP14 && body.length >= 12 && body.toString('latin1', 0, 5) === 'Adobe') this.adobeTransform = body[11];
    // libvips takes any APP2 starting "ICC_PROFILE"; only chunks as the ICC spec writes them are vouched for.
    if (marker === APP2 && body.toString('latin1', 0, 11) === 'ICC_PROFILE') {
      this.iccBytes += body.length;
      if (body[11] !== 0 || body.length <= 14 || this.iccBytes > MAX_RECOGNISED_PROFILE_BYTES) this.iccUnvouched = true;
      // Copied: the walk may reuse its buffers.
      else this.iccChunks.push({ sequence: body[12]!, count: body[13]!, data: Buffer.from(body.subarray(14)) });
    }
  }

  /**
   * The segments that make the rebuilt copy decode and render as the upload does, or undefined when the
   * rebuild cannot vouch for its colours (an unrecognised profile, a profile that does not fit the
   * transform, or markers libjpeg warns about): the caller converts those to sRGB instead.
   */
  headerSegments(): HeaderSegment[] | undefined {
    const transform = this.transform();
    if (!transform) return undefined;
    const declared = transform === 'greyscale' || transform === 'YCbCr' ? jfifSegment() : adobeSegment(transform === 'YCCK' ? 2 : 0);
    if (this.iccChunks.length === 0 && !this.iccUnvouched) return [declared];
    const space = this.recognisedProfile();
    if (!space || (transform !== 'YCbCr' && transform !== 'RGB')) return undefined;
    return [declared, ...iccSegments(iccProfileOf(space))];
  }

  private transform(): ColourTransform | undefined {
    const ids = this.componentIds;
    if (ids.length === 1) return 'greyscale';
    if (ids.length === 3) {
      if (this.sawJfif) return 'YCbCr';
      if (this.adobeTransform !== undefined) return this.adobeTransform === 0 ? 'RGB' : this.adobeTransform === 1 ? 'YCbCr' : undefined;
      return ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42 ? 'RGB' : 'YCbCr';
    }
    if (ids.length === 4) {
      if (this.adobeTransform === undefined || this.adobeTransform === 0) return 'CMYK';
      return this.adobeTransform === 2 ? 'YCCK' : undefined;
    }
    return undefined;
  }

  /** The space of the profile, if its chunks are numbered 1…n once each (so every reader assembles the same bytes) and it is one the app writes. */
  private recognisedProfile(): ColourSpaceName | undefined {
    const count = this.iccChunks.length;
    if (this.iccUnvouched || this.iccChunks.some((chunk) => chunk.count !== count)) return undefined;
    const inOrder = [...this.iccChunks].sort((a, b) => a.sequence - b.sequence);
    if (inOrder.some((chunk, index) => chunk.sequence !== index + 1)) return undefined;
    return recogniseProfile(Buffer.concat(inOrder.map((chunk) => chunk.data)));
  }
}

/** JFIF 1.01, no units, 1:1 pixel aspect, no embedded thumbnail: YCbCr (or greyscale) to every decoder. */
function jfifSegment(): HeaderSegment {
  return { marker: APP0, body: Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]) };
}

/** Adobe APP14, version 100, no flags, and the colour transform: 0 RGB or CMYK, 2 YCCK. */
function adobeSegment(transform: 0 | 2): HeaderSegment {
  return { marker: APP14, body: Buffer.from([0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, transform]) };
}

/** The profile in APP2 chunks numbered from 1 (the app's profiles fit in one). */
function iccSegments(profile: Buffer): HeaderSegment[] {
  const chunkBytes = 65_535 - 2 - ICC_CHUNK_HEADER.length - 2;
  const count = Math.ceil(profile.length / chunkBytes);
  return Array.from({ length: count }, (_, index) => ({
    marker: APP2,
    body: Buffer.concat([
      ICC_CHUNK_HEADER,
      Buffer.from([index + 1, count]),
      profile.subarray(index * chunkBytes, (index + 1) * chunkBytes),
    ]),
  }));
}
