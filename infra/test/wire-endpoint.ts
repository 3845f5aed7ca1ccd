// An HTTP endpoint that serves the account model (fake-aws.ts) in AWS's wire protocols, read and written from the SDK's own operation schemas.
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as acm from '@aws-sdk/client-acm';
import * as autoscaling from '@aws-sdk/client-auto-scaling';
import * as logs from '@aws-sdk/client-cloudwatch-logs';
import * as ec2 from '@aws-sdk/client-ec2';
import * as elbv2 from '@aws-sdk/client-elastic-load-balancing-v2';
import * as iam from '@aws-sdk/client-iam';
import * as route53 from '@aws-sdk/client-route-53';
import * as s3 from '@aws-sdk/client-s3';
import * as ssm from '@aws-sdk/client-ssm';
import * as sts from '@aws-sdk/client-sts';
import { JsonShapeDeserializer, JsonShapeSerializer, XmlShapeDeserializer, XmlShapeSerializer } from '@aws-sdk/core/protocols';
import { NormalizedSchema } from '@smithy/core/schema';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsClients } from '../aws-clients.js';
import { createAwsClients } from '../aws-clients.js';
import { awsError, type WireError, wireErrorOf } from './aws-errors.js';
import type { FakeAccount } from './fake-aws.js';

type Json = Record<string, unknown>;
type Protocol = 'awsQuery' | 'ec2Query' | 'awsJson1_1' | 'restXml';
/** An operation's schema as the clients export it: [9, namespace, name, traits, input, output]. */
type OperationSchema = [9, string, string, { http?: [string, string, number] } | 0, unknown, unknown];

interface Service {
  client: keyof AwsClients;
  module: Record<string, unknown>;
  protocol: Protocol;
  settings: Json & { xmlNamespace?: string };
}

/** By the service name in the SigV4 credential scope. */
const MODULES: Record<string, [keyof AwsClients, Record<string, unknown>]> = {
  acm: ['acm', acm],
  autoscaling: ['autoscaling', autoscaling],
  logs: ['logs', logs],
  ec2: ['ec2', ec2],
  elasticloadbalancing: ['elbv2', elbv2],
  iam: ['iam', iam],
  route53: ['route53', route53],
  s3: ['s3', s3],
  ssm: ['ssm', ssm],
  sts: ['sts', sts],
};

/** The protocol and codec settings each client itself uses, read from its config. */
function loadServices(): Map<string, Service> {
  const clients = createAwsClients('us-east-1');
  const services = new Map<string, Service>();
  for (const [signingName, [client, module]] of Object.entries(MODULES)) {
    const protocol = (clients[client].config as unknown as { protocol: ClientProtocol }).protocol;
    const settings = protocol.serializer?.settings ?? protocol.codec?.settings;
    if (!settings) throw new Error(`No codec settings on the ${client} client`);
    services.set(signingName, {
      client,
      module,
      protocol: protocol.getShapeId().replace('aws.protocols#', '') as Protocol,
      settings: { ...settings, xmlNamespace: protocol.options.xmlNamespace },
    });
    clients[client].destroy();
  }
  return services;
}

interface ClientProtocol {
  getShapeId(): string;
  options: { xmlNamespace?: string };
  serializer?: { settings: Json };
  codec?: { settings: Json };
}

/** What the endpoint answers instead of the model, before the model sees the request. */
export interface WireEndpointOptions {
  /** Every Nth first attempt of a request is answered with the service's throttling error (0: never). */
  throttleEvery?: number;
  /** The secret of each access key the endpoint accepts; a request signed otherwise is refused as AWS refuses it. */
  secretOf: (accessKeyId: string) => string | undefined;
}

/** One HTTP answer. */
interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface WireEndpoint {
  url: string;
  /** The account's time, in milliseconds since the epoch: a caller's clock should start here (see wire-world.mjs). */
  now(): number;
  /** Every request, as "service:Operation", or "service:Operation (code)" when answered with an error ("throttled" by this endpoint). */
  readonly requests: string[];
  /** Requests refused for a bad signature (should stay empty). */
  readonly signatureFailures: string[];
  close(): Promise<void>;
}

/**
 * The account's clock follows the callers': each request moves it to the time the request was signed at (never back).
 */
