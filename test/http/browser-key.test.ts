// Who may give a browser its key: only a page that renders a form, fetched with GET (or HEAD). A cross-site
// form POST arrives without the SameSite=Lax key cookie; if its answer set a new key, the browser would keep
// it and lose its right to delete its own photos. No POST and no error answer, on any route, sets a cookie.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { handleError } from '../../src/http/error-handler.js';
import { createLogger } from '../../src/logging.js';
import { openBrowser } from '../support/browser.js';
import { fixture, startTestApp, useTestApp } from '../support/test-app.js';

let photoId: string;
// Behind one proxy, so a request can say it came over HTTPS (X-Forwarded-Proto), where the key is a __Host- cookie.
const testApp = useTestApp({ env: { TRUST_PROXY: '1' } }, async () => {
  const owner = await openBrowser(testApp.app);
  const uploaded = await owner
    .upload()
    .attach('photos', await fixture('square.png'), 'p.png')
    .expect(303);
  photoId = String(uploaded.headers.location).split('/')[2]!;
});

const SCHEMES = { http: {}, https: { 'X-Forwarded-Proto': 'https' } } as const;
const BROWSER_KEY = /^(__Host-)?browser_key=/;
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;

function paths(): string[] {
  return [
    '/',
    '/?page=not-a-token',
    '/photos',
    `/photos/${photoId}`,
    `/photos/${photoId}/delete`,
    `/photos/${photoId}/caption`,
    '/photos/1700000000000-000000000000',
    '/photos/1700000000000-000000000000/delete',
    '/photos/1700000000000-000000000000/caption',
    '/photos/not-an-id',
    '/photos/not-an-id/delete',
    '/photos/not-an-id/caption',
    '/about',
    '/nowhere',
    '/healthz',
    '/readyz',
    '/static/styles.css',
    '/static/nowhere.css',
  ];
}

function setCookies(response: request.Response): string[] {
  return [response.headers['set-cookie'] ?? []].flat();
}

/** Asserts what the rule allows: a key only from a 200 form page to GET or HEAD, and no cookie at all on an error. */
function assertNoKeyUnlessFormPage(method: string, path: string, response: request.Response): void {
  const cookies = setCookies(response);
  const what = `${method.toUpperCase()} ${path} answered ${response.status} with ${cookies.join(' | ') || 'no cookie'}`;
  if (response.status >= 400) assert.deepEqual(cookies, [], what);
  const formPage = (method === 'get' || method === 'head') && path === '/' && response.status === 200;
  if (!formPage)
    assert.equal(
      cookies.some((cookie) => BROWSER_KEY.test(cookie)),
      false,
      what,
    );
}

