import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const IMAGE = 'localhost/pgcopy:latest';
export const ARCHIVE = fileURLToPath(new URL('../../dist/image/pgcopy.oci.tar', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * What `podman run` needs here: runc (crun rejects the sandbox's hybrid cgroups), explicit limits
 * (the sandbox refuses some setrlimit calls), and the host's network to reach the test servers on
 * 127.0.0.1.
 */
export const PODMAN_RUN = [
  '--runtime',
  'runc',
  'run',
  '--rm',
  '--network',
  'host',
  '--ulimit',
  'nofile=1024:1024',
  '--ulimit',
  'nproc=1000:1000',
];

export interface Exec {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without blocking the event loop; `env` is the child's whole environment. */
export function exec(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The container tools missing from PATH (CI installs them in .ci/run). */
export function missingContainerTools(): string[] {
  const dirs = (process.env['PATH'] ?? '').split(delimiter);
  return ['podman', 'buildah'].filter((tool) => !dirs.some((d) => existsSync(join(d, tool))));
}

/** The newest modification time of what goes into the image. */
async function newestSource(): Promise<number> {
  const files = [
    'package.json',
    'package-lock.json',
    'scripts/build-image.mjs',
    'scripts/fetch-node.mjs',
  ].map((f) => join(root, f));
  for (const item of await readdir(join(root, 'src'), { withFileTypes: true, recursive: true })) {
    if (item.isFile()) files.push(join(item.parentPath, item.name));
  }
  const times = await Promise.all(files.map(async (f) => (await stat(f)).mtimeMs));
  return Math.max(...times);
}

/** When the image was made (ms since the epoch), or undefined when the store has none. */
async function imageCreated(): Promise<number | undefined> {
  const found = await exec('podman', ['image', 'inspect', '--format', '{{.Created.Unix}}', IMAGE]);
  if (found.code !== 0) return undefined;
  return Number(found.stdout.trim()) * 1000;
}

/**
 * Builds the image as `npm run build:image` does, unless the store holds one (and its archive)
 * newer than every source: CI builds it once, just before the tests. Returns the seconds the build
 * took, or undefined when it was reused.
 */
export async function ensureImage(): Promise<number | undefined> {
  const created = await imageCreated();
  if (created !== undefined && existsSync(ARCHIVE) && created > (await newestSource())) {
    return undefined;
  }
  const started = Date.now();
  const built = await exec(process.execPath, ['scripts/build-image.mjs']);
  if (built.code !== 0) throw new Error(`npm run build:image failed:\n${built.stderr}`);
  return (Date.now() - started) / 1000;
}
