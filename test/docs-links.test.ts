// Every relative link in the project's Markdown (README.md, docs/, infra/README.md when it is there, and the other READMEs)
// resolves: the file or folder exists inside the repository, and a #anchor names a heading of its page
// by GitHub's slug rules. A moved page or a renamed heading fails `npm test`, not a reader.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Folders that hold no documentation of ours: dependencies, build and test output. */
const NOT_OURS = new Set(['node_modules', '.git', 'dist', 'reports', '.stryker-tmp', '.bench', '.data', 'test-results', '.scratch']);

function markdownFiles(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return NOT_OURS.has(entry.name) ? [] : markdownFiles(root, full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

/**
 * The page without its fenced code blocks, where a `[x](y)` is text, not a link; inline code spans are
 * removed too, or with keepInlineCode only their backticks (a heading's text keeps them).
 */
function proseOf(markdown: string, keepInlineCode = false): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === undefined && marker) {
        fence = marker;
        return '';
      }
      if (fence !== undefined) {
        if (marker?.startsWith(fence)) fence = undefined;
        return '';
      }
      return line.replace(/(`+)([\s\S]*?)\1/g, (_span, _ticks, code: string) => (keepInlineCode ? code : ''));
    })
    .join('\n');
}

/** Link targets: inline links and images, reference definitions, and HTML href/src attributes. */
function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown);
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]!);
  const references = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((match) => match[1]!);
  const html = [...prose.matchAll(/\b(?:href|src)="([^"]+)"/g)].map((match) => match[1]!);
  return [...inline, ...references, ...html];
}

/** GitHub's heading anchor (github-slugger): lowercase, punctuation and symbols dropped, each space a hyphen. */
function githubSlug(headingText: string): string {
  return headingText
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a page offers: its ATX headings' slugs (repeats numbered -1, -2, … as GitHub does) and HTML ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const prose = proseOf(markdown, true);
  for (const match of prose.matchAll(/^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/gm)) {
    const text = match[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/\*\*|__/g, '');
    const base = githubSlug(text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of prose.matchAll(/\b(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!);
  return anchors;
}

/** Every relative link of the Markdown files under root that does not resolve, as "file: target (why)". */
function brokenLinks(root: string): string[] {
  const broken: string[] = [];
  for (const file of markdownFiles(root)) {
    const relativeFile = path.relative(root, file);
    for (const target of linkTargets(readFileSync(file, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
      const [pathPart = '', anchor] = target.split('#', 2);
      const resolved = pathPart === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
      const problem = !`${resolved}${path.sep}`.startsWith(`${root}${path.sep}`)
        ? 'outside the repository'
        : !existsSync(resolved)
          ? 'no such file'
          : anchor !== undefined && !(statSync(resolved).isFile() && anchorsOf(readFileSync(resolved, 'utf8')).has(anchor))
            ? 'no such heading'
            : undefined;
      if (problem) broken.push(`${relativeFile}: ${target} (${problem})`);
    }
  }
  return broken;
}

describe('when the project Markdown links to its own files and headings', () => {
  it('then every relative link resolves, anchors included', () => {
    assert.deepEqual(brokenLinks(projectRoot), []);
  });

  // A README in a subfolder of the app, not infra/README.md (also read): infra/ is a workspace a forker may delete.
  it('then the pages the check reads include the README, docs/ and the READMEs in subfolders', () => {
    const files = markdownFiles(projectRoot).map((file) => path.relative(projectRoot, file));
    for (const expected of ['README.md', path.join('scripts', 'load', 'README.md')])
      assert.ok(files.includes(expected), `${expected} is not read`);
    assert.ok(
      files.some((file) => file.startsWith(`docs${path.sep}`)),
      `no page in docs/ among ${files.join(', ')}`,
    );
  });
});

describe('when a page has a broken link', () => {
  function brokenIn(pages: Record<string, string>): string[] {
    const root = mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
    try {
      for (const [name, text] of Object.entries(pages)) {
        const full = path.join(root, name);
        mkdirSync(path.dirname(full), { recursive: true });
        writeFileSync(full, text);
      }
      return brokenLinks(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }

  it('then a missing file, a missing heading and a link out of the repository are each reported', () => {
    const broken = brokenIn({
      'README.md': [
        '# Photo share',
        '## Make it yours',
        'See [setup](docs/setup.md), [yours](#make-it-yours), [mine](#make-it-mine),',
        '[config](docs/config.md#variables), [up](../elsewhere.md) and [web](https://example.com/x.md).',
        '![shot](docs/gallery.png)',
      ].join('\n'),
      'docs/config.md': '# Configuration\n\n## Variables\n\nBack to the [README](../README.md#photo-share).\n',
    });
    assert.deepEqual(broken, [
      'README.md: docs/setup.md (no such file)',
      'README.md: #make-it-mine (no such heading)',
      'README.md: ../elsewhere.md (outside the repository)',
      'README.md: docs/gallery.png (no such file)',
    ]);
  });

  it("then links inside code are not links, and repeated headings get GitHub's numbered anchors", () => {
    const broken = brokenIn({
      'README.md': [
        '# Notes',
        '## Run it',
        '## Run it',
        '## The `S3_BUCKET` variable — and *more*',
        '[first](#run-it) [second](#run-it-1) [third](#run-it-2) [code](#the-s3_bucket-variable--and-more)',
        '`[not a link](missing.md)`',
        '```md',
        '[not a link either](missing.md)',
        '```',
      ].join('\n'),
    });
    assert.deepEqual(broken, ['README.md: #run-it-2 (no such heading)']);
  });
});

describe("when GitHub's slug rules make an anchor", () => {
  it('then punctuation is dropped, hyphens and underscores kept, and each space is a hyphen', () => {
    assert.equal(
      githubSlug('`ci-role`: deploying from GitHub Actions with no key'.replace(/`/g, '')),
      'ci-role-deploying-from-github-actions-with-no-key',
    );
    assert.equal(githubSlug('What `up --instances N` adds, and why'.replace(/`/g, '')), 'what-up---instances-n-adds-and-why');
    assert.equal(githubSlug('Images → S3 (1 GiB, 2-core)'), 'images--s3-1-gib-2-core');
    assert.equal(githubSlug('Légende en français'), 'légende-en-français');
  });
});
