// Counts what the load run did: requests and latencies per kind, and answers that were not successes,
// by status; then prints them as tables.

/** What a request was for, as the report groups them. */
export type RequestKind = 'gallery' | 'older page' | 'photo page' | 'image (S3)' | 'upload';

/** An HTTP status, or why there was none. */
export type Outcome = number | 'timeout' | 'network error';

export class LoadStats {
  private readonly latencies = new Map<RequestKind, number[]>();
  private readonly failures = new Map<string, number>();

  record(kind: RequestKind, outcome: Outcome, milliseconds: number): void {
    const samples = this.latencies.get(kind) ?? [];
    samples.push(milliseconds);
    this.latencies.set(kind, samples);
    if (typeof outcome !== 'number' || outcome >= 400) {
      const key = `${kind}\u0000${outcome}`;
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    }
  }

  /** Times `request` (answer and body) and records its status, or its failure; network failures are rethrown. */
  async time<Answer extends { status: number }>(kind: RequestKind, request: () => Promise<Answer>): Promise<Answer> {
    const started = performance.now();
    try {
      const response = await request();
      this.record(kind, response.status, performance.now() - started);
      return response;
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      this.record(kind, timedOut ? 'timeout' : 'network error', performance.now() - started);
      throw error;
    }
  }

  get totalRequests(): number {
    return [...this.latencies.values()].reduce((sum, samples) => sum + samples.length, 0);
  }

  /** Server errors, timeouts and dropped connections: what the run must not have. */
  get serverFailures(): number {
    let count = 0;
    for (const [key, times] of this.failures) {
      const outcome = key.split('\u0000')[1]!;
      if (!/^[1-4]\d\d$/.test(outcome)) count += times;
    }
    return count;
  }

  statusCount(kind: RequestKind, status: number): number {
    return this.failures.get(`${kind}\u0000${status}`) ?? 0;
  }

  formatLatencies(): string {
    const rows = [...this.latencies].map(([kind, samples]) => {
      const sorted = [...samples].sort((a, b) => a - b);
      return [kind, String(sorted.length), ...[0.5, 0.9, 0.99].map((q) => ms(percentile(sorted, q))), ms(sorted.at(-1) ?? 0)];
    });
    return formatTable(['kind', 'requests', 'p50', 'p90', 'p99', 'max'], rows);
  }

  formatFailures(): string {
    if (this.failures.size === 0) return 'No errors.';
    const rows = [...this.failures].sort(([a], [b]) => a.localeCompare(b)).map(([key, count]) => [...key.split('\u0000'), String(count)]);
    return formatTable(['kind', 'status', 'count'], rows);
  }
}

/** Nearest-rank percentile of ascending samples. */
function percentile(sorted: number[], quantile: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)]!;
}

function ms(milliseconds: number): string {
  return `${milliseconds < 10 ? milliseconds.toFixed(1) : Math.round(milliseconds)} ms`;
}

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  // Text columns are left-aligned, numbers right-aligned, so digits line up.
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
