// How long the app keeps an idle connection open for the client's next request: longer than anything in front of it
// keeps one, so the app is never the side that closes a connection a request is already travelling on. Node's
// default (5 s) lets that race happen: an ALB reusing its connection answers 502, Node's fetch reports EPIPE.
import type { Server } from 'node:http';

/**
 * Above an ALB's idle timeout (60 s unless changed), as AWS advises for a load balancer's targets
 * (Application Load Balancers, "Connection idle timeout"); clients are told it in `Keep-Alive: timeout=65`.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export function keepIdleConnectionsOpen(server: Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
}
