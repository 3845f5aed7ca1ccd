// createApp(deps) builds the Express app from its parts. It reads no environment, does no I/O and
// listens on nothing, so tests and server.ts wire it the same way.
import express from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { type AboutDeps, createAboutRoutes } from './about/routes.js';
import type { Config } from './config.js';
import { createHealthRoutes } from './health/routes.js';
import { describeError, loggableUrl } from './logging.js';
import type { BrowserSession } from './http/browser-session.js';
import { refusingOtherMethods, refusingOtherMethodsOnFiles } from './http/allowed-methods.js';
import { handleError, notFound } from './http/error-handler.js';
import type { RateLimits } from './http/rate-limits.js';
import { securityHeaders } from './http/security-headers.js';
import { appPaths } from './paths.js';
import { createPhotoRoutes } from './photos/routes.js';
import type { PhotoStore } from './photos/store.js';
import type { UploadReceiver } from './photos/upload/receiver.js';
import { viewHelpers } from './http/view-helpers.js';

/** Everything the app is made of, built by compose.ts (or a test): one flat set. */
export interface AppDeps extends AboutDeps {
  config: Config;
  store: PhotoStore;
  uploads: UploadReceiver;
  session: BrowserSession;
  rateLimits: RateLimits;
  logger: Logger;
}

export function createApp(deps: AppDeps): express.Express {
  const { config, store, uploads, session, rateLimits, logger, credentialTrace } = deps;
  const { maxUploadBytes, maxFilesPerUpload } = config;
  const app = express();
  // Behind a proxy (a load balancer, nginx): the client's address and protocol come from its X-Forwarded-*
  // headers, counted from the right, so cookies are Secure over HTTPS and limits count real clients.
  app.set('trust proxy', config.trustProxyHops);
  const { viewsDir, publicDir } = appPaths();
  app.set('views', viewsDir);
  app.set('view engine', 'ejs');
  app.disable('x-powered-by');
  Object.assign(app.locals, viewHelpers(credentialTrace));

  app.use(securityHeaders(config));
  app.use(
    pinoHttp({
      logger,
      genReqId: (_req, res) => {
        const id = randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Static files and probes would drown the log.
      autoLogging: { ignore: (req) => req.url?.startsWith('/static/') === true || req.url === '/healthz' },
      // The error handler logs failures with their cause; the line per request only says how it ended.
      // Our serializers get the raw objects: pino-http's wrapping would turn an error into a plain object first.
      wrapSerializers: false,
      customErrorObject: (_req, _res, _error, line: Record<string, unknown>) => ({ ...line, err: undefined }),
      // One line per request: what was asked and how it ended. Headers stay out (cookies, signed URLs).
      serializers: {
        err: describeError,
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: loggableUrl(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use('/static', express.static(publicDir, { maxAge: '1h', index: false }), refusingOtherMethodsOnFiles(publicDir));
  // Every page holds form tokens and presigned links that expire: never keep one (the back button asks again).
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  app.use(refusingOtherMethods(createHealthRoutes(store, credentialTrace, rateLimits.pageViews)));
  app.use(session.middleware);
  app.use(refusingOtherMethods(createAboutRoutes(deps)));
  app.use(refusingOtherMethods(createPhotoRoutes({ store, uploads, session, rateLimits, maxUploadBytes, maxFilesPerUpload })));
  app.use(notFound);
  app.use(handleError);
  return app;
}
