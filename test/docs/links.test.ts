import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const README = join(ROOT, 'README.md');
const DOCS = join(ROOT, 'docs');

/** The README's budget: a newcomer reads it in five minutes; reference material lives in docs/. */
const README_MAX_BYTES = 25_000;

/** The pages the README's reference material moved to: they must stay, and stay linked. */
const MOVED_TO_DOCS = [
  'docs/configuration.md',
  'docs/how-it-works.md',
  'docs/infrastructure.md',
  'docs/servicenow-setup.md',
  'docs/testing.md',
  'docs/benchmarks.md',
  'docs/reliability.md',
  'docs/token-client.md',
];

/** Text without fenced code blocks and inline code, where brackets are code, not links. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (match[1] ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every relative link of a markdown file that does not resolve, as "target: why". */
function brokenLinks(file: string, markdown: string): string[] {
  const broken: string[] = [];
  for (const match of prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
    const [path = '', anchor] = target.split('#', 2);
    const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path));
    if (path !== '' && !existsSync(resolved)) {
      broken.push(`${target}: no such file`);
      continue;
    }
    if (anchor === undefined || !resolved.endsWith('.md')) continue;
    const headings = headingAnchors(path === '' ? markdown : readFileSync(resolved, 'utf8'));
    if (!headings.has(decodeURIComponent(anchor))) {
      broken.push(`${target}: no heading #${anchor} in ${relative(ROOT, resolved)}`);
    }
  }
  return broken;
}

const markdownFiles = [
  README,
  ...readdirSync(DOCS)
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(DOCS, name)),
];

describe('the documentation', () => {
  it.each(markdownFiles.map((file) => [relative(ROOT, file), file]))(
    '%s: every relative link resolves to a file, and every #anchor to a heading',
    (_name, file) => {
      expect(brokenLinks(file, readFileSync(file, 'utf8'))).toEqual([]);
    },
  );

  it('keeps the README within its budget of 25 KB', () => {
    expect(statSync(README).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it('keeps each page the README moved out, linked from the README', () => {
    const readme = readFileSync(README, 'utf8');
    for (const page of MOVED_TO_DOCS) {
      expect(existsSync(join(ROOT, page)), page).toBe(true);
      expect(readme, page).toContain(`](${page}`);
    }
  });

  it('catches a link to a missing file and to a missing heading (the check can fail)', () => {
    const here = join(DOCS, 'example.md');
    const text = [
      '# Title',
      '## Two words',
      '[ok](#two-words) [ok](runbook.md) [web](https://example.com) `[code](nowhere.md)`',
      '[bad](nowhere.md) [bad](#three-words) [bad](runbook.md#no-such-heading)',
    ].join('\n');

    expect(brokenLinks(here, text)).toEqual([
      'nowhere.md: no such file',
      '#three-words: no heading #three-words in docs/example.md',
      'runbook.md#no-such-heading: no heading #no-such-heading in docs/runbook.md',
    ]);
  });
});
