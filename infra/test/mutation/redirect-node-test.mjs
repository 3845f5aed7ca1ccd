// A module resolve hook: test files that import 'node:test' get ./node-test-on-mocha.mjs instead.
// Registered by ./use-mocha-for-node-test.mjs, for Stryker's mocha runner only.
const shimUrl = new URL('./node-test-on-mocha.mjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'node:test' && context.parentURL !== shimUrl) return { url: shimUrl, shortCircuit: true };
  return nextResolve(specifier, context);
}
