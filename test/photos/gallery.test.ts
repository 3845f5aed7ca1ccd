// The gallery, photo and delete pages against the real emulator: empty state, paging, deletion.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import request from 'supertest';
import sharp from 'sharp';
import { decodeHtml, formToken } from '../../scripts/support/html.js';
import { download, fullSizeUrl } from '../support/pages.js';
import { PHOTOS_PER_PAGE } from '../../src/photos/store.js';
import { openBrowser, type Browser } from '../support/browser.js';
import { rewriteRecord, seedPhotos } from '../support/seed.js';
import { fixture, useTestApp } from '../support/test-app.js';

const testApp = useTestApp();

function photoLinks(html: string): string[] {
  return [...html.matchAll(/href="\/photos\/([^"/?]+)[^"]*"/g)].map((match) => match[1]!);
}

function link(html: string, rel: 'next' | 'prev'): string | undefined {
  return new RegExp(`href="([^"]+)" rel="${rel}"`).exec(html)?.[1]?.replaceAll('&amp;', '&');
}

describe('when the bucket is empty', () => {
  it('then the gallery says so and offers the upload form', async () => {
    const response = await request(testApp.app).get('/').expect(200);
    assert.match(response.text, /No photos yet/);
    assert.match(response.text, /<form id="upload-form" action="\/photos" method="post" enctype="multipart\/form-data">/);
    assert.equal(link(response.text, 'next'), undefined);
  });
});

describe('when a gallery page is shown', () => {
  it('then its photos come first: the upload form waits in a dialog, which the header link opens (or leads to /upload)', async () => {
    const page = (await request(testApp.app).get('/').expect(200)).text;
    assert.match(
      page,
      /<header class="site-header">.*<a class="button upload-link" href="\/upload" data-opens="upload-dialog">Upload photos<\/a>.*<\/header>/s,
    );
    const dialog = /<dialog class="upload upload-dialog" id="upload-dialog"[^>]*>(.*?)<\/dialog>/s.exec(page)?.[1];
    assert.ok(dialog, 'the gallery has the upload dialog');
    assert.match(dialog, /<form id="upload-form" action="\/photos" method="post" enctype="multipart\/form-data">/);
    assert.match(dialog, /<input id="photos" name="photos" type="file" multiple required/);
    assert.match(dialog, /<button type="submit">Upload<\/button>/);
    assert.equal(page.split('id="upload-form"').length, 2, 'one upload form');
    assert.ok(page.indexOf('<dialog') > page.indexOf('<section aria-labelledby="gallery-heading">'), 'the photos come before the form');
  });

  it('then without JavaScript, /upload shows the same form, whose token and post store the photo as before', async () => {
    const agent = request.agent(testApp.app);
    const page = (await agent.get('/upload').expect(200)).text;
    assert.match(page, /<h1 id="upload-heading">Share photos<\/h1>/);
    assert.match(page, /<form id="upload-form" action="\/photos" method="post" enctype="multipart\/form-data">/);
    assert.doesNotMatch(page, /<dialog/);
    const token = formToken(page);
    assert.ok(token);
    const upload = await agent
      .post('/photos')
      .field('_csrf', token)
      .attach('photos', await fixture('square.png'), 'square.png')
      .expect(303);
    assert.match(upload.headers.location!, /^\/photos\/\d{13}-[0-9a-f]{12}$/);
    await agent
      .post('/photos')
      .field('_csrf', 'forged')
      .attach('photos', await fixture('square.png'), 'square.png')
      .expect(403);
    // The other tests here count the photos: this one leaves none behind.
    await agent.post(`${upload.headers.location}/delete`).type('form').send({ _csrf: token }).expect(303);
  });
});

