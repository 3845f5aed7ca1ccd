// Median and spread of repeated measurements: on shared machines one run is noise, rounds are not.

export interface Spread {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function spread(samples: number[]): Spread {
  if (samples.length === 0) throw new Error('no samples to summarise');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, samples };
}

/** Each round's ratio, so that a slow moment on the machine slows both sides of the same ratio. */
export function roundRatios(numerators: number[], denominators: number[]): Spread {
  return spread(numerators.map((value, round) => value / denominators[round]!));
}

export function formatSpread({ median, min, max }: Spread, digits: number, unit = ''): string {
  return `${median.toFixed(digits)}${unit} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
}

/** Runs `task` on every item with at most `limit` in flight. */
export async function inParallel<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function milliseconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}
