// The bench's committed results: docs/performance-results.json, and the table docs/performance.md shows from
// it between two markers. `npm run bench` rewrites both; a test checks the page still shows the file.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatTable, type TableRow } from './report.js';

export interface CommittedResults {
  /** When the run finished (ISO 8601; a date alone for a run whose time was not kept). */
  date: string;
  machine: { cpus: number; node: string; cpuModel?: string; memoryGiB?: number; platform?: string };
  /** Said under the table when the numbers did not come straight from a run of today's bench. */
  note?: string;
  rows: TableRow[];
}

export const RESULTS_START = '<!-- bench results: written by `npm run bench` from docs/performance-results.json; do not edit -->';
export const RESULTS_END = '<!-- end of bench results -->';

export function resultsFile(projectRoot: string): string {
  return path.join(projectRoot, 'docs', 'performance-results.json');
}

export function performancePage(projectRoot: string): string {
  return path.join(projectRoot, 'docs', 'performance.md');
}

/** The Markdown between the markers: which run, on what, and its table exactly as the bench prints it. */
export function renderResults(results: CommittedResults): string {
  const { cpus, node } = results.machine;
  const lines = [
    `Latest run (${cpus} vCPU, Node ${node.replace(/^v/, '')}, ${results.date.slice(0, 10)}; medians over rounds with min–max;`,
    'ratios are per round, app over reference):',
    '',
    formatTable(results.rows),
  ];
  if (results.note) lines.push('', ...wrapped(results.note));
  return lines.join('\n');
}

/** Prose broken into lines of at most 110 characters, as the pages are written. */
function wrapped(text: string): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/)) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= 110) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** The page with its results section replaced; a page without both markers is an error, not a silent append. */
export function withResults(page: string, results: CommittedResults): string {
  const start = page.indexOf(RESULTS_START);
  const end = page.indexOf(RESULTS_END);
  if (start < 0 || end < start) throw new Error(`docs/performance.md has lost its markers: ${RESULTS_START} … ${RESULTS_END}`);
  return `${page.slice(0, start + RESULTS_START.length)}\n\n${renderResults(results)}\n\n${page.slice(end)}`;
}

/** Writes the results file and the page's table from one run. */
export async function commitResults(projectRoot: string, results: CommittedResults): Promise<void> {
  await writeFile(resultsFile(projectRoot), `${JSON.stringify(results, null, 2)}\n`);
  const page = await readFile(performancePage(projectRoot), 'utf8');
  await writeFile(performancePage(projectRoot), withResults(page, results));
}
