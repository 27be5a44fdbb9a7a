import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../src/demo/free-port.js';

export interface SshForward {
  readonly port: number;
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * OpenSSH's `ssh -N -L` as a user would open it for a psql pipe: a local port forwarded through
 * `user@host:sshPort` to `to`. Resolves once the local port accepts connections.
 */
export async function openSshForward(options: {
  readonly sshHost: string;
  readonly sshPort: number;
  readonly user: string;
  readonly keyFile: string;
  readonly to: { readonly host: string; readonly port: number };
}): Promise<SshForward> {
  const port = await freePort();
  const child = spawn(
    'ssh',
    [
      '-N',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'ExitOnForwardFailure=yes',
      '-o',
      'LogLevel=ERROR',
      '-i',
      options.keyFile,
      '-p',
      String(options.sshPort),
      '-L',
      `127.0.0.1:${port}:${options.to.host}:${options.to.port}`,
      `${options.user}@${options.sshHost}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await accepts(port)) return { port, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error(`ssh -L did not start: ${stderr.trim()}`);
}
