// The notice after an upload or a delete shows once, on the next page, and never from the address alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
before(async () => {
  testApp = await startTestApp();
});
after(() => testApp.close());

describe('when an upload of several photos redirects to the gallery with their count', () => {
  it('then the gallery says so once, from a clean address', async () => {
    const agent = request.agent(testApp.app);
    await agent.get('/?uploaded=8').expect(303).expect('Location', '/');
    assert.match((await agent.get('/').expect(200)).text, /<p class="notice" role="status">8 photos were uploaded\.<\/p>/);
    assert.doesNotMatch((await agent.get('/').expect(200)).text, /photos were uploaded/);
  });
});

describe('when the notice cookie was not set by the app', () => {
  it('then the gallery shows no notice, whatever the cookie says', async () => {
    for (const value of ['%3Cscript%3E', 'photos-uploaded:999', 'photos-uploaded:1']) {
      const page = await request(testApp.app).get('/').set('Cookie', `notice=${value}`).expect(200);
      assert.doesNotMatch(page.text, /class="notice"/, value);
    }
  });
});
