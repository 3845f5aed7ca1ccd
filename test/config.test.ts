// Configuration: defaults, and one message naming every bad variable and what to set.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

const minimal = { S3_BUCKET: 'my-photos', AWS_REGION: 'eu-west-1' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('when only the required variables are set', () => {
  it('then the safe defaults apply', () => {
    assert.deepEqual(loadConfig(minimal), {
      bucket: 'my-photos',
      keyPrefix: 'photos/',
      region: 'eu-west-1',
      endpointUrl: undefined,
      host: '127.0.0.1',
      port: 3000,
      maxUploadBytes: 25 * 1024 * 1024,
      maxFilesPerUpload: 10,
      presignedUrlTtlSeconds: 900,
      uploadsPerHour: 60,
      deletesPerHour: 120,
      pageViewsPerMinute: 120,
      uploadBytesInProgressPerClient: 256 * 1024 * 1024,
      uploadBytesInProgressTotal: 1024 * 1024 * 1024,
      uploadTempDir: path.join(os.tmpdir(), `s3-photo-share-uploads-${process.getuid?.()}`), // the APP_SLUG folder, one per user
      trustProxyHops: 0,
      orphanSweepIntervalSeconds: 300,
      orphanMinAgeSeconds: 900,
      shutdownGraceSeconds: 20,
      s3TimeoutSeconds: 15,
      csrfSecret: undefined,
      csrfSecretParameter: undefined,
      imdsEndpoint: undefined,
      imdsV1FallbackDisabled: false,
      logLevel: 'info',
    });
  });
});

describe('when required variables are missing', () => {
  it('then one error names each of them and what to set', () => {
    const problems = problemsOf({});
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^S3_BUCKET is not set: set it to the name of the S3 bucket/);
    assert.match(problems[1]!, /^AWS_REGION is not set: set it to the bucket's AWS region/);
  });

  it('then the message is readable as a whole', () => {
    assert.throws(() => loadConfig({}), /The app cannot start: fix these environment variables\.\n {2}- S3_BUCKET/);
  });
});

describe('when variables are malformed', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['a bucket name with capitals', { S3_BUCKET: 'My_Photos' }, /^S3_BUCKET="My_Photos" is not valid/],
    [
      'a prefix without a trailing slash',
      { S3_PREFIX: 'photos' },
      /^S3_PREFIX="photos" is not valid: set it to a key prefix of at most 512 characters that ends with '\/'/,
    ],
    ['a prefix starting with a slash', { S3_PREFIX: '/photos/' }, /^S3_PREFIX="\/photos\/" is not valid/],
    ['a prefix that climbs out of its folder', { S3_PREFIX: '../' }, /^S3_PREFIX="\.\.\/" is not valid/],
    ['a prefix with a .. folder inside', { S3_PREFIX: 'photos/../other/' }, /^S3_PREFIX="photos\/\.\.\/other\/" is not valid/],
    ['a prefix with a . folder', { S3_PREFIX: './photos/' }, /^S3_PREFIX="\.\/photos\/" is not valid/],
    // An S3 key is at most 1,024 bytes (S3 User Guide, "Naming Amazon S3 objects"): every upload would fail.
    ['a prefix of 513 characters', { S3_PREFIX: `p${'p/'.repeat(256)}` }, /^S3_PREFIX="pp\/p.* is not valid: .*at most 512/],
    ['a region that is not one', { AWS_REGION: 'Europe' }, /^AWS_REGION="Europe" is not valid/],
    ['a port out of range', { PORT: '70000' }, /^PORT="70000" is not valid: set it to a whole number of port from 0 to 65535/],
    ['a port that is not a number', { PORT: 'eighty' }, /^PORT="eighty" is not valid/],
    ['an upload limit of zero', { MAX_UPLOAD_MB: '0' }, /^MAX_UPLOAD_MB="0" is not valid: .* from 1 to 200/],
    ['a fractional file count', { MAX_FILES_PER_UPLOAD: '2.5' }, /^MAX_FILES_PER_UPLOAD="2.5" is not valid/],
    ['a presigned URL lifetime under a minute', { PRESIGNED_URL_TTL_SECONDS: '5' }, /^PRESIGNED_URL_TTL_SECONDS="5" is not valid/],
    [
      'an endpoint that is not a URL',
      { AWS_ENDPOINT_URL_S3: '127.0.0.1:4568' },
      /^AWS_ENDPOINT_URL_S3="127.0.0.1:4568" is not valid: set it to an http\(s\) URL/,
    ],
    ['an unknown log level', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL="loud" is not valid/],
    ['a short CSRF secret', { CSRF_SECRET: 'secret' }, /^CSRF_SECRET is too short/],
    ['a zero rate limit', { UPLOADS_PER_HOUR: '0' }, /^UPLOADS_PER_HOUR="0" is not valid/],
    ['an S3 timeout of zero', { S3_TIMEOUT_SECONDS: '0' }, /^S3_TIMEOUT_SECONDS="0" is not valid/],
    ['a host name instead of an address', { HOST: 'example.com' }, /^HOST="example.com" is not valid/],
    [
      'a parameter name with spaces',
      { CSRF_SECRET_PARAMETER: 'my secret' },
      /^CSRF_SECRET_PARAMETER="my secret" is not valid: set it to an SSM parameter name/,
    ],
    [
      'both a secret and a parameter',
      { CSRF_SECRET: 'x'.repeat(40), CSRF_SECRET_PARAMETER: '/app/csrf' },
      /^CSRF_SECRET and CSRF_SECRET_PARAMETER are both set/,
    ],
    [
      'a proxy hop count that is not a number',
      { TRUST_PROXY: 'true' },
      /^TRUST_PROXY="true" is not valid: set it to a whole number of proxy hops/,
    ],
    [
      'a relative temporary folder',
      { UPLOAD_TEMP_DIR: 'tmp/uploads' },
      /^UPLOAD_TEMP_DIR="tmp\/uploads" is not valid: set it to an absolute path/,
    ],
    [
      'a per-client upload budget under one file',
      { UPLOAD_MB_IN_PROGRESS_PER_CLIENT: '10' },
      /^UPLOAD_MB_IN_PROGRESS_PER_CLIENT \(10\) is less than MAX_UPLOAD_MB \(25\)/,
    ],
    [
      "a total upload budget under one client's",
      { UPLOAD_MB_IN_PROGRESS: '100' },
      /^UPLOAD_MB_IN_PROGRESS \(100\) is less than UPLOAD_MB_IN_PROGRESS_PER_CLIENT \(256\)/,
    ],
    [
      'an orphan age shorter than an upload may take',
      { ORPHAN_MIN_AGE_SECONDS: '30' },
      /^ORPHAN_MIN_AGE_SECONDS \(30\) must be at least 4 × S3_TIMEOUT_SECONDS \(60\)/,
    ],
  ];
  for (const [what, env, expected] of cases) {
    it(`then ${what} is reported`, () => {
      const problems = problemsOf({ ...minimal, ...env });
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0]!, expected);
    });
  }

  it('then a prefix of exactly 512 characters is still accepted', () => {
    assert.equal(loadConfig({ ...minimal, S3_PREFIX: 'p/'.repeat(256) }).keyPrefix.length, 512);
  });

  it('then several bad variables are all reported at once', () => {
    assert.equal(problemsOf({ S3_BUCKET: 'x', AWS_REGION: 'nowhere', PORT: '-1' }).length, 3);
  });
});

describe('when an S3 endpoint is set', () => {
  it('then it is kept for the S3 client', () => {
    assert.equal(loadConfig({ ...minimal, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' }).endpointUrl, 'http://127.0.0.1:9000');
  });
});
