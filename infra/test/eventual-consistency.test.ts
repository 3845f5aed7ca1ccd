// The up, down, attach, scale, role and ci-role suites again, every account of theirs eventually consistent (visibility.test.ts
// holds the narrow tests of that mode). Left out of mutation testing: Stryker already runs these suites.
import { FakeAccount } from './fake-aws.js';

FakeAccount.defaultOptions = { eventuallyConsistent: true };
await import('./up.test.js');
await import('./down.test.js');
await import('./attach.test.js');
await import('./role.test.js');
await import('./scale.test.js');
await import('./ci-role.test.js');
await import('./ci-role-trust.test.js');
