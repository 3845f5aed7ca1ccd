// Tests the one template renderer that fills the policy documents and user-data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate } from '../templates.js';
import { appPolicy } from '../resources/role.js';
import { upSettings } from './fake-aws.js';

test('when every placeholder has a value, then the template is filled in', () => {
  assert.equal(
    renderTemplate('arn:aws:s3:::{{Bucket}}/{{Prefix}}*', { Bucket: 'demo-bucket', Prefix: 'photos/' }),
    'arn:aws:s3:::demo-bucket/photos/*',
  );
});

test('when a placeholder has no value, then rendering fails and names it', () => {
  assert.throws(() => renderTemplate('{{Bucket}}/{{Missing}}', { Bucket: 'b' }), /\{\{Missing\}\} has no value/);
});

test('when a value could break out of a JSON string or a shell word, then rendering fails', () => {
  for (const value of [`x'; rm -rf / #`, 'x"}', 'x y', '$(id)']) {
    assert.throws(() => renderTemplate('{{Bucket}}', { Bucket: value }), /unsafe characters/);
  }
});

test('when the policies are rendered for a stack, then they name its bucket and prefix and hold no placeholder', () => {
  const text = JSON.stringify(appPolicy(upSettings({ bucket: 'my-photos', keyPrefix: 'pics/' }), '123456789012'));
  assert.doesNotMatch(text, /\{\{/);
  assert.match(text, /arn:aws:s3:::my-photos\/pics\/\*/);
});
