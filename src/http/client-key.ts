// The key every per-client limit counts under: the client's IPv4 address, or its IPv6 /64 (one
// household's or one server's network, whose addresses its owner picks at will), spelled one way.
import type { Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';

/** The bits of an IPv6 address that name its network: a /64 is what a single site or host is given. */
const IPV6_NETWORK_BITS = 64;

/**
 * `198.51.100.7` and `::ffff:198.51.100.7` give `198.51.100.7`; `2001:DB8::1` and `2001:db8:0:0::abcd`
 * give `2001:db8::/64`. Behind a proxy the address is the one it saw (see TRUST_PROXY).
 */
export function clientKey(req: Request): string {
  // Only a request whose socket is already gone has no address: it is refused or ignored anyway.
  return ipKeyGenerator(req.ip ?? 'unknown', IPV6_NETWORK_BITS);
}
