// Makes the benchmark's photos with sharp, once: camera-like JPEGs (a lit scene, sensor noise, EXIF
// from a camera) at the sizes phones and cameras produce. Kept in .bench/photos between runs.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

export interface BenchPhoto {
  name: string;
  path: string;
  bytes: Buffer<ArrayBuffer>;
}

const MIB = 1024 * 1024;
/** The first trial's size: a 12-megapixel 4:3 sensor, as in most phones. */
const CAMERA_WIDTH = 4032;
const CAMERA_HEIGHT = 3024;
/** Sensor noise strength (0–1). With it, 4–6 MB at quality 88 is 10–16 megapixels, as from phones and compacts. */
const NOISE_AMPLITUDE = 0.35;
/** Size in pixels of the scene's fine detail, and its strength (0–1). */
const DETAIL_SCALE = 12;
const DETAIL_AMPLITUDE = 0.6;

/** `count` different photos of 4–6 MB each; sizes are spread evenly over that range. */
export async function cameraPhotos(directory: string, count: number): Promise<BenchPhoto[]> {
  const photos: BenchPhoto[] = [];
  for (let index = 0; index < count; index++) {
    const targetBytes = Math.round((4 + (2 * index) / Math.max(1, count - 1)) * 1_000_000);
    photos.push(await cachedPhoto(directory, `camera-${index + 1}-of-${count}.jpg`, () => jpegNear(targetBytes, 88, index)));
  }
  return photos;
}

/** One photo of about 20 MiB (a high-resolution camera at its best quality), for the memory figure. */
export async function largePhoto(directory: string): Promise<BenchPhoto> {
  return cachedPhoto(directory, 'large-20mib.jpg', () => jpegNear(20 * MIB, 95, 99));
}

/**
 * The costliest images the app accepts: per kind of decoder, a small file just under its limit (see
 * image-processing.ts): what an attacker sends to make the app's memory as large as it allows.
 */
const WORST_CASES: { name: string; side: number; channels: 3 | 4; encode: (image: sharp.Sharp) => sharp.Sharp }[] = [
  { name: 'baseline-64mp.jpg', side: 7999, channels: 3, encode: (image) => image.jpeg() },
  { name: 'progressive-26mp.jpg', side: 5163, channels: 3, encode: (image) => image.jpeg({ progressive: true }) },
  {
    name: 'progressive-cmyk-20mp.jpg',
    side: 4471,
    channels: 3,
    encode: (image) => image.toColourspace('cmyk').jpeg({ progressive: true }),
  },
  { name: 'rgba-40mp.png', side: 6324, channels: 4, encode: (image) => image.png() },
  {
    name: 'rgba16-interlaced-20mp.png',
    side: 4471,
    channels: 4,
    encode: (image) => image.toColourspace('rgb16').png({ progressive: true }),
  },
  { name: 'lossless-10mp.webp', side: 3161, channels: 3, encode: (image) => image.webp({ lossless: true, effort: 0 }) },
  { name: 'lossy-10mp.webp', side: 3161, channels: 3, encode: (image) => image.webp({ effort: 0 }) },
  { name: 'alpha-6mp.webp', side: 2448, channels: 4, encode: (image) => image.webp({ effort: 0 }) },
  { name: 'gif-10mp.gif', side: 3161, channels: 3, encode: (image) => image.gif() },
  { name: 'avif-12mp.avif', side: 3548, channels: 3, encode: (image) => image.avif({ effort: 0 }) },
];

export async function worstCaseImages(directory: string): Promise<BenchPhoto[]> {
  const images: BenchPhoto[] = [];
  for (const { name, side, channels, encode } of WORST_CASES) {
    // Half-transparent where there is an alpha channel: a fully opaque one is dropped by the encoders.
    const background = channels === 4 ? { r: 68, g: 170, b: 119, alpha: 0.5 } : '#4a7';
    images.push(
      await cachedPhoto(directory, `worst-${name}`, () =>
        encode(sharp({ create: { width: side, height: side, channels, background } })).toBuffer(),
      ),
    );
  }
  // An animation with transparency: ten frames, six megapixels in all.
  images.push(
    await cachedPhoto(directory, 'worst-animated-alpha-6mp.webp', async () => {
      const frame = await sharp({ create: { width: 2448, height: 244, channels: 4, background: { r: 68, g: 170, b: 119, alpha: 0.5 } } })
        .png()
        .toBuffer();
      return sharp(new Array(10).fill(frame), { join: { animated: true } })
        .webp({ effort: 0 })
        .toBuffer();
    }),
  );
  return images;
}

