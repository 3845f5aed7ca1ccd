// Frees the pixels of images already made before the next decode, rather than whenever V8 gets round to them.
import { setImmediate } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// sharp hands its output back in Buffers whose memory libvips allocated; that memory is freed only when V8
// collects the Buffer, and V8 collects for memory outside its heap only after about 64 MiB more has piled up
// since its last collection. So up to 64 MiB of earlier photos' pixels (one photo's 2560 px and display-size
// pixels alone are 35 MiB) could still be resident, or not, by chance, when the next decoder took its whole
// image: the worst-case decode peak of `npm run bench` varied by that much from run to run. A full collection
// of the app's small heap takes milliseconds, against the hundreds an image step takes.
let collectGarbage: (() => void) | undefined;

/** V8's `gc()`, which Node hides unless started with --expose-gc: exposed on first use, not at import. */
function garbageCollector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Collects now, so the memory of every image buffer nothing refers to any more is given back: Node frees a
 * collected Buffer's outside memory on the event loop's next turn, which this waits for.
 */
export async function releaseUnreachablePixels(): Promise<void> {
  collectGarbage ??= garbageCollector();
  collectGarbage();
  await setImmediate();
}
