// A method a path does not take: 405 with an Allow header naming the methods it does take, as the app's own
// error answer (HTML or JSON, no-store, no cookie). A path no route knows stays 404 whatever the method.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { MethodNotAllowed } from '../../src/errors.js';
import { refusingOtherMethods } from '../../src/http/allowed-methods.js';
import { fixture, useTestApp } from '../support/test-app.js';
import { openBrowser } from '../support/browser.js';

let photoId: string;
const testApp = useTestApp({ env: { PAGE_VIEWS_PER_MINUTE: '1000' } }, async () => {
  const owner = await openBrowser(testApp.app);
  const uploaded = await owner
    .upload()
    .set('Accept', 'application/json')
    .attach('photos', await fixture('square.png'), 'p.png')
    .expect(201);
  photoId = uploaded.body.photos[0].id as string;
});

const UNKNOWN_ID = '1700000000000-000000000000';

/** Each path the app answers, and exactly what its Allow header must say. */
function routes(): [path: string, allow: string][] {
  return [
    ['/', 'GET, HEAD, OPTIONS'],
    ['/upload', 'GET, HEAD, OPTIONS'],
    ['/photos', 'POST, OPTIONS'],
    [`/photos/${photoId}`, 'GET, HEAD, OPTIONS'],
    [`/photos/${UNKNOWN_ID}`, 'GET, HEAD, OPTIONS'],
    [`/photos/${photoId}/full`, 'GET, HEAD, OPTIONS'],
    [`/photos/${photoId}/caption`, 'POST, OPTIONS'],
    [`/photos/${photoId}/delete`, 'GET, HEAD, POST, OPTIONS'],
    ['/about', 'GET, HEAD, OPTIONS'],
    ['/healthz', 'GET, HEAD, OPTIONS'],
    ['/readyz', 'GET, HEAD, OPTIONS'],
  ];
}

/** Methods no route takes; HEAD too where a path has no GET. */
function refusedMethods(allow: string): string[] {
  return ['PUT', 'DELETE', 'PATCH', 'PROPFIND', ...(allow.includes('GET') ? [] : ['GET', 'HEAD'])];
}

function send(method: string, path: string, accept: string): request.Test {
  return request(testApp.app)[method.toLowerCase() as 'get'](path).set('Accept', accept);
}

describe('when a path is asked with a method it does not take', () => {
  it('then a page answers 405, with Allow listing the methods it takes', async () => {
    for (const [path, allow] of routes()) {
      for (const method of refusedMethods(allow)) {
        const response = await send(method, path, 'text/html');
        assert.equal(response.status, 405, `${method} ${path}`);
        assert.equal(response.headers.allow, allow, `${method} ${path}`);
        assert.equal(response.headers['cache-control'], 'no-store', `${method} ${path}`);
        assert.equal(response.headers['set-cookie'], undefined, `${method} ${path}: no cookie`);
        if (method === 'HEAD') continue;
        assert.equal(response.headers['content-type'], 'text/html; charset=utf-8', `${method} ${path}`);
        assert.match(response.text, /<h1>Method not allowed <span class="status">\(405\)<\/span><\/h1>/);
        assert.ok(response.text.includes(`This address does not take a ${method} request.`), `${method} ${path}`);
      }
    }
  });

  it('then a script gets the same 405 as JSON', async () => {
    const response = await send('DELETE', `/photos/${photoId}`, 'application/json');
    assert.equal(response.status, 405);
    assert.equal(response.headers.allow, 'GET, HEAD, OPTIONS');
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.deepEqual(response.body, {
      error: {
        status: 405,
        title: 'Method not allowed',
        message: 'This address does not take a DELETE request.',
        hint: 'It takes GET, HEAD or OPTIONS: use the links and forms of the gallery.',
      },
    });
  });

  it('then the photo is still there', async () => {
    await send('DELETE', `/photos/${photoId}`, 'text/html').expect(405);
    await request(testApp.app).get(`/photos/${photoId}`).expect(200);
  });
});

describe('when a static file is asked with a method other than GET or HEAD', () => {
  it('then it is a 405 with Allow, as a page is; a file that is not there, or outside the folder, stays 404', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'POST']) {
      const response = await send(method, '/static/styles.css', 'text/html');
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.allow, 'GET, HEAD, OPTIONS', method);
      assert.equal(response.headers['content-type'], 'text/html; charset=utf-8', method);
      assert.equal(response.headers['cache-control'], 'no-store', method);
    }
    const options = await send('OPTIONS', '/static/styles.css', '*/*');
    assert.equal(options.status, 204);
    assert.equal(options.headers.allow, 'GET, HEAD, OPTIONS');
    for (const path of [
      '/static/nowhere.css',
      '/static/../package.json',
      '/static/%2e%2e/package.json',
      '/static/%E0%A4%A',
      '/static/',
      '/static',
    ]) {
      assert.equal((await send('PUT', path, 'text/html')).status, 404, path);
    }
    await request(testApp.app).get('/static/styles.css').expect(200);
  });
});

describe('when OPTIONS asks what a path takes', () => {
  it('then it is answered with the Allow header and no body', async () => {
    for (const [path, allow] of routes()) {
      const response = await send('OPTIONS', path, '*/*');
      assert.equal(response.status, 204, path);
      assert.equal(response.headers.allow, allow, path);
      assert.equal(response.text, '', path);
    }
  });
});

describe('when a path no route knows is asked with any method', () => {
  it('then it stays 404', async () => {
    for (const path of ['/nowhere', '/photos/x/y/z', '/static/nowhere.css']) {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const response = await send(method, path, 'text/html');
        assert.equal(response.status, 404, `${method} ${path}`);
        assert.equal(response.headers.allow, undefined, `${method} ${path}`);
      }
    }
  });
});

describe('when a router has a route that takes every method (router.all)', () => {
  it('then that path is left to it, and a path beside it still refuses', async () => {
    const router = express.Router();
    router.all('/any', (req, res) => {
      res.send(`any: ${req.method}`);
    });
    router.get('/only-get', (_req, res) => {
      res.send('get');
    });
    const reportRefusal: ErrorRequestHandler = (error, _req, res, _next) => {
      res.status(error instanceof MethodNotAllowed ? 405 : 500).json(error instanceof MethodNotAllowed ? error.allowedMethods : null);
    };
    const app = express().use(refusingOtherMethods(router)).use(reportRefusal);
    assert.equal((await request(app).put('/any').expect(200)).text, 'any: PUT');
    assert.deepEqual((await request(app).put('/only-get').expect(405)).body, ['GET', 'HEAD', 'OPTIONS']);
  });
});
