import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { embeddedBinDir } from '../../src/demo/binaries.js';
import { startLocalPostgres, type LocalPostgres } from '../../src/demo/local-postgres.js';

const openssl = promisify(execFile);

export interface TestCa {
  /** The CA certificate file (what `sslrootcert` points at). */
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly dir: string;
  remove(): Promise<void>;
}

/**
 * A self-signed CA (made with the openssl CLI) and a server certificate it signed for the
 * given DNS names only.
 */
export async function makeTestCa(dnsNames: readonly string[]): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'pgcopy-ca-'));
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await openssl('openssl', [
      'req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'),
      '-days', '2', '-subj', '/CN=pgcopy test CA',
    ]); // prettier-ignore
    await openssl('openssl', [
      'req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'),
      '-subj', `/CN=${dnsNames[0] ?? 'server'}`,
    ]); // prettier-ignore
    await writeFile(
      file('ext.cnf'),
      `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\n`,
    );
    await openssl('openssl', [
      'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
      '-CAcreateserial', '-out', file('server.crt'), '-days', '2', '-extfile', file('ext.cnf'),
    ]); // prettier-ignore
    return {
      caFile: file('ca.crt'),
      serverCert: await readFile(file('server.crt'), 'utf8'),
      serverKey: await readFile(file('server.key'), 'utf8'),
      dir,
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A throwaway PostgreSQL 17 with TLS on, serving the CA's server certificate. */
export function startTlsPostgres(ca: TestCa): Promise<LocalPostgres> {
  return startLocalPostgres({
    binDir: embeddedBinDir(),
    name: 'tls',
    files: { 'server.crt': ca.serverCert, 'server.key': ca.serverKey },
    settings: { ssl: 'on', ssl_cert_file: 'server.crt', ssl_key_file: 'server.key' },
  });
}

/** A client certificate the CA signed for `user`, and its key (encrypted when a passphrase is given). */
export interface TestClientCert {
  readonly certFile: string;
  readonly keyFile: string;
}

export async function makeClientCert(
  ca: TestCa,
  user: string,
  options: { readonly name: string; readonly passphrase?: string },
): Promise<TestClientCert> {
  const file = (suffix: string): string => join(ca.dir, `${options.name}.${suffix}`);
  await openssl('openssl', [
    'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', file('plain.key'), '-out', file('csr'), '-subj', `/CN=${user}`,
  ]); // prettier-ignore
  await openssl('openssl', [
    'x509', '-req', '-in', file('csr'), '-CA', ca.caFile, '-CAkey', join(ca.dir, 'ca.key'),
    '-CAcreateserial', '-out', file('crt'), '-days', '2',
  ]); // prettier-ignore
  const encrypt =
    options.passphrase === undefined ? [] : ['-aes256', '-passout', `pass:${options.passphrase}`];
  await openssl('openssl', [
    'pkey', '-in', file('plain.key'), '-out', file('key'), ...encrypt,
  ]); // prettier-ignore
  await chmod(file('key'), 0o600);
  return { certFile: file('crt'), keyFile: file('key') };
}

/**
 * A throwaway PostgreSQL 17 that logs in only over TLS with a client certificate its CA signed
 * (pg_hba `hostssl ... cert`: the certificate's CN is the user, no password is asked).
 */
export function startClientCertPostgres(ca: TestCa, caText: string): Promise<LocalPostgres> {
  return startLocalPostgres({
    binDir: embeddedBinDir(),
    name: 'client-cert',
    files: {
      'server.crt': ca.serverCert,
      'server.key': ca.serverKey,
      'root.crt': caText,
      'pg_hba.conf': 'hostssl all all 127.0.0.1/32 cert\n',
    },
    settings: {
      ssl: 'on',
      ssl_cert_file: 'server.crt',
      ssl_key_file: 'server.key',
      ssl_ca_file: 'root.crt',
    },
  });
}
