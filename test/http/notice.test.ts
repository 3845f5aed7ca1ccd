// The notice after an upload or a delete shows once, on the next page, and never from the address alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { openBrowser } from '../support/browser.js';
import { fixture, useTestApp } from '../support/test-app.js';

const testApp = useTestApp();

describe('when an upload of several photos redirects to the gallery', () => {
  it('then the gallery says how many once, and an address alone never says it', async () => {
    const browser = await openBrowser(testApp.app);
    await browser
      .upload()
      .attach('photos', await fixture('square.png'), 'a.png')
      .attach('photos', await fixture('tiny.gif'), 'b.gif')
      .expect(303)
      .expect('Location', '/');
    assert.match((await browser.get('/').expect(200)).text, /<p class="notice" role="status">2 photos were uploaded\.<\/p>/);
    assert.doesNotMatch((await browser.get('/').expect(200)).text, /photos were uploaded/);
    assert.doesNotMatch((await request(testApp.app).get('/?uploaded=8').expect(200)).text, /photos were uploaded/);
  });
});

describe('when the upload script sends a choice of many files in batches, one request each', () => {
  it('then the next page says how many all the batches stored, once', async () => {
    const browser = await openBrowser(testApp.app);
    for (const names of [['a.png', 'b.png'], ['c.png']]) {
      let batch = browser.upload().set('Accept', 'application/json');
      for (const name of names) batch = batch.attach('photos', await fixture('square.png'), name);
      await batch.expect(201);
    }
    assert.match((await browser.get('/').expect(200)).text, /<p class="notice" role="status">3 photos were uploaded\.<\/p>/);
    assert.doesNotMatch((await browser.get('/').expect(200)).text, /photos were uploaded/);
  });
});

describe('when an upload of one photo redirects to its page', () => {
  it('then that page says it was uploaded once, and a reload does not', async () => {
    const browser = await openBrowser(testApp.app);
    const uploaded = await browser
      .upload()
      .attach('photos', await fixture('square.png'), 'a.png')
      .expect(303);
    const photoPath = String(uploaded.headers.location);
    assert.match((await browser.get(photoPath).expect(200)).text, /<p class="notice" role="status">The photo was uploaded\.<\/p>/);
    assert.doesNotMatch((await browser.get(photoPath).expect(200)).text, /class="notice"/);
  });
});

describe('when the notice cookie was not set by the app', () => {
  it('then the gallery shows no notice, whatever the cookie says', async () => {
    for (const value of ['%3Cscript%3E', 'photos-uploaded:1000', 'photos-uploaded:0', 'photos-uploaded:01x']) {
      const page = await request(testApp.app).get('/').set('Cookie', `notice=${value}`).expect(200);
      assert.doesNotMatch(page.text, /class="notice"/, value);
    }
  });
});

// A sibling subdomain can set a cookie for the parent domain, which the app's clearing (host-only) never removes:
// a planted `notice` would show on every page for as long as its planter chose. Over HTTPS the app's notice is a
// `__Host-` cookie, as the browser key and the form token's are, which only this host can set.
describe('when a notice cookie was planted for the parent domain and the site is served over HTTPS', () => {
  const behindProxy = useTestApp({ env: { TRUST_PROXY: '1' } });

  it('then no page shows it, and the notice the app sets is a __Host- cookie that shows once', async () => {
    const planted = await request(behindProxy.app)
      .get('/')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', 'notice=photo-deleted')
      .expect(200);
    assert.doesNotMatch(planted.text, /class="notice"/, 'the planted notice is not shown');

    // supertest keeps a Secure cookie only for https URLs: the cookies are sent by hand, as the browser would.
    const gallery = await request(behindProxy.app).get('/').set('X-Forwarded-Proto', 'https').expect(200);
    const token = /name="_csrf" value="([^"]+)"/.exec(gallery.text)![1]!;
    const browserCookies = [gallery.headers['set-cookie'] ?? []].flat().map((cookie) => cookie.split(';')[0]);
    const uploaded = await request(behindProxy.app)
      .post('/photos')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', browserCookies.join('; '))
      .field('_csrf', token)
      .attach('photos', await fixture('square.png'), 'a.png')
      .expect(303);
    const noticeCookies = [uploaded.headers['set-cookie'] ?? []].flat().filter((cookie) => /notice=/.test(cookie));
    assert.equal(noticeCookies.length, 1);
    assert.match(
      noticeCookies[0]!,
      /^__Host-notice=photos-uploaded%3A1; Max-Age=60; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/,
    );
    const cookie = `${noticeCookies[0]!.split(';')[0]}; notice=photo-deleted`;
    const photoPath = String(uploaded.headers.location);
    const shown = await request(behindProxy.app).get(photoPath).set('X-Forwarded-Proto', 'https').set('Cookie', cookie).expect(200);
    assert.match(shown.text, /<p class="notice" role="status">The photo was uploaded\.<\/p>/);
    assert.match(
      [shown.headers['set-cookie'] ?? []].flat().join('\n'),
      /^__Host-notice=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/m,
      'and cleared',
    );
  });
});
