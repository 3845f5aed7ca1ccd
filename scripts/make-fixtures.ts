// Regenerates the test images in test/fixtures/ (they are committed; run this only to change them).
// Each is a real image file made with sharp, small enough to keep the repository light.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');

/** A gradient with a marker in the top-left corner, so orientation can be checked after processing. */
function scene(width: number, height: number) {
  const marker = Buffer.from(
    `<svg width="${width}" height="${height}"><defs><linearGradient id="g"><stop offset="0" stop-color="#2a6"/><stop offset="1" stop-color="#36c"/></linearGradient></defs>` +
      `<rect width="100%" height="100%" fill="url(#g)"/><rect width="${Math.round(width / 4)}" height="${Math.round(height / 4)}" fill="#e33"/></svg>`,
  );
  return sharp(marker);
}

await writeFile(path.join(fixtures, 'landscape.jpg'), await scene(640, 480).jpeg({ quality: 85 }).toBuffer());
await writeFile(path.join(fixtures, 'square.png'), await scene(256, 256).png().toBuffer());
await writeFile(path.join(fixtures, 'portrait.webp'), await scene(300, 400).webp({ quality: 80 }).toBuffer());
await writeFile(path.join(fixtures, 'tiny.gif'), await scene(120, 90).gif().toBuffer());
await writeFile(path.join(fixtures, 'small.avif'), await scene(160, 120).avif({ quality: 50 }).toBuffer());
// Stored 400×300 with EXIF orientation 6 (turn 90° clockwise to view), a GPS position and a camera name:
// what a phone photo looks like. The app must show it 300×400 and serve no GPS.
await writeFile(
  path.join(fixtures, 'phone-gps-rotated.jpg'),
  await scene(400, 300)
    .jpeg({ quality: 85 })
    .withExif({
      IFD0: { Make: 'FixtureCam', Model: 'Model 1' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 30/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 40/1' },
    })
    .withMetadata({ orientation: 6 })
    .toBuffer(),
);
console.log(`fixtures written to ${fixtures}`);
