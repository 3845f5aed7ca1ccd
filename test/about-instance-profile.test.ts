// The instance role on /about, as IMDS describes it: asked with an IMDSv2 token (iam/info and the role
// listing), and a silent or absent IMDS reported on the page, never thrown. Also the assumed-role ARN's parts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assumedRoleSession } from '../src/about/identity.js';
import { createInstanceProfileLookup } from '../src/about/instance-profile.js';
import { credentialFooter } from '../src/about/credential-footer.js';
import { startImdsEmulator, type ImdsEmulator } from '../scripts/emulators/imds.js';

describe('when IMDS serves an instance profile', () => {
  let imds: ImdsEmulator;
  before(async () => {
    imds = await startImdsEmulator({ roleName: 'photo-role', accountId: '111122223333' });
  });
  after(() => imds.close());

  it('then the look-up names the role and the instance profile ARN, asking with a session token', async () => {
    const profile = await createInstanceProfileLookup(`${imds.endpoint}/`)();
    assert.deepEqual(profile, {
      instanceId: 'i-0123456789abcdef0',
      availabilityZone: 'us-east-1a',
      roleName: 'photo-role',
      instanceProfileArn: 'arn:aws:iam::111122223333:instance-profile/photo-role',
    });
    const asked = imds.requests
      .map((entry) => `${entry.method} ${entry.path} ${entry.tokenPresented ? 'token' : 'no-token'} ${entry.status}`)
      .sort();
    assert.deepEqual(asked, [
      'GET /latest/meta-data/iam/info token 200',
      'GET /latest/meta-data/iam/security-credentials/ token 200',
      'GET /latest/meta-data/instance-id token 200',
      'GET /latest/meta-data/placement/availability-zone token 200',
      'PUT /latest/api/token no-token 200',
    ]);
  });

  it('then with no role attached, the look-up says so instead of throwing', async () => {
    await imds.setFault('no-role');
    try {
      const profile = await createInstanceProfileLookup(imds.endpoint)();
      assert.ok(
        'unavailable' in profile &&
          /^instance metadata did not say \(IMDS answered 404 to \/latest\/meta-data\/iam\//.test(profile.unavailable),
        JSON.stringify(profile),
      );
    } finally {
      await imds.setFault('none');
    }
  });
});

describe('when nothing answers at the IMDS address', () => {
  it('then the look-up reports it within its timeout', async () => {
    const imds = await startImdsEmulator();
    await imds.setFault('down');
    const started = Date.now();
    const profile = await createInstanceProfileLookup(imds.endpoint)();
    await imds.close();
    assert.ok('unavailable' in profile && profile.unavailable.startsWith('instance metadata did not say'), JSON.stringify(profile));
    assert.ok(Date.now() - started < 2_000);
  });
});

describe('when STS names an assumed role', () => {
  it('then its role and session (the instance id) are read from the ARN, and other ARNs give nothing', () => {
    assert.deepEqual(assumedRoleSession('arn:aws:sts::123456789012:assumed-role/s3-photo-share-role/i-0abc'), {
      roleName: 's3-photo-share-role',
      sessionName: 'i-0abc',
    });
    assert.equal(assumedRoleSession('arn:aws:iam::123456789012:user/alice'), undefined);
  });
});

describe('when the footer speaks of keys', () => {
  it('then it says "no AWS keys" only for providers that hand out temporary role credentials', () => {
    assert.match(credentialFooter('instance-metadata'), /^This app holds no AWS keys/);
    assert.match(credentialFooter('container'), /^This app holds no AWS keys/);
    assert.match(credentialFooter('environment'), /^This app is using AWS keys from its environment variables/);
    assert.match(credentialFooter('shared-profile'), /^This app is using keys from a shared AWS config/);
    assert.doesNotMatch(credentialFooter(undefined), /holds no/);
  });
});
