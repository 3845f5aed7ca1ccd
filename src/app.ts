// createApp(deps) builds the Express app from its parts. It reads no environment, does no I/O and
// listens on nothing, so tests and server.ts wire it the same way.
import express from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { createHealthRoutes } from './health/routes.js';
import { createErrorHandler, formatBytes, notFound } from './http/error-handler.js';
import { appPaths } from './paths.js';
import { createPhotoRoutes } from './photos/routes.js';
import type { PhotoStore } from './photos/store.js';
import type { UploadReceiver } from './photos/upload.js';

export interface AppDeps {
  store: PhotoStore;
  uploads: UploadReceiver;
  logger: Logger;
  maxUploadBytes: number;
  maxFilesPerUpload: number;
}

export function createApp({ store, uploads, logger, maxUploadBytes, maxFilesPerUpload }: AppDeps): express.Express {
  const app = express();
  const { viewsDir, publicDir } = appPaths();
  app.set('views', viewsDir);
  app.set('view engine', 'ejs');
  app.disable('x-powered-by');
  app.locals.formatBytes = formatBytes;

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const id = randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Static files and probes would drown the log.
      autoLogging: { ignore: (req) => req.url?.startsWith('/static/') === true || req.url === '/healthz' },
      // One line per request: what was asked and how it ended. Headers stay out (cookies, signed URLs).
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use('/static', express.static(publicDir, { maxAge: '1h', index: false }));
  app.use(createHealthRoutes(store));
  app.use(createPhotoRoutes({ store, uploads, maxUploadBytes, maxFilesPerUpload }));
  app.use(notFound);
  app.use(createErrorHandler({ maxUploadBytes, maxFilesPerUpload }));
  return app;
}