describe('when a request without the browser-key cookie is anything but a GET of a page with a form', () => {
  for (const [scheme, headers] of Object.entries(SCHEMES)) {
    it(`then over ${scheme} no method on any route, and no error answer, gives it a key`, async () => {
      for (const method of METHODS)
        for (const path of paths()) {
          const response = await request(testApp.app)[method](path).set(headers);
          assertNoKeyUnlessFormPage(method, path, response);
        }
    });

    it(`then over ${scheme} no upload, delete or caption form, whatever it holds, gives it a key`, async () => {
      const upload = () => request(testApp.app).post('/photos').set(headers);
      const remove = () => request(testApp.app).post(`/photos/${photoId}/delete`).set(headers);
      const recaption = () => request(testApp.app).post(`/photos/${photoId}/caption`).set(headers);
      const attempts: [string, () => Promise<request.Response>][] = [
        ['an upload form with a file', async () => upload().attach('photos', await fixture('square.png'), 'p.png')],
        [
          'an upload form with a forged token',
          async () =>
            upload()
              .field('_csrf', 'forged')
              .attach('photos', await fixture('square.png'), 'p.png'),
        ],
        ['an upload form with only a caption', () => upload().field('caption', 'hello')],
        ['a url-encoded upload', () => upload().type('form').send('caption=hello')],
        ['a JSON upload', () => upload().send({ caption: 'hello' })],
        ['a cut-off multipart form', () => upload().set('Content-Type', 'multipart/form-data; boundary=x').send('--x\r\nContent-Dis')],
        ['an empty delete form', () => remove().type('form').send('')],
        ['a delete form with a forged token', () => remove().type('form').send('_csrf=forged')],
        [
          'a delete form too large to read',
          () =>
            remove()
              .type('form')
              .send(`_csrf=${'x'.repeat(4096)}`),
        ],
        ['a delete form with too many fields', () => remove().type('form').send('a=1&b=2&c=3&d=4&e=5')],
        [
          'a delete form in a bad encoding',
          () => remove().set('Content-Type', 'application/x-www-form-urlencoded; charset=koi8-r').send('_csrf=x'),
        ],
        ['a caption form without a token', () => recaption().type('form').send('caption=hello')],
        ['a caption form with a forged token', () => recaption().type('form').send('_csrf=forged&caption=hello')],
        [
          'a caption form too large to read',
          () =>
            recaption()
              .type('form')
              .send(`caption=${'x'.repeat(20_000)}`),
        ],
      ];
      for (const [what, send] of attempts) {
        const response = await send();
        assert.ok(response.status >= 400, `${what}: answered ${response.status}`);
        assertNoKeyUnlessFormPage('post', what, response);
      }
    });
  }

  it('then a page that fails (S3 is down) gives it no key either', async () => {
    await testApp.stopS3();
    try {
      for (const path of ['/', `/photos/${photoId}`]) {
        const response = await request(testApp.app).get(path);
        assert.ok(response.status >= 500, `GET ${path} answered ${response.status}`);
        assertNoKeyUnlessFormPage('get', path, response);
      }
    } finally {
      await testApp.restartS3();
    }
  });

  it('then a page refused by the rate limit gives it no key', async () => {
    const limited = await startTestApp({ env: { PAGE_VIEWS_PER_MINUTE: '1' } });
    try {
      await request(limited.app).get('/about').expect(200);
      const response = await request(limited.app).get('/').expect(429);
      assertNoKeyUnlessFormPage('get', '/', response);
    } finally {
      await limited.close();
    }
  });

  it('then the gallery, its form page, gives a key over HTTP and a __Host- key over HTTPS', async () => {
    const plain = setCookies(await request(testApp.app).get('/').expect(200));
    assert.equal(plain.filter((cookie) => /^browser_key=[A-Za-z0-9_-]{43};/.test(cookie)).length, 1, plain.join('\n'));
    const secure = setCookies(await request(testApp.app).get('/').set(SCHEMES.https).expect(200));
    assert.equal(secure.filter((cookie) => /^__Host-browser_key=[A-Za-z0-9_-]{43};/.test(cookie)).length, 1, secure.join('\n'));
  });
});

describe('when a cross-site form posts to the app and its answer is kept by the browser', () => {
  it('then the visitor keeps their key, and can still delete their photo', async () => {
    const visitor = await openBrowser(testApp.app);
    const uploaded = await visitor
      .upload()
      .attach('photos', await fixture('square.png'), 'p.png')
      .expect(303);
    const ownPhoto = String(uploaded.headers.location);
    // The browser does not send the Lax key with a cross-site POST, but would store whatever its answer sets:
    // the agent below sends no cookie, and its answer's cookies are then given to the visitor's agent.
    const forged = await request(testApp.app)
      .post('/photos')
      .attach('photos', await fixture('square.png'), 'p.png');
    assert.equal(forged.status, 403);
    visitor.agent.jar.setCookies(setCookies(forged), '127.0.0.1', '/');
    assert.match((await visitor.get(ownPhoto).expect(200)).text, /Delete…/);
    await visitor.delete(ownPhoto.split('/')[2]!).expect(303);
  });
});

describe('when a page fails after it has set a cookie (a new key, a notice cleared)', () => {
  it('then the error answer sets none of them', async () => {
    const app = express();
    app.use((req, _res, next) => {
      req.log = createLogger('silent');
      next();
    });
    app.get('/', (_req, res) => {
      res.cookie('browser_key', 'k'.repeat(43));
      res.clearCookie('notice');
      throw new Error('the page failed while rendering');
    });
    app.use(handleError);
    const response = await request(app).get('/').set('Accept', 'application/json').expect(500);
    assert.deepEqual(setCookies(response), []);
  });
});
