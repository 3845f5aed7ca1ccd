// Answers a known path asked with a method it does not take: 405 with the methods it does take in `Allow`.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { RequestHandler, Router } from 'express';
import { MethodNotAllowed } from '../errors.js';

/**
 * Adds, after a router's routes, one route per path that answers every method none of them took: OPTIONS with
 * the path's methods, anything else with a 405 through the error handler. Paths no route knows stay 404.
 */
export function refusingOtherMethods(router: Router): Router {
  const methodsByPath = new Map<string, string[]>();
  /** Paths with a route for every method (`router.all`): nothing to refuse. */
  const takingAll = new Set<string>();
  for (const { route } of router.stack) {
    if (!route) continue;
    const methods = methodsByPath.get(route.path) ?? [];
    for (const { method } of route.stack as { method?: string }[]) {
      if (!method) {
        takingAll.add(route.path);
        continue;
      }
      const name = method.toUpperCase();
      // Express answers HEAD with the GET handler.
      for (const taken of name === 'GET' ? ['GET', 'HEAD'] : [name]) if (!methods.includes(taken)) methods.push(taken);
    }
    methodsByPath.set(route.path, methods);
  }
  for (const [path, methods] of methodsByPath) {
    if (!takingAll.has(path)) router.all(path, answerOtherMethods([...methods, 'OPTIONS']));
  }
  return router;
}

/**
 * The same for the files express.static serves from `folder` (mounted at the same path, after it): a file that is
 * there takes GET and HEAD; a name that is no file there, or would lead outside the folder, is left to the 404.
 */
export function refusingOtherMethodsOnFiles(folder: string): RequestHandler {
  const answer = answerOtherMethods(['GET', 'HEAD', 'OPTIONS']);
  const root = path.resolve(folder);
  return async function refuseOtherMethodOnFile(req, res, next) {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    let file: string;
    try {
      file = path.resolve(root, `.${decodeURIComponent(req.path)}`);
    } catch {
      return next(); // a malformed escape names no file
    }
    const isFile = file.startsWith(`${root}${path.sep}`) && (await stat(file).catch(() => undefined))?.isFile() === true;
    if (!isFile) return next();
    return answer(req, res, next);
  };
}

function answerOtherMethods(allowed: readonly string[]): RequestHandler {
  const allow = allowed.join(', ');
  return function answerOtherMethod(req, res) {
    if (req.method !== 'OPTIONS') throw new MethodNotAllowed(req.method, allowed);
    res.set('Allow', allow).status(204).end();
  };
}
