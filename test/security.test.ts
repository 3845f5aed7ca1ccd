// Defences for a public demo: strict headers, CSRF tokens on every state-changing form, rate limits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { openBrowser } from './support/browser.js';
import { fixture, startTestApp, useTestApp } from './support/test-app.js';

const testApp = useTestApp({ env: { UPLOADS_PER_HOUR: '3' } });

describe('when any page is served', () => {
  it('then a strict Content-Security-Policy allows only our own scripts and styles, and images from the bucket endpoint', async () => {
    const response = await request(testApp.app).get('/').expect(200);
    const csp = response.headers['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(csp.includes(`img-src 'self' ${testApp.emulator.endpoint}`), csp);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['referrer-policy'], 'same-origin');
  });

  it('then pages hold no inline script or style for the policy to block', async () => {
    for (const path of ['/', '/about', '/no-such-page']) {
      const html = (await request(testApp.app).get(path)).text;
      assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, `${path}: inline <script>`);
      assert.doesNotMatch(html, /<style|\sstyle="/, `${path}: inline style`);
    }
  });

  it('then no page may be kept by a cache (they hold form tokens and expiring links), while static files may', async () => {
    const visitor = await openBrowser(testApp.app);
    const uploaded = await visitor
      .upload()
      .attach('photos', await fixture('square.png'), 'p.png')
      .expect(303);
    for (const path of ['/', String(uploaded.headers.location), '/about', '/readyz', '/no-such-page']) {
      assert.equal((await visitor.get(path)).headers['cache-control'], 'no-store', path);
    }
    assert.match((await request(testApp.app).get('/static/styles.css').expect(200)).headers['cache-control'] ?? '', /max-age=3600/);
  });

  it('then the browser cookies are HttpOnly and SameSite=Lax (a visitor arriving by a link from another site brings both)', async () => {
    const cookies = [(await request(testApp.app).get('/').expect(200)).headers['set-cookie'] ?? []].flat();
    assert.equal(cookies.length, 2, cookies.join('\n'));
    for (const cookie of cookies) {
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Lax/);
    }
  });
});

describe('when an upload does not carry the form token', () => {
  it('then it is refused with 403 before anything is stored', async () => {
    const keysBefore = await testApp.listAllKeys();
    const stranger = request(testApp.app);
    const response = await stranger
      .post('/photos')
      .attach('photos', await fixture('landscape.jpg'), 'a.jpg')
      .expect(403);
    assert.match(response.text, /Form expired/);
    assert.deepEqual(await testApp.listAllKeys(), keysBefore);
  });

  it('then a token from another browser is refused too', async () => {
    const victim = await openBrowser(testApp.app);
    const attacker = await openBrowser(testApp.app);
    await victim.agent
      .post('/photos')
      .field('_csrf', attacker.token)
      .attach('photos', await fixture('square.png'), 'p.png')
      .expect(403);
  });

  it('then a token sent after the file is refused: files are only stored once the token is checked', async () => {
    const browser = await openBrowser(testApp.app);
    const keysBefore = await testApp.listAllKeys();
    await browser.agent
      .post('/photos')
      .attach('photos', await fixture('square.png'), 'p.png')
      .field('_csrf', browser.token)
      .expect(403);
    assert.deepEqual(await testApp.listAllKeys(), keysBefore);
  });
});

describe('when one client uploads more than the hourly limit', () => {
  it('then it gets a clear 429 page and nothing more is stored', async () => {
    // An app of its own, so the count does not depend on what other tests uploaded.
    const limited = await startTestApp({ env: { UPLOADS_PER_HOUR: '2' } });
    try {
      const browser = await openBrowser(limited.app);
      for (let upload = 0; upload < 2; upload++)
        await browser
          .upload()
          .attach('photos', await fixture('square.png'), 'p.png')
          .expect(303);
      const keysBefore = await limited.listAllKeys();
      const response = await browser
        .upload()
        .attach('photos', await fixture('square.png'), 'p.png')
        .expect(429);
      assert.match(response.text, /Too many requests/);
      assert.match(response.text, /This address has made too many uploads in a short time/);
      assert.ok(response.headers['ratelimit-policy'] ?? response.headers.ratelimit, 'standard RateLimit headers');
      assert.deepEqual(await limited.listAllKeys(), keysBefore, 'nothing more is stored');
    } finally {
      await limited.close();
    }
  });
});

describe('when another site makes a visitor send forged uploads and deletions', () => {
  it("then requests without the visitor's form token do not use up the visitor's allowance; their real uploads and deletions still work", async () => {
    const limited = await startTestApp({ env: { UPLOADS_PER_HOUR: '3', DELETES_PER_HOUR: '2' } });
    try {
      const visitor = await openBrowser(limited.app);
      const uploaded = await visitor
        .upload()
        .attach('photos', await fixture('square.png'), 'p.png')
        .expect(303);
      const photoPath = String(uploaded.headers.location);
      // What a cross-site page can send with no preflight: no token, a form without cookies, a wrong token.
      for (let attempt = 0; attempt < 5; attempt++) {
        await request(limited.app).post('/photos').type('form').send('a=b').expect(400);
        await visitor.agent.post('/photos').field('_csrf', 'forged').attach('photos', Buffer.from('x'), 'x.jpg').expect(403);
        await visitor.agent.post(`${photoPath}/delete`).type('form').send('_csrf=forged').expect(403);
        await request(limited.app).post(`${photoPath}/delete`).type('form').send('').expect(403);
      }
      await visitor
        .upload()
        .attach('photos', await fixture('square.png'), 'p.png')
        .expect(303);
      await visitor.agent.post(`${photoPath}/delete`).type('form').send({ _csrf: visitor.token }).expect(303);
      // Requests that carried the token count, refused or not: the limit still holds for the visitor itself.
      await visitor.upload().attach('photos', Buffer.from('not an image'), 'n.jpg').expect(415);
      await visitor
        .upload()
        .attach('photos', await fixture('square.png'), 'p.png')
        .expect(429);
    } finally {
      await limited.close();
    }
  });
});

describe('when a client asks with HEAD instead of GET', () => {
  it('then every page answers HEAD with the status GET gets, and no body', async () => {
    const visitor = await openBrowser(testApp.app);
    const uploaded = await visitor
      .upload()
      .attach('photos', await fixture('square.png'), 'p.png')
      .expect(303);
    const photoPath = String(uploaded.headers.location);
    for (const path of ['/', photoPath, `${photoPath}/delete`, '/about', '/healthz', '/readyz', '/static/styles.css', '/nowhere']) {
      const get = await visitor.agent.get(path);
      const head = await visitor.agent.head(path);
      assert.equal(head.status, get.status, `HEAD ${path}`);
      assert.ok(head.status < 500, `HEAD ${path} answered ${head.status}`);
      assert.equal(head.text ?? '', '', `HEAD ${path} has no body`);
    }
  });
});