describe('when there are more photos than fit on three pages', () => {
  let seeded: string[];
  before(async () => {
    seeded = await seedPhotos(testApp.store, PHOTOS_PER_PAGE * 3 + 5);
  });

  it('then "Older" walks every photo newest first, and "Newer" walks back', async () => {
    const newestFirst = [...seeded].reverse();
    const pages: string[][] = [];
    const urls: string[] = ['/'];
    let next: string | undefined = '/';
    while (next) {
      const response = await request(testApp.app).get(next).expect(200);
      pages.push(photoLinks(response.text));
      next = link(response.text, 'next');
      if (next) urls.push(next);
    }
    assert.deepEqual(
      pages.map((page) => page.length),
      [24, 24, 24, 5],
    );
    assert.deepEqual(pages.flat(), newestFirst);

    // From the last page, "Newer" leads back through the same pages.
    let back = link((await request(testApp.app).get(urls.at(-1)!).expect(200)).text, 'prev');
    for (let pageIndex = pages.length - 2; pageIndex >= 0; pageIndex--) {
      assert.ok(back, `page ${pageIndex + 2} links to a newer page`);
      const response = await request(testApp.app).get(back).expect(200);
      assert.deepEqual(photoLinks(response.text), pages[pageIndex]);
      back = link(response.text, 'prev');
    }
    assert.equal(back, undefined, 'the newest page has no "Newer" link');
  });

  it('then a photo opened from any gallery page links its newer and older neighbours, the first and last of a page included', async () => {
    const newestFirst = [...seeded].reverse();
    let next: string | undefined = '/';
    let checked = 0;
    while (next) {
      const gallery = (await request(testApp.app).get(next).expect(200)).text;
      const tiles = [...gallery.matchAll(/href="(\/photos\/(\d{13}-[0-9a-f]{12})(?:\?from=[^"]*)?)"/g)];
      for (const tile of [tiles[0]!, tiles.at(-1)!]) {
        const [, href, id] = tile;
        const page = (await request(testApp.app).get(decodeHtml(href!)).expect(200)).text;
        const at = newestFirst.indexOf(id!);
        const newer = /<a href="\/photos\/([^"?]+)[^"]*" rel="prev">/.exec(page)?.[1];
        const older = /<a href="\/photos\/([^"?]+)[^"]*" rel="next">/.exec(page)?.[1];
        assert.equal(newer, newestFirst[at - 1], `the photo newer than ${id}`);
        assert.equal(older, newestFirst[at + 1], `the photo older than ${id}`);
        checked++;
      }
      next = link(gallery, 'next');
    }
    assert.equal(checked, 8, 'two photos on each of four pages');
  });

  it('then a made-up page token gets an error page, and the gallery keeps working', async () => {
    // Page tokens are photo ids: anything else is refused before S3 is asked.
    const response = await request(testApp.app).get('/?page=not-a-real-token').expect(400);
    assert.match(response.text, /Page link not valid/);
    await request(testApp.app).get('/').expect(200);
  });
});

