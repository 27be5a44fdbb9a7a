import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cacheFileOf,
  codeCacheDir,
  loadBundle,
  privateCacheDir,
} from '../../src/cli/code-cache.js';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A home folder of its own (0700, as a home is). */
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgcopy-home-'));
  homes.push(dir);
  return dir;
}

/** A CommonJS file that uses what a bundle uses: require, module, __dirname, a closure. */
function bundleIn(dir: string, body = ''): string {
  const file = join(dir, 'bundle.cjs');
  writeFileSync(
    file,
    `const path = require('node:path');
     let calls = 0;
     module.exports = { main: (x) => { calls += 1; return x * 2 + calls; }, dir: path.basename(__dirname), self: this === module.exports };
     ${body}`,
  );
  return file;
}

describe('the code cache folder', () => {
  it('is ~/.cache/pgcopy/code-cache, owner-only, or under an absolute XDG_CACHE_HOME', () => {
    const h = home();
    const dir = privateCacheDir({ env: {}, home: h });
    expect(dir).toBe(join(h, '.cache', 'pgcopy', 'code-cache'));
    expect(statSync(dir ?? '').mode & 0o777).toBe(0o700);
    expect(codeCacheDir({ XDG_CACHE_HOME: '/var/cache/me' }, '/home/me')).toBe(
      '/var/cache/me/pgcopy/code-cache',
    );
    expect(codeCacheDir({ XDG_CACHE_HOME: 'relative' }, '/home/me')).toBe(
      '/home/me/.cache/pgcopy/code-cache',
    );
  });

  it('is off with NODE_DISABLE_COMPILE_CACHE, as Node has its own', () => {
    expect(privateCacheDir({ env: { NODE_DISABLE_COMPILE_CACHE: '1' }, home: home() })).toBe(
      undefined,
    );
  });

  it('refuses a folder another account may write (its code would run as pgcopy)', () => {
    const h = home();
    const dir = privateCacheDir({ env: {}, home: h }) ?? '';
    chmodSync(join(dir, '..'), 0o777);
    expect(privateCacheDir({ env: {}, home: h })).toBeUndefined();
    chmodSync(join(dir, '..'), 0o700);
    chmodSync(dir, 0o770);
    expect(privateCacheDir({ env: {}, home: h })).toBeUndefined();
    // Another owner than the user (and not root): refused too.
    chmodSync(dir, 0o700);
    expect(privateCacheDir({ env: {}, home: h, uid: 4242 })).toBe(
      statSync(dir).uid === 0 ? dir : undefined,
    );
    expect(privateCacheDir({ env: {}, home: h, uid: undefined })).toBe(dir);
  });

  it('never throws: a home that cannot hold the folder leaves the cache off', () => {
    const file = join(home(), 'a-file');
    writeFileSync(file, '');
    expect(privateCacheDir({ env: {}, home: file })).toBeUndefined();
  });
});

describe('loading a bundle through the code cache', () => {
  it('runs the file as require would, then starts from the cache the first run saved', () => {
    const h = home();
    const file = bundleIn(h);
    const dir = privateCacheDir({ env: {}, home: h });

    const first = loadBundle(file, dir);
    expect(first.cache).toBe('absent');
    const main = first.exports['main'] as (x: number) => number;
    expect(main(20)).toBe(41);
    expect(first.exports['dir']).toBe(h.split('/').pop());
    expect(first.exports['self']).toBe(true);
    expect(first.saveCache()).toBe(true);
    const [cacheFile, ...others] = readdirSync(dir ?? '');
    expect(others).toEqual([]);
    expect(cacheFile).toMatch(new RegExp(`^bundle\\.cjs-main-[\\d-]+-${process.version}-`));
    expect(statSync(join(dir ?? '', cacheFile ?? '')).mode & 0o777).toBe(0o600);

    const second = loadBundle(file, dir);
    expect(second.cache).toBe('used');
    expect((second.exports['main'] as (x: number) => number)(1)).toBe(3);
    // A cache that fitted is not written again.
    expect(second.saveCache()).toBe(false);
  });

  it('a new build of the bundle writes its own cache and removes the old one', () => {
    const h = home();
    const dir = privateCacheDir({ env: {}, home: h });
    const file = bundleIn(h);
    loadBundle(file, dir).saveCache();
    const before = readdirSync(dir ?? '');
    bundleIn(h, 'module.exports.extra = 1;');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const rebuilt = loadBundle(file, dir);
    expect(rebuilt.cache).toBe('absent');
    expect(rebuilt.exports['extra']).toBe(1);
    expect(rebuilt.saveCache()).toBe(true);
    const after = readdirSync(dir ?? '');
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
  });

  it('a cache V8 does not accept is rejected, the code still runs, and the cache is rewritten', () => {
    const h = home();
    const dir = privateCacheDir({ env: {}, home: h }) ?? '';
    // A source this process never compiled (V8 would otherwise answer from its own memory).
    const file = bundleIn(h, `module.exports.id = '${Math.random()}';`);
    writeFileSync(cacheFileOf(file, dir, 'main').path, 'not a code cache');
    const loaded = loadBundle(file, dir);
    expect(loaded.cache).toBe('rejected');
    expect((loaded.exports['main'] as (x: number) => number)(0)).toBe(1);
    expect(loaded.saveCache()).toBe(true);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('a new process starts from the cache the previous one saved', () => {
    const h = home();
    const file = bundleIn(h);
    const loader = fileURLToPath(new URL('../../dist/cli/code-cache.js', import.meta.url));
    const start = (): unknown =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `import { loadBundle, privateCacheDir } from ${JSON.stringify(loader)};
             const b = loadBundle(${JSON.stringify(file)}, privateCacheDir({ env: {}, home: ${JSON.stringify(h)} }));
             const saved = b.saveCache();
             console.log(JSON.stringify({ cache: b.cache, saved, result: b.exports.main(5) }));`,
          ],
          { encoding: 'utf8' },
        ),
      );
    expect(start()).toEqual({ cache: 'absent', saved: true, result: 11 });
    expect(start()).toEqual({ cache: 'used', saved: false, result: 11 });
  });

  it('each use keeps a cache of its own; a name that is not a command is "other"', () => {
    const h = home();
    const dir = privateCacheDir({ env: {}, home: h }) ?? '';
    const file = bundleIn(h, `module.exports.id = '${Math.random()}';`);
    expect(loadBundle(file, dir, 'run').saveCache()).toBe(true);
    expect(loadBundle(file, dir, '--version').saveCache()).toBe(true);
    expect(loadBundle(file, dir, '../x').cache).toBe('used');
    const names = readdirSync(dir).sort();
    expect(names.map((n) => n.split('-').slice(0, 2).join('-'))).toEqual([
      'bundle.cjs-other',
      'bundle.cjs-run',
    ]);
  });

  it('without a folder nothing is cached, and a folder gone since loading only skips saving', () => {
    const h = home();
    const file = bundleIn(h);
    const off = loadBundle(file, undefined);
    expect(off.cache).toBe('off');
    expect(off.saveCache()).toBe(false);
    const dir = join(h, 'gone');
    const loaded = loadBundle(file, dir);
    expect(loaded.cache).toBe('absent');
    expect(loaded.saveCache()).toBe(false);
  });
});
