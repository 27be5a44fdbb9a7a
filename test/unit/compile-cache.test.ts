import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileCacheDir, enableCompileCache } from '../../src/cli/compile-cache.js';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A home folder of its own (0700, as a home is), and what enable() was called with. */
function setup(): { home: string; enabled: string[]; enable: (dir: string) => void } {
  const home = mkdtempSync(join(tmpdir(), 'pgcopy-home-'));
  homes.push(home);
  const enabled: string[] = [];
  return { home, enabled, enable: (dir) => enabled.push(dir) };
}

describe('compile cache', () => {
  it("turns Node's cache on in an owner-only folder under ~/.cache/pgcopy", () => {
    const { home, enabled, enable } = setup();
    const dir = enableCompileCache({ enable, env: {}, home });
    expect(dir).toBe(join(home, '.cache', 'pgcopy', 'node-compile-cache'));
    expect(enabled).toEqual([dir]);
    expect(statSync(dir ?? '').mode & 0o777).toBe(0o700);
  });

  it('follows XDG_CACHE_HOME when it is an absolute path', () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: '/var/cache/me' }, '/home/me')).toBe(
      '/var/cache/me/pgcopy/node-compile-cache',
    );
    expect(compileCacheDir({ XDG_CACHE_HOME: 'relative' }, '/home/me')).toBe(
      '/home/me/.cache/pgcopy/node-compile-cache',
    );
  });

  it('stays off where Node has no such API (Node 20), or the environment decides', () => {
    const { home, enabled, enable } = setup();
    expect(enableCompileCache({ enable: undefined, env: {}, home })).toBeUndefined();
    expect(enableCompileCache({ enable, env: { NODE_COMPILE_CACHE: '/x' }, home })).toBeUndefined();
    expect(
      enableCompileCache({ enable, env: { NODE_DISABLE_COMPILE_CACHE: '1' }, home }),
    ).toBeUndefined();
    expect(enabled).toEqual([]);
  });

  it('refuses a cache folder another account may write (its code would run as pgcopy)', () => {
    const { home, enabled, enable } = setup();
    const dir = enableCompileCache({ enable: () => undefined, env: {}, home }) ?? '';
    chmodSync(join(dir, '..'), 0o777);
    expect(enableCompileCache({ enable, env: {}, home })).toBeUndefined();
    chmodSync(join(dir, '..'), 0o700);
    chmodSync(dir, 0o770);
    expect(enableCompileCache({ enable, env: {}, home })).toBeUndefined();
    expect(enabled).toEqual([]);
  });

  it('never throws: a home that cannot hold the folder leaves the cache off', () => {
    const { home, enable } = setup();
    const file = join(home, 'a-file');
    writeFileSync(file, '');
    expect(enableCompileCache({ enable, env: {}, home: file })).toBeUndefined();
  });
});
