import { ConfigError } from '../../errors.js';
import { printable } from '../../report/printable.js';
import { keygenLine } from '../../tunnel/host-key-fingerprint.js';
import { EXIT, type CliIo } from '../io.js';
import { parseCommandArgs } from '../parse-args.js';
import { COMMAND_OPTIONS } from '../command-options.js';

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; the port defaults to 22. */
export function parseHostPort(value: string): { host: string; port: number } {
  let host = value;
  let portText: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    const rest = close < 0 ? ':' : value.slice(close + 1);
    host = close < 0 ? '' : value.slice(1, close);
    if (rest !== '') portText = rest.startsWith(':') ? rest.slice(1) : '';
  } else if (value.split(':').length === 2) {
    [host, portText] = value.split(':') as [string, string];
  }
  const port = portText === undefined ? 22 : /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
  if (host === '' || port < 1 || port > 65535) {
    throw new ConfigError(`usage: pgcopy fingerprint HOST[:PORT], got "${value}"`);
  }
  return { host, port };
}

/** ssh-keyscan's way of naming a host: plain on port 22, `[host]:port` otherwise. */
function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

const MARKER = '  <- pgcopy negotiates this key';

/**
 * `pgcopy fingerprint HOST[:PORT]`: the SHA256 fingerprint of every host key the server offers,
 * as `ssh-keygen -lf` prints them, the one pgcopy negotiates marked. Authenticates nothing.
 */
export async function fingerprintCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommandArgs(args, COMMAND_OPTIONS.fingerprint);
  const [target, extra] = positionals;
  if (target === undefined || extra !== undefined) {
    throw new ConfigError('usage: pgcopy fingerprint HOST[:PORT]');
  }
  const { host, port } = parseHostPort(target);
  // ssh2 is loaded by this command only, not by every start of the CLI.
  const { scanHostKeys } = await import('../../tunnel/scan-host-keys.js');
  const scan = await scanHostKeys(host, port, io.signal ? { signal: io.signal } : {});
  const name = knownHostsName(host, port);
  const chosen = scan.negotiated;
  for (const key of scan.keys) {
    const marked = key.fingerprint === chosen.fingerprint ? MARKER : '';
    io.stdout.write(`${printable(keygenLine(key, name))}${marked}\n`);
  }
  io.stdout.write(
    [
      '',
      `pgcopy will verify the ${printable(chosen.label)} key. These fingerprints came over the network:`,
      'confirm out of band before trusting them, for example on the bastion itself:',
      `  ssh-keygen -lf /etc/ssh/ssh_host_${printable(chosen.label.toLowerCase())}_key.pub`,
      'then pin it in the endpoint config:',
      '  ssh:',
      `    fingerprint: ${chosen.fingerprint}`,
      '',
    ].join('\n'),
  );
  return EXIT.OK;
}
