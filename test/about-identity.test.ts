// The caller identity on /about: asked of STS with the S3 client's own credentials on AWS, never asked
// against a local endpoint, and a failure shown as such rather than breaking the page.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createIdentityLookup } from '../src/about/identity.js';
import { createS3Client } from '../src/storage/s3-client.js';

const sts = mockClient(STSClient);
afterEach(() => sts.reset());

const onAws = { region: 'eu-west-1', endpointUrl: undefined, s3TimeoutSeconds: 15 };

describe('when the app runs on AWS', () => {
  it('then /about shows the account and the assumed-role ARN from STS', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/s3-photo-share-role/i-0abc' });
    const lookUp = createIdentityLookup(onAws, createS3Client(onAws));
    assert.deepEqual(await lookUp(), { account: '123456789012', arn: 'arn:aws:sts::123456789012:assumed-role/s3-photo-share-role/i-0abc' });
    assert.equal(sts.commandCalls(GetCallerIdentityCommand).length, 1);
  });

  it('then an STS failure is reported, not thrown', async () => {
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('no route'), { name: 'TimeoutError' }));
    const lookUp = createIdentityLookup(onAws, createS3Client(onAws));
    assert.deepEqual(await lookUp(), { unavailable: 'STS did not answer (TimeoutError)' });
  });
});

describe('when the app runs against a local S3 endpoint', () => {
  it('then STS is not asked at all', async () => {
    const local = { ...onAws, endpointUrl: 'http://127.0.0.1:4568' };
    const identity = await createIdentityLookup(local, createS3Client(local))();
    assert.ok('unavailable' in identity);
    assert.equal(sts.commandCalls(GetCallerIdentityCommand).length, 0);
  });
});
