// `npm run dev`: the S3 emulator (data kept in .data/s3) plus the app, on 127.0.0.1, with nothing to install.
// `npm run dev:ec2` (--as-ec2): the same, plus an IMDSv2 emulator; the app then gets no keys at all and
// finds rotating role credentials through the default chain, exactly as on an EC2 instance.
// Optional: PORT (app, 3000), S3_BUCKET, S3_EMULATOR_PORT (4568), S3_EMULATOR_DIR,
// and with --as-ec2: IMDS_ROTATION_MINUTES (2) and IMDS_CREDENTIAL_LIFETIME_MINUTES (7).
// The app's JSON log lines are shown as readable text here only; in production they stay JSON.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { prettyFactory } from 'pino-pretty';
import { connectImdsToS3Emulator, startImdsEmulator } from './emulators/imds.js';
import { EMULATOR_KEY_PAIR, emulatorClientEnvironment, startS3Emulator, withoutAwsSettings } from './emulators/s3.js';

const asEc2 = process.argv.includes('--as-ec2');
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bucket = process.env.S3_BUCKET ?? 'photo-share-dev';
const appPort = process.env.PORT ?? '3000';
const emulatorPort = Number(process.env.S3_EMULATOR_PORT ?? 4568);
const emulatorDir = process.env.S3_EMULATOR_DIR ?? path.join(projectRoot, '.data', 's3');

// Checked before anything starts, so a taken port is one clear message rather than the app's crash log.
if (!(await portIsFree(appPort))) {
  console.error(`Could not start the app on 127.0.0.1:${appPort}: the port is taken.`);
  console.error('Another `npm run dev` may be running; stop it, or set PORT to a free port.');
  process.exit(1);
}

const emulator = await startS3Emulator({ directory: emulatorDir, port: emulatorPort, buckets: [bucket] }).catch((error: Error) => {
  console.error(`Could not start the S3 emulator on 127.0.0.1:${emulatorPort}: ${error.message}`);
  console.error('Another `npm run dev` may be running; stop it, or set S3_EMULATOR_PORT to a free port.');
  process.exit(1);
});
// What runs where is told once the app listens: if its configuration is refused, its message is all there is to read.
const startupLines = [`S3 emulator: ${emulator.endpoint} (bucket "${bucket}", data in ${emulatorDir})`];

// Where the app's credentials come from: the emulator's fixed keys in its environment, or, as on EC2, IMDS.
let credentialEnvironment: Record<string, string>;
let stopImds = async () => {};
if (asEc2) {
  const rotationMinutes = Number(process.env.IMDS_ROTATION_MINUTES ?? 2);
  const lifetimeMinutes = Number(process.env.IMDS_CREDENTIAL_LIFETIME_MINUTES ?? 7);
  const imds = await startImdsEmulator({
    credentialLifetimeMs: lifetimeMinutes * 60_000,
    rotationPeriodMs: rotationMinutes * 60_000,
    // Highlighted, so each credential rotation stands out among the app's request lines.
    onEvent: (message) => console.log(highlight(`[${new Date().toTimeString().slice(0, 8)}] [imds] ${message}`)),
  });
  // S3 now accepts exactly the keys IMDS has issued and not yet expired, and no fixed key.
  connectImdsToS3Emulator(imds, emulator);
  emulator.revokeKeyPair(EMULATOR_KEY_PAIR.accessKeyId);
  stopImds = () => imds.close();
  startupLines.push(
    `IMDSv2 emulator: ${imds.endpoint} (tokens required, role "${imds.roleName}", new credentials every ${rotationMinutes} min, each valid ${lifetimeMinutes} min)`,
  );
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...s3Settings } = emulatorClientEnvironment(emulator);
  credentialEnvironment = {
    ...s3Settings,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
    AWS_EC2_METADATA_V1_DISABLED: 'true',
    // Your own ~/.aws files come before IMDS in the chain; hide them so the instance role is what answers.
    AWS_CONFIG_FILE: os.devNull,
    AWS_SHARED_CREDENTIALS_FILE: os.devNull,
  };
} else {
  credentialEnvironment = emulatorClientEnvironment(emulator);
}

const app = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'server.ts')], {
  cwd: projectRoot,
  stdio: ['inherit', 'pipe', 'inherit'],
  env: { ...withoutAwsSettings(process.env), ...credentialEnvironment, S3_BUCKET: bucket, HOST: '127.0.0.1', PORT: appPort },
});
const prettify = prettyFactory({
  translateTime: 'SYS:HH:MM:ss',
  ignore: 'pid,hostname,req,res,responseTime',
  singleLine: true,
  // A request's line says what was asked and how it ended; its id stays in the JSON log of production.
  messageFormat: (log, messageKey) => {
    const { req, res, responseTime } = log as {
      req?: { method: string; url: string };
      res?: { statusCode: number };
      responseTime?: number;
    };
    const message = String(log[messageKey] ?? '');
    if (!req || !res) return message;
    const outcome = message === 'request completed' ? '' : ` (${message})`;
    return `${req.method} ${req.url} → ${res.statusCode} in ${responseTime} ms${outcome}`;
  },
});
createInterface({ input: app.stdout! }).on('line', (line) => {
  process.stdout.write(line.startsWith('{') ? prettify(line) : `${line}\n`);
  const listeningOn = listeningUrl(line);
  if (listeningOn) {
    for (const startupLine of startupLines) console.log(startupLine);
    console.log(`App: ${listeningOn}  (Ctrl-C stops everything)${asEc2 ? `; see ${listeningOn}/about` : ''}`);
  }
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    app.kill('SIGTERM');
  });
}
// 'close', not 'exit': the app's last log lines are read and shown before everything stops.
app.on('close', async (code) => {
  await Promise.all([emulator.close(), stopImds()]);
  process.exit(stopping ? 0 : (code ?? 1));
});

/** The URL in server.ts's log line saying it listens (the moment a browser may open it), or undefined for any other line. */
function listeningUrl(line: string): string | undefined {
  let fields: { msg?: unknown; url?: unknown };
  try {
    fields = JSON.parse(line) as typeof fields;
  } catch {
    return undefined;
  }
  const { msg, url } = fields ?? {};
  return typeof msg === 'string' && msg.includes(' is listening on ') && typeof url === 'string' ? url : undefined;
}

/** Whether nothing listens on 127.0.0.1:port; a PORT that is not a port number is left for the app's config check. */
async function portIsFree(port: string): Promise<boolean> {
  if (!/^\d{1,5}$/.test(port)) return true;
  const probe = createServer();
  try {
    probe.listen(Number(port), '127.0.0.1');
    await once(probe, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    probe.close();
  }
}

/** Bold yellow on a colour terminal (NO_COLOR respected); plain text in a pipe or a log file. */
function highlight(text: string): string {
  return process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[1;33m${text}\x1b[0m` : text;
}
