// A TCP proxy in front of the S3 emulator that can misbehave on demand, to test how the app meets a
// failing S3: answer 500 to everything, stall (accept and never answer), or cut connections mid-request.
import { createConnection, createServer, type Socket } from 'node:net';
import { once } from 'node:events';

export type Fault =
  | { kind: 'none' }
  | { kind: 'error-500' }
  | { kind: 'stall' }
  | { kind: 'cut-after'; bytes: number }
  /** As cut-after, for the first connection that passes `bytes` only: one connection lost, then S3 as usual. */
  | { kind: 'cut-once-after'; bytes: number }
  /**
   * Forwards everything until a request matches `pattern`; holds that one and calls `onHold`. It is never
   * answered, unless `onHold` calls `release`: then it goes on to S3 as if it had just arrived.
   */
  | { kind: 'hold-matching'; pattern: RegExp; onHold: (release: () => void) => void };

export interface FaultProxy {
  endpoint: string;
  setFault(fault: Fault): void;
  close(): Promise<void>;
}

const INTERNAL_ERROR_RESPONSE =
  'HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nConnection: close\r\nContent-Length: 96\r\n\r\n' +
  '<?xml version="1.0"?><Error><Code>InternalError</Code><Message>injected</Message></Error>'.padEnd(96);

export async function startFaultProxy(upstreamPort: number): Promise<FaultProxy> {
  let fault: Fault = { kind: 'none' };
  let cutOnceDone = false;
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
      forwarded += chunk.length;
      const cutNow = current.kind === 'cut-once-after' && !cutOnceDone && forwarded > current.bytes;
      if (cutNow) cutOnceDone = true;
      if ((current.kind === 'cut-after' && forwarded > current.bytes) || cutNow) {
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
      // New behaviour applies to new connections: drop the kept-alive ones.
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
