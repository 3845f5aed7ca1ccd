// docs/performance.md shows the bench's committed results file and nothing typed by hand: its table is the
// one `npm run bench` renders from docs/performance-results.json, and its prose quotes no measurement.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type CommittedResults,
  commitResults,
  performancePage,
  RESULTS_END,
  RESULTS_START,
  resultsFile,
  withResults,
} from '../scripts/bench/committed-results.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const page = readFileSync(performancePage(projectRoot), 'utf8');
const results = JSON.parse(readFileSync(resultsFile(projectRoot), 'utf8')) as CommittedResults;

/** The page outside the bench's section and outside code: the words a person wrote. */
function typedProse(markdown: string): string {
  const outside = markdown.slice(0, markdown.indexOf(RESULTS_START)) + markdown.slice(markdown.indexOf(RESULTS_END));
  return outside.replace(/```[\s\S]*?```/g, '').replace(/`[^`]*`/g, '');
}

/** Decimal numbers such as 0.34 or 61.5 (the form of every ratio and rate in the table), not addresses like 127.0.0.1. */
function decimalsIn(text: string): string[] {
  return text.match(/(?<![\d.])\d+\.\d+(?!\.?\d)/g) ?? [];
}

describe('when docs/performance.md shows the latest run', () => {
  it('then its table is exactly what the bench renders from the committed results file', () => {
    assert.equal(page, withResults(page, results));
  });

  it('then its prose quotes no measurement, so no number there can contradict the table', () => {
    assert.deepEqual(decimalsIn(typedProse(page)), []);
  });

  it('then the results file has a date, the machine and a row for every figure with a verdict', () => {
    assert.match(results.date, /^\d{4}-\d{2}-\d{2}/);
    assert.ok(results.machine.cpus > 0 && results.machine.node.length > 0);
    assert.ok(results.rows.length > 0);
    for (const row of results.rows) {
      assert.deepEqual(Object.keys(row).sort(), ['app', 'budget', 'figure', 'ratio', 'reference', 'verdict']);
      assert.ok(['pass', 'MISS', 'info', 'skipped'].includes(row.verdict), row.verdict);
    }
  });
});

describe('when the page and the results file disagree', () => {
  it('then a number changed in the file no longer matches the page', () => {
    const [first, ...others] = results.rows;
    const changed = { ...results, rows: [{ ...first!, ratio: '0.34 (0.28–0.39)' }, ...others] };
    assert.notEqual(page, withResults(page, changed));
  });

  it('then a ratio typed into the prose is found', () => {
    const typed = page.replace('## What each figure means', 'Upload vs direct (0.34 of 0.90).\n\n## What each figure means');
    assert.deepEqual(decimalsIn(typedProse(typed)), ['0.34', '0.90']);
  });

  it('then a page that lost its markers is refused, not appended to', () => {
    assert.throws(() => withResults(page.replace(RESULTS_END, ''), results), /lost its markers/);
  });
});

describe('when the bench commits a new run', () => {
  it('then the results file holds it and the page shows its table, with the prose untouched', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'bench-commit-'));
    try {
      mkdirSync(path.join(root, 'docs'));
      writeFileSync(performancePage(root), page);
      const run: CommittedResults = {
        date: '2027-01-02T03:04:05.000Z',
        machine: { cpus: 4, node: 'v22.12.0', cpuModel: 'Test CPU', memoryGiB: 8, platform: 'linux 6.1' },
        rows: results.rows.map((row) => ({ ...row, ratio: '0.99 (0.98–1.00)' })),
      };
      await commitResults(root, run);
      assert.deepEqual(JSON.parse(readFileSync(resultsFile(root), 'utf8')), run);
      const written = readFileSync(performancePage(root), 'utf8');
      assert.equal(written, withResults(page, run));
      assert.match(written, /^Latest run \(4 vCPU, Node 22\.12\.0, 2027-01-02; /m);
      assert.equal(typedProse(written), typedProse(page));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