describe('when a photo is deleted', () => {
  async function uploadAs(browser: Browser): Promise<string> {
    const upload = await browser
      .upload()
      .set('Accept', 'application/json')
      .attach('photos', await fixture('phone-gps-rotated.jpg'), 'phone.jpg')
      .expect(201);
    return upload.body.photos[0].id;
  }

  it('then by its uploader, a confirmation comes first, and after it the photo and all its objects are gone', async () => {
    const uploader = await openBrowser(testApp.app);
    const id = await uploadAs(uploader);
    assert.equal(
      (await testApp.listAllKeys()).filter((key) => key.includes(id)).length,
      5,
      'thumbnail, its 2× copy, display, original, clean copy',
    );

    assert.match((await uploader.get(`/photos/${id}`).expect(200)).text, /Delete…/);
    const confirm = await uploader.get(`/photos/${id}/delete`).expect(200);
    assert.match(confirm.text, new RegExp(`<form action="/photos/${id}/delete" method="post">`));

    await uploader.delete(id).expect(303).expect('Location', '/');
    assert.deepEqual(
      (await testApp.listAllKeys()).filter((key) => key.includes(id)),
      [],
    );
    await uploader.get(`/photos/${id}`).expect(404);
    assert.match((await uploader.get('/').expect(200)).text, /The photo was deleted/);
    assert.doesNotMatch((await uploader.get('/').expect(200)).text, /The photo was deleted/, 'the notice shows once');
  });

  it("then its confirmation page shows the thumbnail at the thumbnail's own size, however small the photo", async () => {
    const uploader = await openBrowser(testApp.app);
    const upload = await uploader
      .upload()
      .set('Accept', 'application/json')
      .attach('photos', await fixture('tiny.gif'), 't.gif')
      .expect(201);
    const id = upload.body.photos[0].id as string;
    const confirm = (await uploader.get(`/photos/${id}/delete`).expect(200)).text;
    const [, src, width, height] = /<img src="([^"]+)" width="(\d+)" height="(\d+)"/.exec(confirm) ?? [];
    const thumbnail = await sharp(await download(decodeHtml(src!))).metadata();
    assert.deepEqual([Number(width), Number(height)], [thumbnail.width, thumbnail.height]);
  });

  it('then by another browser, it is refused with 403 and the photo stays', async () => {
    const id = await uploadAs(await openBrowser(testApp.app));
    const stranger = await openBrowser(testApp.app);
    const page = await stranger.get(`/photos/${id}`).expect(200);
    assert.doesNotMatch(page.text, /Delete…/);
    assert.match(page.text, /Only the browser that uploaded this photo can change its caption or delete it/);
    await stranger.get(`/photos/${id}/delete`).expect(403);
    const refused = await stranger.delete(id).expect(403);
    assert.match(refused.text, /Not your photo/);
    assert.equal((await testApp.listAllKeys()).filter((key) => key.includes(id)).length, 5);
  });

  it('then without the form token, it is refused with 403 and the photo stays', async () => {
    const uploader = await openBrowser(testApp.app);
    const id = await uploadAs(uploader);
    await uploader.agent.post(`/photos/${id}/delete`).type('form').send({ _csrf: 'forged' }).expect(403);
    await uploader.agent.post(`/photos/${id}/delete`).expect(403);
    assert.equal((await testApp.listAllKeys()).filter((key) => key.includes(id)).length, 5);
  });

  it('then deleting one that does not exist is a 404', async () => {
    await (await openBrowser(testApp.app)).delete('8000000000000-aaaaaaaaaaaa').expect(404);
  });
});

describe('when an address does not name a photo', () => {
  for (const path of ['/photos/nope', '/photos/..%2F..%2Fetc%2Fpasswd', '/photos/8000000000000-aaaaaaaaaaaa', '/no/such/page']) {
    it(`then ${path} is a 404 page`, async () => {
      const response = await request(testApp.app).get(path).expect(404);
      assert.match(response.text, /not found/i);
    });
  }
});

describe('when a photo was stored by an earlier version (no full-size type in its record)', () => {
  it('then its page still shows, linking the display image as its full size, never the old copy', async () => {
    const id = (await seedPhotos(testApp.store, 1))[0]!;
    // Rewrite its record as the earlier version wrote it.
    await rewriteRecord(testApp, id, {
      caption: '',
      width: '300',
      height: '400',
      'original-bytes': '1',
      'original-type': 'jpg',
      'clean-copy': 'yes',
      'uploader-sha256': 'a'.repeat(64),
    });
    const page = await request(testApp.app).get(`/photos/${id}`).expect(200);
    const fullSize = await fullSizeUrl(testApp.app, page.text);
    assert.match(fullSize, new RegExp(`/photos/display/${id}\\.jpg\\?`));
  });
});

describe("when a browser fetches a photo's images through their presigned links", () => {
  it('then S3 answers each with a year-long, immutable Cache-Control (their keys never change), so a repeated link is not downloaded again', async () => {
    const id = (await seedPhotos(testApp.store, 1))[0]!;
    // The links every page shows come from this one method (gallery, photo and delete pages alike).
    const links = Object.values(await testApp.store.presignPhotoUrls((await testApp.store.findPhoto(id))!));
    assert.equal(links.length, 3, 'thumbnail, display image and full size');
    for (const link of links) {
      const response = await fetch(link);
      await response.arrayBuffer();
      assert.equal(response.status, 200, link);
      assert.equal(response.headers.get('cache-control'), 'private, max-age=31536000, immutable', new URL(link).pathname);
    }
  });
});