export async function startWireEndpoint(account: FakeAccount, options: WireEndpointOptions): Promise<WireEndpoint> {
  const services = loadServices();
  const startedAtMs = Date.now();
  const now = () => startedAtMs + account.runtime.clockMs;
  const requests: string[] = [];
  const signatureFailures: string[] = [];
  let count = 0;

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const credential = /Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(request.headers.authorization ?? '');
    const signedAt = parseAmzDate(String(request.headers['x-amz-date'] ?? ''));
    const service = credential && services.get(credential[4] ?? '');
    if (!credential || !service || signedAt === undefined) {
      send(response, { status: 400, headers: {}, body: `Not an AWS request this endpoint serves: ${request.method} ${request.url}` });
      return;
    }
    const [, accessKeyId = '', , region = '', signingName = ''] = credential;
    account.runtime.clockMs = Math.max(account.runtime.clockMs, signedAt - startedAtMs);
    response.setHeader('date', new Date(now()).toUTCString());

    const url = new URL(request.url ?? '/', 'http://endpoint');
    const operation = findOperation(service, request, url, body);
    const name = `${service.client}:${operation?.schema[2] ?? `${request.method} ${url.pathname}`}`;
    const signatureProblem = await checkSignature(request, url, body, accessKeyId, region, signingName, options.secretOf);
    if (signatureProblem) {
      signatureFailures.push(`${name}: ${signatureProblem}`);
      // The query services' and EC2's code; S3 and the JSON services use the same one (each API reference's "Common Errors").
      send(response, await errorAnswer(service, 'SignatureDoesNotMatch', signatureProblem, 403));
      return;
    }
    if (!operation) {
      send(response, await errorAnswer(service, 'InvalidAction', `The endpoint does not know ${name}`, 400));
      return;
    }
    // Only first attempts count (the SDK says which attempt it sends): a retry is never throttled again, so a burst of
    // parallel requests cannot exhaust one call's attempts by chance.
    const firstAttempt = /^attempt=1;/.test(String(request.headers['amz-sdk-request'] ?? ''));
    if (firstAttempt) count += 1;
    if (firstAttempt && options.throttleEvery && count % options.throttleEvery === 0) {
      requests.push(`${name} (throttled)`);
      send(response, await throttlingAnswer(service));
      return;
    }
    const [, , operationName, , inputRef, outputRef] = operation.schema;
    const input = await readInput(service, NormalizedSchema.of(inputRef as never), operation, url, request.headers, body);
    let output: unknown;
    try {
      output = await account.handle(service.client, region, operationName, input);
    } catch (error) {
      // The model's errors are made from AWS's wire error (aws-errors.ts): the same bytes go back on the wire.
      const wire = wireErrorOf(error);
      if (!wire) throw error;
      requests.push(`${name} (${wire.code})`);
      send(response, wire);
      return;
    }
    requests.push(name);
    send(response, writeOutput(service, operation, NormalizedSchema.of(outputRef as never), (output ?? {}) as Json));
  }

  const server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      // A fault of the endpoint or the model, not of AWS: a 500 the SDK retries, and the text in the test's output.
      console.error('wire endpoint:', error);
      if (!response.headersSent) send(response, { status: 500, headers: {}, body: String((error as Error).stack ?? error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    now,
    requests,
    signatureFailures,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface Operation {
  schema: OperationSchema;
  /** REST: the values of the URI's labels. */
  labels: Record<string, string>;
}

function operationsOf(service: Service): OperationSchema[] {
  return Object.entries(service.module)
    .filter(([key, value]) => key.endsWith('$') && Array.isArray(value) && value[0] === 9)
    .map(([, value]) => value as OperationSchema);
}

function findOperation(service: Service, request: IncomingMessage, url: URL, body: Buffer): Operation | undefined {
  const byName = (name: string | undefined) => {
    const schema = name ? (service.module[`${name}$`] as OperationSchema | undefined) : undefined;
    return schema?.[0] === 9 ? { schema, labels: {} } : undefined;
  };
  if (service.protocol === 'awsQuery' || service.protocol === 'ec2Query')
    return byName(new URLSearchParams(body.toString('utf8')).get('Action') ?? undefined);
  // JSON 1.1 names the operation in the header, as `AmazonSSM.GetParameter`.
  if (service.protocol === 'awsJson1_1') return byName(String(request.headers['x-amz-target'] ?? '').split('.')[1]);
  return matchRestOperation(service, request.method ?? 'GET', url);
}

/** REST-XML: the operation whose method, path and literal query keys match; the most specific wins (`?tagging` over the bare path). */
function matchRestOperation(service: Service, method: string, url: URL): Operation | undefined {
  let path = url.pathname;
  const bucketLabel: Record<string, string> = {};
  if (service.client === 's3') {
    // An IP-address endpoint makes the SDK use path-style: the bucket is the first segment, outside the operation's URI.
    const [, bucket = '', ...rest] = path.split('/');
    bucketLabel.Bucket = decodeURIComponent(bucket);
    path = `/${rest.join('/')}`;
  }
  let best: { operation: Operation; score: number } | undefined;
  for (const schema of operationsOf(service)) {
    const http = schema[3] === 0 ? undefined : schema[3].http;
    if (!http || http[0] !== method) continue;
    const [patternPath = '', patternQuery = ''] = http[1].split('?');
    const labels = matchPath(patternPath, path);
    if (!labels) continue;
    const literals = new URLSearchParams(patternQuery);
    if (![...literals].every(([key, value]) => url.searchParams.has(key) && (value === '' || url.searchParams.get(key) === value)))
      continue;
    const score = [...literals].length * 100 + patternPath.split('/').filter((part) => part && !part.startsWith('{')).length;
    if (!best || score > best.score) best = { operation: { schema, labels: { ...bucketLabel, ...labels } }, score };
  }
  return best?.operation;
}

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const patternParts = pattern.split('/').filter(Boolean);
  const parts = path.split('/').filter(Boolean);
  const labels: Record<string, string> = {};
  for (const [index, part] of patternParts.entries()) {
    const label = /^\{(\w+)(\+?)\}$/.exec(part);
    if (label?.[2]) {
      const rest = parts.slice(index);
      if (rest.length === 0) return undefined;
      labels[label[1] ?? ''] = rest.map(decodeURIComponent).join('/');
      return labels;
    }
    const value = parts[index];
    if (value === undefined) return undefined;
    if (label) labels[label[1] ?? ''] = decodeURIComponent(value);
    else if (part !== value) return undefined;
  }
  return parts.length === patternParts.length ? labels : undefined;
}

async function readInput(
  service: Service,
  schema: NormalizedSchema,
  operation: Operation,
  url: URL,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<Json> {
  switch (service.protocol) {
    case 'awsQuery':
    case 'ec2Query': {
      const params = new URLSearchParams(body.toString('utf8'));
      return (readQuery(schema, params, '', service.settings) ?? {}) as Json;
    }
    case 'awsJson1_1':
      return body.length === 0
        ? {}
        : ((await new JsonShapeDeserializer(service.settings as never).read(schema, body.toString('utf8'))) as Json);
    case 'restXml':
      return readRestInput(service, schema, operation, url, headers, body);
  }
}

/** The inverse of the SDK's QueryShapeSerializer: the same keys, read back into the input's shape. */
function readQuery(schema: NormalizedSchema, params: URLSearchParams, prefix: string, settings: Json): unknown {
  const at = (suffix: string) => (prefix ? `${prefix}.${suffix}` : suffix);
  const keyOf = (memberName: string, traits: { xmlName?: string; ec2QueryName?: string }, isStructMember: boolean) => {
    if (settings.ec2 && traits.ec2QueryName) return traits.ec2QueryName;
    const key = traits.xmlName ?? memberName;
    return settings.capitalizeKeys && isStructMember ? key[0]?.toUpperCase() + key.slice(1) : key;
  };
  if (schema.isStructSchema()) {
    const value: Json = {};
    for (const [memberName, member] of schema.structIterator()) {
      const memberValue = readQuery(member, params, at(keyOf(memberName, member.getMergedTraits(), true)), settings);
      if (memberValue !== undefined) value[memberName] = memberValue;
    }
    return prefix === '' || Object.keys(value).length > 0 ? value : undefined;
  }
  if (schema.isListSchema()) {
    const member = schema.getValueSchema();
    const flat = settings.flattenLists || schema.getMergedTraits().xmlFlattened;
    const itemPrefix = flat ? prefix : at(keyOf('member', member.getMergedTraits(), false));
    const items: unknown[] = [];
    for (let index = 1; ; index += 1) {
      const item = readQuery(member, params, `${itemPrefix}.${index}`, settings);
      if (item === undefined) break;
      items.push(item);
    }
    // An empty list is sent as the bare key (serializeEmptyLists).
    return items.length > 0 ? items : params.has(prefix) ? [] : undefined;
  }
  if (schema.isMapSchema()) {
    const flat = schema.getMergedTraits().xmlFlattened;
    const keyName = keyOf('key', schema.getKeySchema().getMergedTraits(), false);
    const valueName = keyOf('value', schema.getValueSchema().getMergedTraits(), false);
    const map: Json = {};
    for (let index = 1; ; index += 1) {
      const entry = flat ? at(String(index)) : at(`entry.${index}`);
      const key = params.get(`${entry}.${keyName}`);
      if (key === null) break;
      map[key] = readQuery(schema.getValueSchema(), params, `${entry}.${valueName}`, settings);
    }
    return Object.keys(map).length > 0 ? map : undefined;
  }
  const text = params.get(prefix);
  return text === null ? undefined : scalarOf(schema, text);
}

function scalarOf(schema: NormalizedSchema, text: string): unknown {
  if (schema.isBooleanSchema()) return text === 'true';
  if (schema.isNumericSchema()) return Number(text);
  if (schema.isTimestampSchema()) return new Date(/^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : text);
  if (schema.isBlobSchema()) return Buffer.from(text, 'base64');
  return text;
}

/** REST-XML: labels from the path, then query, header and payload bindings; the other members from the XML body. */
function readRestInput(
  service: Service,
  schema: NormalizedSchema,
  operation: Operation,
  url: URL,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Json {
  const input: Json = {};
  const deserializer = () => new XmlShapeDeserializer(service.settings as never);
  let bodyMembers = false;
  for (const [memberName, member] of schema.structIterator()) {
    const traits = member.getMergedTraits();
    if (traits.httpLabel) {
      if (operation.labels[memberName] !== undefined) input[memberName] = operation.labels[memberName];
    } else if (traits.httpQuery) {
      const text = url.searchParams.get(String(traits.httpQuery));
      if (text !== null) input[memberName] = scalarOf(member, text);
    } else if (traits.httpHeader) {
      const text = headers[String(traits.httpHeader).toLowerCase()];
      if (typeof text === 'string') input[memberName] = scalarOf(member, text);
    } else if (traits.httpPayload) {
      if (body.length === 0) continue;
      if (member.isBlobSchema()) input[memberName] = new Uint8Array(body);
      else if (member.isStringSchema()) input[memberName] = body.toString('utf8');
      else input[memberName] = deserializer().read(member, body);
    } else if (!traits.httpPrefixHeaders && !traits.httpResponseCode) bodyMembers = true;
  }
  if (bodyMembers && body.length > 0) {
    const fromBody = deserializer().read(schema, body) as Json;
    for (const [key, value] of Object.entries(fromBody)) if (value !== undefined && input[key] === undefined) input[key] = value;
  }
  return input;
}

function writeOutput(service: Service, operation: Operation, schema: NormalizedSchema, output: Json): WireAnswer {
  const operationName = operation.schema[2];
  const requestId = crypto.randomUUID();
  switch (service.protocol) {
    case 'awsJson1_1': {
      const serializer = new JsonShapeSerializer(service.settings as never);
      if (!schema.isUnitSchema()) serializer.write(schema, output);
      return {
        status: 200,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId },
        body: schema.isUnitSchema() ? '{}' : String(serializer.flush()),
      };
    }
    case 'awsQuery': {
      const members = innerXml(xmlOf(service, schema, output));
      return xmlAnswer(
        200,
        `<${operationName}Response xmlns="${service.settings.xmlNamespace}"><${operationName}Result>${members}</${operationName}Result>` +
          `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operationName}Response>`,
      );
    }
    case 'ec2Query': {
      const members = innerXml(xmlOf(service, schema, output));
      return xmlAnswer(
        200,
        `<${operationName}Response xmlns="${service.settings.xmlNamespace}"><requestId>${requestId}</requestId>${members}</${operationName}Response>`,
      );
    }
    case 'restXml': {
      const headers: Record<string, string> = { 'x-amz-request-id': requestId };
      const bodyValue: Json = {};
      let payload: string | undefined;
      for (const [memberName, member] of schema.structIterator()) {
        const traits = member.getMergedTraits();
        const value = output[memberName];
        if (value === undefined) continue;
        if (traits.httpHeader) headers[String(traits.httpHeader).toLowerCase()] = String(value);
        else if (traits.httpPayload) payload = member.isStructSchema() ? xmlOf(service, member, value as Json) : String(value);
        else if (!traits.httpResponseCode) bodyValue[memberName] = value;
      }
      const status = (operation.schema[3] !== 0 && operation.schema[3].http?.[2]) || 200;
      const hasBodyMembers = [...schema.structIterator()].some(([, member]) => {
        const traits = member.getMergedTraits();
        return !traits.httpHeader && !traits.httpPayload && !traits.httpResponseCode && !traits.httpPrefixHeaders;
      });
      const body = payload ?? (hasBodyMembers ? xmlOf(service, schema, bodyValue) : '');
      return { status, headers: { ...headers, ...(body ? { 'content-type': 'application/xml' } : {}) }, body };
    }
  }
}

function xmlOf(service: Service, schema: NormalizedSchema, value: Json): string {
  if (schema.isUnitSchema()) return '<Unit/>';
  const serializer = new XmlShapeSerializer(service.settings as never);
  serializer.write(schema, value);
  return String(serializer.flush());
}

/** The members of a struct the XML serializer wrote under its own root element. */
function innerXml(xml: string): string {
  const match = /^<([^\s/>]+)[^>]*?(?:\/>|>([\s\S]*)<\/\1>)$/.exec(xml.trim());
  if (!match) throw new Error(`Unexpected XML from the serializer: ${xml.slice(0, 200)}`);
  return match[2] ?? '';
}

function xmlAnswer(status: number, body: string): WireAnswer {
  return { status, headers: { 'content-type': 'text/xml' }, body };
}

/** An error as the service sends it, checked by its real client (aws-errors.ts). */
async function errorAnswer(service: Service, code: string, message: string, status: number): Promise<WireError> {
  const wire = wireErrorOf(await awsError(service.client, code, message, { status }));
  if (!wire) throw new Error(`No wire form for ${service.client}:${code}`);
  return wire;
}

/**
 * Each service's own throttling error: `Throttling` for the query services and Route 53
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html), `RequestLimitExceeded` (503) for EC2
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html), `ThrottlingException` for the
 * JSON services (https://docs.aws.amazon.com/systems-manager/latest/APIReference/CommonErrors.html), `SlowDown` (503)
 * for S3 (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 */
function throttlingAnswer(service: Service): Promise<WireError> {
  if (service.protocol === 'ec2Query') return errorAnswer(service, 'RequestLimitExceeded', 'Request limit exceeded.', 503);
  if (service.protocol === 'awsJson1_1') return errorAnswer(service, 'ThrottlingException', 'Rate exceeded', 400);
  if (service.client === 's3') return errorAnswer(service, 'SlowDown', 'Please reduce your request rate.', 503);
  return errorAnswer(service, 'Throttling', 'Rate exceeded', 400);
}

/** Recomputes the SigV4 signature with the key's secret; a mismatch is what AWS answers with SignatureDoesNotMatch. */
async function checkSignature(
  request: IncomingMessage,
  url: URL,
  body: Buffer,
  accessKeyId: string,
  region: string,
  signingName: string,
  secretOf: (accessKeyId: string) => string | undefined,
): Promise<string | undefined> {
  const secretAccessKey = secretOf(accessKeyId);
  if (!secretAccessKey) return `unknown access key ${accessKeyId.slice(0, 4)}…`;
  const authorization = request.headers.authorization ?? '';
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const sent = /Signature=([0-9a-f]+)/.exec(authorization)?.[1];
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(request.headers[name] ?? '');
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = value;
  const signer = new SignatureV4({
    service: signingName,
    region,
    credentials: { accessKeyId, secretAccessKey, sessionToken: String(request.headers['x-amz-security-token'] ?? '') || undefined },
    sha256: NodeSha256,
    // S3 signs the path as sent; the other services escape it once more.
    uriEscapePath: signingName !== 's3',
    applyChecksum: signingName === 's3',
  });
  const signed = await signer.sign(
    {
      method: request.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: signingName === 's3' ? url.pathname : decodeURIComponent(url.pathname),
      query,
      headers,
      body,
    },
    { signingDate: new Date(parseAmzDate(headers['x-amz-date'] ?? '') ?? 0), signableHeaders: new Set(signedHeaders) },
  );
  const computed = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization ?? ''))?.[1];
  return computed === sent ? undefined : 'the signature does not match';
}

/** SHA-256 and HMAC-SHA-256 in the shape the signer takes. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key = typeof secret === 'string' || secret === undefined ? secret : Buffer.from(secret as ArrayBuffer);
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

function parseAmzDate(text: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  return Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second);
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, { status, headers, body }: WireAnswer): void {
  response.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
