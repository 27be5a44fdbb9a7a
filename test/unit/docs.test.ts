import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import {
  configReferenceMarkdown,
  generatedSectionOf,
  headingSlug,
  replaceGeneratedSection,
} from '../../src/config/config-docs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = join(ROOT, 'README.md');
const CONFIG_PAGE = join(ROOT, 'docs', 'configuration.md');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

/** The page without fenced code blocks and code spans, where `[x](y)` is not a link. */
function proseOf(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/(`+)[\s\S]*?\1/g, '');
}

/** GitHub's anchors of a page's headings: a repeated heading gets `-1`, `-2`, ... */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    // A heading's anchor is made from its text as rendered: links keep their text, code its content.
    const heading = (match[1] ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = headingSlug(heading.replace(/`/g, ''));
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every relative link of a page that does not resolve, as `page: target (why)`. */
function brokenLinks(page: string): string[] {
  const text = readFileSync(page, 'utf8');
  const broken: string[] = [];
  for (const match of proseOf(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [path = '', anchor] = target.split('#', 2);
    const file = path === '' ? page : resolve(dirname(page), decodeURIComponent(path));
    const name = `${relative(ROOT, page)}: ${target}`;
    if (!existsSync(file)) {
      broken.push(`${name} (no file ${relative(ROOT, file)})`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!file.endsWith('.md')) {
      broken.push(`${name} (an anchor into a file that is not Markdown)`);
      continue;
    }
    if (!anchorsOf(readFileSync(file, 'utf8')).has(anchor)) {
      broken.push(`${name} (no heading #${anchor} in ${relative(ROOT, file)})`);
    }
  }
  return broken;
}

describe('docs (bug: a 1,887-line README was the only documentation)', () => {
  it('README.md stays a page a newcomer reads in five minutes: under 250 lines', () => {
    const lines = readFileSync(README, 'utf8').trimEnd().split('\n').length;
    expect(lines, 'README.md must stay under 250 lines: move details to docs/').toBeLessThan(250);
  });

  it('every relative link of README.md and docs/ resolves, anchors included', () => {
    const pages = [README, ...markdownFiles(join(ROOT, 'docs'))];
    expect(pages.length).toBeGreaterThan(10);
    expect(pages.flatMap(brokenLinks)).toEqual([]);
  });

  it('the link check finds a missing file and a missing anchor', () => {
    const anchors = anchorsOf('# A b\n\n## `x`: Y (z)\n\n```\n# not a heading\n```\n\n## A b\n');
    expect([...anchors]).toEqual(['a-b', 'x-y-z', 'a-b-1']);
    expect(proseOf('see `[a](b)` and\n```\n[c](d)\n```\n[e](f)')).not.toContain('(b)');
    expect(proseOf('see `[a](b)` and\n```\n[c](d)\n```\n[e](f)')).toContain('[e](f)');
  });

  it('docs/configuration.md holds the configuration reference the schema gives now', async () => {
    const onDisk = readFileSync(CONFIG_PAGE, 'utf8');
    const options = { ...(await resolveConfig(CONFIG_PAGE)), filepath: CONFIG_PAGE };
    const expected = await format(
      replaceGeneratedSection(onDisk, configReferenceMarkdown()),
      options,
    );
    expect(
      generatedSectionOf(onDisk),
      'docs/configuration.md: the configuration reference is stale; run `npm run schema`',
    ).toBe(generatedSectionOf(expected));
  });

  it('the configuration reference lists every key of the schema, with links that resolve', () => {
    const reference = configReferenceMarkdown();
    for (const key of ['source', 'targets', 'fingerprint', 'rowSecurity', 'ledgerKeepDays']) {
      expect(reference).toContain(`| \`${key}\` |`);
    }
    expect(reference).toMatch(/\| `concurrency` \| integer 1-64 \| {2}\| 4 \|/);
    const anchors = anchorsOf(reference);
    for (const [, anchor] of reference.matchAll(/\]\(#([^)]+)\)/g)) {
      expect(anchors, `#${anchor ?? ''}`).toContain(anchor);
    }
  });
});
