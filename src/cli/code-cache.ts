/* eslint-disable security/detect-non-literal-fs-filename -- the bundle is pgcopy's own file and the cache folder pgcopy's own, under the user's home. */
import {
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import vm from 'node:vm';
import { untrustedBecause } from '../file-trust.js';

export interface CodeCacheDeps {
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  readonly uid?: number | undefined;
}

/** `$XDG_CACHE_HOME/pgcopy/code-cache`, `~/.cache/...` without it (XDG's rule). */
export function codeCacheDir(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.cache');
  return join(base, 'pgcopy', 'code-cache');
}

/**
 * The folder V8's code cache is kept in, made when missing, only this user can write: a cache
 * holds compiled code, and one another account could write would be code pgcopy runs. Undefined
 * (no cache) when NODE_DISABLE_COMPILE_CACHE is set, as Node's own cache honours it, or when the
 * folder cannot be made or trusted. Never throws: the cache only saves time.
 */
export function privateCacheDir(deps: CodeCacheDeps = {}): string | undefined {
  const env = deps.env ?? process.env;
  if (env['NODE_DISABLE_COMPILE_CACHE']) return undefined;
  try {
    const dir = codeCacheDir(env, deps.home ?? homedir());
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const uid = 'uid' in deps ? deps.uid : process.getuid?.();
    // The folder and the two above it: none may be changed by another account.
    const chain = [dir, join(dir, '..'), join(dir, '..', '..')];
    return chain.every((d) => untrustedBecause(statSync(d), uid) === undefined) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** What became of the cache when a bundle was loaded. */
export type CacheUse = 'used' | 'rejected' | 'absent' | 'off';

export interface LoadedBundle {
  /** The bundle's `module.exports`. */
  readonly exports: Record<string, unknown>;
  readonly cache: CacheUse;
  /**
   * Writes the cache for the next start when there was none that fitted; call it late (at exit):
   * the cache then holds every function this run compiled, not only the top level. True when
   * written. Never throws.
   */
  readonly saveCache: () => boolean;
}

/**
 * The cache file of one build of a bundle on one Node, for one use of it. V8 checks a cache
 * against its source's length only: the file's identity (a build renames a new file into place)
 * and times decide which build a cache belongs to, so that another build or another Node never
 * reads it. A cache holds the functions the start that wrote it compiled: each `use` (a command)
 * has its own, or a first `--version` would leave `run` a cache of nearly nothing.
 */
export function cacheFileOf(
  file: string,
  dir: string,
  use: string,
): { path: string; prefix: string } {
  const stats = statSync(file);
  const prefix = `${basename(file)}-${/^[a-z][a-z-]{0,31}$/.test(use) ? use : 'other'}-`;
  const build = `${stats.ino}-${stats.size}-${Math.trunc(stats.mtimeMs)}-${Math.trunc(stats.ctimeMs)}`;
  const key = `${build}-${process.version}-${process.arch}`;
  return { path: join(dir, `${prefix}${key}.v8`), prefix };
}

function readCache(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Loads a CommonJS bundle as `require` would, compiled from V8's code cache in `dir` where one
 * fits (Node 20 has no compile cache of its own; Node 22's would do the same for this one file).
 * `dir` undefined: no cache; `use` names the cache among this bundle's (see cacheFileOf).
 */
export function loadBundle(file: string, dir: string | undefined, use = 'main'): LoadedBundle {
  const source = readFileSync(file, 'utf8');
  const cacheFile = dir === undefined ? undefined : cacheFileOf(file, dir, use);
  const cachedData = cacheFile && readCache(cacheFile.path);
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cache: CacheUse =
    cacheFile === undefined
      ? 'off'
      : cachedData === undefined
        ? 'absent'
        : script.cachedDataRejected === true
          ? 'rejected'
          : 'used';
  const module = { exports: {} as Record<string, unknown> };
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: unknown,
    filename: string,
    dirname: string,
  ) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  const saveCache = (): boolean => {
    if (cacheFile === undefined || cache === 'used') return false;
    const folder = dirname(cacheFile.path);
    try {
      const partial = `${cacheFile.path}.${process.pid}.partial`;
      writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
      renameSync(partial, cacheFile.path);
      // This use's caches of earlier builds or other Node versions: never read again.
      for (const name of readdirSync(folder)) {
        if (name.startsWith(cacheFile.prefix) && join(folder, name) !== cacheFile.path) {
          rmSync(join(folder, name), { force: true });
        }
      }
      return true;
    } catch {
      return false;
    }
  };
  return { exports: module.exports, cache, saveCache };
}

/**
 * Runs the CLI bundle's `main` with `argv`, its code cache written at exit when there was none
 * that fitted (the process leaves through `process.exit`).
 */
export async function runBundledCli(file: string, argv: string[]): Promise<void> {
  // Caches per command (flags such as --version fall under "other").
  const bundle = loadBundle(file, privateCacheDir(), argv[0] ?? 'other');
  if (bundle.cache !== 'used') process.once('exit', bundle.saveCache);
  const main = bundle.exports['main'];
  if (typeof main !== 'function') throw new Error(`${file} exports no main`);
  await (main as (argv: string[]) => Promise<void>)(argv);
}
