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
