// The world around an infra CLI process in the wire test (loaded with NODE_OPTIONS=--import): time that passes at once, and a network where the account's public addresses answer from a local server.
//
// Test code only: infra/ has no switch for this. The CLI still sleeps and polls as on AWS; its sleeps end at once
// and Date.now moves on by the time slept, so the account (whose clock follows the signed requests) sees that time pass.
// Its readiness checks (fetch) to an instance's public address or a load balancer's DNS name reach the test's server
// for those addresses instead; so does a fetch of any other outside host (which that server answers 503), so the test
// never uses the network.
import { syncBuiltinESMExports } from 'node:module';
import timers from 'node:timers/promises';

const publicAddresses = process.env.WIRE_TEST_PUBLIC_ADDRESSES;

// Only the CLI process itself (tsx starts it as a child; npm and tsx's own process are left alone).
if (publicAddresses && /[/\\]infra[/\\]cli\.ts$/.test(process.argv[1] ?? '')) {
  const realNow = Date.now;
  // The machine's clock starts at the account's (earlier commands have slept the account ahead of real time).
  let sleptMs = Math.max(0, Number(process.env.WIRE_TEST_CLOCK_MS ?? 0) - realNow());
  const realSleep = timers.setTimeout;
  Date.now = () => realNow() + sleptMs;
  timers.setTimeout = (delayMs = 1, value, options) => {
    sleptMs += Number(delayMs);
    return realSleep(0, value, options);
  };
  syncBuiltinESMExports();

  const realFetch = globalThis.fetch;
  globalThis.fetch = (resource, init) => {
    const url = new URL(resource instanceof Request ? resource.url : String(resource));
    if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') return realFetch(resource, init);
    return realFetch(`${publicAddresses}/${url.protocol.replace(':', '')}/${url.host}${url.pathname}${url.search}`, init);
  };
}
