// What each figure hands back: rows for the printed table (one per budget line) and details for the JSON.

export type Verdict = 'pass' | 'MISS' | 'info' | 'skipped';

export interface TableRow {
  figure: string;
  app: string;
  reference: string;
  ratio: string;
  budget: string;
  verdict: Verdict;
}

export interface FigureResult {
  rows: TableRow[];
  details: Record<string, unknown>;
}

export function verdict(holds: boolean): Verdict {
  return holds ? 'pass' : 'MISS';
}

export function formatTable(rows: TableRow[]): string {
  const header: TableRow = {
    figure: 'Figure',
    app: 'App',
    reference: 'Reference',
    ratio: 'Ratio',
    budget: 'Budget',
    verdict: 'Result' as Verdict,
  };
  const columns = Object.keys(header) as (keyof TableRow)[];
  const widths = columns.map((column) => Math.max(...[header, ...rows].map((row) => row[column].length)));
  const line = (row: TableRow) => `| ${columns.map((column, index) => row[column].padEnd(widths[index]!)).join(' | ')} |`;
  // The separator as Biome formats Markdown tables, so a page holding this table passes `npm run lint`.
  return [line(header), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...rows.map(line)].join('\n');
}
