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
