// Entry point: reads the environment, builds the app (composeApp makes its one S3 client), listens,
// sweeps what failed uploads left behind, and shuts down cleanly.
import type { AddressInfo } from 'node:net';
import { APP_DISPLAY_NAME } from './app-name.js';
import { composeApp } from './compose.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { keepIdleConnectionsOpen } from './http/keep-alive.js';
import { createLogger } from './logging.js';
import { STEP_TIME_LIMIT_SECONDS } from './photos/image-processing.js';
import { prepareUploadTempDir, UploadTempDirUnusable } from './photos/upload-temp-dir.js';
import { readSecretParameter, SecretParameterUnusable } from './storage/secret-parameter.js';

/**
 * After the grace, uploads have been answered; an image step they started cannot be interrupted and may
 * run this much longer (its time limit). What is still open after that is closed.
 */
const FINAL_EXIT_MARGIN_MS = (STEP_TIME_LIMIT_SECONDS + 3) * 1000;

/** While stopping, how often connections that have become idle are closed. */
const IDLE_CHECK_WHILE_STOPPING_MS = 250;

/** EX_CONFIG: systemd (RestartPreventExitStatus) and humans can tell a configuration error from a crash. */
const EXIT_CONFIGURATION = 78;

/** The address to open in a browser: the port actually bound (PORT=0 picks one), an IPv6 host in brackets. */
function listeningUrl(address: string | AddressInfo | null): string {
  if (address === null || typeof address === 'string') return String(address);
  const host = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(EXIT_CONFIGURATION);
  }
  const logger = createLogger(config.logLevel);
  if (config.csrfSecretParameter) {
    try {
      const csrfSecret = await readSecretParameter(config.csrfSecretParameter, {
        region: config.region,
        timeoutMs: config.s3TimeoutSeconds * 1000,
      });
      config = { ...config, csrfSecret };
      logger.info({ parameter: config.csrfSecretParameter }, 'CSRF secret read from SSM Parameter Store');
    } catch (error) {
      if (!(error instanceof SecretParameterUnusable)) throw error;
      logger.fatal(error.message);
      process.exit(error.isConfiguration ? EXIT_CONFIGURATION : 1);
    }
  }
  try {
    await prepareUploadTempDir(config.uploadTempDir);
  } catch (error) {
    if (!(error instanceof UploadTempDirUnusable)) throw error;
    logger.fatal(error.message);
    process.exit(EXIT_CONFIGURATION);
  }
  const { app, uploads, orphanSweep } = composeApp(config, { logger });

  const server = app.listen(config.port, config.host, () => {
    const url = listeningUrl(server.address());
    logger.info(
      { url, bucket: config.bucket, prefix: config.keyPrefix, region: config.region, endpoint: config.endpointUrl ?? 'AWS' },
      `${APP_DISPLAY_NAME} is listening on ${url}`,
    );
    orphanSweep.start();
  });
  keepIdleConnectionsOpen(server);
  server.on('error', (error) => {
    logger.fatal({ err: error }, 'cannot listen');
    process.exit(1);
  });

  let shuttingDown = false;
  const shutDown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    const graceMs = config.shutdownGraceSeconds * 1000;
    logger.info({ signal, graceSeconds: config.shutdownGraceSeconds }, 'shutting down: finishing in-flight requests');
    orphanSweep.stop();
    // No new connections; requests in progress finish. Uploads still running at the end of the grace are
    // stopped, answered 503 and cleaned up by the upload receiver.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // A connection whose request ends after this is kept open for the next one (KEEP_ALIVE_TIMEOUT_MS): close
    // each as soon as it is idle, rather than wait out the keep-alive.
    const closingIdle = setInterval(() => server.closeIdleConnections(), IDLE_CHECK_WHILE_STOPPING_MS);
    void closed.finally(() => clearInterval(closingIdle));
    void uploads
      .shutDown(graceMs)
      .then(() => closed)
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      });
    setTimeout(() => {
      logger.warn('requests still open after the shutdown grace: closing them');
      server.closeAllConnections();
      process.exit(1);
    }, graceMs + FINAL_EXIT_MARGIN_MS).unref();
  };
  process.on('SIGTERM', () => shutDown('SIGTERM'));
  process.on('SIGINT', () => shutDown('SIGINT'));
}

await main();
