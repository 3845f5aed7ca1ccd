// The CSRF secret shared by several instances, read from SSM Parameter Store through the default chain:
// the value when all is well, and a clear, specific refusal when the parameter is missing, not readable,
// too short, or SSM does not answer. Also the real server.ts process, against a stand-in SSM endpoint.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { GetParameterCommand, ParameterNotFound, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { readSecretParameter, SecretParameterUnusable } from '../src/storage/secret-parameter.js';
import { run } from './support/processes.js';

const NAME = '/s3-photo-share/csrf-secret';
const SECRET = 'b'.repeat(64);

function readWith(setUp: (ssm: ReturnType<typeof mockClient>) => void) {
  const client = new SSMClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const ssm = mockClient(client);
  setUp(ssm);
  return { read: () => readSecretParameter(NAME, { region: 'eu-west-1', timeoutMs: 1_000, client }), ssm };
}

describe('when the app reads its CSRF secret from SSM Parameter Store', () => {
  it('then it asks for that one parameter, decrypted, and gets its value', async () => {
    const { read, ssm } = readWith((mock) =>
      mock.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Type: 'SecureString', Value: SECRET } }),
    );
    assert.equal(await read(), SECRET);
    assert.deepEqual(
      ssm.commandCalls(GetParameterCommand).map((call) => call.args[0].input),
      [{ Name: NAME, WithDecryption: true }],
    );
  });

  const refusals: [string, (mock: ReturnType<typeof mockClient>) => void, RegExp, boolean][] = [
    [
      'the parameter is missing',
      (mock) => mock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} })),
      /does not exist in this region/,
      true,
    ],
    [
      'the role may not read it',
      (mock) =>
        mock
          .on(GetParameterCommand)
          .rejects(new SSMServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'denied', $metadata: {} })),
      /AccessDeniedException: the app's role may not read or decrypt it; allow ssm:GetParameter/,
      true,
    ],
    [
      'its value is too short',
      (mock) => mock.on(GetParameterCommand).resolves({ Parameter: { Value: 'short' } }),
      /shorter than 32 characters/,
      true,
    ],
    [
      'SSM fails on its side',
      (mock) =>
        mock
          .on(GetParameterCommand)
          .rejects(new SSMServiceException({ name: 'InternalServerError', $fault: 'server', message: 'boom', $metadata: {} })),
      /a passing fault/,
      false,
    ],
  ];
  for (const [what, setUp, message, isConfiguration] of refusals) {
    it(`then when ${what}, it refuses with a message naming the parameter and what to do`, async () => {
      const { read } = readWith(setUp);
      await assert.rejects(read(), (error: unknown) => {
        assert.ok(error instanceof SecretParameterUnusable);
        assert.match(error.message, new RegExp(`^Cannot read the SSM parameter ${NAME}: `));
        assert.match(error.message, message);
        assert.equal(error.isConfiguration, isConfiguration);
        assert.ok(!error.message.includes(SECRET));
        return true;
      });
    });
  }
});

describe('when server.ts starts with CSRF_SECRET_PARAMETER naming a parameter that does not exist', () => {
  it('then it exits with 78 and says which parameter and why, before it listens', async () => {
    // A stand-in for SSM's JSON API: every GetParameter answers ParameterNotFound, as SSM does.
    const ssm = createServer((req, res) => {
      req.resume();
      res
        .writeHead(400, { 'content-type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ __type: 'ParameterNotFound', message: '' }));
    }).listen(0, '127.0.0.1');
    await once(ssm, 'listening');
    try {
      const server = run('src/server.ts', {
        S3_BUCKET: 'any-bucket',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLETEST',
        AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
        AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(ssm.address() as { port: number }).port}`,
        CSRF_SECRET_PARAMETER: NAME,
        PORT: '0',
      });
      const [code] = await once(server, 'exit');
      assert.equal(code, 78, server.output());
      assert.match(server.output(), new RegExp(`Cannot read the SSM parameter ${NAME}: it does not exist in this region`));
      assert.doesNotMatch(server.output(), /is listening on/);
    } finally {
      ssm.close();
    }
  });
});
