// `npm run dev`: the S3 emulator (data kept in .data/s3) plus the app, on 127.0.0.1, with nothing to install.
// Optional: PORT (app, 3000), S3_BUCKET, S3_EMULATOR_PORT (4568), S3_EMULATOR_DIR.
// The emulator's fixed test keys go only into the app's child-process environment, where the SDK's
// default credential chain finds them, exactly as it would find an instance role on EC2.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { emulatorClientEnvironment, startS3Emulator } from './emulators/s3.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bucket = process.env.S3_BUCKET ?? 'photo-share-dev';
const appPort = process.env.PORT ?? '3000';
const emulatorPort = Number(process.env.S3_EMULATOR_PORT ?? 4568);
const emulatorDir = process.env.S3_EMULATOR_DIR ?? path.join(projectRoot, '.data', 's3');

const emulator = await startS3Emulator({
  directory: emulatorDir,
  port: emulatorPort,
  buckets: [bucket],
}).catch((error: Error) => {
  console.error(`Could not start the S3 emulator on 127.0.0.1:${emulatorPort}: ${error.message}`);
  console.error('Another `npm run dev` may be running; stop it, or set S3_EMULATOR_PORT to a free port.');
  process.exit(1);
});
console.log(`S3 emulator: ${emulator.endpoint} (bucket "${bucket}", data in ${path.relative(projectRoot, emulatorDir) || emulatorDir})`);

const app = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'server.ts')], {
  cwd: projectRoot,
  stdio: 'inherit',
  env: {
    ...withoutAwsSettings(process.env),
    ...emulatorClientEnvironment(emulator),
    S3_BUCKET: bucket,
    HOST: '127.0.0.1',
    PORT: appPort,
  },
});
console.log(`App: http://127.0.0.1:${appPort}  (Ctrl-C stops both)`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    app.kill('SIGTERM');
  });
}
app.on('exit', async (code) => {
  await emulator.close();
  process.exit(stopping ? 0 : (code ?? 1));
});

/** The developer's own AWS settings (a profile, real keys) must not leak into a local run. */
function withoutAwsSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_')));
}
