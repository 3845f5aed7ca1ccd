// What is left of a refused request's body is read and thrown away before the connection may close, within
// a bound, as nginx's lingering close does: a server that closes while its client is still sending resets
// the connection, and the client's system then drops the answer it had received (Node's fetch saw EPIPE).
import type { Request } from 'express';

/** Past either bound the client is cut off: a refused client may not keep the server reading for it. */
export const REFUSED_BODY_BOUNDS = {
  maxBytes: 4 * 1024 * 1024,
  maxMs: 10_000,
};

/** Reads and discards the rest of `req`'s body, if any; cuts the connection once a bound is passed. */
export function discardRestOfBody(req: Request): void {
  if (req.complete) return;
  let discarded = 0;
  const cutOff = () => req.socket.destroy();
  const deadline = setTimeout(cutOff, REFUSED_BODY_BOUNDS.maxMs);
  const countDiscarded = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > REFUSED_BODY_BOUNDS.maxBytes) cutOff();
  };
  const stop = () => {
    clearTimeout(deadline);
    req.off('data', countDiscarded);
  };
  req.on('data', countDiscarded);
  req.once('end', stop);
  req.once('close', stop);
  req.resume();
}
