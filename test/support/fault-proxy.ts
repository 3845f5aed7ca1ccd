// A TCP proxy in front of the S3 emulator that can misbehave on demand, to test how the app meets a
// failing S3: answer 500 to everything, stall (accept and never answer), or cut connections mid-request.
import { createConnection, createServer, type Socket } from 'node:net';
import { once } from 'node:events';

export type Fault =
  | { kind: 'none' }
  | { kind: 'error-500' }
  | { kind: 'stall' }
  | { kind: 'cut-after'; bytes: number }
  /**
   * Cuts the first request that matches `pattern` once `bytes` of it have gone through (0: as it starts), then
   * S3 as usual: one connection lost, under the request the test names. Not "whichever connection first passes
   * a count": the app sends a photo's parts at once, so which one that is would be left to the scheduler.
   */
  | { kind: 'cut-once-matching'; pattern: RegExp; bytes: number }
  /** Answers the first request that matches `pattern` with 500 InternalError itself (S3 never sees it), then S3 as usual. */
  | { kind: 'error-500-once-matching'; pattern: RegExp }
  /**
   * Forwards everything until a request matches `pattern`; holds that one and calls `onHold`. It is never
   * answered, unless `onHold` calls `release`: then it goes on to S3 as if it had just arrived.
   */
  | { kind: 'hold-matching'; pattern: RegExp; onHold: (release: () => void) => void };

export interface FaultProxy {
  endpoint: string;
  setFault(fault: Fault): void;
  /** Requests the current fault has cut or answered itself (a once-matching fault that never met its request: none). */
  hits(): number;
  close(): Promise<void>;
}

const INTERNAL_ERROR_RESPONSE =
  'HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nConnection: close\r\nContent-Length: 96\r\n\r\n' +
  '<?xml version="1.0"?><Error><Code>InternalError</Code><Message>injected</Message></Error>'.padEnd(96);

export async function startFaultProxy(upstreamPort: number): Promise<FaultProxy> {
  let fault: Fault = { kind: 'none' };
  let cutOnceDone = false;
  let hits = 0;
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    const current = fault;
    if (current.kind === 'stall') return; // hold the connection open, answer nothing
    if (current.kind === 'error-500') {
      client.once('data', () => client.end(INTERNAL_ERROR_RESPONSE));
      return;
    }
    const upstream = createConnection(upstreamPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.pipe(client);
    let forwarded = 0;
    /** Bytes of the request to cut gone through on this connection, from its first line; undefined until it starts. */
    let forwardedOfMatch: number | undefined;
    let answered = false;
    let held: Buffer[] | undefined;
    let released = false;
    const release = () => {
      const chunks = held ?? [];
      held = undefined;
      released = true;
      for (const chunk of chunks) upstream.write(chunk);
    };
    client.on('data', (chunk: Buffer) => {
      if (held) {
        held.push(chunk);
        return;
      }
      if (!released && current.kind === 'hold-matching' && current.pattern.test(chunk.toString('latin1'))) {
        held = [chunk];
        current.onHold(release);
        return;
      }
      if (answered) return; // the rest of a request the proxy has answered: S3 never sees it
      if (current.kind === 'error-500-once-matching' && !cutOnceDone && current.pattern.test(chunk.toString('latin1'))) {
        cutOnceDone = true;
        hits++;
        answered = true;
        client.end(INTERNAL_ERROR_RESPONSE);
        upstream.destroy();
        return;
      }
      forwarded += chunk.length;
      let cutNow = false;
      if (current.kind === 'cut-once-matching' && !cutOnceDone) {
        if (forwardedOfMatch === undefined && current.pattern.test(chunk.toString('latin1'))) forwardedOfMatch = 0;
        if (forwardedOfMatch !== undefined) {
          forwardedOfMatch += chunk.length;
          cutNow = forwardedOfMatch > current.bytes;
        }
      }
      if (cutNow) cutOnceDone = true;
      if ((current.kind === 'cut-after' && forwarded > current.bytes) || cutNow) {
        hits++;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    client.on('end', () => upstream.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    setFault(next) {
      fault = next;
      cutOnceDone = false;
      hits = 0;
      // New behaviour applies to new connections: drop the kept-alive ones.
      for (const socket of sockets) socket.destroy();
    },
    hits: () => hits,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
