// node --import this file: from then on, 'node:test' means the mocha shim (see ./node-test-on-mocha.mjs).
import { register } from 'node:module';

register('./redirect-node-test.mjs', import.meta.url);
