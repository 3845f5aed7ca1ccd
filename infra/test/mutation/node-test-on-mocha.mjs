// The part of node:test that infra/test uses, on top of mocha, so Stryker's mocha runner can run those
// test files in one long-lived process. npm test runs them with node --test and never loads this file.
//
// Why: Stryker's tap runner, used before, started a Node process per covering test file per mutant, and
// loading the AWS SDK clients alone took 1.3 s of each 2-3 s file. Mocha keeps the files loaded and Stryker
// switches the active mutant between runs, so a mutant costs only the tests that reach it.
import { mock as nodeTestMock } from 'node:test';

/**
 * node:test's test(name, fn) and test(name, options, fn), and it(): fn gets a context with the members infra/test uses;
 * of the options, skip and timeout.
 */
export function test(name, optionsOrFn, maybeFn) {
  const [options, fn] = typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn ?? {}, maybeFn];
  if (options.skip) return globalThis.it.skip(name);
  return globalThis.it(name, async function runWithContext() {
    if (options.timeout !== undefined) this.timeout(options.timeout);
    const context = new MochaTestContext(this, name);
    try {
      return await fn(context);
    } finally {
      await context.cleanUp();
    }
  });
}

export const it = test;

export function describe(name, fn) {
  return globalThis.describe(name, fn);
}

export function before(fn) {
  return globalThis.before(fn);
}

export function after(fn) {
  return globalThis.after(fn);
}

export function beforeEach(fn) {
  return globalThis.beforeEach(fn);
}

export function afterEach(fn) {
  return globalThis.afterEach(fn);
}

export const mock = nodeTestMock;

/** The TestContext members infra/test uses: name, mock (restored after the test), skip, after (run in the order registered, as node:test does). */
class MochaTestContext {
  #mochaContext;
  #afterCallbacks = [];

  constructor(mochaContext, name) {
    this.#mochaContext = mochaContext;
    this.name = name;
    this.mock = nodeTestMock;
  }

  skip(reason) {
    this.#mochaContext.skip(reason);
  }

  after(callback) {
    this.#afterCallbacks.push(callback);
  }

  async cleanUp() {
    nodeTestMock.restoreAll();
    for (const callback of this.#afterCallbacks) await callback();
  }
}
