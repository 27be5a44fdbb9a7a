/* eslint-disable security/detect-non-literal-fs-filename -- the cache folder is pgcopy's own, under the user's home. */
import { mkdirSync, statSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** `module.enableCompileCache` (Node 22.8+); Node 20 has none. */
export type EnableCompileCache = (directory: string) => unknown;

export interface CompileCacheDeps {
  readonly enable?: EnableCompileCache | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  readonly uid?: number | undefined;
}

/** `$XDG_CACHE_HOME/pgcopy/node-compile-cache`, `~/.cache/...` without it (XDG's rule). */
export function compileCacheDir(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.cache');
  return join(base, 'pgcopy', 'node-compile-cache');
}

/**
 * Turns on Node's compile cache (V8 code of every module, kept on disk: a start-up compiles
 * nothing the previous one compiled) in a folder only this user can write. Node's own default is
 * one folder in the shared temp directory, where another account could leave code for pgcopy to
 * run; a folder that is not private is not used. Returns the folder, or undefined when the cache
 * stays off: Node 20, NODE_COMPILE_CACHE set (Node then has it on already, where asked),
 * NODE_DISABLE_COMPILE_CACHE, or a folder that cannot be made or trusted. Never throws: the cache
 * only saves time.
 */
export function enableCompileCache(deps: CompileCacheDeps = {}): string | undefined {
  const enable =
    'enable' in deps
      ? deps.enable
      : (module as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  const env = deps.env ?? process.env;
  if (!enable || env['NODE_COMPILE_CACHE'] || env['NODE_DISABLE_COMPILE_CACHE']) return undefined;
  try {
    const home = deps.home ?? homedir();
    const dir = compileCacheDir(env, home);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const uid = 'uid' in deps ? deps.uid : process.getuid?.();
    // The folder and the two above it: none may be changed by another account.
    const chain = [dir, join(dir, '..'), join(dir, '..', '..')];
    if (uid !== undefined && !chain.every((d) => isPrivate(d, uid))) return undefined;
    enable(dir);
    return dir;
  } catch {
    return undefined;
  }
}

function isPrivate(dir: string, uid: number): boolean {
  const stats = statSync(dir);
  return (stats.uid === uid || stats.uid === 0) && (stats.mode & 0o022) === 0;
}
