// Bounds how many calls of an async task run at once; the rest wait their turn, in order.

export function limitConcurrency<Args extends unknown[], Result>(
  limit: number,
  task: (...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (...args) => {
    if (running < limit) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // a finishing call hands over its slot
    try {
      return await task(...args);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/**
 * Shares one call of `ask` among the callers that arrive while it runs, and keeps an answer `keep` accepts for
 * `keepMs`: a flood of requests for something that rarely changes costs one call, not one call each.
 */
export function shareAnswer<Result>(
  ask: () => Promise<Result>,
  { keepMs, keep = () => true, now = Date.now }: { keepMs: number; keep?: (answer: Result) => boolean; now?: () => number },
): () => Promise<Result> {
  let running: Promise<Result> | undefined;
  let kept: { answer: Result; until: number } | undefined;
  return () => {
    if (kept && now() < kept.until) return Promise.resolve(kept.answer);
    running ??= ask()
      .then((answer) => {
        kept = keep(answer) ? { answer, until: now() + keepMs } : undefined;
        return answer;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}
