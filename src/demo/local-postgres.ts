/* eslint-disable security/detect-non-literal-fs-filename -- the demo and test harness manage their own temp directories. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { serverUser, type OsUser } from './run-as.js';

/** A throwaway PostgreSQL server on a loopback port, for the demo and the test suite. */
export interface LocalPostgres {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly majorVersion: number;
  readonly dataDir: string;
  /** `postgres://` URL for a database on this server. */
  url(database?: string): string;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Directory holding initdb and postgres. */
  readonly binDir: string;
  readonly name: string;
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Files written into the data directory before start (e.g. TLS keys), owned by the server. */
  readonly files?: Readonly<Record<string, string>>;
  /** Receives the server's log once it is ready (tests that read what the server logged). */
  readonly onLog?: (text: string) => void;
}

const TEST_SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: '127.0.0.1',
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_wal_size: '4GB',
  max_connections: '200',
  shared_buffers: '128MB',
};

function run(command: string, args: string[], user: OsUser | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      env: { ...process.env, LC_ALL: 'C' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}:\n${output}`)),
    );
  });
}

async function own(path: string, user: OsUser | undefined, mode: number): Promise<void> {
  if (user) await chown(path, user.uid, user.gid);
  await chmod(path, mode);
}

function waitReady(child: ChildProcess, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (d: Buffer): void => {
      log += d.toString();
      if (log.includes('ready to accept connections')) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(
        new Error(`PostgreSQL ${name} exited (${code}) before it was ready:\n${log.slice(-2000)}`),
      );
    };
    const cleanup = (): void => {
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

async function majorVersion(dataDir: string): Promise<number> {
  return Number((await readFile(join(dataDir, 'PG_VERSION'), 'utf8')).trim());
}

/** initdb into a fresh temp directory and start the server; retries once if the port was taken. */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const user = serverUser();
  const baseDir = await mkdtemp(join(tmpdir(), `pgcopy-${options.name}-`));
  const cleanupDir = (): Promise<void> => rm(baseDir, { recursive: true, force: true });
  try {
    await own(baseDir, user, 0o700);
    const dataDir = join(baseDir, 'data');
    const password = randomBytes(12).toString('hex');
    const pwFile = join(baseDir, 'pw');
    await writeFile(pwFile, password);
    await own(pwFile, user, 0o600);
    await run(
      join(options.binDir, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        'postgres',
        '--pwfile',
        pwFile,
        '-A',
        'scram-sha-256',
        '--no-sync',
        '-E',
        'UTF8',
        '--locale=C',
      ],
      user,
    );
    await rm(pwFile);
    for (const [file, content] of Object.entries(options.files ?? {})) {
      const path = join(dataDir, file);
      await writeFile(path, content);
      await own(path, user, 0o600);
    }
    const version = await majorVersion(dataDir);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const settings = { ...TEST_SETTINGS, unix_socket_directories: baseDir, ...options.settings };
      const args = ['-D', dataDir, '-p', String(port)];
      for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
      const child = spawn(join(options.binDir, 'postgres'), args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
      });
      try {
        await waitReady(child, options.name);
      } catch (error) {
        if (attempt < 3 && String(error).includes('Address already in use')) continue;
        throw error;
      }
      // Keep draining the server's log so it never blocks on a full pipe.
      const onLog = options.onLog;
      if (onLog) child.stderr.on('data', (d: Buffer) => onLog(d.toString()));
      else child.stderr.resume();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      return {
        name: options.name,
        host: '127.0.0.1',
        port,
        user: 'postgres',
        password,
        majorVersion: version,
        dataDir,
        url: (database = 'postgres') =>
          `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGINT'); // fast shutdown
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(timer);
          }
          await cleanupDir();
        },
      };
    }
  } catch (error) {
    await cleanupDir();
    throw error;
  }
}
