import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/demo/free-port.js';
import { fingerprintOf, generateKeyPair, type KeyPair } from './ssh-server.js';

const SSHD = '/usr/sbin/sshd';
const run = promisify(execFile);

/** True when Debian's openssh-server is installed (tests that need it skip otherwise). */
export function sshdAvailable(): boolean {
  return existsSync(SSHD) && existsSync('/usr/bin/ssh-keygen');
}

export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

export interface TestSshd {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Fingerprint of each host key, by type. */
  readonly fingerprints: Readonly<Partial<Record<HostKeyType, string>>>;
  /** A key authorized for `user`. */
  readonly clientKey: KeyPair;
  /** sshd's log so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * OpenSSH's sshd in the foreground (`-D`) on a random 127.0.0.1 port, with its own config, host
 * keys and authorized key; the login user is the current OS user.
 */
export async function startSshd(
  options: { hostKeyTypes?: readonly HostKeyType[] } = {},
): Promise<TestSshd> {
  const types = options.hostKeyTypes ?? ['ed25519', 'ecdsa', 'rsa'];
  const dir = await mkdtemp(join(tmpdir(), 'pgcopy-sshd-'));
  try {
    // The privilege-separation directory sshd insists on.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
    const fingerprints: Partial<Record<HostKeyType, string>> = {};
    for (const type of types) {
      const file = join(dir, `host_${type}`);
      await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'test', '-f', file]);
      fingerprints[type] = fingerprintOf(await readFile(`${file}.pub`, 'utf8'));
    }
    const clientKey = generateKeyPair('ed25519');
    const authorized = join(dir, 'authorized_keys');
    await writeFile(authorized, `${clientKey.public}\n`, { mode: 0o600 });
    const user = userInfo().username;
    const logFile = join(dir, 'sshd.log');
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = join(dir, 'sshd_config');
      await writeFile(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          ...types.map((t) => `HostKey ${join(dir, `host_${t}`)}`),
          `PidFile ${join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${authorized}`,
          'StrictModes no',
          'UsePAM no',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PubkeyAuthentication yes',
          'PermitRootLogin prohibit-password',
          'AllowTcpForwarding yes',
          'AllowAgentForwarding no',
          'X11Forwarding no',
          'PermitTTY no',
          'LogLevel VERBOSE',
          '',
        ].join('\n'),
      );
      await writeFile(logFile, '');
      const child = spawn(SSHD, ['-D', '-f', config, '-E', logFile], { stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.on('error', () => undefined);
      const log = (): Promise<string> => readFile(logFile, 'utf8');
      const stop = async (): Promise<void> => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
      };
      // Ready when it logs that it listens; retry on another port if that one was taken.
      const deadline = Date.now() + 10_000;
      let text = '';
      while (Date.now() < deadline) {
        text = await log();
        if (text.includes('Server listening on') || child.exitCode !== null) break;
        await sleep(20);
      }
      if (text.includes('Server listening on')) {
        return {
          host: '127.0.0.1',
          port,
          user,
          fingerprints,
          clientKey,
          log,
          stop: async () => {
            await stop();
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await stop();
      if (attempt < 3 && text.includes('Address already in use')) continue;
      throw new Error(`sshd did not start:\n${text.slice(-2000)}`);
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
