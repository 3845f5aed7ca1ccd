// The gallery's layout as the server writes it: photos grouped under a heading for each (UTC) day, each tile
// announcing its photo's shape (from the record) before the image loads, its thumbnail in that shape, and an
// animation marked as one.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import { decodeHtml } from '../../scripts/support/html.js';
import { openBrowser } from '../support/browser.js';
import { download } from '../support/pages.js';
import { seedPhotosAt } from '../support/seed.js';
import { fixture, useTestApp } from '../support/test-app.js';
import { animatedGif } from '../support/made-images.js';

const testApp = useTestApp();

interface Tile {
  id: string;
  ratio: number;
  width: number;
  height: number;
  src: string;
  badge: boolean;
  label: string;
}

function tilesOf(html: string): Tile[] {
  return [
    ...html.matchAll(
      /<li data-ratio="([^"]+)">\s*<a href="\/photos\/([^"?]+)[^"]*">\s*<img src="([^"]+)" width="(\d+)" height="(\d+)"[^>]*>(.*?)<\/a>/gs,
    ),
  ].map(([, ratio, id, src, width, height, rest]) => ({
    id: id!,
    ratio: Number(ratio),
    width: Number(width),
    height: Number(height),
    src: decodeHtml(src!),
    badge: rest!.includes('<span class="badge" aria-hidden="true">Animated</span>'),
    label: /<span class="visually-hidden">([^<]*)<\/span>/.exec(rest!)![1]!,
  }));
}

describe('when photos of different shapes are uploaded', () => {
  const uploads = [
    { name: 'landscape.jpg', bytes: () => fixture('landscape.jpg'), ratio: 640 / 480, thumbnail: [427, 320], animated: false },
    { name: 'portrait.webp', bytes: () => fixture('portrait.webp'), ratio: 300 / 400, thumbnail: [240, 320], animated: false },
    // Stored 400 × 300 and turned by its EXIF orientation: people see it upright, 300 × 400.
    { name: 'rotated.jpg', bytes: () => fixture('phone-gps-rotated.jpg'), ratio: 300 / 400, thumbnail: [240, 320], animated: false },
    { name: 'moving.gif', bytes: () => animatedGif(40, 30), ratio: 40 / 30, thumbnail: [40, 30], animated: true },
    { name: 'still.gif', bytes: () => fixture('tiny.gif'), ratio: 120 / 90, thumbnail: [120, 90], animated: false },
    {
      name: 'panorama.png',
      bytes: () =>
        sharp({ create: { width: 2400, height: 400, channels: 3, background: '#3a7' } })
          .png()
          .toBuffer(),
      ratio: 6,
      thumbnail: [960, 160],
      animated: false,
    },
  ];
  let tiles: Map<string, Tile>;
  let ids: string[];

  before(async () => {
    const browser = await openBrowser(testApp.app);
    let form = browser.upload().set('Accept', 'application/json');
    for (const upload of uploads) form = form.attach('photos', await upload.bytes(), upload.name);
    ids = ((await form.expect(201)).body.photos as { id: string }[]).map((photo) => photo.id);
    tiles = new Map(tilesOf((await browser.get('/').expect(200)).text).map((tile) => [tile.id, tile]));
  });

  it("then each tile carries its photo's width / height ratio, and its image the thumbnail's size in that shape", () => {
    assert.equal(tiles.size, uploads.length);
    for (const [index, upload] of uploads.entries()) {
      const tile = tiles.get(ids[index]!)!;
      assert.equal(tile.ratio, Math.round(upload.ratio * 10000) / 10000, upload.name);
      assert.deepEqual([tile.width, tile.height], upload.thumbnail, upload.name);
    }
  });

  it('then each thumbnail is exactly the size its tile announces, so nothing moves when it loads', async () => {
    for (const [index, upload] of uploads.entries()) {
      const tile = tiles.get(ids[index]!)!;
      const stored = await sharp(await download(tile.src)).metadata();
      assert.deepEqual([stored.width, stored.height], [tile.width, tile.height], upload.name);
    }
  });

  it('then an animation, and only an animation, has a badge and says so in its name', () => {
    for (const [index, upload] of uploads.entries()) {
      const tile = tiles.get(ids[index]!)!;
      assert.equal(tile.badge, upload.animated, upload.name);
      assert.equal(tile.label.includes('animated'), upload.animated, `${upload.name}: "${tile.label}"`);
    }
  });
});

describe('when photos were uploaded on different days', () => {
  it("then the gallery groups them under a heading for each UTC day, newest first, for the page script to regroup by the viewer's day", async () => {
    const [lateOn20th, lastMomentOf19th, firstMomentOf19th, on3rd] = await seedPhotosAt(testApp.store, [
      new Date('2026-11-20T09:00:00.000Z'),
      new Date('2026-11-19T23:59:59.999Z'),
      new Date('2026-11-19T00:00:00.000Z'),
      new Date('2026-11-03T12:00:00.000Z'),
    ]);
    const page = (await request(testApp.app).get('/').expect(200)).text;
    const days = [...page.matchAll(/<h2 class="day"><time datetime="([^"]+)">([^<]+)<\/time><\/h2>\s*<ul class="grid">(.*?)<\/ul>/gs)].map(
      ([, date, label, grid]) => ({ date, label, ids: [...grid!.matchAll(/href="\/photos\/([^"?]+)/g)].map((match) => match[1]) }),
    );
    assert.deepEqual(days.slice(-3), [
      { date: '2026-11-20', label: '20 November 2026', ids: [lateOn20th] },
      { date: '2026-11-19', label: '19 November 2026', ids: [lastMomentOf19th, firstMomentOf19th] },
      { date: '2026-11-03', label: '3 November 2026', ids: [on3rd] },
    ]);
    assert.equal(new Set(days.map((day) => day.date)).size, days.length, 'each day has one heading');
  });
});