/** A 320×320 WebP like the app's thumbnails, for seeding the gallery without uploading. */
export function seedThumbnail(): Promise<Buffer> {
  return scene(320, 320, 7).webp({ quality: 70 }).toBuffer();
}

async function cachedPhoto(directory: string, name: string, make: () => Promise<Buffer>): Promise<BenchPhoto> {
  const photoPath = path.join(directory, name);
  const existing = await stat(photoPath).catch(() => undefined);
  if (!existing) {
    await mkdir(directory, { recursive: true });
    await writeFile(photoPath, await make());
  }
  return { name, path: photoPath, bytes: await readFile(photoPath) };
}

/**
 * At a given noise level a JPEG's size follows its pixel count, so: one trial encoding at the sensor's
 * resolution, then the image scaled so that the next lands within 5 % of `targetBytes`.
 */
async function jpegNear(targetBytes: number, quality: number, seed: number): Promise<Buffer> {
  let width = CAMERA_WIDTH;
  let height = CAMERA_HEIGHT;
  let jpeg = await cameraJpeg(width, height, quality, seed);
  for (let attempt = 0; attempt < 2 && Math.abs(jpeg.length / targetBytes - 1) > 0.05; attempt++) {
    const scale = Math.sqrt(targetBytes / jpeg.length);
    width = Math.round((width * scale) / 16) * 16;
    height = Math.round((height * scale) / 16) * 16;
    jpeg = await cameraJpeg(width, height, quality, seed);
  }
  return jpeg;
}

async function cameraJpeg(width: number, height: number, quality: number, seed: number): Promise<Buffer> {
  const raw = { width, height, channels: 3 } as const;
  // Uniform noise from random bytes, squeezed around mid-grey: much faster than libvips' gaussian noise.
  const sensorNoise = await sharp(randomBytes(width * height * 3), { raw })
    .linear(NOISE_AMPLITUDE, 128 * (1 - NOISE_AMPLITUDE))
    .raw()
    .toBuffer();
  // Detail at the scale of leaves and bricks: coarse noise enlarged, so it survives into thumbnails as real detail does.
  const coarse = { width: Math.ceil(width / DETAIL_SCALE), height: Math.ceil(height / DETAIL_SCALE), channels: 3 } as const;
  const detail = await sharp(randomBytes(coarse.width * coarse.height * 3), { raw: coarse })
    .resize(width, height, { kernel: 'cubic' })
    .linear(DETAIL_AMPLITUDE, 128 * (1 - DETAIL_AMPLITUDE))
    .raw()
    .toBuffer();
  // Overlay with mid-grey leaves the scene as it is, so each layer varies pixels around their true value.
  return scene(width, height, seed)
    .composite([
      { input: detail, raw, blend: 'overlay' },
      { input: sensorNoise, raw, blend: 'overlay' },
    ])
    .jpeg({ quality, chromaSubsampling: '4:2:0' })
    .withExif({ IFD0: { Make: 'BenchCam', Model: 'Sensor 12', Software: 'scripts/bench' } })
    .toBuffer();
}

/** A sky gradient, a sun and a few hills: smooth areas and edges, as in a real photo. */
function scene(width: number, height: number, seed: number) {
  const hue = (seed * 47) % 360;
  const hills = Array.from({ length: 4 }, (_, i) => {
    const y = height * (0.55 + i * 0.1);
    return `<ellipse cx="${((seed + 1) * (i + 3) * 997) % width}" cy="${y + height * 0.3}" rx="${width * 0.6}" ry="${height * 0.35}" fill="${hslColour(hue + 90 + i * 15, 0.45, 0.3 - i * 0.05)}"/>`;
  }).join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hslColour(hue, 0.6, 0.35)}"/><stop offset="1" stop-color="${hslColour(hue + 40, 0.7, 0.8)}"/></linearGradient></defs>` +
    `<rect width="100%" height="100%" fill="url(#sky)"/><circle cx="${width * 0.7}" cy="${height * 0.25}" r="${height * 0.08}" fill="#fff6d0"/>${hills}</svg>`;
  return sharp(Buffer.from(svg));
}

/** `#rrggbb` for a hue in degrees and saturation and lightness from 0 to 1 (librsvg does not read hsl()). */
function hslColour(hue: number, saturation: number, lightness: number): string {
  const chroma = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const channel = (offset: number) => {
    const k = (offset + hue / 30) % 12;
    return Math.round(255 * (lightness - (chroma / 2) * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return `#${[channel(0), channel(8), channel(4)].map((value) => value.toString(16).padStart(2, '0')).join('')}`;
}
