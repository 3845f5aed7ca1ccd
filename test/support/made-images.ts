// Images a test makes itself, where no fixture file has the shape it needs.
import sharp from 'sharp';

/** A two-frame GIF, `width` × `height` each: the gallery badges it as an animation. */
export function animatedGif(width: number, height: number): Promise<Buffer> {
  const frames = Buffer.alloc(width * height * 2 * 3, 200);
  frames.fill(40, width * height * 3);
  return sharp(frames, { raw: { width, height: height * 2, channels: 3, pageHeight: height } })
    .gif()
    .toBuffer();
}
