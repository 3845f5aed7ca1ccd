// Waiting on promises: giving up on one when a signal aborts, and failing with the first of several that failed.

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it is aborted. The work may go on (a step
 * the signal cannot reach, such as fetching credentials or decoding an image): the caller deals with what it leaves.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Throws the reason of the first rejected result, if any. Used after allSettled: no step is still running when the caller cleans up. */
export function throwFirstFailure(results: PromiseSettledResult<unknown>[]): void {
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
}
