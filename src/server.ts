// Entry point: reads the environment, builds the app (composeApp makes its one S3 client), listens,
// and shuts down cleanly.
import { pino } from 'pino';
import { composeApp } from './compose.js';
import { ConfigError, loadConfig } from './config.js';

/** How long in-flight requests (uploads above all) get to finish after SIGTERM before they are aborted. */
const SHUTDOWN_GRACE_MS = 20_000;

function main(): void {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(78); // EX_CONFIG: systemd and humans can tell a configuration error from a crash
  }
  const logger = pino({ level: config.logLevel });
  const { app, uploads } = composeApp(config, { logger });

  const server = app.listen(config.port, config.host, () => {
    const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
    logger.info({ url, bucket: config.bucket, prefix: config.keyPrefix, region: config.region, endpoint: config.endpointUrl ?? 'AWS' }, `S3 Photo Share is listening on ${url}`);
  });
  server.on('error', (error) => {
    logger.fatal({ err: error }, 'cannot listen');
    process.exit(1);
  });

  let shuttingDown = false;
  const shutDown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    server.close(() => {
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => {
      logger.warn('in-flight uploads did not finish in time: aborting them');
      uploads.abortAll();
      setTimeout(() => process.exit(1), 3_000).unref();
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => shutDown('SIGTERM'));
  process.on('SIGINT', () => shutDown('SIGINT'));
}

main();
